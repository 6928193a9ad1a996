"""The IKC loop with the guard of ``srkit.inference.guard``: inference's ``run_ikc``.

The model layer's ``srkit.models.ikc.run_ikc`` is the plain loop training differentiates through;
this is the same loop with the guard's policy around each step. Per image: h0 outside the code
region is re-estimated with the median of the predictor's map, else projected into the region; a
corrector step whose code is non-finite or outside the region is retried with the median, projected
when near, else rejected, and that image keeps its last good code for the remaining steps; SR pixels
that are non-finite or implausibly far from the bicubic upscale are replaced by it in every step's
SR (so the corrector never looks at an exploded image). Inside the region and on plausible SR it
computes exactly what the plain loop does.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from srkit.inference.guard import NONFINITE, OK, PROJECTED, ROBUST, STOPPED, CodeRegion, sanitize_sr
from srkit.models.ikc import IKCResult, shared_seg

_SEVERITY = {"ok": 0, "robust": 1, "projected": 2, "stopped": 3, "nonfinite": 4}


def run_ikc_guarded(lr: torch.Tensor, generator: nn.Module, predictor: nn.Module, corrector: nn.Module | None,
                    region: CodeRegion, seg: torch.Tensor | None = None, steps: int = 7,
                    start_code: torch.Tensor | None = None) -> IKCResult:
    """``srkit.models.ikc.run_ikc`` guarded by ``region`` (the module docstring says how).

    Args:
        lr, generator, predictor, corrector, seg, steps, start_code: as ``run_ikc``.
        region: the kernel-code region (``CodeRegion.from_pca(pca)``).

    Returns:
        IKCResult with ``steps + 1`` SR images and codes, ``status`` per image ("ok", "robust",
        "projected", "stopped", "nonfinite"), ``stop_step`` and ``sr_replaced``.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    seg = shared_seg(generator, seg)
    n, scale = lr.shape[0], generator.cfg.scale
    status: list[str] = [OK] * n
    stop_step: list[int | None] = [None] * n
    if start_code is not None:  # given by the caller: only kept inside the region
        start_code = start_code.to(lr.device)
        code = torch.where(region.contains(start_code)[:, None], start_code, region.project(start_code))
        bad = torch.zeros(n, dtype=torch.bool, device=lr.device)
    else:
        code = predictor(lr)
        bad = ~region.contains(code)
    if bool(bad.any()):  # retry with the median of the estimation map, else clip into the region
        robust = predictor(lr, pool="median")
        fixed = region.contains(robust)
        code = torch.where((bad & fixed)[:, None], robust, code)
        code = torch.where((bad & ~fixed)[:, None], region.project(robust), code)
        status = [(ROBUST if f else PROJECTED) if b else st
                  for b, f, st in zip(bad.tolist(), fixed.tolist(), status)]
    active = torch.ones(n, dtype=torch.bool, device=lr.device)  # images still being corrected
    result = IKCResult()
    replaced = torch.zeros(n, dtype=torch.long)
    for i in range(steps + 1):
        if i and not bool(active.any()):  # every image stopped: G would return the same SR again
            sr = result.srs[-1]
        else:
            sr, replaced = sanitize_sr(generator(lr, code, seg), lr, scale)
        result.srs.append(sr)
        result.codes.append(code)
        if i == steps or corrector is None:
            break
        if bool(active.any()):  # once every image is stopped, the remaining steps repeat its SR
            proposal = corrector(sr, code)
            rejected = active & ~region.contains(proposal)
            if bool(rejected.any()):
                # retry with the median of C's map; a result near the region is projected onto
                # the nearest valid kernel and IKC goes on; anything further out stops the image
                robust = corrector(sr, code, pool="median")
                fixed = rejected & region.contains(robust)
                near = rejected & ~fixed & region.near(robust)
                proposal = torch.where(fixed[:, None], robust, proposal)
                proposal = torch.where(near[:, None], region.project(robust), proposal)
                for j in torch.nonzero(fixed | near).flatten().tolist():
                    new = ROBUST if bool(fixed[j]) else PROJECTED
                    status[j] = new if _SEVERITY[new] > _SEVERITY[status[j]] else status[j]
                rejected = rejected & ~fixed & ~near
            finite = torch.isfinite(proposal).all(1)
            for j in torch.nonzero(rejected).flatten().tolist():
                status[j] = STOPPED if bool(finite[j]) else NONFINITE
                stop_step[j] = i + 1
            active = active & ~rejected
            code = torch.where(active[:, None], proposal, code)
    result.status, result.stop_step = status, stop_step
    result.sr_replaced = [int(c) for c in replaced]
    return result
