"""Pipeline: the whole system of docs/DESIGN.md §1 behind one call, ``pipeline(lr) -> sr``.

LR → segnet → ψ (if the generator uses segmentation); LR → predictor → h0 → [G → corrector] × t
(if it uses the kernel code); G(LR | h_t, ψ) → SR.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from srkit.inference.bars import Bars, find_bars
from srkit.inference.guard import (NONFINITE, OK, PROJECTED, ROBUST, STOPPED, CodeRegion, image_labels, reproduction_psnr,
                         warn)
from srkit.inference.guarded_ikc import run_ikc_guarded
from srkit.kernels import KernelPCA
from srkit.models.ikc import IKCResult, run_ikc

# The crop rule: the IKC estimate runs on the centre crop of at most ESTIMATE_CROP × ESTIMATE_CROP LR
# pixels of each image (the whole image when it is smaller), so its cost does not grow with the image.
# The crop is at native resolution, not a downsized image: downsizing would narrow the very blur
# being estimated. 400 covers every benchmark LR image whole (the largest, Set14 ×2 barbara, is
# 360×288), so the benchmarks' whole-image estimate and this path agree.
ESTIMATE_CROP = 400


def centre_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    """The central ≤ size×size window of an N×C×H×W tensor (a view)."""
    height, width = image.shape[-2:]
    ch, cw = min(size, height), min(size, width)
    top, left = (height - ch) // 2, (width - cw) // 2
    return image[..., top:top + ch, left:left + cw]


@dataclass
class KernelEstimate:
    """The kernel estimate of each image of a batch, and what the guard did to get it.

    Attributes:
        code: N×b kernel codes (None for a model without kernel conditioning).
        status: per image, "ok", "projected", "stopped" or "nonfinite" (see ``IKCResult.status``).
        stop_step: per image, the IKC step whose code was rejected (None when none was).
        confidence: per image, the reproduction PSNR in dB of the estimate on its crop
            (``srkit.inference.guard.reproduction_psnr``: SR re-degraded with the estimated kernel vs the LR).
        messages: per image, the one-line warning text ("" when the guard did not act).
        sr: the final IKC step's SR of the crops (guarded), when the crop was the whole image.
        sr_replaced: per image, the implausible pixels replaced in ``sr`` (empty without ``sr``).
    """
    code: torch.Tensor | None
    status: list[str] = field(default_factory=list)
    stop_step: list[int | None] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    sr: torch.Tensor | None = None
    sr_replaced: list[int] = field(default_factory=list)

    @property
    def guarded(self) -> bool:
        """Whether the guard acted on any image."""
        return any(s != OK for s in self.status)


def guard_message(name: str, status: str, stop_step: int | None) -> str:
    """The warning text for one image's IKC guard status ("" for "ok")."""
    if status == STOPPED:
        return (f"{name}: the kernel estimate left the trained kernel region at IKC step {stop_step}; "
                f"kept the step-{stop_step - 1} estimate")
    if status == NONFINITE:
        return (f"{name}: the kernel estimate became non-finite at IKC step {stop_step}; "
                f"kept the step-{stop_step - 1} estimate")
    if status == ROBUST:
        return (f"{name}: part of the picture is unlike the training data (fine periodic texture?); "
                f"the kernel was estimated from the median of the per-pixel estimates")
    if status == PROJECTED:
        return f"{name}: the predicted kernel lay outside the trained kernel region; clipped into it"
    return ""


def batch_bars(lr: torch.Tensor) -> Bars:
    """The letterbox / pillarbox bars all images of an N×3×H×W batch share (uint8, or any float
    dtype in [0, 1]: bfloat16 and float16 included, which numpy cannot hold)."""
    from srkit.imageio import to_uint8
    images = lr.detach().cpu()
    images = images if images.dtype == torch.uint8 else images.float()
    return Bars.common([find_bars(to_uint8(img.permute(1, 2, 0).numpy())) for img in images])


def estimate_kernel(pipeline, lr: torch.Tensor, steps: int = 7, name: str | None = None,
                    device=None, seg: torch.Tensor | None = None, emit: bool = True) -> KernelEstimate:
    """Each image's kernel code from the guarded IKC loop on its centre crop: the one estimator
    behind ``Pipeline.upscale``, ``srkit.upscale``, the CLI, video (once per shot) and the widgets.

    Args:
        pipeline: a ``Pipeline`` (or anything with ``ikc(lr, steps) -> IKCResult`` and ``pca``).
        lr: N×3×H×W uint8 or float [0, 1], any device; each image gets its own code (the crops of
            one batch share one size, so they run as one batch). The crop rule: the centre
            ``ESTIMATE_CROP`` × ``ESTIMATE_CROP`` LR pixels (the whole image when smaller).
        steps: IKC corrections t (default 7).
        name: what to call the image(s) in warnings (a file name, "clip.mkv shot 3 (frame 120)");
            default "image". One ``GuardWarning`` is emitted per image the guard acted on.
        device: where to run (default: the pipeline's).
        seg: N×K×H×W probabilities to use instead of the segnet's (cropped like ``lr``).
        emit: warn now (default True); False leaves reporting ``messages`` to the caller.

    Returns:
        A ``KernelEstimate`` (codes N×b on ``device``, status, stop step, confidence, messages).
    """
    device = device if device is not None else getattr(pipeline, "device", lr.device)
    bars = batch_bars(lr)  # the estimate looks at the active picture (srkit.inference.bars)
    crop = centre_crop(bars.crop(lr), ESTIMATE_CROP).to(device)
    crop = crop.float() / 255.0 if crop.dtype == torch.uint8 else crop.float()
    if seg is None:
        result = pipeline.ikc(crop, steps=steps)
    else:
        result = pipeline.ikc(crop, steps=steps, seg=centre_crop(bars.crop(seg), ESTIMATE_CROP).to(device))
    n = lr.shape[0]
    confidence = [float("nan")] * n
    pca = getattr(pipeline, "pca", None)
    if pca is not None:
        confidence = reproduction_psnr(result.sr, crop, pca.decode(result.code), pipeline.scale).tolist()
    status = result.status or [OK] * n
    stop_step = result.stop_step or [None] * n
    name = name or "image"
    messages = [guard_message(label, st, step)
                for label, st, step in zip(image_labels(name, n), status, stop_step)]
    if emit:
        warn(messages)
    whole = tuple(crop.shape[-2:]) == tuple(lr.shape[-2:])
    return KernelEstimate(result.code, status, stop_step, confidence, messages,
                          sr=result.sr if whole else None,
                          sr_replaced=(result.sr_replaced or [0] * n) if whole else [])


_MODULES = ("generator", "predictor", "corrector", "segnet", "discriminator")


@dataclass
class Pipeline:
    """The networks of one model, ready to upscale.

    Attributes:
        generator: SFTGenerator (required).
        predictor / corrector: IKC networks (needed when the generator uses the kernel code and no
            code is passed by hand).
        segnet: SegNet (needed when the generator uses segmentation and ψ is not passed by hand).
        pca: KernelPCA that defines the code (to decode estimated codes into kernels).
        discriminator: kept only so training can resume from the same file.
        meta: provenance and metrics from the checkpoint.
        seg_priors: None (default) or a ``srkit.models.priors.SegPriors``: ψ fused with its face /
            text detections (``seg_priors.used`` names the detectors that ran).
    """
    generator: nn.Module
    predictor: nn.Module | None = None
    corrector: nn.Module | None = None
    segnet: nn.Module | None = None
    pca: KernelPCA | None = None
    discriminator: nn.Module | None = None
    meta: dict = field(default_factory=dict)
    seg_priors: object | None = None

    @property
    def scale(self) -> int:
        return self.generator.cfg.scale

    @classmethod
    def from_checkpoint(cls, ckpt) -> "Pipeline":
        unknown = sorted(set(ckpt.modules) - set(_MODULES))
        if unknown or "generator" not in ckpt.modules:
            raise ValueError(f"a Pipeline needs a 'generator' and only {_MODULES}; checkpoint holds "
                             f"{sorted(ckpt.modules)} (use srkit.checkpoint.load_checkpoint for other files)")
        return cls(**ckpt.modules, pca=ckpt.pca, meta=ckpt.meta)

    def modules(self) -> dict[str, nn.Module]:
        return {k: getattr(self, k) for k in _MODULES if getattr(self, k) is not None}

    def to(self, device) -> "Pipeline":
        for m in self.modules().values():
            m.to(device)
        if self.pca is not None:
            self.pca.to(device)
        return self

    def eval(self) -> "Pipeline":
        for m in self.modules().values():
            m.eval()
        return self

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def segment(self, lr: torch.Tensor) -> torch.Tensor | None:
        """ψ N×K×h×w for a seg-conditioned generator (None otherwise)."""
        if not self.generator.cfg.use_seg:
            return None
        if self.segnet is None:
            raise ValueError("the generator uses segmentation but this pipeline has no segnet; pass seg=")
        psi = self.segnet(lr)
        if self.seg_priors is not None:
            from srkit.imageio import to_uint8
            psi = torch.cat([self.seg_priors(to_uint8(x), p[None].cpu()).to(psi) for x, p in zip(lr, psi)])
        return psi

    @torch.no_grad()
    def ikc(self, lr: torch.Tensor, steps: int = 7, seg: torch.Tensor | None = None,
            guard: bool = True, start_code: torch.Tensor | None = None) -> IKCResult:
        """Every IKC step's SR and code (lr N×3×h×w in [0, 1]; SR not clamped).

        ``guard`` (default True) runs the loop guarded (``srkit.inference.guard``, needs the PCA): codes kept in
        the kernel region, implausible SR pixels replaced; ``IKCResult.status`` says what happened.
        ``start_code`` (N×b): start the corrector from this code instead of the predictor's.
        """
        if self.predictor is None:
            raise ValueError("this pipeline has no IKC predictor")
        lr = lr.to(self.device)
        seg = self.segment(lr) if seg is None else seg.to(self.device)
        region = CodeRegion.from_pca(self.pca) if guard and self.pca is not None else None
        if region is None:
            return run_ikc(lr, self.generator, self.predictor, self.corrector, seg=seg, steps=steps,
                           start_code=start_code)
        return run_ikc_guarded(lr, self.generator, self.predictor, self.corrector, region, seg=seg, steps=steps,
                               start_code=start_code)

    @torch.no_grad()
    def upscale(self, lr: torch.Tensor, steps: int = 7, seg: torch.Tensor | None = None,
                code: torch.Tensor | None = None, name: str | None = None) -> torch.Tensor:
        """Super-resolve, untiled (``srkit.upscale`` tiles large images; both estimate the kernel
        with ``estimate_kernel``, per image, on its centre crop).

        Args:
            lr: N×3×h×w (or 3×h×w) in [0, 1].
            steps: IKC corrections t (default 7, the paper's value).
            seg: N×K×h×w probabilities to use instead of the segnet's.
            code: N×b kernel code to use instead of IKC's estimate (e.g. the true kernel's).
            name: what to call the image in guard warnings (default "image").

        Returns:
            SR clamped to [0, 1], N×3×(s·h)×(s·w) (3×… for a 3-D input), on the pipeline's device.
        """
        from srkit.inference.guard import check_output, image_labels, join_messages, replaced_message, sanitize_sr
        single = lr.dim() == 3
        lr = (lr[None] if single else lr).to(self.device)
        n, name = lr.shape[0], name or "image"
        sr, messages = None, [""] * n
        if self.generator.cfg.use_kernel and code is None:
            estimate = estimate_kernel(self, lr, steps, name=name, seg=seg, emit=False)
            code, sr, messages, replaced = estimate.code, estimate.sr, estimate.messages, estimate.sr_replaced
        if sr is None:
            seg = self.segment(lr) if seg is None else seg.to(self.device)
            sr = self.generator(lr, None if code is None else code.to(self.device), seg)
            sr, replaced = sanitize_sr(sr, lr, self.scale)
            replaced = replaced.tolist()
        pixels = sr.shape[-2] * sr.shape[-1]
        found = [join_messages(m, replaced_message(label, int(r), pixels))
                 for m, label, r in zip(messages, image_labels(name, n), replaced)]
        sr = sr.clamp(0, 1)
        check_output(sr, lr, self.scale, name, found)
        return sr[0] if single else sr

    __call__ = upscale
