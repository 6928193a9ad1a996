"""The SFTconcat generator G (paper Fig. 3–5) and its three ablation variants.

Reading order: ``SFTConcat`` (one modulation layer) → ``ResBlock`` (SFT → conv → SFT → conv + skip)
→ ``Upsampler`` (pixel shuffle ×2/×3/×4) → ``GeneratorConfig`` → ``SFTGenerator``.

The two conditions, and the variant each combination gives (docs/DESIGN.md §1):

=========  =========  ==========================================
use_kernel use_seg    variant
=========  =========  ==========================================
False      False      plain SRResNet (SFT layers are identities)
True       False      IKC's SFTMD (kernel code only)
False      True       SFT-GAN (segmentation probabilities only)
True       True       SFTconcat (the paper)
=========  =========  ==========================================
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F

from srkit.categories import NUM_CATEGORIES
from srkit.resize import imresize


def stretch(code: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Stretch a kernel code N×b to a constant map N×b×H×W (the paper's 'H' tensor)."""
    return code[:, :, None, None].expand(-1, -1, *size)


class SFTConcat(nn.Module):
    """Spatial feature transform conditioned on [F_img, stretched code H, F_segcon] (paper Fig. 4).

    γ, β = convs(concat(F_img, H, F_segcon)); out = γ ⊗ F_img + β. F_segcon is ψ after 1×1 convs,
    so a pixel's condition only ever sees its own class probabilities (classes do not bleed).
    With neither condition the layer is the identity, which turns the generator into SRResNet.

    Args:
        nf: channels C of F_img.
        code_len: length b of the kernel code (used when ``use_kernel``).
        num_classes: K segmentation categories (used when ``use_seg``).
        use_kernel / use_seg: which conditions exist.
        hidden: channels of the γ/β branch.
        seg_nf: channels of F_segcon.
    """

    def __init__(self, nf: int, code_len: int = 10, num_classes: int = NUM_CATEGORIES,
                 use_kernel: bool = True, use_seg: bool = True, hidden: int = 32, seg_nf: int = 32):
        super().__init__()
        self.use_kernel, self.use_seg = use_kernel, use_seg
        if not (use_kernel or use_seg):
            return  # identity: no parameters at all
        if use_seg:
            self.seg = nn.Sequential(  # K×H×W → seg_nf×H×W, 1×1 only
                nn.Conv2d(num_classes, seg_nf, 1), nn.LeakyReLU(0.1, inplace=True), nn.Conv2d(seg_nf, seg_nf, 1))
        cin = nf + (code_len if use_kernel else 0) + (seg_nf if use_seg else 0)
        self.body = nn.Sequential(nn.Conv2d(cin, hidden, 3, padding=1), nn.LeakyReLU(0.1, inplace=True))
        self.to_gamma_beta = nn.Conv2d(hidden, 2 * nf, 1)
        # Start close to the identity (γ ≈ 1, β ≈ 0) but not at it: small, not zero, weights keep
        # the gradient flowing back into the condition branches from the first step.
        nn.init.normal_(self.to_gamma_beta.weight, std=1e-2)
        nn.init.zeros_(self.to_gamma_beta.bias)

    def forward(self, feat: torch.Tensor, code: torch.Tensor | None = None,
                seg: torch.Tensor | None = None) -> torch.Tensor:
        """feat N×C×H×W, code N×b (or None), seg N×K×H×W probabilities (or None) → N×C×H×W."""
        if not (self.use_kernel or self.use_seg):
            return feat
        parts = [feat]
        if self.use_kernel:
            parts.append(stretch(code, feat.shape[-2:]))          # N×b×H×W
        if self.use_seg:
            parts.append(self.seg(seg))                            # N×seg_nf×H×W
        gamma, beta = self.to_gamma_beta(self.body(torch.cat(parts, 1))).chunk(2, dim=1)
        return feat * (1 + gamma) + beta                           # γ = 1 + Δγ


class ResBlock(nn.Module):
    """SFT → act → conv → SFT → act → conv, plus the skip (paper Fig. 5; IKC's SFTMD block)."""

    def __init__(self, nf: int, **sft_kwargs):
        super().__init__()
        self.sft1, self.sft2 = SFTConcat(nf, **sft_kwargs), SFTConcat(nf, **sft_kwargs)
        self.conv1 = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv2 = nn.Conv2d(nf, nf, 3, padding=1)

    def forward(self, x, code=None, seg=None):
        y = self.conv1(F.relu(self.sft1(x, code, seg)))
        y = self.conv2(F.relu(self.sft2(y, code, seg)))
        return x + y


class Upsampler(nn.Sequential):
    """Pixel shuffle: ×2 and ×3 in one step, ×4 as two ×2 steps (fewer parameters than one ×4)."""

    def __init__(self, nf: int, scale: int):
        steps = {2: [2], 3: [3], 4: [2, 2]}[scale]
        layers = []
        for s in steps:
            layers += [nn.Conv2d(nf, nf * s * s, 3, padding=1), nn.PixelShuffle(s), nn.LeakyReLU(0.1, inplace=True)]
        super().__init__(*layers)


@dataclass
class GeneratorConfig:
    """Architecture of G. ``GeneratorConfig.preset(name, **overrides)`` gives the standard sizes.

    Attributes:
        scale: SR factor, 2, 3 or 4.
        nf: feature channels (paper/IKC: 64).
        nb: residual blocks (paper/IKC: 16).
        code_len: kernel code length b (docs/DESIGN.md: 10).
        num_classes: segmentation categories K (10, srkit.categories).
        use_kernel: condition on the kernel code (SFTMD / SFTconcat).
        use_seg: condition on segmentation probabilities ψ (SFT-GAN / SFTconcat).
        cond_nf: hidden channels of each SFT layer's γ/β branch.
        seg_nf: channels of F_segcon (ψ after the 1×1 convs).
        residual: predict a residual over the MATLAB-bicubic upscale of the LR (trains much faster on
            CPU-sized models); False learns the image directly.
    """
    scale: int = 4
    nf: int = 64
    nb: int = 16
    code_len: int = 10
    num_classes: int = NUM_CATEGORIES
    use_kernel: bool = True
    use_seg: bool = True
    cond_nf: int = 32
    seg_nf: int = 32
    residual: bool = True

    PRESETS: ClassVar[dict[str, dict]] = {
        "tiny": dict(nf=16, nb=2, cond_nf=8, seg_nf=8),        # unit tests, smoke runs
        "small": dict(nf=32, nb=6, cond_nf=16, seg_nf=16),     # CPU training
        "default": dict(nf=64, nb=16, cond_nf=32, seg_nf=32),  # the paper / IKC size
    }

    def __post_init__(self):
        if self.scale not in (2, 3, 4):
            raise ValueError(f"GeneratorConfig.scale must be 2, 3 or 4, got {self.scale!r}")
        if min(self.nf, self.nb + 1, self.code_len, self.num_classes, self.cond_nf, self.seg_nf) < 1:
            raise ValueError(f"GeneratorConfig sizes must be positive: {self}")

    @classmethod
    def preset(cls, name: str = "default", **overrides) -> "GeneratorConfig":
        """A named size ('tiny', 'small', 'default') with any field overridden, e.g. scale=2."""
        if name not in cls.PRESETS:
            raise ValueError(f"unknown generator preset {name!r}; choose one of {sorted(cls.PRESETS)}")
        return replace(cls(), **{**cls.PRESETS[name], **overrides})

    @property
    def variant(self) -> str:
        return {(False, False): "srresnet", (True, False): "sftmd",
                (False, True): "sftgan", (True, True): "sftconcat"}[(self.use_kernel, self.use_seg)]


class SFTGenerator(nn.Module):
    """G(LR | h, ψ): conv head → nb ResBlocks → SFT → conv (+ global skip) → pixel shuffle → conv."""

    def __init__(self, cfg: GeneratorConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or GeneratorConfig()
        sft = dict(code_len=cfg.code_len, num_classes=cfg.num_classes, use_kernel=cfg.use_kernel,
                   use_seg=cfg.use_seg, hidden=cfg.cond_nf, seg_nf=cfg.seg_nf)
        self.head = nn.Conv2d(3, cfg.nf, 3, padding=1)
        self.blocks = nn.ModuleList(ResBlock(cfg.nf, **sft) for _ in range(cfg.nb))
        self.trunk_sft = SFTConcat(cfg.nf, **sft)
        self.trunk_conv = nn.Conv2d(cfg.nf, cfg.nf, 3, padding=1)
        self.upsample = Upsampler(cfg.nf, cfg.scale)
        self.tail = nn.Conv2d(cfg.nf, 3, 3, padding=1)
        if cfg.residual:
            # The bicubic upscale already explains most of the image: start G near "add nothing".
            # Scaled down rather than zeroed, so gradients reach every layer from the first step.
            with torch.no_grad():
                self.tail.weight.mul_(0.1)
                self.tail.bias.zero_()

    @property
    def scale(self) -> int:
        return self.cfg.scale

    def _check(self, lr, code, seg):
        if lr.dim() != 4 or lr.shape[1] != 3:
            raise ValueError(f"generator expects lr of shape N×3×h×w, got {tuple(lr.shape)}")
        n, _, h, w = lr.shape
        c = self.cfg
        if c.use_kernel:
            if code is None:
                raise ValueError("this generator uses the kernel code (use_kernel=True) but code=None; "
                                 "pass an N×b code, e.g. from the IKC predictor")
            if code.shape != (n, c.code_len):
                raise ValueError(f"code must be N×b = {n}×{c.code_len}, got {tuple(code.shape)}")
        if c.use_seg:
            if seg is None:
                raise ValueError("this generator uses segmentation (use_seg=True) but seg=None; "
                                 "pass N×K×h×w probabilities, e.g. from SegNet")
            if seg.shape != (n, c.num_classes, h, w):
                raise ValueError(f"seg must be N×K×h×w = {n}×{c.num_classes}×{h}×{w} (LR size), "
                                 f"got {tuple(seg.shape)}")

    def forward(self, lr: torch.Tensor, code: torch.Tensor | None = None,
                seg: torch.Tensor | None = None) -> torch.Tensor:
        """Super-resolve.

        Args:
            lr: N×3×h×w images in [0, 1].
            code: N×b kernel code; required iff cfg.use_kernel, ignored otherwise.
            seg: N×K×h×w segmentation probabilities at LR size; required iff cfg.use_seg, else ignored.

        Returns:
            N×3×(s·h)×(s·w), not clamped (clamping would stop gradients at saturated pixels).
        """
        self._check(lr, code, seg)
        # Switched-off inputs are dropped here, so they cannot influence anything below.
        code = code.to(lr.dtype) if self.cfg.use_kernel else None
        seg = seg.to(lr.dtype) if self.cfg.use_seg else None
        x = self.head(lr)                                   # N×nf×h×w
        y = x
        for block in self.blocks:
            y = block(y, code, seg)                         # N×nf×h×w
        y = x + self.trunk_conv(F.relu(self.trunk_sft(y, code, seg)))
        out = self.tail(self.upsample(y))                   # N×3×sh×sw
        if self.cfg.residual:
            out = out + imresize(lr, scale=self.cfg.scale)
        return out
