"""Dataset building: sources, size filter, 8:1:1 manifest, augmentation, determinism, packing."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from srkit.data.pairs import (DegradationConfig, PairSampler, PatchDataset, augment, build_report, fixed_batch,
                              format_report)
from srkit.data.sources import build_manifest, folder_refs, load_ref, skimage_refs, split_refs
from srkit.kernels import KernelPCA


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(18):
        sub = tmp_path / ("a" if i % 2 else "b/c")
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (80, 100, 3), np.uint8)).save(sub / f"{i}.png")
    for i in range(2):  # too small for min_size=64
        Image.fromarray(np.zeros((40, 200, 3), np.uint8)).save(tmp_path / f"small{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_folder_refs_recursive_and_manifest(folder, tmp_path):
    refs = folder_refs(folder)
    assert len(refs) == 20 and all(r.startswith("file:") for r in refs)
    m = build_manifest(refs, tmp_path / "m.json", min_size=64, seed=3)
    assert len(m["dropped"]) == 2 and all("small" in r for r in m["dropped"])
    assert (len(m["train"]), len(m["val"]), len(m["test"])) == (14, 2, 2)
    assert sorted(m["train"] + m["val"] + m["test"]) == sorted(r for r in refs if "small" not in r)
    assert json.loads((tmp_path / "m.json").read_text()) == json.loads(json.dumps(m))
    assert build_manifest(refs, min_size=64, seed=3)["val"] == m["val"]        # seeded
    assert build_manifest(refs, min_size=64, seed=4)["val"] != m["val"]


def test_split_ratios():
    s = split_refs([str(i) for i in range(100)], seed=0)
    assert (len(s["train"]), len(s["val"]), len(s["test"])) == (80, 10, 10)
    assert len(split_refs(["a", "b"], 0)["train"]) == 2  # too few images: all train


def test_skimage_and_missing_folder():
    refs = skimage_refs()
    assert "skimage:astronaut" in refs
    img = load_ref("skimage:camera")  # gray → RGB uint8
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    with pytest.raises(FileNotFoundError, match="not found"):
        folder_refs("/nonexistent/folder")


def test_hf_offline_error_is_clear(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    from srkit.data.sources import hf_dataset
    with pytest.raises(ConnectionError, match="not available.*HF_HUB_OFFLINE"):
        hf_dataset("srkit-test/definitely-not-cached")


def _dataset():
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (70, 90, 3), np.uint8) for _ in range(3)]
    labels = [rng.integers(-1, 10, (70, 90)).astype(np.int16) for _ in range(3)]
    return PatchDataset(images, labels)


def test_augment_is_dihedral():
    x = np.arange(12).reshape(3, 4)
    outs = {augment(x, k, f).tobytes() for k in range(4) for f in (False, True)}
    assert len(outs) == 8


def test_sampler_deterministic_and_labels_follow_pixels():
    pca = KernelPCA.fit(2, n=2000)
    s = PairSampler(_dataset(), DegradationConfig(scale=2, noise=(0, 15)), patch=32, batch=3, pca=pca, seed=5)
    a, b, c = s.batch_at(7), s.batch_at(7), s.batch_at(8)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert not torch.equal(a["hr"], c["hr"])
    assert a["hr"].shape == (3, 3, 32, 32) and a["lr"].shape == (3, 3, 16, 16)
    assert a["kernel"].shape == (3, 21, 21) and a["code"].shape == (3, 10) and a["noise"].shape == (3,)
    assert a["label"].shape == (3, 16, 16) and a["label"].dtype == torch.int64
    # crops, flips and rotations move labels with the pixels: the crop is found in the source image
    data = s.data
    rng = np.random.default_rng([5, 7, 0, 0])
    hr, lab = data.crops(3, 32, rng)
    assert np.array_equal(hr, (a["hr"].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8))
    assert torch.equal(torch.from_numpy(lab[:, 1::2, 1::2].astype(np.int64)), a["label"])


def test_patch_too_large_is_clear():
    with pytest.raises(ValueError, match="patch size 96 exceeds"):
        PairSampler(_dataset(), DegradationConfig(scale=4), patch=96, batch=1).batch_at(0)


def test_fixed_val_set_is_seeded():
    d = _dataset()
    v1 = fixed_batch(d, DegradationConfig(scale=4), 2, 48, seed=9)
    v2 = fixed_batch(d, DegradationConfig(scale=4), 2, 48, seed=9)
    assert torch.equal(v1["lr"], v2["lr"]) and torch.equal(v1["hr"], v2["hr"])
    assert not torch.equal(fixed_batch(d, DegradationConfig(scale=4), 2, 48, seed=10)["lr"], v1["lr"])


def test_pack_npz_roundtrip(tmp_path):
    d = _dataset()
    p = d.pack(tmp_path / "train.npz")
    back = PatchDataset.from_npz(p)
    assert len(back) == 3 and all(np.array_equal(a, b) for a, b in zip(d.images, back.images))
    assert all(np.array_equal(a, b) for a, b in zip(d.labels, back.labels))
    crops = PatchDataset.from_npz(d.pack(tmp_path / "crops.npz", crop=32, per_image=2))
    assert len(crops) == 6 and crops.images[0].shape == (32, 32, 3)


def test_report():
    d = _dataset()
    s = PairSampler(d, DegradationConfig(scale=4), patch=32, batch=2)
    rep = build_report({"train": [1, 2], "val": [3], "test": [], "dropped": []}, d, s)
    assert rep["splits"] == {"train": 2, "val": 1, "test": 0}
    assert sum(rep["kernel_width_hist"]["counts"]) == 256 and rep["kernel_width_hist"]["edges"][0] == 0.2
    assert "kernel width" in format_report(rep)
    assert "mpeg2" not in rep and "noise_share" not in rep  # defaults are left out
    archive = DegradationConfig(scale=2, noise=(0, 20), noise_share=0.5, jpeg=(30, 95), mpeg2=(4, 20),
                                compression_share=(0.3, 0.3))
    rep = build_report(None, d, PairSampler(d, archive, patch=32, batch=2))
    assert rep["noise_share"] == 0.5 and rep["mpeg2"] == (4, 20) and rep["compression_share"] == [0.3, 0.3]


def test_hr_soften_blurs_the_chosen_share_and_keeps_the_code():
    from srkit.data.pairs import make_batch, soften_hr
    from srkit.degrade import blur
    from srkit.kernels import gaussian_kernel, kernel_width
    rng = np.random.default_rng(0)
    hr_u8 = rng.integers(0, 256, (32, 48, 48, 3), np.uint8)
    hr = torch.from_numpy(hr_u8).permute(0, 3, 1, 2).float() / 255
    soft, sigma = soften_hr(hr, 0.5, (0.4, 0.9), torch.Generator().manual_seed(1))
    picked = sigma > 0
    assert 8 <= int(picked.sum()) <= 24                                       # about half
    assert ((sigma[picked] >= 0.4) & (sigma[picked] <= 0.9)).all()
    assert torch.equal(soft[~picked], hr[~picked])                            # the rest untouched
    i = int(picked.nonzero()[0])
    want = blur(hr[i:i + 1], gaussian_kernel(float(sigma[i]), size=7))
    assert torch.allclose(soft[i:i + 1], want, atol=1e-6)
    assert float(soft[picked].std()) < float(hr[picked].std())               # blur lowers the contrast of noise
    # In a training batch: the softened HR is the target, the code stays that of eq. 7's kernel.
    pca = KernelPCA.fit(2, n=2000, seed=0)
    cfg = DegradationConfig(scale=2, hr_soften=1.0, hr_soften_range=(0.5, 0.5))
    b = make_batch(hr_u8[:4], cfg, pca, torch.Generator().manual_seed(2))
    assert torch.allclose(b["hr_soften"], torch.full((4,), 0.5))
    assert not torch.allclose(b["hr"], hr[:4])
    est = kernel_width(pca.decode(b["code"]))
    assert torch.allclose(est, b["sigma"], atol=0.1)                          # eq. 7's σ, not σ ⊕ 0.5
    # Off (the default) draws nothing: batches are those of a run without the field.
    plain = make_batch(hr_u8[:4], DegradationConfig(scale=2), pca, torch.Generator().manual_seed(2))
    off = make_batch(hr_u8[:4], DegradationConfig(scale=2, hr_soften=0.0), pca, torch.Generator().manual_seed(2))
    assert "hr_soften" not in off and torch.equal(plain["lr"], off["lr"]) and torch.equal(plain["code"], off["code"])


@pytest.mark.parametrize("share, rng_", [(-0.1, (0.3, 1.0)), (1.5, (0.3, 1.0)), (0.5, (0.0, 1.0)), (0.5, (1.0, 0.5))])
def test_hr_soften_bad_settings_are_named(share, rng_):
    with pytest.raises(ValueError, match="hr_soften"):
        DegradationConfig(scale=2, hr_soften=share, hr_soften_range=rng_)


def test_trainer_configs_pass_hr_soften_to_the_degradation():
    from srkit.train.ikc import IKCConfig
    cfg = IKCConfig(scale=2, patch=48, degradation={"hr_soften": 0.25, "hr_soften_range": [0.2, 0.6]})  # JSON: a list
    deg = cfg.degradation
    assert (deg.scale, deg.hr_soften, deg.hr_soften_range) == (2, 0.25, (0.2, 0.6))
    with pytest.raises(ValueError, match="hr_soften"):
        IKCConfig(scale=2, patch=48, degradation={"hr_soften": 2.0})
