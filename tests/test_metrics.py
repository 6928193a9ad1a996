import math

import numpy as np
import pytest
import skimage.data

from srkit.imageio import modcrop
from srkit.metrics import masked_psnr, masked_ssim, psnr, rgb_to_gray, rgb_to_y, ssim
from srkit.resize import imresize_np


def test_y_channel_formula():
    assert rgb_to_y(np.zeros((1, 1, 3), np.uint8))[0, 0] == 16
    assert rgb_to_y(np.full((1, 1, 3), 255, np.uint8))[0, 0] == 235
    assert abs(rgb_to_y(np.array([[[255, 0, 0]]], np.uint8), rounded=False)[0, 0] - (16 + 65.481)) < 1e-9
    g = np.full((2, 2, 3), 77, np.uint8)
    assert (rgb_to_gray(g) == 77).all()


def test_psnr_golden_values():
    a = np.full((16, 16, 3), 100, np.uint8)
    b = a + 1
    assert abs(psnr(a, b, y_only=False) - 10 * math.log10(255 ** 2)) < 1e-9  # MSE = 1 → 48.13 dB
    assert psnr(a, a) == math.inf
    assert ssim(a, a) == pytest.approx(1.0)


# Regression values of the full protocol (bicubic ↓↑) on a built-in image, so the protocol is
# checked even where the benchmark data is absent; tests/test_bench.py checks the published table.
GOLDEN = {2: (26.911006807733017, 0.8930616615323181), 3: (24.575996335934015, 0.8075904885950317),
          4: (23.02772424557189, 0.7267181624619099)}


@pytest.mark.parametrize("s", [2, 3, 4])
def test_protocol_on_builtin_image(s):
    hr = modcrop(modcrop(skimage.data.astronaut(), 4)[::2, ::2], s)
    sr = imresize_np(imresize_np(hr, 1 / s), s)
    assert psnr(sr, hr, s) == pytest.approx(GOLDEN[s][0], abs=1e-6)
    assert ssim(sr, hr, s) == pytest.approx(GOLDEN[s][1], abs=1e-6)


def test_masked_metrics_on_synthetic_images():
    rng = np.random.default_rng(0)
    hr = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    sr = hr.copy()
    sr[:, 32:] = np.clip(sr[:, 32:].astype(int) + rng.integers(-20, 20, (64, 32, 3)), 0, 255).astype(np.uint8)
    left = np.zeros((64, 64), bool)
    left[:, :32] = True
    assert masked_psnr(sr, hr, left) == math.inf  # unchanged region
    assert masked_psnr(sr, hr, ~left) < 40
    assert masked_psnr(sr, hr, ~left) < psnr(sr, hr) < math.inf
    assert masked_ssim(sr, hr, left[:, :] & (np.arange(64) < 20)[None, :]) == pytest.approx(1.0)
    assert masked_ssim(sr, hr, ~left) < 0.99
    full = np.ones((64, 64), bool)
    assert masked_ssim(sr, hr, full) == pytest.approx(ssim(sr, hr), abs=1e-12)
    assert masked_psnr(sr, hr, full, shave=2) == pytest.approx(psnr(sr, hr, shave=2))
    assert math.isnan(masked_psnr(sr, hr, np.zeros((64, 64), bool)))


def test_metric_bad_inputs():
    a = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="uint8"):
        psnr(a.astype(np.float32), a)
    with pytest.raises(ValueError, match="same shape"):
        psnr(a, np.zeros((10, 12, 3), np.uint8))
    with pytest.raises(ValueError, match="shave"):
        psnr(a, a, shave=5)
    with pytest.raises(ValueError, match="mask shape"):
        masked_psnr(a, a, np.ones((5, 5), bool))
