"""``srkit.upscale`` with every kind of image the Python API takes: each PIL mode, numpy layout and
tensor dtype gives its exact pixels to the model and comes back in its own kind, without warnings.

The model is a nearest-neighbour ×2 (each output pixel a copy of one input pixel), so the exact
output of every conversion is known: the input repeated 2×2.
"""
import re
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import srkit
from srkit.imageio import read_image


class NearestSR(torch.nn.Module):
    scale = 2

    def forward(self, x):
        return x.repeat_interleave(2, -1).repeat_interleave(2, -2)


@pytest.fixture(autouse=True)
def _no_warnings():
    """No conversion may warn (torch's read-only / requires_grad warnings included)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _up(a):
    return np.asarray(a).repeat(2, 0).repeat(2, 1)


RNG = np.random.default_rng(46)
GRAY16 = RNG.integers(0, 65536, (9, 7), dtype=np.uint16)
RGB8 = RNG.integers(0, 256, (9, 7, 3), dtype=np.uint8)


def _sixteen_bit(mode):
    if mode == "I;16B":
        return Image.frombytes("I;16B", (7, 9), GRAY16.astype(">u2").tobytes())
    if mode == "I;16L":
        return Image.frombytes("I;16L", (7, 9), GRAY16.astype("<u2").tobytes())
    if mode == "I;16N":
        return Image.frombytes("I;16N", (7, 9), GRAY16.astype("=u2").tobytes())
    return Image.fromarray(GRAY16)  # I;16


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I;16L", "I;16N"])
def test_pil_16_bit_keeps_every_level(mode):
    out = srkit.upscale(_sixteen_bit(mode), NearestSR(), device="cpu")
    assert out.mode == "I;16" and out.size == (14, 18)
    np.testing.assert_array_equal(np.asarray(out), _up(GRAY16))  # was 255 everywhere: white


def test_pil_mode_i_and_f_keep_their_values():
    out = srkit.upscale(Image.fromarray(GRAY16.astype(np.int32)), NearestSR(), device="cpu")
    assert out.mode == "I"
    np.testing.assert_array_equal(np.asarray(out), _up(GRAY16))
    floats = (GRAY16 / 65535.0).astype(np.float32)
    out = srkit.upscale(Image.fromarray(floats), NearestSR(), device="cpu")
    assert out.mode == "F"  # was black and white: floats truncated to 0/1
    np.testing.assert_allclose(np.asarray(out), _up(floats), atol=1e-6)


def test_pil_mode_i_outside_16_bits_is_refused():
    with pytest.raises(ValueError, match=r"input image: int32 integer pixels range over \[-5, 70000\]"):
        srkit.upscale(Image.fromarray(np.array([[-5, 70000]], np.int32)), NearestSR(), device="cpu")


# Every other PIL mode: (mode in, mode out); the expected pixels from PIL's own conversions.
EIGHT_BIT = [("1", "L"), ("L", "L"), ("LA", "LA"), ("P", "RGB"), ("PA", "RGBA"), ("RGB", "RGB"),
             ("RGBA", "RGBA"), ("RGBX", "RGB"), ("CMYK", "RGB"), ("YCbCr", "RGB"), ("LAB", "RGB"),
             ("HSV", "RGB")]


@pytest.mark.parametrize("mode,out_mode", EIGHT_BIT)
def test_pil_8_bit_modes(mode, out_mode):
    image = Image.fromarray(RGB8).convert(mode)
    if mode in ("LA", "RGBA", "PA"):
        image.putalpha(Image.fromarray(RNG.integers(0, 256, (9, 7), dtype=np.uint8)))
    out = srkit.upscale(image, NearestSR(), device="cpu")
    assert out.mode == out_mode and out.size == (14, 18)
    got, want = np.asarray(out), _expected_of(image, mode)
    if out_mode.endswith("A"):  # alpha is upscaled as a picture (MATLAB bicubic), as the CLI does
        from srkit.resize import imresize_np
        np.testing.assert_array_equal(got[..., -1], imresize_np(np.asarray(image.getchannel("A")), size=(18, 14)))
        got, want = got[..., :-1], want[..., :-1]
    np.testing.assert_array_equal(got, want)


def _expected_of(image, mode):
    if mode == "1":
        return _up(np.asarray(image).astype(np.uint8) * 255)
    if mode in ("L", "LA", "RGB", "RGBA"):
        return _up(np.asarray(image))
    if mode in ("P", "PA"):
        return _up(np.asarray(image.convert("RGBA" if mode == "PA" else "RGB")))
    return _up(np.asarray(image.convert("RGB")))


def test_pil_premultiplied_alpha_is_undone():
    straight = Image.fromarray(np.dstack([RGB8, np.full((9, 7), 128, np.uint8)]))
    out = srkit.upscale(straight.convert("RGBa"), NearestSR(), device="cpu")
    assert out.mode == "RGBA"
    want = _up(np.asarray(straight.convert("RGBa").convert("RGBA")))
    np.testing.assert_array_equal(np.asarray(out)[..., :3], want[..., :3])
    assert (np.asarray(out)[..., 3] == 128).all()


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I", "F", "L", "RGB", "CMYK"])
def test_pil_image_and_its_file_give_the_same_pixels(mode, tmp_path):
    if mode in ("I;16", "I;16B"):
        image = _sixteen_bit(mode)
    elif mode == "I":
        image = Image.fromarray(GRAY16.astype(np.int32))
    elif mode == "F":
        image = Image.fromarray((GRAY16 / 65535.0).astype(np.float32))
    else:
        image = Image.fromarray(RGB8).convert(mode)
    image.save(tmp_path / "a.tif")
    with Image.open(tmp_path / "a.tif") as opened:
        out = srkit.upscale(opened, NearestSR(), device="cpu")
    from_file = srkit.upscale(read_image(tmp_path / "a.tif"), NearestSR(), device="cpu")
    values = np.asarray(out).astype(np.float64)
    values = values / {"I;16": 65535, "I": 65535, "F": 1}.get(out.mode, 255)
    values = np.repeat(values[..., None], 3, 2) if values.ndim == 2 else values
    np.testing.assert_allclose(values, from_file, atol=1e-6)


# --- numpy layouts --------------------------------------------------------------------------


@pytest.mark.parametrize("shape,dtype", [((9, 7), np.uint8), ((9, 7, 1), np.uint8), ((9, 7, 2), np.uint8),
                                         ((9, 7, 4), np.uint8), ((9, 7), np.uint16), ((9, 7, 3), np.uint16),
                                         ((9, 7, 4), np.float32), ((9, 7, 2), np.float64)])
def test_numpy_layout_and_dtype_come_back(shape, dtype):
    if np.dtype(dtype).kind == "f":
        a = RNG.random(shape).astype(dtype)
    else:
        a = RNG.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    out = srkit.upscale(a, NearestSR(), device="cpu")
    assert out.shape == (18, 14, *shape[2:])  # gray stayed gray, alpha stayed
    assert out.dtype == (np.float32 if np.dtype(dtype).kind == "f" else dtype)
    colour = _up(a if len(shape) == 2 or shape[2] in (1, 3) else a[..., :-1])
    np.testing.assert_allclose(out[..., :colour.shape[2]] if out.ndim == 3 else out, colour, atol=1e-6)
    if len(shape) == 3 and shape[2] in (2, 4):  # alpha: MATLAB bicubic of the alpha, as the CLI does
        from srkit.resize import imresize_np
        alpha = a[..., -1]
        want = (imresize_np(alpha, size=(18, 14)) if a.dtype == np.uint8
                else np.clip(imresize_np(alpha.astype(np.float32), size=(18, 14)), 0, 1))
        np.testing.assert_allclose(out[..., -1], want, atol=1e-6)


def test_read_only_array_is_taken_without_a_warning():
    a = np.asarray(Image.fromarray(RGB8))  # what PIL hands out: not writeable
    assert not a.flags.writeable
    np.testing.assert_array_equal(srkit.upscale(a, NearestSR(), device="cpu"), _up(RGB8))


# --- tensors --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32, torch.float64, torch.uint8])
def test_tensor_dtypes_come_back_in_their_dtype(dtype):
    t = torch.from_numpy(RGB8).permute(2, 0, 1)
    t = t if dtype == torch.uint8 else (t.float() / 255).to(dtype)
    out = srkit.upscale(t, NearestSR(), device="cpu")  # bfloat16 crashed in the bar detection
    assert out.dtype == dtype and tuple(out.shape) == (3, 18, 14)
    want = t.float().repeat_interleave(2, -1).repeat_interleave(2, -2)
    assert torch.equal(out.float(), want)


def test_tensor_requiring_grad_is_taken_without_a_warning():
    t = torch.rand(1, 3, 9, 7, requires_grad=True)
    out = srkit.upscale(t, NearestSR(), device="cpu")
    assert not out.requires_grad
    assert torch.equal(out, t.detach().repeat_interleave(2, -1).repeat_interleave(2, -2))


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool, torch.int8])
def test_integer_tensors_other_than_uint8_are_refused(dtype):
    with pytest.raises(ValueError, match=re.escape(f"input tensor: unsupported dtype {dtype}; use torch.uint8 "
                                                   "(0-255) or a float dtype with values in [0, 1]")):
        srkit.upscale(torch.zeros(3, 4, 5, dtype=dtype), NearestSR(), device="cpu")
