"""SFT-GAN stage: perceptual + 1e-3 · GAN loss (paper eq. 6) on top of a pixel-trained generator.

Each iteration: one discriminator step (BCE on real HR vs detached SR, eq. 5), then one generator
step on ``perceptual(SR, HR) + gan_weight · g_adv(D(SR)) [+ pixel_weight · L1]``. G gets the true
kernel code (as in stage 1) and ψ from the frozen SegNet for seg-conditioned variants.

Perceptual features: ImageNet VGG19 (``perceptual='vgg'``, the paper's choice; weights come from the
HuggingFace hub through timm, so they need internet once), or the encoder of a srkit-trained SegNet
(``perceptual='seg_encoder'``, works offline). Random VGG features are no perceptual metric, so the
trainer refuses them unless ``allow_random_features=True`` (smoke runs only).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from srkit.models.disc import Discriminator, DiscriminatorConfig
from srkit.models.losses import GAN_WEIGHT, PerceptualLoss, d_loss, generator_loss, pixel_loss
from srkit.train import dist
from srkit.train.loop import frozen
from srkit.train.sftmd import GeneratorStage, SFTMDConfig


@dataclass
class SFTGANConfig(SFTMDConfig):
    """GAN-stage settings (plus every SFTMDConfig / TrainConfig field).

    Attributes:
        perceptual: 'vgg' (ImageNet VGG19) or 'seg_encoder' (features of the SegNet in
            ``seg_checkpoint`` or in ``init_from``).
        vgg_layers: VGG19 layers compared (ESRGAN: conv5_4).
        allow_random_features: accept random VGG19 weights when ImageNet ones are missing (smoke only).
        gan_weight: weight of the adversarial term (paper: 1e-3).
        pixel_weight: optional L1 term (0 = the paper's loss; ESRGAN uses 1e-2).
        discriminator: DiscriminatorConfig preset ('tiny', 'small', 'default').
        d_lr: discriminator learning rate (None = lr).
    """
    perceptual: str = "vgg"
    vgg_layers: tuple[str, ...] = ("conv5_4",)
    allow_random_features: bool = False
    gan_weight: float = GAN_WEIGHT
    pixel_weight: float = 0.0
    discriminator: str = "small"
    d_lr: float | None = None

    PRESETS: ClassVar[dict[str, dict]] = {
        "smoke": dict(out="runs/smoke-sftgan", steps=40, batch=4, patch=48, generator="tiny", discriminator="tiny",
                      vgg_layers=("conv2_2",), allow_random_features=True, val_images=2, val_patch=64,
                      log_every=5, val_every=20, ckpt_every=20, pca_samples=5000, lr=1e-3),
        # needs seg_checkpoint (offline perceptual features); roughly an hour on 2 cores.
        "cpu": dict(out="runs/cpu-sftgan", steps=2000, batch=8, patch=96, generator="small", discriminator="small",
                    perceptual="seg_encoder", val_every=500, ckpt_every=500, log_every=20, pixel_weight=1e-2),
        "gpu": dict(out="runs/gpu-sftgan", steps=200000, batch=16, patch=192, generator="default",
                    discriminator="default", val_every=5000, ckpt_every=5000, log_every=100, val_images=16,
                    val_patch=192, lr_decay_at=(0.25, 0.5, 0.75)),
    }

    def __post_init__(self):
        super().__post_init__()
        if self.perceptual not in ("vgg", "seg_encoder"):
            raise ValueError(f"perceptual must be 'vgg' or 'seg_encoder', got {self.perceptual!r}")


class SFTGANTrainer(GeneratorStage):
    name = "sftgan"

    def build(self) -> None:
        cfg = self.cfg
        self.build_generator_stage()
        if self.init is None or "generator" not in self.init.modules:
            self.print("warning: SFT-GAN starts from an UNTRAINED generator; the paper fine-tunes a "
                       "pixel-trained one (init_from=runs/.../model.safetensors from `srkit train sftmd`)")
        self.perceptual = self._perceptual().to(self.device)
        for name in ("predictor", "corrector"):  # kept so the exported Pipeline stays blind (IKC)
            if self.init is not None and name in self.init.modules:
                self.modules[name] = frozen(self.init.modules[name].to(self.device))
        mods = self.init.modules if self.init is not None else {}
        d = mods.get("discriminator") or Discriminator(DiscriminatorConfig.preset(cfg.discriminator))
        g = self.modules["generator"]
        self.modules["discriminator"] = d.to(self.device)
        self.g, self.d = dist.wrap(g, self.device), dist.wrap(d, self.device)
        self.adam("generator", g.parameters())
        self.adam("discriminator", d.parameters(), lr=cfg.d_lr)

    def _perceptual(self) -> PerceptualLoss:
        cfg = self.cfg
        if cfg.perceptual == "seg_encoder":
            from srkit.models.seg import SegFeatures
            segnet = self.segnet
            if segnet is None and cfg.seg_checkpoint:
                from srkit.checkpoint import load_checkpoint
                segnet = load_checkpoint(cfg.seg_checkpoint, self.device).modules.get("segnet")
            if segnet is None and self.init is not None:
                segnet = self.init.modules.get("segnet")
            if segnet is None:
                raise ValueError("perceptual='seg_encoder' needs a trained SegNet: pass seg_checkpoint=PATH "
                                 "(from `srkit train seg`) or an init_from checkpoint that holds one")
            return PerceptualLoss(SegFeatures(frozen(segnet)))
        try:
            return PerceptualLoss(layers=tuple(cfg.vgg_layers), allow_random=cfg.allow_random_features)
        except RuntimeError as e:
            raise ValueError(f"{e}\nsrkit train sftgan: alternatively set perceptual='seg_encoder' with "
                               "seg_checkpoint=PATH (features of a srkit-trained SegNet; works offline), or "
                               "allow_random_features=True for a smoke run.") from e

    def train_step(self, batch: dict) -> dict[str, float]:
        cfg = self.cfg
        lr, hr = batch["lr"], batch["hr"]
        sr = self.g(lr, batch["code"], self.seg(lr))
        # Discriminator: real and fake in one forward (one DDP forward per backward).
        logits = self.d(torch.cat([hr, sr.detach()])).logit
        n = hr.shape[0]
        out = {"d": self.optimize("d", d_loss(logits[:n], logits[n:]), "discriminator")}
        with torch.no_grad():
            out["d_real"] = float(torch.sigmoid(logits[:n]).mean())
            out["d_fake"] = float(torch.sigmoid(logits[n:]).mean())
        # Generator: D used unwrapped with frozen weights (no D gradients, no DDP reduction).
        d_raw = dist.unwrap(self.d)
        d_raw.requires_grad_(False)
        try:
            terms = generator_loss(sr, hr, d_raw(sr).logit, self.perceptual, cfg.gan_weight)
        finally:
            d_raw.requires_grad_(True)
        total = terms["total"]
        if cfg.pixel_weight:
            out["pixel"] = float(pixel_loss(sr, hr).detach())
            total = total + cfg.pixel_weight * pixel_loss(sr, hr)
        out["g"] = self.optimize("g", total, "generator")
        out["perceptual"], out["gan"] = float(terms["perceptual"].detach()), float(terms["gan"].detach())
        return out

    def validate(self) -> dict[str, float]:
        return {"val_psnr": self.val_psnr()}
