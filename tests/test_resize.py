import numpy as np
import pytest
import torch

from srkit.resize import contributions, imresize, imresize_np, imresize_reference

# MATLAB's imresize(x, 0.5, 'bicubic') taps (antialiased cubic, a = -0.5) and ×2 taps, as
# documented for MATLAB: the golden values every compatible implementation must reproduce.
MATLAB_HALF = [-0.01171875, -0.03515625, 0.11328125, 0.43359375, 0.43359375, 0.11328125, -0.03515625, -0.01171875]
MATLAB_DOUBLE = [-0.0234375, 0.2265625, 0.8671875, -0.0703125]


def test_matlab_taps():
    idx, w = contributions(32, 16, 0.5)
    np.testing.assert_allclose(w[8], MATLAB_HALF, atol=1e-12)
    np.testing.assert_array_equal(idx[8], np.arange(13, 21))
    idx, w = contributions(16, 32, 2.0)
    np.testing.assert_allclose(w[10][np.abs(w[10]) > 0], MATLAB_DOUBLE, atol=1e-12)


def test_symmetric_padding_at_the_border():
    idx, _ = contributions(10, 5, 0.5)
    assert idx.min() == 0 and idx.max() == 9
    assert list(idx[0][:4]) == [2, 1, 0, 0]  # mirrored, edge pixel repeated (MATLAB 'symmetric')


def test_torch_matches_numpy_reference():
    rng = np.random.default_rng(0)
    img = rng.random((37, 52, 3))
    for s in (1 / 2, 1 / 3, 1 / 4, 2, 3, 4):
        ref = imresize_reference(img, s)
        t = imresize(torch.from_numpy(img).permute(2, 0, 1).float(), scale=s).permute(1, 2, 0).numpy()
        assert t.shape == ref.shape
        np.testing.assert_allclose(t, ref, atol=1e-5)


def test_output_sizes_and_batch():
    x = torch.rand(4, 3, 30, 45)
    assert imresize(x, scale=1 / 3).shape == (4, 3, 10, 15)
    assert imresize(x, scale=4).shape == (4, 3, 120, 180)
    assert imresize(x, size=(7, 9)).shape == (4, 3, 7, 9)
    assert imresize(torch.rand(3, 31, 33), scale=0.5).shape == (3, 16, 17)  # ceil, as MATLAB


def test_linear_ramp_is_reproduced_by_upscaling():
    x = torch.arange(32, dtype=torch.float64).repeat(32, 1)  # constant along rows, ramp along columns
    y = imresize(x, scale=2)
    inner = y[:, 8:-8]
    d = inner[:, 1:] - inner[:, :-1]
    assert torch.allclose(d, torch.full_like(d, 0.5), atol=1e-9)  # cubic convolution keeps lines


def test_constant_image_stays_constant():
    x = torch.full((1, 3, 20, 20), 0.3)
    for s in (0.25, 0.5, 2, 3):
        assert torch.allclose(imresize(x, scale=s), torch.tensor(0.3), atol=1e-6)


def test_differentiable_and_device_agnostic():
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    imresize(x, scale=0.5).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert imresize(x.double(), scale=2).dtype == torch.float64


def test_numpy_wrapper_dtypes():
    u8 = (np.random.default_rng(1).random((20, 24, 3)) * 255).astype(np.uint8)
    out = imresize_np(u8, 0.5)
    assert out.dtype == np.uint8 and out.shape == (10, 12, 3)
    assert imresize_np(u8.astype(np.float32) / 255, 2).dtype == np.float32
    assert imresize_np(u8[..., 0], 2).shape == (40, 48)


def test_bad_inputs():
    with pytest.raises(ValueError, match="float tensor"):
        imresize(torch.zeros(3, 8, 8, dtype=torch.uint8), scale=2)
    with pytest.raises(ValueError, match="exactly one"):
        imresize(torch.zeros(3, 8, 8), scale=2, size=(4, 4))
    with pytest.raises(ValueError, match="scale must be"):
        imresize(torch.zeros(3, 8, 8), scale=-1)
    with pytest.raises(ValueError, match="at least 2 dims"):
        imresize(torch.zeros(8), scale=2)
