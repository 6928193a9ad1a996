"""bench/upper_bound_gap.py with the bundled x2 pipeline on 96×96 crops of two Set5 images: a row per
image and a mean row that agrees with the rows."""
import re

import pytest

from tests._benchscripts import crop_benchmarks, load_script


def test_upper_bound_gap_prints_a_row_per_image_and_their_mean(data_dir, capsys, monkeypatch):
    mod = load_script("upper_bound_gap", monkeypatch)
    crop_benchmarks(monkeypatch, images=2)
    assert mod.main(["--data", str(data_dir), "--weights", "x2", "--sets", "Set5", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    num = r"([+-]\d+\.\d+)"
    rows = re.findall(rf"^\| (\S+) \| (\d+\.\d\d) \| {num} \| {num} \| {num} / {num} \| {num} / {num} \|$", out, re.M)
    assert [r[0] for r in rows][-1] == "mean" and len(rows) == 3
    for col in range(1, 8):
        vals = [float(r[col]) for r in rows]
        assert vals[2] == pytest.approx((vals[0] + vals[1]) / 2, abs=0.011)
    assert all(20 < float(r[1]) < 50 and abs(float(r[4])) < 1.5 for r in rows)


def test_isotropic_projection_returns_codes_of_isotropic_gaussians(monkeypatch):
    import torch

    import srkit
    from srkit.kernels import gaussian_kernels
    mod = load_script("upper_bound_gap", monkeypatch)
    pipe = srkit.load("x2")
    wide = pipe.pca.encode(gaussian_kernels(torch.tensor([1.3]), torch.tensor([0.6]), torch.tensor([0.4])))
    proj = mod.IsotropicProjection(lambda sr, code: code, pipe.pca)(None, wide)  # identity "corrector"
    sigma = pipe.pca.isotropic_width(proj)
    iso = pipe.pca.encode(gaussian_kernels(sigma, sigma, torch.zeros(1)))
    assert torch.allclose(proj, iso, atol=1e-6) and not torch.allclose(proj, wide, atol=1e-3)
    assert 0.6 < float(sigma) < 1.3  # between the anisotropic kernel's two widths


def test_project_isotropic_flag_is_reported(data_dir, capsys, monkeypatch):
    mod = load_script("upper_bound_gap", monkeypatch)
    crop_benchmarks(monkeypatch, images=1)
    assert mod.main(["--data", str(data_dir), "--weights", "x2", "--sets", "Set5", "--steps", "1",
                     "--project-isotropic"]) == 0
    assert "projected onto isotropic Gaussians" in capsys.readouterr().out
