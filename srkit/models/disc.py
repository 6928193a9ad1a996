"""Discriminator D (paper Fig. 6): a VGG-style classifier of real HR vs generated SR patches.

Conv blocks (3×3 conv, then 4×4 stride-2 conv) double the channels while halving the size, a
global average pool makes D accept any patch size, and two linear layers give one logit. The paper's
sigmoid output is ``DiscOutput.prob``; losses use the logit (BCE-with-logits is numerically stable
where a sigmoid followed by log is not).

References (docs/DESIGN.md §8):
    C. Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
    Network", CVPR 2017, https://arxiv.org/abs/1609.04802 (the layout).
    X. Wang et al., "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks", ECCV
    Workshops 2018, https://arxiv.org/abs/1809.00219 (widths).
    D. Yang, "Film and Television Production AI Intelligent Optimization Processing System Based on
    Neural Optimization Algorithm" (Fig. 6).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn

from srkit.models.presets import Presets


@dataclass
class DiscriminatorConfig(Presets):
    """Architecture of D.

    Attributes:
        nf: channels of the first block; doubled per block up to 8·nf (SRGAN/ESRGAN: 64).
        n_blocks: stride-2 blocks (5 → a 128×128 patch ends at 4×4).
        norm: 'batch' (SRGAN) or 'none'.
        fc: width of the hidden linear layer.
    """
    nf: int = 64
    n_blocks: int = 5
    norm: str = "batch"
    fc: int = 100

    PRESETS: ClassVar[dict[str, dict]] = {
        "tiny": dict(nf=8, n_blocks=3, fc=16), "small": dict(nf=32, n_blocks=4, fc=64),
        "default": dict(nf=64, n_blocks=5, fc=100)}

    def __post_init__(self):
        if self.norm not in ("batch", "none"):
            raise ValueError(f"DiscriminatorConfig.norm must be 'batch' or 'none', got {self.norm!r}")
        if min(self.nf, self.n_blocks, self.fc) < 1:
            raise ValueError(f"DiscriminatorConfig sizes must be positive: {self}")


@dataclass
class DiscOutput:
    """logit: N real-vs-fake scores (pre-sigmoid)."""
    logit: torch.Tensor

    @property
    def prob(self) -> torch.Tensor:
        """The paper's sigmoid output: probability that the input is a real HR patch, in (0, 1)."""
        return torch.sigmoid(self.logit)


def _block(cin: int, cout: int, stride: int, norm: str) -> list[nn.Module]:
    k = 3 if stride == 1 else 4
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, padding=1, bias=norm == "none")]
    if norm == "batch":
        layers.append(nn.BatchNorm2d(cout))
    return layers + [nn.LeakyReLU(0.2, inplace=True)]


class Discriminator(nn.Module):
    """D(x) → DiscOutput for x N×3×H×W in [0, 1] (H, W ≥ 2**n_blocks for a meaningful result)."""

    def __init__(self, cfg: DiscriminatorConfig | None = None):
        super().__init__()
        self.cfg = c = cfg or DiscriminatorConfig()
        # First layer without normalisation, as in SRGAN (BN on raw pixels only shifts colours).
        layers: list[nn.Module] = [nn.Conv2d(3, c.nf, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        ch = c.nf
        for i in range(c.n_blocks):
            out = min(c.nf * 2 ** i, c.nf * 8)
            layers += _block(ch, out, 1, c.norm) if i else []
            layers += _block(out if i else ch, out, 2, c.norm)
            ch = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(ch, c.fc), nn.LeakyReLU(0.2, inplace=True), nn.Linear(c.fc, 1))

    def forward(self, x: torch.Tensor) -> DiscOutput:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"discriminator expects N×3×H×W, got {tuple(x.shape)}")
        f = self.pool(self.features(x)).flatten(1)             # N×C
        return DiscOutput(self.classifier(f).squeeze(1))        # N
