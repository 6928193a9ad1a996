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

    def seg_term(self, seg: torch.Tensor) -> torch.Tensor:
        """The segmentation part of the γ/β branch's first conv, N×hidden×H×W (before its bias and
        activation); it depends on ψ alone, so IKC's steps on one image can share it."""
        conv = self.body[0]
        nf_code = conv.in_channels - self.seg[-1].out_channels
        return F.conv2d(self.seg(seg), conv.weight[:, nf_code:], padding=1)

    def forward(self, feat: torch.Tensor, code: torch.Tensor | None = None,
                seg: torch.Tensor | None = None, seg_term: torch.Tensor | None = None) -> torch.Tensor:
        """feat N×C×H×W, code N×b (or None), seg N×K×H×W probabilities (or None; or give
        ``seg_term``, this layer's :meth:`seg_term`) → N×C×H×W."""
        if not (self.use_kernel or self.use_seg):
            return feat
        # body(concat(F_img, H, F_segcon)) computed as a sum of three convs with the slices of one
        # weight (the parameters are those of the concatenated conv): the same sum, without the
        # concatenation's copy, and without the constant code map H in the big conv. A 3×3 conv of
        # a constant map is a per-image bias except at the zero-padded border: Σ over the taps that
        # fall inside the image of (code · weight). ``taps`` says which do, pixel by pixel (a conv
        # of ones with the 9 unit kernels), so the term is a 9-long product per pixel and channel.
        conv, nf = self.body[0], feat.shape[1]
        pre = F.conv2d(feat, conv.weight[:, :nf], conv.bias, padding=1)       # N×hidden×H×W
        if self.use_kernel:
            b = code.shape[1]
            folded = torch.einsum("nc,ocij->noij", code.to(feat.dtype), conv.weight[:, nf:nf + b].to(feat.dtype))
            unit = torch.eye(9, dtype=feat.dtype, device=feat.device).view(9, 1, 3, 3)
            taps = F.conv2d(torch.ones_like(feat[:1, :1]), unit, padding=1)[0]  # 9×H×W, 1 inside
            pre = pre + torch.einsum("not,thw->nohw", folded.flatten(2), taps)
        if self.use_seg:
            pre = pre + (self.seg_term(seg) if seg_term is None else seg_term)
        gamma, beta = self.to_gamma_beta(self.body[1](pre)).chunk(2, dim=1)
        return torch.addcmul(feat + beta, feat, gamma)                         # γ = 1 + Δγ


class ResBlock(nn.Module):
    """SFT → act → conv → SFT → act → conv, plus the skip (paper Fig. 5; IKC's SFTMD block)."""

    def __init__(self, nf: int, **sft_kwargs):
        super().__init__()
        self.sft1, self.sft2 = SFTConcat(nf, **sft_kwargs), SFTConcat(nf, **sft_kwargs)
        self.conv1 = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv2 = nn.Conv2d(nf, nf, 3, padding=1)

    def forward(self, x, code=None, seg=None, seg_terms=(None, None)):
        # in-place ReLU: an SFT layer returns a new tensor (the identity one, under no condition, does not)
        act = F.relu_ if self.sft1.use_kernel or self.sft1.use_seg else F.relu
        y = self.conv1(act(self.sft1(x, code, seg, seg_terms[0])))
        y = self.conv2(act(self.sft2(y, code, seg, seg_terms[1])))
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
class SegTerms:
    """ψ's share of every SFT layer's γ/β branch, computed once for a batch (``SFTGenerator.seg_terms``).

    Pass it as ``seg`` to the generator instead of the probabilities: the output is the same (to
    float rounding), and the segmentation convs are not run again. IKC runs G once per step on the
    same LR, so its steps share one SegTerms.
    """
    terms: list[torch.Tensor]      # one N×cond_nf×h×w tensor per SFT layer, in the generator's order
    shape: tuple[int, int, int, int]  # N×K×h×w of the ψ they come from

    def to(self, device) -> "SegTerms":
        return SegTerms([t.to(device) for t in self.terms], self.shape)


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

    def sft_layers(self) -> list[SFTConcat]:
        """Every SFT layer, in the order the forward pass runs them."""
        return [sft for block in self.blocks for sft in (block.sft1, block.sft2)] + [self.trunk_sft]

    def seg_terms(self, seg: torch.Tensor) -> SegTerms:
        """ψ (N×K×h×w probabilities) → its :class:`SegTerms` for this generator (needs use_seg)."""
        if not self.cfg.use_seg:
            raise ValueError("seg_terms needs a generator that uses segmentation (use_seg=True)")
        if isinstance(seg, SegTerms):
            return seg
        return SegTerms([sft.seg_term(seg) for sft in self.sft_layers()], tuple(seg.shape))

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
            seg: N×K×h×w segmentation probabilities at LR size (or their ``SegTerms``); required
                iff cfg.use_seg, else ignored.

        Returns:
            N×3×(s·h)×(s·w), not clamped (clamping would stop gradients at saturated pixels).
        """
        self._check(lr, code, seg)
        # Switched-off inputs are dropped here, so they cannot influence anything below.
        code = code.to(lr.dtype) if self.cfg.use_kernel else None
        terms = [None] * (2 * len(self.blocks) + 1)
        if isinstance(seg, SegTerms):
            terms, seg = seg.terms, None
        elif self.cfg.use_seg:
            seg = seg.to(lr.dtype)
        else:
            seg = None
        x = self.head(lr)                                   # N×nf×h×w
        y = x
        for i, block in enumerate(self.blocks):
            y = block(y, code, seg, terms[2 * i:2 * i + 2])  # N×nf×h×w
        y = x + self.trunk_conv(F.relu(self.trunk_sft(y, code, seg, terms[-1])))
        out = self.tail(self.upsample(y))                   # N×3×sh×sw
        if self.cfg.residual:
            out = out + imresize(lr, scale=self.cfg.scale)
        return out
