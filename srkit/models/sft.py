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

References (docs/DESIGN.md §8):
    D. Yang, "Film and Television Production AI Intelligent Optimization Processing System Based on
    Neural Optimization Algorithm" (SFTconcat, Fig. 3–5).
    X. Wang, K. Yu, C. Dong, C. C. Loy, "Recovering Realistic Texture in Image Super-resolution by
    Deep Spatial Feature Transform", CVPR 2018, https://arxiv.org/abs/1804.02815 (SFT layers).
    J. Gu, H. Lu, W. Zuo, C. Dong, "Blind Super-Resolution With Iterative Kernel Correction",
    CVPR 2019, https://arxiv.org/abs/1904.03377 (SFTMD).
    C. Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
    Network", CVPR 2017, https://arxiv.org/abs/1609.04802 (SRResNet).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F

from srkit.categories import NUM_CATEGORIES
from srkit.models.presets import Presets
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
        # body(concat(F_img, H, F_segcon)) computed as a sum of convs with the slices of one weight
        # (the parameters are those of the concatenated conv): the same sum, without the
        # concatenation's copy, and without the constant code map H in the big conv. The slice is
        # made contiguous because oneDNN takes only dense weights (a strided slice falls back to
        # a conv 3–5× slower).
        conv, nf = self.body[0], feat.shape[1]
        weight = conv.weight[:, :nf].contiguous(memory_format=_layout(feat))
        bias, inner, folded = conv.bias, None, None
        if self.use_kernel:
            # A 3×3 conv of the constant map H is, inside the image, the per-image constant
            # Σ_taps code·weight; on the zero-padded border the taps that fall outside are missing.
            # So: the constant goes into the conv's bias (batch 1) or one broadcast add, and the
            # border rows and columns are mended in place, O(H + W) work instead of a full map.
            b = code.shape[1]
            folded = torch.einsum("nc,ocij->noij", code.to(feat.dtype), conv.weight[:, nf:nf + b].to(feat.dtype))
            inner = folded.sum((2, 3))                                          # N×hidden
            if feat.shape[0] == 1 and not torch.jit.is_tracing():  # a traced graph (ONNX) serves any batch
                bias, inner = bias + inner[0].to(bias.dtype), None
        pre = F.conv2d(feat, weight, bias, padding=1)                          # N×hidden×H×W
        if inner is not None:
            pre = pre.add_(inner[:, :, None, None].to(pre.dtype))
        if folded is not None:
            _drop_outside_taps(pre, folded.to(pre.dtype))
        if self.use_seg:
            pre = pre.add_(self.seg_term(seg) if seg_term is None else seg_term)
        # γ = 1 + Δγ: the 1 is added to the bias of the γ half, so the layer is one addcmul.
        g_conv = self.to_gamma_beta
        one = torch.ones_like(g_conv.bias[:nf])
        gb = F.conv2d(self.body[1](pre), g_conv.weight, g_conv.bias + torch.cat([one, torch.zeros_like(one)]))
        gamma, beta = gb.chunk(2, dim=1)
        return torch.addcmul(beta, feat, gamma)


def _layout(x: torch.Tensor) -> torch.memory_format:
    """The memory format a weight should have to match activation x (oneDNN's fast path)."""
    return torch.channels_last if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
        and not x.is_contiguous() else torch.contiguous_format


def _drop_outside_taps(pre: torch.Tensor, folded: torch.Tensor) -> None:
    """Remove, in place, the taps of a constant map's 3×3 conv that fall on the zero padding.

    pre holds conv(constant) as if every tap were inside (the constant Σ folded); folded is
    N×O×3×3 (code · weight per tap). Row 0 lacks the top taps, row H−1 the bottom ones, column 0
    the left and column W−1 the right ones; each corner lost one tap twice, so it is added back.
    With H or W = 1 a row is both top and bottom, and the same formula stays exact.
    """
    top, bottom = folded[:, :, 0, :].sum(2), folded[:, :, 2, :].sum(2)       # N×O
    left, right = folded[:, :, :, 0].sum(2), folded[:, :, :, 2].sum(2)
    pre[:, :, 0, :] -= top[:, :, None]
    pre[:, :, -1, :] -= bottom[:, :, None]
    pre[:, :, :, 0] -= left[:, :, None]
    pre[:, :, :, -1] -= right[:, :, None]
    pre[:, :, 0, 0] += folded[:, :, 0, 0]
    pre[:, :, 0, -1] += folded[:, :, 0, 2]
    pre[:, :, -1, 0] += folded[:, :, 2, 0]
    pre[:, :, -1, -1] += folded[:, :, 2, 2]


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


class PixelShuffle(nn.PixelShuffle):
    """``nn.PixelShuffle`` that keeps a channels-last input channels-last, with one dense copy.

    torch's own pixel shuffle on a channels-last tensor runs a generic strided copy, 2–3× slower
    than this at the generator's sizes; the values are the same (a pure rearrangement).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_contiguous() or not x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)  # the default layout: torch's own shuffle is the fast one
        n, c, h, w = x.shape
        s = self.upscale_factor
        y = x.permute(0, 2, 3, 1).reshape(n, h, w, c // (s * s), s, s)   # N×h×w×C×s×s (logical NHWC)
        y = y.permute(0, 1, 4, 2, 5, 3).reshape(n, h * s, w * s, c // (s * s))
        return y.permute(0, 3, 1, 2)                                       # N×C×sh×sw, channels-last


class Upsampler(nn.Sequential):
    """Pixel shuffle: ×2 and ×3 in one step, ×4 as two ×2 steps (fewer parameters than one ×4)."""

    def __init__(self, nf: int, scale: int):
        steps = {2: [2], 3: [3], 4: [2, 2]}[scale]
        layers = []
        for s in steps:
            layers += [nn.Conv2d(nf, nf * s * s, 3, padding=1), PixelShuffle(s), nn.LeakyReLU(0.1, inplace=True)]
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
class GeneratorConfig(Presets):
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
        return self.reconstruct(self.head(lr), lr, code, seg)

    def reconstruct(self, x: torch.Tensor, lr: torch.Tensor, code: torch.Tensor | None = None,
                    seg: torch.Tensor | None = None) -> torch.Tensor:
        """Everything after the head: features x (N×nf×h×w, ``head(lr)`` in ``forward``) → SR.

        The multi-frame generator (``srkit.models.edvr``) calls this with the fused features of a
        window of frames, ``lr`` being the centre frame (the residual's bicubic base). Arguments as
        ``forward``, which checks them."""
        # Switched-off inputs are dropped here, so they cannot influence anything below.
        code = code.to(lr.dtype) if self.cfg.use_kernel else None
        terms = [None] * (2 * len(self.blocks) + 1)
        if isinstance(seg, SegTerms):
            terms, seg = seg.terms, None
        elif self.cfg.use_seg:
            seg = seg.to(lr.dtype)
        else:
            seg = None
        y = x                                               # N×nf×h×w
        for i, block in enumerate(self.blocks):
            y = block(y, code, seg, terms[2 * i:2 * i + 2])  # N×nf×h×w
        y = x + self.trunk_conv(F.relu(self.trunk_sft(y, code, seg, terms[-1])))
        out = self.tail(self.upsample(y))                   # N×3×sh×sw
        if self.cfg.residual:
            out = out + imresize(lr, scale=self.cfg.scale)
        return out
