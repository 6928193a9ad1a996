"""Iterative kernel correction (IKC): predictor P, corrector C and the t-step loop (paper Fig. 1–2).

P estimates the kernel code h0 from the LR image; then, for t steps, G super-resolves with the
current code and C looks at the SR image (whose artefacts show whether the code is too sharp or
too blurry) and returns a corrected code h_{i+1} = h_i + Δh.

References (docs/DESIGN.md §8):
    J. Gu, H. Lu, W. Zuo, C. Dong, "Blind Super-Resolution With Iterative Kernel Correction",
    CVPR 2019, https://arxiv.org/abs/1904.03377 (P, C and the loop; Gaussian8).
    K. Zhang, W. Zuo, L. Zhang, "Learning a Single Convolutional Super-Resolution Network for
    Multiple Degradations", CVPR 2018, https://arxiv.org/abs/1712.06116 (the PCA kernel code).
    D. Yang, "Film and Television Production AI Intelligent Optimization Processing System Based on
    Neural Optimization Algorithm" (IKC inside the semantics-aware system).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn as nn

from srkit.models.sft import stretch
from srkit.models.presets import Presets


def _pool(estimation_map: torch.Tensor, pool: str) -> torch.Tensor:
    """N×b×h×w per-pixel estimates → N×b: their mean (IKC) or their per-component median."""
    if pool == "mean":
        return estimation_map.mean(dim=(2, 3))
    if pool == "median":
        return estimation_map.flatten(2).median(dim=2).values
    raise ValueError(f"pool must be 'mean' or 'median', got {pool!r}")


@dataclass
class PredictorConfig(Presets):
    """Architecture of P.

    Attributes:
        nf: channels of the hidden conv layers (IKC: 64).
        code_len: kernel code length b (10).
        ksize: conv kernel size (IKC: 9; the four layers then see a 33×33 window, enough for a
            21×21 blur kernel).
    """
    nf: int = 64
    code_len: int = 10
    ksize: int = 9

    PRESETS: ClassVar[dict[str, dict]] = {
        "tiny": dict(nf=16, ksize=3), "small": dict(nf=32, ksize=5), "medium": dict(nf=64, ksize=5),
        "default": dict(nf=64, ksize=9)}

    def __post_init__(self):
        if self.ksize % 2 == 0 or min(self.nf, self.code_len, self.ksize) < 1:
            raise ValueError(f"PredictorConfig needs positive sizes and an odd ksize: {self}")


class Predictor(nn.Module):
    """P: four convs with LeakyReLU give a per-pixel code map; a global mean pool averages it."""

    def __init__(self, cfg: PredictorConfig | None = None):
        super().__init__()
        self.cfg = c = cfg or PredictorConfig()
        p = c.ksize // 2
        act = lambda: nn.LeakyReLU(0.2, inplace=True)  # noqa: E731
        self.body = nn.Sequential(
            nn.Conv2d(3, c.nf, c.ksize, padding=p), act(),
            nn.Conv2d(c.nf, c.nf, c.ksize, padding=p), act(),
            nn.Conv2d(c.nf, c.nf, c.ksize, padding=p), act(),
            nn.Conv2d(c.nf, c.code_len, c.ksize, padding=p))  # the "estimation map" (no activation)

    def forward(self, lr: torch.Tensor, pool: str = "mean") -> torch.Tensor:
        """lr N×3×h×w in [0, 1] → code h0, N×b.

        ``pool`` reduces the per-pixel estimation map: "mean" (IKC, the trained default) or
        "median" (robust to a minority of pixels unlike the training data; the guard's fallback).
        """
        if lr.dim() != 4 or lr.shape[1] != 3:
            raise ValueError(f"predictor expects N×3×h×w, got {tuple(lr.shape)}")
        return _pool(self.body(lr), pool)  # N×b×h×w → N×b


@dataclass
class CorrectorConfig(Presets):
    """Architecture of C.

    Attributes:
        scale: SR factor of the images C sees (2, 3, 4); SR features are brought to LR size.
        nf: channels of the SR feature groups (IKC: 64).
        code_nf: channels of F_h, the stretched and convolved previous code.
        code_len: kernel code length b.
    """
    scale: int = 4
    nf: int = 64
    code_nf: int = 64
    code_len: int = 10

    PRESETS: ClassVar[dict[str, dict]] = {
        "tiny": dict(nf=16, code_nf=16), "small": dict(nf=32, code_nf=32), "default": dict(nf=64, code_nf=64)}

    def __post_init__(self):
        if self.scale not in (2, 3, 4):
            raise ValueError(f"CorrectorConfig.scale must be 2, 3 or 4, got {self.scale!r}")
        if min(self.nf, self.code_nf, self.code_len) < 1:
            raise ValueError(f"CorrectorConfig sizes must be positive: {self}")


class Corrector(nn.Module):
    """C(SR, h) = h + Δh: five conv groups on the SR image, F_h from h, stacked, pooled."""

    def __init__(self, cfg: CorrectorConfig | None = None):
        super().__init__()
        self.cfg = c = cfg or CorrectorConfig()
        act = lambda: nn.LeakyReLU(0.2, inplace=True)  # noqa: E731
        s = c.scale
        # Group 1 folds each s×s block into channels (pixel unshuffle) so all later convs run at LR
        # size: the corrector then costs the same per LR pixel at every scale.
        self.sr_features = nn.Sequential(
            nn.PixelUnshuffle(s), nn.Conv2d(3 * s * s, c.nf, 3, padding=1), act(),   # group 1
            *[m for _ in range(4) for m in (nn.Conv2d(c.nf, c.nf, 3, padding=1), act())])  # groups 2–5
        # F_h: 1×1 convs on the stretched code. On a constant map a 1×1 conv is a linear layer,
        # so it is computed on N×b and stretched afterwards (same result, h·w times cheaper).
        self.code_features = nn.Sequential(
            nn.Linear(c.code_len, c.code_nf), act(), nn.Linear(c.code_nf, c.code_nf), act())
        self.fuse = nn.Sequential(
            nn.Conv2d(c.nf + c.code_nf, c.nf, 3, padding=1), act(),
            nn.Conv2d(c.nf, c.code_len, 1))
        # Start as "no correction" (Δh ≈ 0) without cutting the gradient: small last-layer weights.
        with torch.no_grad():
            self.fuse[-1].weight.mul_(0.1)
            self.fuse[-1].bias.zero_()

    def forward(self, sr: torch.Tensor, code: torch.Tensor, pool: str = "mean") -> torch.Tensor:
        """sr N×3×(s·h)×(s·w), code N×b → corrected code N×b (``pool`` as in ``Predictor``)."""
        s = self.cfg.scale
        if sr.dim() != 4 or sr.shape[1] != 3 or sr.shape[2] % s or sr.shape[3] % s:
            raise ValueError(f"corrector (scale {s}) expects N×3×H×W with H, W multiples of {s}, "
                             f"got {tuple(sr.shape)}")
        if code.shape != (sr.shape[0], self.cfg.code_len):
            raise ValueError(f"code must be N×{self.cfg.code_len}, got {tuple(code.shape)}")
        f_sr = self.sr_features(sr)                                       # N×nf×h×w
        f_h = stretch(self.code_features(code.to(sr.dtype)), f_sr.shape[-2:])  # N×code_nf×h×w
        delta = _pool(self.fuse(torch.cat([f_sr, f_h], 1)), pool)         # N×b
        return code + delta


@dataclass
class IKCResult:
    """Every step of an IKC run: srs[i] was made with codes[i]; index 0 uses the predictor's code.

    Attributes:
        srs / codes: ``steps + 1`` SR images (N×3×sH×sW) and codes (N×b).
        status: per image, what the guard did (``srkit.inference.guard``): "ok" (nothing), "robust" (a code
            outside the kernel region was re-estimated, inside it, with the median instead of the
            mean of the network's per-pixel estimates), "projected" (the predictor's code lay
            outside the region either way and was clipped into it), "stopped" (a
            corrector step left the region: the last good code was kept from then on) or
            "nonfinite" (a step gave inf/NaN: the last good code was kept). Empty when unguarded.
        stop_step: per image, the step whose code was rejected (None when none was).
        sr_replaced: per image, SR pixels of the final step that were implausible (non-finite or
            further than the full intensity range from the bicubic upscale) and were replaced by
            the bicubic upscale. Empty when unguarded.
    """
    srs: list[torch.Tensor] = field(default_factory=list)
    codes: list[torch.Tensor] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    stop_step: list[int | None] = field(default_factory=list)
    sr_replaced: list[int] = field(default_factory=list)

    @property
    def sr(self) -> torch.Tensor:
        """The last step's SR image (the fixed-t result docs/DESIGN.md §2 reports)."""
        return self.srs[-1]

    @property
    def code(self) -> torch.Tensor:
        return self.codes[-1]

    @property
    def guarded(self) -> bool:
        """Whether the guard acted on any image (a code rejected or projected, or SR pixels replaced)."""
        return any(s != "ok" for s in self.status) or any(self.sr_replaced)


def run_ikc(lr: torch.Tensor, generator: nn.Module, predictor: nn.Module, corrector: nn.Module | None,
            seg: torch.Tensor | None = None, steps: int = 7, detach: bool = False,
            start_code: torch.Tensor | None = None) -> IKCResult:
    """Run IKC: h0 = P(lr); SR_i = G(lr | h_i, ψ); h_{i+1} = C(SR_i, h_i), for ``steps`` corrections.

    Args:
        lr: N×3×h×w in [0, 1].
        generator: a kernel-conditioned SFTGenerator (use_kernel=True).
        predictor: P.
        corrector: C; None (or steps = 0) gives the predictor-only result.
        seg: N×K×h×w probabilities if the generator uses segmentation.
        steps: number of corrections t (default 7, the paper's value); results hold steps+1 entries.
        detach: cut the graph between steps (IKC training trains C one step at a time).
        start_code: N×b code to start from instead of P's estimate (a deliberately wrong start
            shows what the corrector does; the IKC stepper's default).

    Returns:
        IKCResult with ``steps + 1`` SR images and codes. Gradients flow unless ``detach`` or the
        caller runs under ``torch.no_grad()``. This is the plain loop that training differentiates
        through; inference runs ``srkit.inference.guarded_ikc.run_ikc_guarded``, the same loop
        with codes kept in the kernel region and implausible SR replaced.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    seg = shared_seg(generator, seg)
    code = predictor(lr) if start_code is None else start_code.to(lr.device)
    result = IKCResult()
    for i in range(steps + 1):
        sr = generator(lr, code, seg)
        result.srs.append(sr)
        result.codes.append(code)
        if i == steps or corrector is None:
            break
        code = corrector(sr.detach() if detach else sr, code.detach() if detach else code)
    return result


def shared_seg(generator: nn.Module, seg):
    """ψ's SegTerms, computed once for all the steps (each step runs G on the same LR and ψ)."""
    if seg is None or not getattr(getattr(generator, "cfg", None), "use_seg", False) \
            or not hasattr(generator, "seg_terms"):
        return seg
    return generator.seg_terms(seg)
