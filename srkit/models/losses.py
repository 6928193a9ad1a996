"""Training losses: pixel (L1/L2), VGG19 perceptual, and the GAN loss of paper eq. 5–6.

Generator objective (eq. 6): ``Loss = Loss_vgg + 1e-3 · Loss_GAN`` (``GAN_WEIGHT``).

References (docs/DESIGN.md §8):
    C. Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
    Network", CVPR 2017, https://arxiv.org/abs/1609.04802 (VGG loss + 1e-3 adversarial loss).
    J. Johnson, A. Alahi, L. Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
    Super-Resolution", ECCV 2016, https://arxiv.org/abs/1603.08155.
    K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
    ICLR 2015, https://arxiv.org/abs/1409.1556 (VGG19).
    I. Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, https://arxiv.org/abs/1406.2661.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

GAN_WEIGHT = 1e-3  # paper eq. 6

# torchvision/timm VGG19 ``features`` layout: conv indices per block; relu follows each conv.
_VGG19_BLOCKS = (2, 2, 4, 4, 4)


def _vgg19_layer_index() -> dict[str, int]:
    """Names like 'conv5_4' / 'relu5_4' → index in vgg19.features."""
    names, i = {}, 0
    for b, n in enumerate(_VGG19_BLOCKS, start=1):
        for j in range(1, n + 1):
            names[f"conv{b}_{j}"], names[f"relu{b}_{j}"] = i, i + 1
            i += 2
        i += 1  # max pool
    return names


VGG19_LAYERS = _vgg19_layer_index()


def pixel_loss(sr: torch.Tensor, hr: torch.Tensor, kind: str = "l1") -> torch.Tensor:
    """Mean absolute ('l1') or squared ('l2') error between N×C×H×W tensors."""
    if sr.shape != hr.shape:
        raise ValueError(f"pixel_loss: shapes differ, sr {tuple(sr.shape)} vs hr {tuple(hr.shape)}")
    if kind == "l1":
        return F.l1_loss(sr, hr)
    if kind == "l2":
        return F.mse_loss(sr, hr)
    raise ValueError(f"pixel_loss kind must be 'l1' or 'l2', got {kind!r}")


class VGG19Features(nn.Module):
    """ImageNet VGG19 (timm 'vgg19') truncated after the deepest requested layer.

    Args:
        layers: layer names, e.g. ('conv5_4',) (ESRGAN: before activation) or ('relu5_4',) (SRGAN).
        allow_random: if the pretrained weights cannot be loaded, use random weights (with a warning)
            instead of raising. Only for smoke tests: random VGG features are no perceptual metric.
    """

    def __init__(self, layers: Sequence[str] = ("conv5_4",), allow_random: bool = False):
        super().__init__()
        import timm  # lazy: only the perceptual stage needs it

        bad = [n for n in layers if n not in VGG19_LAYERS]
        if bad or not layers:
            raise ValueError(f"unknown VGG19 layers {bad or layers}; choose from {sorted(VGG19_LAYERS)}")
        try:
            vgg = timm.create_model("vgg19", pretrained=True)
        except Exception as e:
            if not allow_random:
                raise RuntimeError(
                    "PerceptualLoss needs ImageNet-pretrained VGG19 weights (timm 'vgg19', hub id "
                    f"timm/vgg19.tv_in1k) and they could not be loaded ({type(e).__name__}: {str(e)[:200]}). "
                    "A real perceptual/GAN training stage is meaningless with random VGG features. "
                    "Run once with internet access (and without HF_HUB_OFFLINE=1) so timm caches them "
                    "in HF_HOME, or pass extractor=<your nn.Module> (e.g. srkit.models.seg.SegFeatures), "
                    "or, for smoke tests only, allow_random=True.") from e
            warnings.warn("PerceptualLoss: ImageNet VGG19 weights unavailable; using RANDOM VGG19 features "
                          "(allow_random=True). Results are not perceptually meaningful.",
                          RuntimeWarning, stacklevel=3)
            with torch.device("meta"):  # skip initialising the 100M-parameter classifier we drop
                vgg = timm.create_model("vgg19", pretrained=False)
        self.indices = [VGG19_LAYERS[n] for n in layers]
        self.features = vgg.features[: max(self.indices) + 1]  # drop the classifier
        if any(p.is_meta for p in self.features.parameters()):
            self.features.to_empty(device="cpu")
            for m in self.features:
                if isinstance(m, nn.Conv2d):  # VGG's own init keeps deep activations O(1)
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(m.bias)
        for m in self.features:
            if isinstance(m, nn.ReLU):
                m.inplace = False  # an in-place ReLU would overwrite a collected conv output
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x N×3×H×W in [0, 1] → the requested feature maps, in the order of ``layers``."""
        x = (x - self.mean) / self.std
        out = {}
        for i, m in enumerate(self.features):
            x = m(x)
            if i in self.indices:
                out[i] = x
        return [out[i] for i in self.indices]


class PerceptualLoss(nn.Module):
    """Distance between feature maps of SR and HR (paper eq. 6, Loss_vgg).

    Args:
        extractor: nn.Module mapping N×3×H×W images in [0, 1] to a tensor or a list of tensors.
            None builds ImageNet VGG19 (``VGG19Features(layers, allow_random)``).
        layers: VGG19 layer names when extractor is None (default conv5_4, as ESRGAN).
        weights: one weight per feature map (default all 1).
        criterion: 'l1' or 'l2' between features.
        allow_random: see VGG19Features.

    The extractor is frozen and always kept in eval mode (no BN statistics drift during training).
    """

    def __init__(self, extractor: nn.Module | None = None, layers: Sequence[str] = ("conv5_4",),
                 weights: Sequence[float] | None = None, criterion: str = "l1", allow_random: bool = False):
        super().__init__()
        self.extractor = extractor if extractor is not None else VGG19Features(layers, allow_random)
        self.extractor.eval().requires_grad_(False)
        self.weights = list(weights) if weights is not None else None
        self.criterion = criterion

    def train(self, mode: bool = True):
        super().train(mode)
        self.extractor.eval()
        return self

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        """sr, hr N×3×H×W in [0, 1] → scalar loss (gradients flow to sr only)."""
        f_sr = self.extractor(sr)
        with torch.no_grad():
            f_hr = self.extractor(hr)
        if torch.is_tensor(f_sr):
            f_sr, f_hr = [f_sr], [f_hr]
        w = self.weights or [1.0] * len(f_sr)
        if len(w) != len(f_sr):
            raise ValueError(f"PerceptualLoss: {len(w)} weights for {len(f_sr)} feature maps")
        return sum(wi * pixel_loss(a, b, self.criterion) for wi, a, b in zip(w, f_sr, f_hr))


def d_loss(real_logit: torch.Tensor, fake_logit: torch.Tensor) -> torch.Tensor:
    """Discriminator side of eq. 5: maximise log D(HR) + log(1 − D(G(LR))), as BCE-with-logits."""
    return (F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
            + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))


def g_adv_loss(fake_logit: torch.Tensor) -> torch.Tensor:
    """Generator side of eq. 5, in the usual non-saturating form −log D(G(LR)) (Goodfellow et al.):
    same fixed point as minimising log(1 − D(G(LR))), but strong gradients while D still wins."""
    return F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))


def generator_loss(sr: torch.Tensor, hr: torch.Tensor, fake_logit: torch.Tensor,
                   perceptual: nn.Module, gan_weight: float = GAN_WEIGHT) -> dict[str, torch.Tensor]:
    """Paper eq. 6: total = perceptual(sr, hr) + gan_weight · g_adv_loss (default weight 1e-3).

    Returns:
        dict with 'total', 'perceptual' and 'gan' (scalars), so training logs can show each term.
    """
    lp = perceptual(sr, hr)
    lg = g_adv_loss(fake_logit)
    return {"total": lp + gan_weight * lg, "perceptual": lp, "gan": lg}
