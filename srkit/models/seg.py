"""Segmentation network S: LR image → per-pixel probabilities ψ over the 10 categories (paper eq. 3).

A timm encoder (``features_only``) gives features at strides 2–32; a light top-down decoder sums
them from coarse to fine, and a full-resolution stem on the input keeps boundaries sharp at LR size
(LR images are small, so stride-2 logits upsampled would smear thin objects such as text).

References (docs/DESIGN.md §8):
    X. Wang, K. Yu, C. Dong, C. C. Loy, "Recovering Realistic Texture in Image Super-resolution by
    Deep Spatial Feature Transform", CVPR 2018, https://arxiv.org/abs/1804.02815 (segmentation
    probabilities as the SR prior; the outdoor categories).
    D. Yang, "Film and Television Production AI Intelligent Optimization Processing System Based on
    Neural Optimization Algorithm" (the face and text categories).
    A. Howard et al., "Searching for MobileNetV3", ICCV 2019, https://arxiv.org/abs/1905.02244 (the
    bundled encoder, timm ``mobilenetv3_small_100``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F

from srkit.categories import NUM_CATEGORIES
from srkit.models.presets import Presets

_WARNED: set[str] = set()  # encoders we already warned about (warn once per process)


@dataclass
class SegConfig(Presets):
    """Architecture of S.

    Attributes:
        encoder: any timm model name that supports ``features_only`` (e.g. 'mobilenetv3_small_100',
            'mobilenetv3_small_050', 'resnet18').
        pretrained: start the encoder from ImageNet weights (needs internet or a HF cache; falls
            back to random init with one warning). Checkpoint loading always builds with False.
        num_classes: K output categories (10, srkit.categories).
        decoder_ch: channels of the decoder.
        stem_ch: channels of the full-resolution stem.
    """
    encoder: str = "mobilenetv3_small_100"
    pretrained: bool = True
    num_classes: int = NUM_CATEGORIES
    decoder_ch: int = 64
    stem_ch: int = 16

    PRESETS: ClassVar[dict[str, dict]] = {
        "tiny": dict(encoder="mobilenetv3_small_050", decoder_ch=16, stem_ch=8),
        "small": dict(encoder="mobilenetv3_small_100", decoder_ch=32, stem_ch=16),
        "default": dict(encoder="mobilenetv3_small_100", decoder_ch=64, stem_ch=16),
        # plain residual encoder: without ImageNet weights it trains from scratch more reliably than
        # MobileNetV3 (hard-swish, squeeze-excitation, batch-norm at small batches)
        "resnet18": dict(encoder="resnet18", decoder_ch=64, stem_ch=16),
    }


def create_encoder(name: str, pretrained: bool) -> nn.Module:
    """timm ``features_only`` encoder; if ImageNet weights cannot be had, random init + one warning."""
    import timm  # lazy: srkit imports without timm; only S and the VGG loss need it

    if pretrained:
        try:
            return timm.create_model(name, features_only=True, pretrained=True)
        except Exception as e:  # offline hub, missing cache, proxy errors: all mean "no weights"
            if name not in _WARNED:
                _WARNED.add(name)
                warnings.warn(
                    f"srkit SegNet: could not load ImageNet weights for timm encoder {name!r} "
                    f"({type(e).__name__}: {str(e)[:200]}); the encoder starts from RANDOM weights, so "
                    "segmentation must be trained from scratch and will be much worse. To get the "
                    "weights, run once with internet access (timm downloads them from the HuggingFace "
                    "hub into HF_HOME) or unset HF_HUB_OFFLINE; pass pretrained=False to silence this.",
                    RuntimeWarning, stacklevel=3)
    return timm.create_model(name, features_only=True, pretrained=False)


class SegNet(nn.Module):
    """S(lr) → ψ: N×3×h×w in [0, 1] → N×K×h×w softmax probabilities (call ``logits`` for training)."""

    def __init__(self, cfg: SegConfig | None = None):
        super().__init__()
        self.cfg = c = cfg or SegConfig()
        self.encoder = create_encoder(c.encoder, c.pretrained)
        pcfg = getattr(self.encoder, "pretrained_cfg", None) or {}
        # ImageNet normalisation is part of the encoder, not of the checkpoint: non-persistent.
        self.register_buffer("mean", torch.tensor(pcfg.get("mean", (0.485, 0.456, 0.406))).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(pcfg.get("std", (0.229, 0.224, 0.225))).view(1, 3, 1, 1),
                             persistent=False)
        chans = self.encoder.feature_info.channels()
        self.lateral = nn.ModuleList(nn.Conv2d(ch, c.decoder_ch, 1) for ch in chans)
        self.smooth = nn.Sequential(nn.Conv2d(c.decoder_ch, c.decoder_ch, 3, padding=1),
                                    nn.BatchNorm2d(c.decoder_ch), nn.ReLU(inplace=True))
        self.stem = nn.Sequential(nn.Conv2d(3, c.stem_ch, 3, padding=1), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Conv2d(c.decoder_ch + c.stem_ch, c.decoder_ch, 3, padding=1),
                                  nn.ReLU(inplace=True), nn.Conv2d(c.decoder_ch, c.num_classes, 1))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features of images in [0, 1] (strides 2…32); usable as a perceptual extractor."""
        return self.encoder((x - self.mean) / self.std)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """x N×3×h×w in [0, 1] → N×K×h×w unnormalised scores (for cross-entropy training)."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"SegNet expects N×3×h×w, got {tuple(x.shape)}")
        feats = self.features(x)                                 # list of N×C_i×h/2^i×w/2^i
        y = None
        for f, lat in zip(reversed(feats), reversed(self.lateral)):
            f = lat(f)                                           # N×D×h_i×w_i
            y = f if y is None else f + F.interpolate(y, size=f.shape[-2:], mode="bilinear",
                                                      align_corners=False)
        y = F.interpolate(self.smooth(y), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(torch.cat([y, self.stem(x)], 1))       # N×K×h×w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x N×3×h×w in [0, 1] → ψ N×K×h×w, probabilities summing to 1 over K."""
        return self.logits(x).softmax(dim=1)


class SegFeatures(nn.Module):
    """Wraps a SegNet so its encoder serves as a perceptual-loss feature extractor (losses.py)."""

    def __init__(self, segnet: SegNet):
        super().__init__()
        self.segnet = segnet

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.segnet.features(x)
