"""The BI and BD protocols (srkit.degrade.duf_downsample, protocol_lr) and the sampling phase (srkit.phase)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from srkit.degrade import degrade_uint8, duf_downsample, duf_kernel, protocol_lr
from srkit.metrics import psnr
from srkit.phase import align_lr, align_output, output_shift, shift_image
from srkit.resize import imresize_np

# Taps of the ×4 DUF Gaussian worked out by hand: σ = 1.6, g(d) = exp(−d²/5.12) for |d| ≤ 6,
# Z = Σ g(d) = 4.0104579708…; g(0)/Z, g(1)/Z, g(3)/Z, g(4)/Z.
X4_TAP = {0: 0.24934808125697797, 1: 0.20510813686914908, 3: 0.04299300108511959, 4: 0.010955590095311845}


def _impulse(row, col, size=32):
    x = torch.zeros(1, 1, size, size, dtype=torch.float64)
    x[0, 0, row, col] = 1.0
    return x


def test_x4_kernel_is_the_hand_computed_gaussian():
    k = duf_kernel(4).numpy()
    assert k.shape == (13, 13) and k.sum() == pytest.approx(1.0, abs=1e-12)
    assert k[6, 6] == pytest.approx(X4_TAP[0] ** 2, abs=1e-12)
    assert k[6, 10] == pytest.approx(X4_TAP[0] * X4_TAP[4], abs=1e-12)
    # ×2: σ 0.8, scipy truncates at int(4σ + 0.5) = 3 pixels, so the 13×13 has zeros beyond
    k2 = duf_kernel(2).numpy()
    assert k2[6, 6] == pytest.approx(0.49867645200647487 ** 2, abs=1e-12)
    assert k2[6, 9] > 0 and k2[6, 10] == 0 and k2[0, 0] == 0


def test_bd_is_corner_phase_lr_pixel_i_is_hr_pixel_4i():
    # an impulse at HR (8, 12) = 4·(2, 3): LR (2, 3) holds the kernel's centre tap
    lr = duf_downsample(_impulse(8, 12), 4)[0, 0].numpy()
    assert lr.shape == (8, 8)
    assert lr[2, 3] == pytest.approx(X4_TAP[0] ** 2, abs=1e-12)
    assert lr[2, 2] == pytest.approx(X4_TAP[0] * X4_TAP[4], abs=1e-12)   # HR (8, 8): 4 columns away
    assert lr[1, 3] == pytest.approx(X4_TAP[0] * X4_TAP[4], abs=1e-12)   # HR (4, 12): 4 rows away
    # one HR row further down, the LR pixel at 4·2 sees it at distance 1, the one at 4·3 at 3
    lr = duf_downsample(_impulse(9, 12), 4)[0, 0].numpy()
    assert lr[2, 3] == pytest.approx(X4_TAP[1] * X4_TAP[0], abs=1e-12)
    assert lr[3, 3] == pytest.approx(X4_TAP[3] * X4_TAP[0], abs=1e-12)
    # reflect padding: HR row 1 is seen by LR row 0 (centre HR 0) at −1 and at +1 (its mirror)
    lr = duf_downsample(_impulse(1, 12), 4)[0, 0].numpy()
    assert lr[0, 3] == pytest.approx(2 * X4_TAP[1] * X4_TAP[0], abs=1e-12)


def _independent_bd(hr: np.ndarray, scale: int) -> np.ndarray:
    """BD written out from its definition with numpy alone: Gaussian taps exp(−d²/2σ²) truncated at
    int(4σ + 0.5), normalised; mirror padding; the weighted sum around every s-th pixel."""
    sigma = 0.4 * scale
    radius = int(4 * sigma + 0.5)
    d = np.arange(-radius, radius + 1)
    g = np.exp(-d ** 2 / (2 * sigma ** 2))
    g /= g.sum()
    x = np.pad(hr.astype(np.float64) / 255, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    h, w = hr.shape[:2]
    out = np.zeros((h // scale, w // scale, hr.shape[2]))
    for i in range(h // scale):
        for j in range(w // scale):
            r, c = scale * i + radius, scale * j + radius
            window = x[r - radius:r + radius + 1, c - radius:c + radius + 1]
            out[i, j] = np.einsum("a,b,abk->k", g, g, window)
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bd_matches_an_independent_implementation_within_0_01_db(scale):
    from skimage import data
    hr = np.ascontiguousarray(data.astronaut()[96:96 + 72, 120:120 + 96])
    ours, theirs = protocol_lr(hr, scale, "bd"), _independent_bd(hr, scale)
    assert ours.shape == theirs.shape == (72 // scale, 96 // scale, 3)
    assert np.abs(ours.astype(int) - theirs).max() <= 1 and (ours != theirs).mean() < 1e-3
    a = psnr(align_output(imresize_np(ours, scale), scale, "corner"), hr, shave=scale)
    b = psnr(align_output(imresize_np(theirs, scale), scale, "corner"), hr, shave=scale)
    assert abs(a - b) < 0.01


def test_protocol_lr_bi_and_srkit_are_the_kits_own_downsamplers():
    from skimage import data

    from srkit.data.benchmarks import bicubic_lr
    hr = np.ascontiguousarray(data.astronaut()[:48, :60])
    assert np.array_equal(protocol_lr(hr, 4, "bi"), bicubic_lr(hr, 4))
    assert np.array_equal(protocol_lr(hr, 2, "srkit", sigma=1.4), degrade_uint8(hr, 2, sigma=1.4))
    with pytest.raises(ValueError, match="protocol must be one of"):
        protocol_lr(hr, 2, "bd2")
    with pytest.raises(ValueError, match="multiples of 4"):
        duf_downsample(torch.zeros(1, 3, 30, 32), 4)


def test_output_shift_per_scale():
    assert [output_shift(s, "corner") for s in (2, 3, 4)] == [-0.5, -1.0, -1.5]
    assert output_shift(4, "centre") == 0.0
    with pytest.raises(ValueError, match="phase must be one of"):
        output_shift(4, "middle")


def test_shift_image_moves_a_ramp_exactly():
    y, x = np.mgrid[0:40, 0:40].astype(np.float64)
    ramp = 2.0 * x + 0.5 * y
    moved = shift_image(ramp, -1.5)  # out(y, x) = in(y + 1.5, x + 1.5)
    # exact for the spline away from the border, where the reflected ramp bends it
    assert np.allclose(moved[12:-12, 12:-12], (2.0 * (x + 1.5) + 0.5 * (y + 1.5))[12:-12, 12:-12], atol=1e-3)
    image = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    whole = shift_image(image, -1.0)  # ×3's shift is a whole pixel: the samples themselves
    assert whole.dtype == np.uint8 and np.array_equal(whole[:-1, :-1], image[1:, 1:])


def test_aligning_corner_lr_recovers_what_the_offset_loses():
    # a smooth picture subsampled at HR 4i (corner); bicubic ↑ assumes 4i + 1.5
    y, x = np.mgrid[0:96, 0:96].astype(np.float64)
    hr = (127 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0))[..., None].repeat(3, 2).round().astype(np.uint8)
    lr = hr[::4, ::4]
    raw, aligned = imresize_np(lr, 4), align_output(imresize_np(lr, 4), 4, "corner")
    gain = psnr(aligned, hr, shave=8) - psnr(raw, hr, shave=8)
    assert gain > 8, gain
    moved = align_lr(lr.astype(np.float32) / 255, 4, "corner")  # the other way: LR to centre phase first
    before = psnr(np.clip(imresize_np(moved, 4) * 255, 0, 255).round().astype(np.uint8), hr, shave=8)
    assert before - psnr(raw, hr, shave=8) > 5


def test_upscale_phase_corner_moves_the_output(tmp_path):
    from srkit.checkpoint import save_checkpoint
    from srkit.cli import main
    from srkit.imageio import read_image_uint8, write_image
    from srkit.models.sft import GeneratorConfig, SFTGenerator
    torch.manual_seed(0)
    generator = SFTGenerator(GeneratorConfig.preset("tiny", scale=2, use_kernel=False, use_seg=False))
    weights = save_checkpoint(tmp_path / "tiny_x2.safetensors", {"generator": generator})
    image = tmp_path / "in.png"
    write_image(image, np.random.default_rng(0).integers(0, 256, (16, 20, 3), dtype=np.uint8))
    run = lambda out, *extra: main(["upscale", str(image), "-o", str(out), "--weights", str(weights),  # noqa: E731
                                    "--device", "cpu", "--quiet", *extra])
    assert run(tmp_path / "centre.png") == 0 and run(tmp_path / "corner.png", "--phase", "corner") == 0
    centre, corner = read_image_uint8(tmp_path / "centre.png"), read_image_uint8(tmp_path / "corner.png")
    assert np.array_equal(corner, shift_image(centre, -0.5)) and not np.array_equal(corner, centre)


def test_upscale_phase_corner_refuses_a_video(tmp_path, capsys):
    from srkit.cli import main
    from _standins import make_video
    pytest.importorskip("av")
    video = tmp_path / "in.mp4"
    make_video(video, frames=2)
    assert main(["upscale", str(video), "-o", str(tmp_path / "out.mp4"), "--phase", "corner", "--quiet"]) == 2
    assert "--phase corner is for images" in capsys.readouterr().err


def test_hand_taps_agree_with_the_formula():
    z = sum(math.exp(-d * d / 5.12) for d in range(-6, 7))
    assert all(X4_TAP[d] == pytest.approx(math.exp(-d * d / 5.12) / z, abs=1e-15) for d in X4_TAP)


def test_bench_degraded_under_bd_scores_aligned_outputs():
    from skimage import data

    from srkit.evaluation.degraded import GRID, degraded_lr, run_degraded
    hr = np.ascontiguousarray(data.astronaut()[100:164, 150:214])
    assert np.array_equal(degraded_lr(hr, 4, 3, GRID[0], protocol="bd"), protocol_lr(hr, 4, "bd"))
    noisy = degraded_lr(hr, 4, 3, GRID[1], protocol="bd")
    assert np.array_equal(noisy, degraded_lr(hr, 4, 3, GRID[1], protocol="bd")) and not np.array_equal(
        noisy, protocol_lr(hr, 4, "bd"))
    runs = {p: run_degraded({}, {"one": [hr]}, 4, (GRID[0],), progress=False, protocol="bd", phase=p)
            for p in ("centre", "corner")}
    corner, centre = (runs[p]["results"]["one"]["clean"]["bicubic"]["psnr"] for p in ("corner", "centre"))
    expect = psnr(align_output(imresize_np(protocol_lr(hr, 4, "bd"), 4), 4, "corner"), hr, shave=4)
    assert corner == pytest.approx(expect, abs=1e-9) and corner > centre + 1.0
