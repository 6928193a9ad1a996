"""The ablation bench: pooled per-category statistics, the three ψ conditions, every variant."""
import json
import math

import numpy as np
import pytest
import torch

from srkit.categories import CATEGORIES, NUM_CATEGORIES
from srkit.data.segmentation import SegSample
from srkit.evaluation.ablation import (CategoryStats, condition, format_ablation, format_differences, methods_of,
                                      paired_difference, run_ablation)
from srkit.metrics import high_frequency, masked_ssim, ssim


def _scene(seed=0, h=64, w=66):
    rng = np.random.default_rng(seed)
    img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    labels = np.zeros((h, w), np.int16)
    labels[: h // 2] = CATEGORIES.index("sky")
    labels[:, :4] = -1
    return SegSample(f"toy{seed}", img, labels)


def test_detail_band_is_zero_on_flat_images_and_the_ratio_of_identical_images_is_one():
    assert np.abs(high_frequency(np.full((20, 20, 3), 77, np.uint8))).max() < 1e-9
    s = _scene()
    stats = CategoryStats()
    stats.add(s.image, s.image, s.labels.astype(np.int64), shave=2)
    r = stats.result()
    assert set(r) == {"all", "background", "sky"}
    assert all(math.isinf(v["psnr"]) and v["ssim"] == pytest.approx(1) and v["texture"] == pytest.approx(1)
               for v in r.values())
    # the ignored columns count in "all" only
    assert r["all"]["pixels"] == 60 * 62 and r["sky"]["pixels"] + r["background"]["pixels"] == 60 * 60


def test_pooled_statistics_match_the_metrics_module():
    s, rng = _scene(), np.random.default_rng(1)
    sr = np.clip(s.image.astype(int) + rng.integers(-9, 10, s.image.shape), 0, 255).astype(np.uint8)
    stats = CategoryStats()
    stats.add(sr, s.image, s.labels.astype(np.int64), shave=2)
    r = stats.result()
    assert r["all"]["ssim"] == pytest.approx(ssim(sr, s.image, shave=2))
    assert r["sky"]["ssim"] == pytest.approx(masked_ssim(sr, s.image, s.labels == 1, shave=2))
    blurred = np.repeat(np.full_like(s.image[..., :1], 128), 3, axis=2)  # no detail at all
    flat = CategoryStats()
    flat.add(blurred, s.image, s.labels.astype(np.int64), shave=2)
    assert flat.result()["all"]["texture"] == pytest.approx(0, abs=1e-12)


def test_the_three_conditions():
    lab = np.array([[0, 1], [-1, 9]])
    x = torch.rand(1, 3, 2, 2)
    true = condition("true", None, x, lab)
    assert true.shape == (1, NUM_CATEGORIES, 2, 2) and torch.allclose(true.sum(1), torch.ones(1, 2, 2))
    assert true[0, 1, 0, 1] == 1 and true[0, 9, 1, 1] == 1
    assert torch.allclose(true[0, :, 1, 0], torch.full((NUM_CATEGORIES,), 1 / NUM_CATEGORIES))  # unlabelled
    assert torch.allclose(condition("uniform", None, x, lab), torch.full_like(true, 1 / NUM_CATEGORIES))
    with pytest.raises(ValueError, match="unknown segmentation condition 'oracle'"):
        condition("oracle", None, x, lab)


def test_every_variant_runs_and_the_seg_variants_run_under_each_condition():
    from tests._standins import tiny_pipeline
    pipes = {v: tiny_pipeline(v) for v in ("srresnet", "sftmd", "sftgan", "sftconcat")}
    names = [m for m, _, _ in methods_of(pipes)]
    assert names == ["srresnet", "sftmd", "sftgan", "sftgan/true", "sftgan/uniform", "sftconcat",
                     "sftconcat/true", "sftconcat/uniform"]
    res = run_ablation(pipes, {"toy": [_scene(0), _scene(1)]}, 2)
    assert set(res["toy"]) == {"bicubic", *names}
    assert all(np.isfinite(r["all"]["psnr"]) and r["all"]["pixels"] == 2 * 60 * 62 for r in res["toy"].values())
    # even untrained, SFTconcat reads ψ: the true and the uniform map give different pictures
    assert res["toy"]["sftconcat/true"]["all"]["psnr"] != res["toy"]["sftconcat/uniform"]["all"]["psnr"]
    assert "| sftconcat/uniform |" in format_ablation(res) and "texture" in format_ablation(res, "texture")
    diff = paired_difference(res["toy"], "sftconcat", "sftmd")
    per = [res["toy"][m]["all"]["per_image_psnr"] for m in ("sftconcat", "sftmd")]
    assert diff["n"] == 2 and diff["mean"] == pytest.approx(np.mean(np.subtract(*per)))
    assert "| sftconcat − sftmd |" in format_differences(res)
    assert "sftconcat_gan" not in format_differences(res)  # pairs of variants not run are left out
    with pytest.raises(ValueError, match="kernel must be"):
        run_ablation(pipes, {}, 2, kernel="oracle")


def test_cli_on_a_folder_of_bundles(data_dir, tmp_path, capsys):
    from srkit.checkpoint import save_pipeline
    from srkit.cli import main
    from tests._standins import tiny_pipeline
    if not (data_dir / "segmentation" / "StanfordBackground").is_dir():
        pytest.skip(f"no {data_dir}/segmentation/StanfordBackground")
    for v in ("srresnet", "sftconcat"):
        save_pipeline(tiny_pipeline(v), tmp_path / f"{v}.safetensors")
    out = tmp_path / "ablation.json"
    assert main(["bench", "ablation", "--data", str(data_dir), "--weights-dir", str(tmp_path), "--limit", "2",
                 "--no-progress", "--json", str(out)]) == 0
    res = json.loads(out.read_text())["results"]
    assert set(res) == {"Stanford val", "SIFT Flow test", "composites"}
    assert set(res["composites"]) == {"bicubic", "srresnet", "sftconcat", "sftconcat/true", "sftconcat/uniform"}
    assert "**composites**, texture" in capsys.readouterr().out
    assert main(["bench", "ablation", "--data", str(data_dir), "--weights-dir", str(tmp_path / "none")]) != 0
    assert "no ablation bundles" in capsys.readouterr().err


def test_tables_script_writes_every_table(tmp_path, monkeypatch):
    from tests._benchscripts import load_script
    from tests._standins import tiny_pipeline
    pipes = {v: tiny_pipeline(v) for v in ("srresnet", "sftconcat")}
    res = run_ablation(pipes, {"toy": [_scene(0), _scene(1)]}, 2, maps=("predicted", "uniform"))
    (tmp_path / "ablation.json").write_text(json.dumps({"results": res}))
    script = load_script("ablation_tables", monkeypatch)
    out = tmp_path / "ABLATION.md"
    assert script.main(["--ablation", str(tmp_path / "ablation.json"), "--segmentation", str(tmp_path / "none.json"),
                        "--out", str(out)]) == 0
    text = out.read_text()
    assert "| sftconcat − sftconcat/uniform |" in text and "**toy**, texture" in text and "Segmenters" not in text


def test_gaussian8_variant_table():
    """True-kernel and blind columns per set: IKC for the kernel variants, the generator alone otherwise."""
    from srkit.evaluation.ablation import format_gaussian8_variants
    cell = lambda p: {"Set5": {"2": {"psnr": p, "ssim": 0.9}}}  # noqa: E731
    table = format_gaussian8_variants({"sftmd": {"bicubic": cell(30.0), "true_kernel": cell(33.0), "ikc": cell(32.5)},
                                       "srresnet": {"bicubic": cell(30.0), "sr": cell(31.0)}}, sets=("Set5",))
    lines = table.splitlines()
    assert lines[2] == "| bicubic | 30.00 / 0.9000 | 30.00 / 0.9000 |"
    assert lines[3] == "| srresnet | – | 31.00 / 0.9000 |"  # VARIANTS order, not the dict's
    assert lines[4] == "| sftmd | 33.00 / 0.9000 | 32.50 / 0.9000 |"


def test_seed_table_pairs_the_images_of_each_seed():
    from srkit.evaluation.ablation import format_seeds, merge_ablation_results

    def run(values):
        return {"S": {m: {"all": {"psnr": float(sum(v) / len(v)), "per_image_psnr": v}} for m, v in values.items()}}
    seed0 = run({"bicubic": [20.0, 21.0], "srresnet": [30.0, 31.0], "sftgan": [30.5, 31.5]})
    seed1 = merge_ablation_results([run({"bicubic": [20.0, 21.0], "srresnet": [30.2, 31.2]}),
                                    run({"bicubic": [20.0, 21.0], "sftgan": [30.2, 31.0]})])
    table = format_seeds({0: seed0, 1: seed1})
    assert "| **sftgan − srresnet, seed 0** | +0.500 ± 0.000 (2/2) |" in table
    assert "| **sftgan − srresnet, seed 1** | -0.100 ± 0.200 (0/2) |" in table
    assert "| srresnet: seed 1 − seed 0 | +0.200 ± 0.000 (2/2) |" in table
    with pytest.raises(ValueError, match="more than one run"):
        merge_ablation_results([seed0, seed0])


def test_gan_variants_are_loaded_by_name(tmp_path):
    from srkit.evaluation.ablation import load_variants
    with pytest.raises(ValueError, match="sftconcat_gan"):
        load_variants(tmp_path, ["sftconcat_gann"])
    with pytest.raises(FileNotFoundError, match="sftmd_gan.safetensors"):
        load_variants(tmp_path, ["sftmd_gan"])
