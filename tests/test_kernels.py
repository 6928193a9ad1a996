import math

import pytest
import torch

from srkit.kernels import (SIGMA_RANGES, KernelPCA, KernelSpec, gaussian_kernel, gaussian_kernels, kernel_width,
                           motion_kernel, sample_kernels)


def second_moments(k):
    r = torch.arange(k.shape[-1], dtype=torch.float64) - (k.shape[-1] - 1) / 2
    y, x = torch.meshgrid(r, r, indexing="ij")
    k = k.double()
    return float((k * x * x).sum()), float((k * y * y).sum()), float((k * x * y).sum())


def test_kernels_sum_to_one_and_are_centred():
    for k in [gaussian_kernel(0.2), gaussian_kernel(2.5), gaussian_kernel(sigma_x=3, sigma_y=0.7, theta=1.0),
              motion_kernel(9, 0.3), motion_kernel(0, 0)]:
        assert k.shape == (21, 21)
        assert abs(float(k.sum()) - 1) < 1e-5
        assert float(k.min()) >= 0
        r = torch.arange(21.0) - 10
        assert abs(float((k.sum(0) * r).sum())) < 1e-4 and abs(float((k.sum(1) * r).sum())) < 1e-4


def test_width_grows_with_sigma():
    widths = [second_moments(gaussian_kernel(s))[0] for s in (0.5, 1.0, 2.0, 3.0)]
    assert all(a < b for a, b in zip(widths, widths[1:]))
    # Far from the truncation, the second moment is sigma²
    assert abs(widths[1] - 1.0) < 1e-3


def test_anisotropic_orientation_follows_theta():
    kx = gaussian_kernel(sigma_x=3.0, sigma_y=0.8, theta=0.0)
    mxx, myy, _ = second_moments(kx)
    assert mxx > 5 * myy  # long axis horizontal
    kv = gaussian_kernel(sigma_x=3.0, sigma_y=0.8, theta=math.pi / 2)
    mxx, myy, _ = second_moments(kv)
    assert myy > 5 * mxx  # rotated by 90°: long axis vertical
    # 45° counter-clockwise on screen (y down): the long axis runs from bottom-left to top-right
    kd = gaussian_kernel(sigma_x=3.0, sigma_y=0.8, theta=math.pi / 4)
    _, _, mxy = second_moments(kd)
    assert mxy < -1.0


def test_motion_kernel_is_a_line_along_the_angle():
    k = motion_kernel(11, 0.0)
    assert float(k[10].sum()) > 0.99  # horizontal: all mass on the centre row
    k = motion_kernel(11, math.pi / 2)
    assert float(k[:, 10].sum()) > 0.99
    with pytest.raises(ValueError, match="motion length"):
        motion_kernel(40, 0.0)


def test_sampling_is_seeded_and_in_range():
    for scale, (lo, hi) in SIGMA_RANGES.items():
        k1, p1 = sample_kernels(64, scale, torch.Generator().manual_seed(3))
        k2, p2 = sample_kernels(64, scale, torch.Generator().manual_seed(3))
        assert torch.equal(k1, k2)
        assert float(p1["sigma_x"].min()) >= lo and float(p1["sigma_x"].max()) <= hi
        assert torch.equal(p1["sigma_x"], p1["sigma_y"])  # isotropic by default
    _, p = sample_kernels(200, KernelSpec(scale=4, aniso_prob=1.0), torch.Generator().manual_seed(0))
    assert (p["sigma_x"] != p["sigma_y"]).all()


def test_bad_kernel_arguments():
    with pytest.raises(ValueError, match="> 0"):
        gaussian_kernel(0.0)
    with pytest.raises(ValueError, match="odd"):
        gaussian_kernel(1.0, size=20)
    with pytest.raises(ValueError, match="unsupported scale"):
        KernelSpec(scale=5)
    with pytest.raises(ValueError):
        gaussian_kernels(torch.tensor([float("nan")]), torch.tensor([1.0]), torch.tensor([0.0]))


def test_pca_round_trip_error_is_small(tmp_path):
    pca = KernelPCA.fit(4, b=10, n=4000, seed=0)
    k, _ = sample_kernels(500, 4, torch.Generator().manual_seed(1))
    codes = pca.encode(k)
    assert codes.shape == (500, 10)
    # Stated bound: max abs error per kernel entry below 2e-3 (kernel peak values are up to ~0.8)
    assert float(pca.reconstruction_error(k).max()) < 2e-3
    assert sum(pca.meta.explained_variance) > 0.99
    path = tmp_path / "pca.safetensors"
    pca.save(path)
    back = KernelPCA.load(path)
    assert torch.equal(back.matrix, pca.matrix) and torch.equal(back.mean, pca.mean)
    assert back.meta == pca.meta
    assert back.meta.sigma_range == (0.2, 4.0) and back.meta.centred


def test_pca_is_deterministic_given_seed():
    a = KernelPCA.fit(2, n=1000, seed=5)
    b = KernelPCA.fit(2, n=1000, seed=5)
    assert torch.equal(a.matrix, b.matrix)


def test_pca_bad_inputs(tmp_path):
    pca = KernelPCA.fit(2, n=500)
    with pytest.raises(ValueError, match="21×21"):
        pca.encode(torch.zeros(2, 15, 15))
    with pytest.raises(ValueError, match="10 entries"):
        pca.decode(torch.zeros(2, 9))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="bad.safetensors"):
        KernelPCA.load(bad)
    with pytest.raises(FileNotFoundError):
        KernelPCA.load(tmp_path / "missing.safetensors")


@pytest.mark.parametrize("sigma, width", [(0.5, 0.4637), (0.8, 0.7999), (1.6, 1.6000), (2.0, 2.0000), (3.2, 3.1813)])
def test_kernel_width_golden_values(sigma, width):
    assert float(kernel_width(gaussian_kernel(sigma))) == pytest.approx(width, abs=2e-4)


def test_kernel_width_of_shifted_anisotropic_and_decoded_kernels():
    k = gaussian_kernels(torch.tensor([1.0, 1.2]), torch.tensor([2.0, 1.2]), torch.tensor([0.7, 0.0]))
    assert kernel_width(k).tolist() == pytest.approx([math.sqrt(2.5), 1.2], abs=1e-3)
    assert float(kernel_width(torch.roll(k[1], 3, dims=-1))) == pytest.approx(1.2, abs=1e-3)  # about its centroid
    pca = KernelPCA.fit(2, n=2000)
    codes = pca.encode(gaussian_kernels(torch.tensor([0.9, 1.5]), torch.tensor([0.9, 1.5]), torch.zeros(2)))
    assert kernel_width(pca.decode(codes)).tolist() == pytest.approx([0.9, 1.5], abs=0.02)
    with pytest.raises(ValueError, match="no positive"):
        kernel_width(-gaussian_kernel(1.0))
    with pytest.raises(ValueError, match="odd size"):
        kernel_width(torch.ones(4, 4))


def test_isotropic_width_finds_gaussians_and_reads_a_heavy_tailed_code_by_its_core():
    pca = KernelPCA.fit(2, n=2000)
    codes = pca.encode(gaussian_kernels(torch.tensor([0.9, 1.5]), torch.tensor([0.9, 1.5]), torch.zeros(2)))
    assert pca.isotropic_width(codes).tolist() == pytest.approx([0.9, 1.5], abs=0.005)
    # A narrow core with wide tails: its second moment says 1.27, its nearest Gaussian is 1.025.
    mix = pca.encode((0.75 * gaussian_kernel(0.9) + 0.25 * gaussian_kernel(2.0))[None])
    assert float(kernel_width(pca.decode(mix))) == pytest.approx(1.268, abs=2e-3)
    assert float(pca.isotropic_width(mix)) == pytest.approx(1.025, abs=0.005)
    with pytest.raises(ValueError, match="codes"):
        pca.isotropic_width(codes[:, :5])


def test_isotropic_width_builds_its_reference_grid_once_per_step_and_device(monkeypatch):
    pca = KernelPCA.fit(2, n=2000)
    codes = pca.encode(gaussian_kernels(torch.tensor([0.9, 1.5]), torch.tensor([0.9, 1.5]), torch.zeros(2)))
    calls = []
    encode = pca.encode
    monkeypatch.setattr(pca, "encode", lambda k: calls.append(k.shape[0]) or encode(k))
    first = pca.isotropic_width(codes)
    assert pca.isotropic_width(codes).tolist() == first.tolist() and len(calls) == 1
    pca.isotropic_width(codes, step=0.01)
    assert len(calls) == 2
    pca.to("cpu")  # a move drops the grids: they must live on the matrix's device
    assert pca.isotropic_width(codes).tolist() == first.tolist() and len(calls) == 3
