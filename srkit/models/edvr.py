"""The multi-frame generator: a window of LR frames aligned, fused, and super-resolved by SFTconcat.

Reading order: ``warp`` (backward warping by a flow) → ``FlowNet`` (a small learned flow) →
``TemporalFusion`` (EDVR's temporal attention, the residual starting at zero) → ``MultiFrameConfig``
→ ``MultiFrameGenerator``.

The structure is EDVR's (align every neighbour to the centre frame in feature space, weight each
frame per pixel by its similarity to the centre, fuse, reconstruct), at the size of the bundled
single-frame generator, whose head and body it reuses unchanged:

    frames N×T×3×h×w ──head──▶ N×T×nf×h×w ──warp by FlowNet(centre, neighbour)──▶ aligned
    aligned ──TemporalFusion──▶ residual N×nf×h×w;   x = head(centre) + residual
    x ──SFTGenerator.reconstruct(x, centre, code, ψ of the centre)──▶ N×3×sh×sw

**Why a learned flow and not deformable convolution** (EDVR's PCD alignment): on the CPU, one DCNv2
layer (``torchvision.ops.deform_conv2d``) made a training step of this size 3.0× the single-frame
cost, a small flow net with ``grid_sample`` warping 1.1×; no pretrained flow (SPyNet, as BasicVSR
uses) can be loaded offline; the synthetic camera motion it is trained on (pans, zooms, small
rotations) is a smooth field that one flow per neighbour describes. The flow is estimated on the LR
pixels at half resolution (receptive field about 15 LR pixels: motion of a few pixels per frame).

**Starting point**: the flow's and the fusion's last convolutions are zero, so at initialisation the
flow is 0, the fused residual is 0, and the output is exactly the single-frame generator's on the
centre frame (``tests/test_edvr.py`` checks it against the ``x2`` bundle). Training from a bundle
therefore starts at the bundle's quality and can only add what the neighbours bring.

A 4-D input (one frame, N×3×h×w) runs the single-frame generator alone: IKC's kernel-estimation steps
(``srkit.inference``) use that, so a checkpoint holding this network is a complete pipeline.

References (docs/DESIGN.md §8):
    X. Wang, K. C. K. Chan, K. Yu, C. Dong, C. C. Loy, "EDVR: Video Restoration with Enhanced
    Deformable Convolutional Networks", CVPRW 2019, https://arxiv.org/abs/1905.02716 (alignment +
    temporal attention fusion).
    A. Ranjan, M. J. Black, "Optical Flow Estimation using a Spatial Pyramid Network", CVPR 2017,
    https://arxiv.org/abs/1611.00850 (flow by a small CNN on the frame pair, warping by sampling).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F

from srkit.models.sft import GeneratorConfig, SFTGenerator


def warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp: out[p] = x[p + flow[p]], bilinear, border values past the edges.

    Args:
        x: N×C×h×w.
        flow: N×2×h×w displacement in pixels, channel 0 along x (columns), 1 along y (rows).

    Returns:
        N×C×h×w. A zero flow returns x (to float rounding: the grid falls on pixel centres).
    """
    n, _, h, w = x.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=x.device, dtype=x.dtype),
                            torch.arange(w, device=x.device, dtype=x.dtype), indexing="ij")
    gx = (xs + flow[:, 0]) * (2 / max(w - 1, 1)) - 1                     # N×h×w in [-1, 1]
    gy = (ys + flow[:, 1]) * (2 / max(h - 1, 1)) - 1
    return F.grid_sample(x, torch.stack((gx, gy), -1), mode="bilinear", padding_mode="border",
                         align_corners=True)


class FlowNet(nn.Module):
    """Flow from the centre frame to a neighbour, both N×3×h×w in [0, 1] → N×2×h×w (LR pixels).

    conv → stride-2 conv → 2 convs → flow conv (zero-initialised) → bilinear ×2 (values ×2).
    """

    def __init__(self, nf: int = 16):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(6, nf, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(nf, nf, 3, stride=2, padding=1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(nf, nf, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(nf, nf, 3, padding=1), nn.LeakyReLU(0.1, inplace=True))
        self.to_flow = nn.Conv2d(nf, 2, 3, padding=1)
        nn.init.zeros_(self.to_flow.weight)  # flow 0 at the start: warping is the identity
        nn.init.zeros_(self.to_flow.bias)

    def forward(self, centre: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        h, w = centre.shape[-2:]
        half = self.to_flow(self.body(torch.cat((centre, other), 1)))       # N×2×⌈h/2⌉×⌈w/2⌉
        return 2 * F.interpolate(half, size=(h, w), mode="bilinear", align_corners=False)


class TemporalFusion(nn.Module):
    """EDVR's temporal attention fusion, as a residual on the centre frame's features.

    Each aligned frame t is weighted per pixel by sigmoid(⟨θ(F_t), φ(F_centre)⟩) (EDVR's TSA without
    the spatial pyramid), the T weighted maps are fused by a 1×1 conv, and a 3×3 conv, zero at the
    start, gives the residual added to the centre's features.
    """

    def __init__(self, nf: int, frames: int):
        super().__init__()
        self.theta = nn.Conv2d(nf, nf, 3, padding=1)     # embedding of each aligned frame
        self.phi = nn.Conv2d(nf, nf, 3, padding=1)       # embedding of the centre frame
        self.fuse = nn.Conv2d(frames * nf, nf, 1)
        self.out = nn.Conv2d(nf, nf, 3, padding=1)
        nn.init.zeros_(self.out.weight)  # residual 0 at the start: the single-frame generator's output
        nn.init.zeros_(self.out.bias)

    def forward(self, aligned: torch.Tensor, centre: int) -> torch.Tensor:
        """aligned N×T×nf×h×w → residual N×nf×h×w."""
        n, t, c, h, w = aligned.shape
        ref = self.phi(aligned[:, centre])                                   # N×nf×h×w
        emb = self.theta(aligned.flatten(0, 1)).view(n, t, c, h, w)          # N×T×nf×h×w
        weight = torch.sigmoid((emb * ref[:, None]).sum(2, keepdim=True))    # N×T×1×h×w
        fused = F.leaky_relu(self.fuse((aligned * weight).flatten(1, 2)), 0.1)  # N×nf×h×w
        return self.out(fused)


@dataclass
class MultiFrameConfig(GeneratorConfig):
    """A ``GeneratorConfig`` (the body's fields, unchanged) plus the window.

    Attributes:
        frames: frames in a window, odd (3 or 5); the centre one is super-resolved.
        flow_nf: channels of the flow net.
    """
    frames: int = 3
    flow_nf: int = 16

    PRESETS: ClassVar[dict[str, dict]] = GeneratorConfig.PRESETS

    def __post_init__(self):
        super().__post_init__()
        if self.frames < 3 or self.frames % 2 == 0:
            raise ValueError(f"MultiFrameConfig.frames must be odd and >= 3, got {self.frames}")
        if self.flow_nf < 1:
            raise ValueError(f"MultiFrameConfig.flow_nf must be positive, got {self.flow_nf}")

    def body_config(self) -> GeneratorConfig:
        """The single-frame generator's config (every field but the window's)."""
        names = {f.name for f in fields(GeneratorConfig)}
        return GeneratorConfig(**{k: v for k, v in asdict(self).items() if k in names})

    @classmethod
    def from_generator(cls, cfg: GeneratorConfig, **window) -> "MultiFrameConfig":
        """The config of a multi-frame generator around a single-frame one of config ``cfg``."""
        return cls(**{f.name: getattr(cfg, f.name) for f in fields(GeneratorConfig)}, **window)


class MultiFrameGenerator(nn.Module):
    """G(window | h, ψ of the centre): align (FlowNet + warp) → fuse (TemporalFusion) → SFTconcat body."""

    def __init__(self, cfg: MultiFrameConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or MultiFrameConfig()
        self.generator = SFTGenerator(cfg.body_config())
        self.flow = FlowNet(cfg.flow_nf)
        self.fusion = TemporalFusion(cfg.nf, cfg.frames)

    @classmethod
    def from_single(cls, generator: SFTGenerator, **window) -> "MultiFrameGenerator":
        """Around a trained single-frame generator (its weights copied), alignment and fusion fresh."""
        net = cls(MultiFrameConfig.from_generator(generator.cfg, **window))
        net.generator.load_state_dict(generator.state_dict())
        return net.to(next(generator.parameters()).device)

    @property
    def scale(self) -> int:
        return self.cfg.scale

    def seg_terms(self, seg: torch.Tensor):
        """The single-frame generator's ``SegTerms`` of ψ (they serve the multi-frame pass too)."""
        return self.generator.seg_terms(seg)

    @property
    def centre(self) -> int:
        return self.cfg.frames // 2

    def forward(self, lr: torch.Tensor, code: torch.Tensor | None = None,
                seg: torch.Tensor | None = None) -> torch.Tensor:
        """Super-resolve the centre frame of each window.

        Args:
            lr: N×T×3×h×w windows in [0, 1] (T = cfg.frames), or N×3×h×w single frames (the
                single-frame generator alone; IKC's steps).
            code: N×b kernel code of the window (one kernel per shot).
            seg: N×K×h×w probabilities of the centre frame (or its ``SegTerms``).

        Returns:
            N×3×(s·h)×(s·w), not clamped.
        """
        if lr.dim() == 4:
            return self.generator(lr, code, seg)
        if lr.dim() != 5 or lr.shape[1] != self.cfg.frames or lr.shape[2] != 3:
            raise ValueError(f"multi-frame generator expects lr N×{self.cfg.frames}×3×h×w (or N×3×h×w), "
                             f"got {tuple(lr.shape)}")
        n, t, _, h, w = lr.shape
        c = self.centre
        centre = lr[:, c]                                                    # N×3×h×w
        self.generator._check(centre, code, seg)
        feats = self.generator.head(lr.flatten(0, 1)).view(n, t, -1, h, w)  # N×T×nf×h×w
        others = [i for i in range(t) if i != c]
        flows = self.flow(centre.repeat(len(others), 1, 1, 1),
                          lr[:, others].transpose(0, 1).flatten(0, 1))       # (T−1)N×2×h×w
        warped = warp(feats[:, others].transpose(0, 1).flatten(0, 1), flows)
        warped = warped.view(len(others), n, -1, h, w).transpose(0, 1)       # N×(T−1)×nf×h×w
        aligned = torch.cat((warped[:, :c], feats[:, c:c + 1], warped[:, c:]), 1)  # N×T×nf×h×w
        x = feats[:, c] + self.fusion(aligned, c)                            # N×nf×h×w
        return self.generator.reconstruct(x, centre, code, seg)
