"""Pipeline: the whole system of DESIGN.md §1 behind one call, ``pipeline(lr) -> sr``.

LR → segnet → ψ (if the generator uses segmentation); LR → predictor → h0 → [G → corrector] × t
(if it uses the kernel code); G(LR | h_t, ψ) → SR.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from srkit.kernels import KernelPCA
from srkit.models.ikc import IKCResult, run_ikc

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
    """
    generator: nn.Module
    predictor: nn.Module | None = None
    corrector: nn.Module | None = None
    segnet: nn.Module | None = None
    pca: KernelPCA | None = None
    discriminator: nn.Module | None = None
    meta: dict = field(default_factory=dict)

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

    def save(self, path: str | Path, meta: dict | None = None, half: bool = False) -> Path:
        from srkit.checkpoint import save_checkpoint
        return save_checkpoint(path, self.modules(), {**self.meta, **(meta or {})}, self.pca, half)

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def segment(self, lr: torch.Tensor) -> torch.Tensor | None:
        """ψ N×K×h×w for a seg-conditioned generator (None otherwise)."""
        if not self.generator.cfg.use_seg:
            return None
        if self.segnet is None:
            raise ValueError("the generator uses segmentation but this pipeline has no segnet; pass seg=")
        return self.segnet(lr)

    @torch.no_grad()
    def ikc(self, lr: torch.Tensor, steps: int = 7, seg: torch.Tensor | None = None) -> IKCResult:
        """Every IKC step's SR and code (lr N×3×h×w in [0, 1]; SR not clamped)."""
        if self.predictor is None:
            raise ValueError("this pipeline has no IKC predictor")
        lr = lr.to(self.device)
        seg = self.segment(lr) if seg is None else seg.to(self.device)
        return run_ikc(lr, self.generator, self.predictor, self.corrector, seg=seg, steps=steps)

    @torch.no_grad()
    def upscale(self, lr: torch.Tensor, steps: int = 7, seg: torch.Tensor | None = None,
                code: torch.Tensor | None = None) -> torch.Tensor:
        """Super-resolve.

        Args:
            lr: N×3×h×w (or 3×h×w) in [0, 1].
            steps: IKC corrections t (default 7, the paper's value).
            seg: N×K×h×w probabilities to use instead of the segnet's.
            code: N×b kernel code to use instead of IKC's estimate (e.g. the true kernel's).

        Returns:
            SR clamped to [0, 1], N×3×(s·h)×(s·w) (3×… for a 3-D input), on the pipeline's device.
        """
        single = lr.dim() == 3
        lr = (lr[None] if single else lr).to(self.device)
        if self.generator.cfg.use_kernel and code is None:
            sr = self.ikc(lr, steps, seg).sr
        else:
            seg = self.segment(lr) if seg is None else seg.to(self.device)
            sr = self.generator(lr, None if code is None else code.to(self.device), seg)
        sr = sr.clamp(0, 1)
        return sr[0] if single else sr

    __call__ = upscale
