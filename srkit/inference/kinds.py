"""``srkit.upscale``'s image kinds: any array, PIL image or tensor in, the same kind out.

What goes in is split into the picture the networks see (an N×3×H×W tensor, uint8 or float) and
what they do not (the layout, the sample type, the alpha channel); the output is put back into the
input's kind:

* numpy: H×W and H×W×1 (gray) come back in that shape, H×W×2 (gray + alpha) and H×W×4 (RGBA) keep
  their alpha, upscaled as a picture (MATLAB bicubic, as the CLI does); uint8 stays uint8, uint16
  stays uint16, float (and bool) give float32 in [0, 1].
* PIL: every mode is read by ``srkit.imageio.pil_pixels``, the file reader's own conversion, so an
  image and the file it came from give the same pixels (the API does not apply EXIF orientation:
  it upscales the pixels it is given). Modes come back as L (from 1 and L), LA, RGB (from RGB,
  RGBX, CMYK, YCbCr, LAB, HSV and P), RGBA (from RGBA, RGBa, PA and P with transparency), I;16
  (from the four I;16 modes), I (holding [0, 65535]) and F (in [0, 1]).
* tensors: 3×H×W or N×3×H×W, returned in the input's dtype (uint8 or the float dtype given).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# PIL mode in → PIL mode out (the modes PIL cannot hold an SR of become the nearest that can).
PIL_OUTPUT_MODES = {"1": "L", "L": "L", "LA": "LA", "La": "LA", "P": "RGB", "PA": "RGBA", "RGB": "RGB",
                    "RGBA": "RGBA", "RGBa": "RGBA", "RGBX": "RGB", "CMYK": "RGB", "YCbCr": "RGB",
                    "LAB": "RGB", "HSV": "RGB", "I": "I", "I;16": "I;16", "I;16B": "I;16",
                    "I;16L": "I;16", "I;16N": "I;16", "F": "F"}


@dataclass
class ImageKind:
    """What ``srkit.upscale`` must give back, besides the SR picture.

    Attributes:
        container: "tensor3", "tensor4", "numpy" or "pil".
        dtype: the tensor dtype, or the numpy dtype of the samples (uint8, uint16 or float32).
        layout: numpy only: "hw" (gray, 2-D), "hw1" (gray, one channel), "hwc" (RGB, or gray /
            RGB with alpha when ``alpha`` is set).
        gray: the picture had one channel.
        alpha: the alpha channel (H×W, in the input's sample type), or None.
        mode: PIL only: the output mode (``PIL_OUTPUT_MODES``).
    """
    container: str
    dtype: object = None
    layout: str = "hwc"
    gray: bool = False
    alpha: np.ndarray | None = None
    mode: str | None = None


def image_to_tensor(image) -> tuple[torch.Tensor, ImageKind]:
    """numpy H×W(×C) / PIL / tensor → (N×3×H×W tensor on the CPU, ``ImageKind``).

    uint8 pictures stay uint8 (converted per tile); others become float32 [0, 1]. Tensors are
    checked by ``srkit.imageio.check_tensor_image``, arrays by ``to_float_rgb`` (the messages
    name the input, its shape and its values). Read-only arrays and tensors that require grad are
    taken as they are, without torch's warnings.
    """
    if isinstance(image, torch.Tensor):
        from srkit.imageio import check_tensor_image  # dims, channels, empty, dtype, NaN/inf, range
        image = image.detach()
        check_tensor_image(image, "input tensor")
        batch = image.unsqueeze(0) if image.dim() == 3 else image
        if batch.dtype not in (torch.uint8, torch.float32):
            batch = batch.float()  # bfloat16, float16, float64: the networks and numpy want float32
        return batch.cpu(), ImageKind("tensor3" if image.dim() == 3 else "tensor4", image.dtype)
    if type(image).__module__.startswith("PIL."):
        return _pil_to_tensor(image)
    return _array_to_tensor(np.asarray(image), "input image")


def _pil_to_tensor(image) -> tuple[torch.Tensor, ImageKind]:
    from srkit.imageio import pil_alpha, pil_pixels
    if image.mode not in PIL_OUTPUT_MODES:
        raise ValueError(f"input image: unsupported PIL mode {image.mode!r}; convert it to RGB first")
    pixels = pil_pixels(image, "input image")
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        pixels = pixels[..., :-1]  # pil_alpha gives the alpha of every mode, palette ones too
    alpha = pil_alpha(image)
    if alpha is not None:
        if pixels.dtype != np.uint8:  # alpha (8-bit in PIL) in the samples' scale
            alpha = alpha.astype(np.float32) / 255.0
        pixels = np.dstack([pixels, alpha.astype(pixels.dtype)])
    if pixels.dtype == bool:
        pixels = pixels.astype(np.uint8) * np.uint8(255)  # 0/1 → 0/255: exact, and mode L out
    tensor, kind = _array_to_tensor(pixels, "input image")
    kind.container, kind.mode = "pil", PIL_OUTPUT_MODES[image.mode]
    return tensor, kind


def _array_to_tensor(array: np.ndarray, name: str) -> tuple[torch.Tensor, ImageKind]:
    from srkit.imageio import to_float_rgb  # the checks and messages of every array
    layout = "hw" if array.ndim == 2 else "hw1" if array.ndim == 3 and array.shape[2] == 1 else "hwc"
    colour = to_float_rgb(array, name)  # checks dims, dtype and range first, naming the input
    channels = 1 if array.ndim == 2 else array.shape[2]
    alpha = array[..., -1] if channels in (2, 4) else None
    dtype = array.dtype.newbyteorder("=") if array.dtype.kind in "ui" else np.dtype(np.float32)
    kind = ImageKind("numpy", dtype, layout, gray=channels in (1, 2), alpha=alpha)
    if array.dtype == np.uint8 and channels == 3:
        # zero-copy: the HWC buffer seen as a channels-last N×3×H×W tensor; a read-only buffer
        # (np.asarray of a PIL image) is copied, as torch would only warn and share it
        buffer = np.ascontiguousarray(array)
        buffer = buffer if buffer.flags.writeable else buffer.copy()
        return torch.from_numpy(buffer).permute(2, 0, 1)[None], kind
    floats = torch.from_numpy(colour).permute(2, 0, 1)[None]
    if array.dtype == np.uint8:
        return (floats * 255).round().to(torch.uint8), kind
    return floats, kind


def tensor_to_kind(out: torch.Tensor, kind: ImageKind):
    """The N×3×sH×sW output (uint8, or float32 clamped to [0, 1] for arrays and PIL) in ``kind``."""
    if kind.container in ("tensor3", "tensor4"):
        out = out if out.dtype == kind.dtype else out.to(kind.dtype)
        return out[0] if kind.container == "tensor3" else out
    hwc = out[0].permute(1, 2, 0).numpy()  # a view of the channels-last output: no copy
    samples = _to_samples(hwc[..., :1] if kind.gray else hwc, kind.dtype)
    if kind.alpha is not None:
        samples = np.dstack([samples, _upscale_alpha(kind.alpha, hwc.shape[:2], kind.dtype)])
    if kind.container == "pil":
        return _to_pil(samples, kind.mode)
    if kind.layout == "hw":
        return samples[..., 0]
    return samples


def _to_samples(hwc: np.ndarray, dtype) -> np.ndarray:
    """uint8 stays; float [0, 1] → uint16 (rounded) or float32."""
    if hwc.dtype == np.uint8 or np.dtype(dtype) == np.float32:
        return hwc
    return np.round(np.clip(hwc, 0, 1) * 65535.0).astype(np.uint16)


def _upscale_alpha(alpha: np.ndarray, size: tuple[int, int], dtype) -> np.ndarray:
    """The alpha channel at the output size, MATLAB bicubic like the picture's bicubic reference
    and the CLI (``srkit.commands.upscaling.images``), clipped and in the output's sample type."""
    from srkit.resize import imresize_np
    if alpha.dtype == np.uint8:
        return imresize_np(alpha, size=size)
    scale = 65535.0 if alpha.dtype.kind == "u" else 1.0
    up = np.clip(imresize_np(alpha.astype(np.float32) / scale, size=size), 0, 1)
    if np.dtype(dtype) == np.float32:
        return up.astype(np.float32)
    return np.round(up * 65535.0).astype(np.uint16)


def _to_pil(samples: np.ndarray, mode: str):
    """H×W×C samples → a PIL image of ``mode``: L, LA, RGB, RGBA from uint8 samples (8-bit modes
    in); I;16 (uint16), I (int32 holding [0, 65535]) and F (float32) from one channel."""
    from PIL import Image
    if mode in ("L", "I;16", "I", "F"):
        samples = samples[..., 0]
    if mode == "I":
        samples = samples.astype(np.int32)
    return Image.fromarray(np.ascontiguousarray(samples))  # the mode follows shape and dtype
