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


def test_project_isotropic_flag_makes_the_last_codes_isotropic(data_dir, capsys, monkeypatch):
    mod = load_script("upper_bound_gap", monkeypatch)
    crop_benchmarks(monkeypatch, images=1)
    num = r"([+-]\d+\.\d+)"
    row = rf"^\| mean \| [\d.]+ \| {num} \| {num} \| {num} / {num} \| {num} / {num} \|$"
    args = ["--data", str(data_dir), "--weights", "x2", "--sets", "Set5", "--steps", "1"]
    assert mod.main(args) == 0
    plain = [float(v) for v in re.search(row, capsys.readouterr().out, re.M).groups()]
    assert mod.main(args + ["--project-isotropic"]) == 0
    out = capsys.readouterr().out
    assert "projected onto isotropic Gaussians" in out
    proj = [float(v) for v in re.search(row, out, re.M).groups()]
    assert proj[0] == plain[0] and proj[1] != plain[1]  # same predictor; the corrected code changed
    # the code at t is an isotropic Gaussian's: its second moment and its nearest Gaussian agree
    # (without the projection they differ here by 0.007)
    assert proj[3] == pytest.approx(proj[5], abs=0.002)
