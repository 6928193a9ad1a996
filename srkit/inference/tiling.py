"""Tiled inference: upscale images of any size with memory that depends on the tile, not the image.

The image stays on the CPU; tiles are streamed to the device one at a time and their centres are
written into a preallocated output. Each tile is run with a margin of ``overlap`` LR pixels of real
image context on every side that has one, and only the tile's centre is kept ("crop the margin").
When ``overlap`` is at least the model's receptive-field radius, every kept output pixel sees exactly
the input it would see in an untiled run, so tiled == untiled (to float rounding); at the image
border the tile reaches the real border, so the model's own padding is reproduced too.

All input windows have the same size (edge windows are shifted inwards rather than shrunk), so a
compiled model or cuDNN autotuning sees one shape only.
"""
from __future__ import annotations

from typing import Callable

import torch

from srkit.precision import autocast, resolve as resolve_precision

TileFn = Callable[[torch.Tensor], torch.Tensor]

# Without an explicit tile size, images up to this many LR pixels run in one piece.
AUTO_UNTILED_PIXELS = {"cpu": 512 * 512, "cuda": 1920 * 1088}
AUTO_TILE = {"cpu": 256, "cuda": 512}


def tile_windows(length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Split one axis into kept cores and the input windows around them.

    Args:
        length: axis length in LR pixels (>= 1).
        tile: core size in LR pixels (>= 1); the last core may be shorter.
        overlap: context margin in LR pixels (>= 0) on each side of a core.

    Returns:
        A list of ``(core_start, core_end, window_start, window_end)``; every window has the same
        size ``min(length, tile + 2 * overlap)`` and contains its core plus ``overlap`` pixels each
        side (clipped at the image border).
    """
    if tile < 1 or overlap < 0:
        raise ValueError(f"tile must be >= 1 and overlap >= 0, got tile={tile}, overlap={overlap}")
    window = min(length, tile + 2 * overlap)
    spans = []
    for core_start in range(0, length, tile):
        core_end = min(core_start + tile, length)
        window_start = min(max(core_start - overlap, 0), length - window)
        spans.append((core_start, core_end, window_start, window_start + window))
    return spans


def allocate_output(n: int, height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
    """N×3×H×W output stored channels-last, so ``out.permute(0, 2, 3, 1).numpy()`` is a free view."""
    return torch.empty((n, 3, height, width), dtype=dtype, memory_format=torch.channels_last)


def _to_float(tile: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] or float tile → float32 in the input's range ([0, 1] by convention)."""
    if tile.dtype == torch.uint8:
        return tile.float().div_(255.0)
    return tile.float()


def _to_dtype(sr: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Model output → output dtype: uint8 is clipped and rounded, floats are kept unclipped."""
    if dtype == torch.uint8:
        return sr.float().clamp_(0, 1).mul_(255.0).round_().to(torch.uint8)
    return sr.to(dtype)


def tiled_upscale(image: torch.Tensor, fn: TileFn, scale: int, tile: int = 256, overlap: int = 16,
                  device: str | torch.device | None = None, precision: str = "fp32",
                  channels_last: bool | None = None, out_dtype: torch.dtype | None = None,
                  out: torch.Tensor | None = None) -> torch.Tensor:
    """Upscale ``image`` tile by tile with ``fn`` and return the assembled result on the CPU.

    Args:
        image: N×3×H×W tensor on the CPU, float32 in [0, 1] or uint8 in [0, 255] (converted per tile,
            so a uint8 frame never exists as a full float copy).
        fn: maps an N×3×h×w float32 LR tile (on ``device``) to its N×3×(h·scale)×(w·scale) SR tile.
            Called under ``torch.no_grad()`` and, with ``precision='bf16'``, under autocast.
        scale: integer upscaling factor of ``fn`` (>= 1).
        tile: kept core size in LR pixels (default 256); 0 or >= the image size runs in one piece.
        overlap: LR context margin per side (default 16). Use at least the model's receptive-field
            radius for output identical to an untiled run.
        device: where ``fn`` runs; default: the device of ``image`` (CPU).
        precision: 'fp32' (default), 'bf16' (autocast; fp16 on GPUs without bf16) or 'auto'
            (``srkit.precision.resolve``).
        channels_last: feed tiles in channels-last layout; default True on CUDA or with bf16.
        out_dtype: torch.float32 (default for float input, unclipped) or torch.uint8 (default for
            uint8 input; clipped and rounded, 4× less memory for 8K frames).
        out: optional preallocated N×3×(H·scale)×(W·scale) tensor to write into (e.g. a view of a
            memory-mapped array); its dtype wins over ``out_dtype``.

    Returns:
        The N×3×(H·scale)×(W·scale) output (``out`` when given), stored channels-last on the CPU.
    """
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"tiled_upscale expects an N×3×H×W tensor, got shape {tuple(image.shape)}")
    if scale < 1 or int(scale) != scale:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    device = torch.device(device) if device is not None else image.device
    precision = resolve_precision(precision, device)
    if channels_last is None:
        channels_last = device.type == "cuda" or precision == "bf16"
    n, _, height, width = image.shape
    if out is None:
        dtype = out_dtype or (torch.uint8 if image.dtype == torch.uint8 else torch.float32)
        out = allocate_output(n, height * scale, width * scale, dtype)
    elif tuple(out.shape) != (n, 3, height * scale, width * scale):
        raise ValueError(f"out has shape {tuple(out.shape)}, expected "
                         f"{(n, 3, height * scale, width * scale)}")
    tile_h = tile if tile and tile < height else height
    tile_w = tile if tile and tile < width else width
    rows, cols = tile_windows(height, tile_h, overlap), tile_windows(width, tile_w, overlap)
    with torch.no_grad():
        for cy0, cy1, wy0, wy1 in rows:
            for cx0, cx1, wx0, wx1 in cols:
                lr = _to_float(image[:, :, wy0:wy1, wx0:wx1].to(device, non_blocking=True))
                if channels_last:
                    lr = lr.contiguous(memory_format=torch.channels_last)
                with autocast(device, precision):
                    sr = fn(lr)
                # keep the core only: its offset inside the window, in SR pixels
                top, left = (cy0 - wy0) * scale, (cx0 - wx0) * scale
                core = sr[:, :, top:top + (cy1 - cy0) * scale, left:left + (cx1 - cx0) * scale]
                out[:, :, cy0 * scale:cy1 * scale, cx0 * scale:cx1 * scale] = \
                    _to_dtype(core, out.dtype).cpu()
    return out


def auto_tile(height: int, width: int, device: torch.device) -> int:
    """Default tile size: 0 (one piece) for small images, else 256 on the CPU and 512 on a GPU."""
    kind = "cuda" if device.type == "cuda" else "cpu"
    return 0 if height * width <= AUTO_UNTILED_PIXELS[kind] else AUTO_TILE[kind]


# --------------------------------------------------------------------------------------------
# srkit.upscale: any image kind in, the same kind out


def upscale(image, model, scale: int | None = None, steps: int = 7, tile: int | None = None,
            overlap: int = 16, device: str | torch.device | None = None, precision: str = "fp32",
            compile: bool = False, name: str | None = None, half: bool = False):
    """Upscale one image (or a batch tensor) with a srkit model.

    Args:
        image: numpy H×W or H×W×C with C in 1..4 (uint8, uint16, bool or float in [0, 1]), a PIL
            image of any mode, or a tensor 3×H×W / N×3×H×W (uint8, or float16 / bfloat16 /
            float32 / float64 in [0, 1]); see ``srkit.inference.kinds``.
        model: a ``Pipeline`` (full IKC loop, one kernel estimate for the whole image), a generator,
            any ``nn.Module``/callable mapping LR → SR, or a name/path for ``srkit.load``.
        scale: expected factor; checked against the model's (error if they differ). Default: the
            model's own ``scale``.
        steps: IKC correction steps (default 7) for a pipeline.
        tile: LR tile size; None picks one from the image size and device, 0 disables tiling.
        overlap: LR context margin per tile side (default 16).
        device: "cpu", "cuda", … (default: CUDA when available, else CPU).
        precision: 'fp32' (default), 'bf16' (autocast, channels-last; fp16 on GPUs without bf16)
            or 'auto' (bf16 on AMX / AVX-512 BF16 CPUs and bf16 GPUs; ``srkit.precision``). The
            kernel estimate runs in fp32 either way. A ``ModelRunner`` passed as ``model`` keeps
            its own precision (as it keeps its steps and device).
        compile: wrap the network in ``torch.compile`` (GPU; default False).
        name: what to call the image in warnings (a file name); default "image".
        half: the older spelling of ``precision='bf16'`` (kept for existing callers).

    Returns:
        The upscaled image in the input's kind (``srkit.inference.kinds``): the same layout (gray
        H×W stays H×W, alpha is upscaled and kept), uint8 / uint16 / float32 numpy (floats
        clipped to [0, 1]) for uint8 / uint16 / float input, the PIL mode's output mode, a tensor
        of the input's dtype (floats unclipped).

    Every image of a batch gets its own kernel estimate (``srkit.inference.pipeline.estimate_kernel``: the
    guarded IKC loop on its centre crop). What the networks return is checked (``srkit.inference.guard``):
    implausible SR pixels are replaced by the bicubic upscale, and a ``GuardWarning`` naming the
    image says so, as it does when the kernel estimate had to be stopped or clipped, or when the
    output's mean intensity moved by more than 10/255 from the input's.
    """
    from srkit.inference.runner import ModelRunner
    runner = ModelRunner.wrap(model, steps=steps, device=device, precision="bf16" if half else precision,
                              compile=compile, scale=scale)
    runner.check_scale(scale)
    from srkit.inference.kinds import image_to_tensor, tensor_to_kind
    lr, kind = image_to_tensor(image)
    tile = auto_tile(lr.shape[2], lr.shape[3], runner.device) if tile is None else tile
    estimate = runner.estimate(lr, name, emit=False)
    fn = runner.tile_fn(estimate.code)
    out = tiled_upscale(lr, fn, runner.scale, tile=tile, overlap=overlap,
                        device=runner.device, precision=runner.precision, channels_last=runner.channels_last,
                        out_dtype=torch.uint8 if lr.dtype == torch.uint8 else torch.float32)
    if kind.container in ("numpy", "pil") and out.is_floating_point():
        out.clamp_(0, 1)  # arrays and PIL images hold [0, 1]; tensors keep the unclipped values
    from srkit.inference.guard import check_output, image_labels, join_messages
    name = name or "image"
    # the tile function counts over the batch: its share is reported on every image of it
    found = [join_messages(m, fn.message(label))
             for m, label in zip(estimate.messages, image_labels(name, lr.shape[0]))]
    check_output(out, lr, runner.scale, name, found)
    return tensor_to_kind(out, kind)
