"""Segmentation network S: cross-entropy on LR images, per-class IoU on a held-out split.

S runs on LR images at inference (docs/DESIGN.md §1: ψ at LR resolution), so it is trained on them:
HR crops are degraded exactly like the SR training data (random kernel, noise) and the label of an
LR pixel is the label at the centre of its s×s HR block. Data: CamVid + ADE20K samples mapped to the
10 categories, synthetic face/text composites, and optionally a HuggingFace dataset.

Class weights w_k (``class_weights='sqrt_inverse'``) make a network whose logits are the calibrated
ones plus log w_k (the weighted cross-entropy's minimiser, softmax ∝ w_k·p(k|x)): faces and text are
then called where they are less likely than the truth. The exported network (model.safetensors) and
the validation scores therefore use logits − log w_k, folded into the head's last bias (post-hoc
logit adjustment: A. K. Menon et al., "Long-tail learning via logit adjustment", ICLR 2021,
https://arxiv.org/abs/2007.07314); the resume state keeps the network as trained.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from srkit.categories import CATEGORIES, NUM_CATEGORIES
from srkit.data.label_maps import IGNORE
from srkit.metrics import confusion, iou_from_confusion  # noqa: F401 (part of this module's API)
from srkit.models.seg import SegConfig, SegNet
from srkit.train import dist
from srkit.train.data import seg_data
from srkit.train.loop import TrainConfig, Trainer, load_init


@dataclass
class SegTrainConfig(TrainConfig):
    """Segmentation settings (plus every TrainConfig field; ``data`` is a data root holding
    ``segmentation/CamVid_val_sub`` etc., default $SRKIT_DATA).

    Attributes:
        model: SegConfig preset ('tiny', 'small', 'default', 'resnet18').
        pretrained: start the timm encoder from ImageNet weights (needs internet once; falls back to
            random weights with a warning).
        synthetic: number of face/text composites added (split 8:1:1 like the real images).
        synth_size: side of each composite (HR px).
        camvid_limit: use the first N CamVid frames (0 = all 51).
        sources: the real labelled sets ('camvid', 'ade20k', 'stanford', 'siftflow', 'msrc'; the last
            three: Stanford Background and SIFT Flow train splits, MSRC-v2; see ``srkit.train.data.seg_data``).
        hf_dataset: HuggingFace segmentation dataset to add (e.g. 'scene_parse_150'; None = none).
        class_weights: None (plain cross-entropy, default) or 'sqrt_inverse': category k weighted by
            sqrt(median share / share_k) of the training pixels, clipped to [0.2, 5] (absent
            categories 0). Faces and text cover about 1 % and 3 % of the training pixels, so
            unweighted training all but ignores them; the square root keeps pixel accuracy from
            collapsing onto the rare classes.
        class_weight_factors: {category: factor} multiplying the 'sqrt_inverse' weights (default
            none). The square root gives faces about 2.4: a ResNet-18 trained with it at ×2 found
            90 % of the composites' face pixels but called caption boxes and buildings faces too
            (precision 0.52), so a factor below 1 trades a little face recall for precision.
        text_label: what the composites' text category covers: 'glyphs' (the glyph pixels,
            default) or 'box' (the caption's box); see ``srkit.data.synth.make_segmentation_sample``.
        composite_base: what the composites are pasted on: 'photos' (default: scikit-image's
            photos, labelled background, and the first 4 real images) or 'scenes' (every labelled
            training scene, labels kept under the pastes; no unlabelled photos).

    Images smaller than ``patch`` (or ``val_patch``) are padded to it, mirrored, with the padding
    labelled IGNORE, so a patch can cover a whole Stanford frame (the smallest are 137 px high).
    """
    model: str = "small"
    pretrained: bool = True
    synthetic: int = 200
    synth_size: int = 256
    camvid_limit: int = 0
    sources: tuple[str, ...] = ("camvid", "ade20k")
    hf_dataset: str | None = None
    noise: float | tuple[float, float] = (0.0, 15.0)
    class_weights: str | None = None
    class_weight_factors: dict[str, float] | None = None
    text_label: str = "glyphs"
    composite_base: str = "photos"

    def __post_init__(self):
        super().__post_init__()
        if self.composite_base not in ("photos", "scenes"):
            raise ValueError(f"composite_base must be 'photos' or 'scenes', got {self.composite_base!r}")
        from srkit.data.synth import TEXT_LABELS
        if self.text_label not in TEXT_LABELS:
            raise ValueError(f"text_label must be one of {TEXT_LABELS}, got {self.text_label!r}")
        if self.class_weights not in (None, "sqrt_inverse"):
            raise ValueError(f"class_weights must be None or 'sqrt_inverse', got {self.class_weights!r}")
        if self.class_weight_factors:
            if self.class_weights != "sqrt_inverse":
                raise ValueError("class_weight_factors multiply the 'sqrt_inverse' class weights; "
                                 f"set class_weights='sqrt_inverse' (got {self.class_weights!r})")
            bad = {k: v for k, v in self.class_weight_factors.items()
                   if k not in CATEGORIES or not (isinstance(v, (int, float)) and v > 0)}
            if bad:
                raise ValueError(f"class_weight_factors {bad}: keys must be categories {CATEGORIES} "
                                 "and factors positive numbers")

    PRESETS: ClassVar[dict[str, dict]] = {
        "smoke": dict(out="runs/smoke-seg", steps=40, batch=4, patch=128, model="tiny", pretrained=False,
                      synthetic=6, synth_size=160, camvid_limit=6, val_images=4, val_patch=128, lr=2e-3,
                      log_every=5, val_every=20, ckpt_every=20),
        "cpu": dict(out="runs/cpu-seg", steps=3000, batch=8, patch=192, model="small", synthetic=200, lr=1e-3,
                    val_images=16, val_patch=192, val_every=250, ckpt_every=250, log_every=20),
        "gpu": dict(out="runs/gpu-seg", steps=40000, batch=16, patch=256, model="default", synthetic=2000,
                    lr=1e-3, val_images=64, val_patch=256, val_every=2000, ckpt_every=2000, log_every=100),
    }


def sqrt_inverse_weights(labels: list, num_classes: int = NUM_CATEGORIES,
                         factors: dict[str, float] | None = None) -> torch.Tensor:
    """K weights sqrt(median share / share_k) of the labelled pixels in ``labels`` (int maps, -1 =
    ignore), clipped to [0.2, 5], then multiplied by ``factors`` ({category name: factor}, after
    the clip); 0 for categories with no pixels."""
    import numpy as np
    counts = np.zeros(num_classes, np.float64)
    for lab in labels:
        lab = np.asarray(lab)
        counts += np.bincount(lab[lab != IGNORE].ravel(), minlength=num_classes)[:num_classes]
    present = counts > 0
    share = counts / max(counts.sum(), 1)
    w = np.zeros(num_classes)
    w[present] = np.clip(np.sqrt(np.median(share[present]) / share[present]), 0.2, 5.0)
    for name, factor in (factors or {}).items():
        w[CATEGORIES.index(name)] *= factor
    return torch.tensor(w, dtype=torch.float32)


class LogitsOf(torch.nn.Module):
    """SegNet.logits as a module's forward (DDP only synchronises through forward)."""

    def __init__(self, net: SegNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.logits(x)


class SegTrainer(Trainer):
    name = "seg"

    def build(self) -> None:
        cfg = self.cfg
        init = load_init(cfg.init_from, self.device, cfg.scale)
        if init is not None and "segnet" in init.modules:
            net = init.modules["segnet"]
        else:
            net = SegNet(SegConfig.preset(cfg.model, pretrained=cfg.pretrained))
        self.modules["segnet"] = net.to(self.device)
        self.net = dist.wrap(LogitsOf(net), self.device)  # DDP reduces what forward() returns
        self.adam("segnet", net.parameters())
        self.sampler, self.val_batch = seg_data(cfg, self.device, self.out, self.print)
        self.weight = None
        if cfg.class_weights == "sqrt_inverse":
            self.weight = sqrt_inverse_weights(self.sampler.data.labels,
                                               factors=cfg.class_weight_factors).to(self.device)
            self.print("class weights: " + ", ".join(f"{c} {w:.2f}" for c, w in zip(CATEGORIES, self.weight.tolist())))
        self.logit_shift = logit_shift(self.weight).to(self.device) if self.weight is not None else None

    def train_step(self, batch: dict) -> dict[str, float]:
        loss = F.cross_entropy(self.net(batch["lr"]), batch["label"], weight=self.weight, ignore_index=IGNORE)
        return {"ce": self.optimize("ce", loss, "segnet")}

    def validate(self) -> dict[str, float]:
        b = self.val_batch
        logits = self.modules["segnet"].logits(b["lr"])
        if self.logit_shift is not None:  # score what export() writes: the adjusted network
            logits = logits - self.logit_shift.view(1, -1, 1, 1)
        cm = confusion(logits.argmax(1), b["label"])
        ce = float(F.cross_entropy(logits, b["label"], ignore_index=IGNORE))
        return {"val_ce": ce, **{f"val_{k}": v for k, v in iou_from_confusion(cm).items()}}

    def export(self):
        """model.safetensors holds the segmenter with the class weights' logit shift removed (see the
        module docstring); without class weights, the network as trained."""
        if self.logit_shift is None:
            return self.modules, None
        return {"segnet": adjust_logits(dist.unwrap(self.modules["segnet"]), self.logit_shift)}, None


def logit_shift(weight: torch.Tensor) -> torch.Tensor:
    """log w_k of K class weights (0 for a weight of 0: an absent category gets no shift)."""
    w = weight.detach().float().cpu()
    return torch.where(w > 0, w.clamp_min(1e-12).log(), torch.zeros_like(w))


def adjust_logits(net: SegNet, shift: torch.Tensor) -> SegNet:
    """A copy of ``net`` whose logits are ``net``'s minus ``shift`` (K values), folded into the
    bias of the head's last convolution (the architecture and file format do not change)."""
    out = copy.deepcopy(net)
    last = out.head[-1]
    if not isinstance(last, torch.nn.Conv2d) or last.bias is None or last.bias.numel() != shift.numel():
        raise ValueError(f"cannot fold a {shift.numel()}-class logit shift into {type(last).__name__}")
    with torch.no_grad():
        last.bias -= shift.to(last.bias)
    if not all(math.isfinite(v) for v in last.bias.tolist()):
        raise ValueError("logit shift made the head's bias non-finite")
    return out
