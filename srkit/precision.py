"""Numeric precision of network passes: 'fp32', 'bf16' or 'auto', for training and inference alike.

``bf16`` runs the networks under ``torch.autocast`` in bfloat16 (fp16 on CUDA devices without
bf16, where training scales the loss: ``loss_scaler``) with weights and inputs in channels-last
layout; the weights, the optimizer state and the checkpoints stay fp32. ``auto`` picks bf16 where the hardware computes it natively, else fp32:

- CPUs with AMX or AVX-512 BF16 (Linux ``/proc/cpuinfo`` flags ``amx_bf16`` / ``avx512_bf16``).
  With AVX-512 BF16 and no AMX (a 2-core Zen 4 EPYC, otherwise idle), a train step in bf16 +
  channels-last measured 1.55–1.64× as fast as fp32; without them bf16 is emulated and many times
  slower than fp32 (an AVX2-only CPU).
  ``bench/precision_speed.py`` measures it; docs/RESULTS.md §Precision has both machines.
- CUDA devices that report bf16 support (Ampere and later).

Channels-last goes with bf16 only: oneDNN's bf16 convolutions are fastest in that layout, while
the fp32 path stays exactly what it was, so fp32 runs and their golden values do not move.

What stays fp32 under ``bf16``, and why: the kernel PCA and kernel codes (a small projection whose
rounding would move every code), the losses (autocast runs ``l1_loss``, ``mse_loss`` and
``cross_entropy`` in fp32), the backward pass's accumulation into fp32 master weights, and every
metric (PSNR/SSIM are computed on uint8 images).
"""
from __future__ import annotations

import contextlib
import functools
import warnings
from pathlib import Path

import torch

PRECISIONS = ("fp32", "bf16", "auto")


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True when this CPU computes bf16 natively (AMX or AVX-512 BF16; Linux flags), else False."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool({"amx_bf16", "avx512_bf16"} & set(line.split(":", 1)[1].split()))
    return False


@functools.lru_cache(maxsize=1)
def _warn_emulated_bf16() -> None:
    # An explicit bf16 on such a CPU is almost always a command copied from a faster machine; the run
    # is not wrong, only many times slower, so it goes on after one line (once per process) that says so.
    warnings.warn("bf16 on this CPU is emulated (no amx_bf16 or avx512_bf16 in /proc/cpuinfo): about 7x "
                  "to 120x slower than fp32 (docs/RESULTS.md, Precision); --precision auto picks fp32 here",
                  RuntimeWarning, stacklevel=3)


def resolve(precision: str, device: str | torch.device) -> str:
    """'fp32' or 'bf16' for ``precision`` ('fp32', 'bf16' or 'auto') on ``device``.

    Raises:
        ValueError: an unknown precision, naming the choices.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    device = torch.device(device)
    if precision == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        _warn_emulated_bf16()
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    return "fp32"


def autocast_dtype(device: str | torch.device, precision: str) -> torch.dtype | None:
    """The dtype autocast computes in for a resolved ``precision`` on ``device``: None for 'fp32',
    bfloat16 for 'bf16', float16 for 'bf16' on a CUDA device without bf16 (pre-Ampere)."""
    device = torch.device(device)
    if precision == "fp32":
        return None
    if precision != "bf16":
        raise ValueError(f"autocast needs a resolved precision ('fp32' or 'bf16'), got {precision!r}")
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def autocast(device: str | torch.device, precision: str):
    """The context a network pass runs in: bf16 autocast for 'bf16' (fp16 on CUDA devices without
    bf16), a no-op for 'fp32'. ``precision`` must already be resolved (see :func:`resolve`)."""
    dtype = autocast_dtype(device, precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def loss_scaler(device: str | torch.device, precision: str) -> torch.amp.GradScaler:
    """A ``GradScaler`` for one optimizer: enabled when autocast runs in float16, whose 5-bit exponent
    flushes small gradients to zero and overflows large ones (the loss is multiplied by a scale
    before backward, gradients divided by it before the step, and a step with inf/NaN gradients is
    skipped while the scale halves). bf16 keeps fp32's exponent range and fp32 needs nothing, so
    for both the scaler is a pass-through (``is_enabled()`` False)."""
    device = torch.device(device)
    return torch.amp.GradScaler(device.type, enabled=autocast_dtype(device, precision) == torch.float16)


def channels_last(x):
    """A 4-D tensor (or a module) in channels-last layout; anything else unchanged."""
    if isinstance(x, torch.nn.Module):
        return x.to(memory_format=torch.channels_last)
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x
