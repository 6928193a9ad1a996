"""Per-category evaluation: masked metrics on synthetic images, label tables, a tiny bench run."""
import json
import math

import numpy as np
import pytest

from srkit.data.fonts import fonts_available
from srkit.data.label_maps import IGNORE, ade20k_table, map_ade20k, map_camvid
from srkit.evaluation.categories import (Sample, bicubic_upscaler, build_face_composites, evaluate_categories,
                                   format_tables, load_faces, load_segmentation_samples, make_lr)
from srkit.metrics import masked_psnr, masked_ssim
from srkit.evaluation.ocr import tesseract_available


def _pair():
    rng = np.random.default_rng(0)
    ramp = np.linspace(40, 200, 64)[None, :, None] + np.linspace(0, 20, 48)[:, None, None]
    hr = np.broadcast_to(ramp, (48, 64, 3)).round().astype(np.uint8)    # smooth: noise hurts SSIM
    sr = hr.copy()
    sr[:, 32:] = np.clip(hr[:, 32:].astype(int) + rng.integers(-20, 21, (48, 32, 3)), 0, 255).astype(np.uint8)
    left = np.zeros((48, 64), bool)
    left[:, :32] = True
    return hr, sr, left


def test_masked_metrics_see_only_the_masked_region():
    hr, sr, left = _pair()
    assert masked_psnr(sr, hr, left, shave=2) == math.inf       # unchanged region
    right_psnr = masked_psnr(sr, hr, ~left, shave=2)
    assert 15 < right_psnr < 40
    assert masked_psnr(sr, hr, np.ones_like(left), shave=2) > right_psnr   # half the error
    inner = np.zeros_like(left)
    inner[:, 6:26] = True                                        # clear of the SSIM window's reach
    assert masked_ssim(sr, hr, inner, shave=2) == pytest.approx(1.0)
    assert masked_ssim(sr, hr, ~left, shave=2) < 0.95
    assert math.isnan(masked_psnr(sr, hr, np.zeros_like(left)))


def test_label_tables():
    camvid = map_camvid(np.arange(12, dtype=np.uint8).reshape(3, 4))
    np.testing.assert_array_equal(camvid.ravel(), [1, 5, 0, 0, 0, 6, 0, 0, 0, 0, 0, IGNORE])
    table = ade20k_table()
    assert table.shape == (151,) and table[0] == IGNORE
    assert table[3] == 1 and table[22] == 2 and table[27] == 2 and table[10] == 3 and table[17] == 4
    assert table[2] == 5 and table[5] == 6 and table[127] == 7 and table[13] == 0   # person → background
    assert table.max() <= 7                                   # face and text never come from ADE20K
    with pytest.raises(ValueError, match="ADE20K"):
        map_ade20k(np.full((2, 2), 151))


def test_make_lr_shapes():
    hr = np.random.default_rng(0).integers(0, 256, (48, 40, 3), dtype=np.uint8)
    for sigma in (0.0, 1.2):
        lr = make_lr(hr, 2, sigma)
        assert lr.shape == (24, 20, 3) and lr.dtype == np.uint8


def test_make_lr_noise_is_seeded_zero_mean_and_leaves_the_clean_lr_alone():
    hr = np.random.default_rng(0).integers(40, 216, (96, 96, 3), dtype=np.uint8)  # no clipping at 0/255
    for sigma in (0.0, 1.2):
        clean = make_lr(hr, 2, sigma)
        np.testing.assert_array_equal(make_lr(hr, 2, sigma, noise=0.0, seed=5), clean)
        noisy = make_lr(hr, 2, sigma, noise=15.0, seed=3)
        np.testing.assert_array_equal(make_lr(hr, 2, sigma, noise=15.0, seed=3), noisy)
        assert not np.array_equal(make_lr(hr, 2, sigma, noise=15.0, seed=4), noisy)
        diff = noisy.astype(float) - clean.astype(float)
        assert abs(diff.mean()) < 0.5 and 14.0 < diff.std() < 16.0   # σn = 15 on the 0–255 scale
    with pytest.raises(ValueError, match="noise"):
        make_lr(hr, 2, 1.2, noise=-1.0)


def test_face_composites_from_arrays():
    face = np.full((100, 100, 3), 128, np.uint8)
    samples = build_face_composites([face, face], scale=4, seed=0)
    assert len(samples) == 2 and all(s.hr.shape == (240, 240, 3) for s in samples)
    assert all(s.masks[8].sum() > 1000 for s in samples)


@pytest.mark.skipif(not fonts_available("latin"), reason="DejaVu fonts missing: apt-get install fonts-dejavu-core")
def test_tiny_bench_is_json_and_formats(monkeypatch):
    ocr = tesseract_available("eng")
    result = evaluate_categories({"bicubic": bicubic_upscaler(2)}, None, 2, scripts=("digits",), sizes=(32,),
                                 per_size=1, ocr=ocr)
    json.dumps(result)
    cell = result["categories"]["text"]["bicubic"]
    assert cell["n"] == 1 and 5 < cell["psnr"] < 60 and 0 < cell["ssim"] <= 1
    table = format_tables(result)
    assert "| text | 1 |" in table
    if ocr:
        assert 0.0 <= result["ocr"]["digits"]["32"]["gt"]["char_accuracy"] <= 1.0
        assert "| digits | 32 | 1 |" in table


@pytest.mark.skipif(not fonts_available("latin"), reason="DejaVu fonts missing: apt-get install fonts-dejavu-core")
def test_noise_reaches_every_method_and_the_protocol():
    seen = []
    def spy(lr):  # records the LR each method gets
        seen.append(lr.astype(float))
        return bicubic_upscaler(2)(lr)
    kw = dict(scripts=("digits",), sizes=(32,), per_size=1, ocr=False)
    clean = evaluate_categories({"spy": spy}, None, 2, **kw)
    noisy = evaluate_categories({"bicubic": bicubic_upscaler(2), "spy": spy}, None, 2, noise=15.0, **kw)
    assert "no noise" in clean["protocol"]["degradation"]
    assert "sigma_n=15" in noisy["protocol"]["degradation"]
    assert 12 < (seen[1] - seen[0]).std() < 18            # σn = 15 (less where the clean LR clips at 0/255)
    assert noisy["categories"]["text"]["spy"] == noisy["categories"]["text"]["bicubic"]  # the same noisy LR
    assert noisy["categories"]["text"]["spy"]["psnr"] < clean["categories"]["text"]["spy"]["psnr"]


def test_compression_reaches_the_lr_and_the_protocol():
    pytest.importorskip("av")
    kw = dict(scripts=("digits",), sizes=(32,), per_size=1, ocr=False)
    clean = evaluate_categories({"bicubic": bicubic_upscaler(2)}, None, 2, **kw)
    coded = evaluate_categories({"bicubic": bicubic_upscaler(2)}, None, 2, mpeg2=16, **kw)
    jpeg = evaluate_categories({"bicubic": bicubic_upscaler(2)}, None, 2, jpeg=30, **kw)
    assert "MPEG-2 intra q16" in coded["protocol"]["degradation"] and "JPEG q30" in jpeg["protocol"]["degradation"]
    for damaged in (coded, jpeg):
        assert damaged["categories"]["text"]["bicubic"]["psnr"] < clean["categories"]["text"]["bicubic"]["psnr"]


def test_method_with_wrong_output_is_reported(monkeypatch):
    import srkit.evaluation.categories as ec
    hr = np.zeros((32, 32, 3), np.uint8)
    monkeypatch.setattr(ec, "build_text_cards", lambda *a, **k: [Sample("flat", hr, {9: np.ones((32, 32), bool)})])
    with pytest.raises(ValueError, match="'half'"):
        evaluate_categories({"half": lambda lr: lr}, None, 2, ocr=False)


def test_shared_data_samples(data_dir):
    faces = load_faces(data_dir, limit=1)
    if not faces:
        pytest.skip(f"no face crops under {data_dir}/faces")
    seg = load_segmentation_samples(data_dir, 2, camvid_limit=1)
    if not seg:
        pytest.skip(f"no segmentation samples under {data_dir}/segmentation")
    names = [s.name for s in seg]
    assert names[0].startswith("CamVid_val_sub/") and any(n.startswith("ADE20K_samples/") for n in names)
    camvid = seg[0]
    assert camvid.hr.shape == (360, 480, 3) and {1, 5} <= set(camvid.masks)
    assert all(m.shape == camvid.hr.shape[:2] for m in camvid.masks.values())


def test_model_upscaler_runs_a_srkit_model(monkeypatch):
    import srkit.checkpoint
    from _standins import NearestSR
    monkeypatch.setattr(srkit.checkpoint, "load_pipeline", lambda weights, device="cpu": NearestSR(2))
    from srkit.evaluation.categories import model_upscaler
    upscale = model_upscaler("stand-in", 2)
    lr = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    sr = upscale(lr)
    assert sr.dtype == np.uint8 and sr.shape == (20, 24, 3)
    np.testing.assert_array_equal(sr, lr.repeat(2, 0).repeat(2, 1))


@pytest.mark.skipif(not all(fonts_available(s) for s in ("latin", "chinese")),
                    reason="DejaVu / Noto CJK fonts missing: apt-get install fonts-dejavu-core fonts-noto-cjk")
def test_cli_noise_option_reaches_the_json(data_dir, tmp_path, capsys):
    from srkit.cli import main
    out = tmp_path / "n15.json"
    args = ["bench", "categories", "--data", str(data_dir), "--no-ocr", "--per-size", "1", "--faces", "1",
            "--camvid", "1", "--no-progress", "--json", str(out)]
    assert main(args + ["--noise", "15"]) == 0
    result = json.loads(out.read_text())
    assert "sigma_n=15" in result["protocol"]["degradation"]
    assert result["categories"]["face"]["bicubic"]["n"] == 1
    capsys.readouterr()
    assert main(args + ["--noise", "-2"]) != 0
    assert "noise must be >= 0" in capsys.readouterr().err


def test_merge_joins_models_of_one_protocol_and_refuses_two(tmp_path, capsys):
    from srkit.cli import main
    from srkit.evaluation.categories import merge_categories
    kw = dict(scripts=("digits",), sizes=(32,), per_size=1, ocr=False)
    half = lambda lr: bicubic_upscaler(2)(lr) // 2 + 64            # a second, worse "model"
    first = evaluate_categories({"bicubic": bicubic_upscaler(2)}, None, 2, **kw)
    second = evaluate_categories({"bicubic": bicubic_upscaler(2), "half": half}, None, 2, **kw)
    merged = merge_categories([first, second])
    assert merged["methods"] == ["bicubic", "half"]
    assert merged["categories"]["text"]["bicubic"] == first["categories"]["text"]["bicubic"]
    assert merged["categories"]["text"]["half"] == second["categories"]["text"]["half"]
    assert "| text | 1 |" in format_tables(merged)
    noisy = evaluate_categories({"half": half}, None, 2, noise=5.0, **kw)
    with pytest.raises(ValueError, match="another protocol.*degradation"):
        merge_categories([first, noisy])
    paths = []
    for i, part in enumerate((first, second)):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps(part))
    out = tmp_path / "merged.json"
    assert main(["bench", "categories", "--merge", *map(str, paths), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["methods"] == ["bicubic", "half"]
    capsys.readouterr()
    assert main(["bench", "categories"]) != 0
    assert "needs --data (or --merge)" in capsys.readouterr().err
