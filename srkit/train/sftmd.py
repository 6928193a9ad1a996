"""Generator stage 1: train G with the TRUE kernel code and a pixel loss (IKC's SFTMD stage).

Works for every ablation variant of docs/DESIGN.md §1 through ``use_kernel`` / ``use_seg``
(SRResNet, SFTMD, SFT-GAN-style seg-only, SFTconcat). Segmentation probabilities come from a
frozen, srkit-trained SegNet (``seg_checkpoint``); a variant with ``use_seg`` needs one.

``GeneratorStage`` holds what the IKC and SFT-GAN stages share with this one: building G (fresh or
from ``init_from``), the frozen SegNet, the PCA, the data and the validation PSNR.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from srkit.models.losses import pixel_loss
from srkit.models.sft import GeneratorConfig, SFTGenerator
from srkit.train import dist
from srkit.train.data import fit_pca, sr_data
from srkit.train.loop import TrainConfig, Trainer, batch_psnr, frozen, load_init


@dataclass
class SFTMDConfig(TrainConfig):
    """Stage-1 settings (plus every TrainConfig field).

    Attributes:
        generator: GeneratorConfig preset for a fresh G: 'tiny', 'small' (bundled CPU size) or
            'default' (nf=64, nb=16). Ignored when ``init_from`` holds a generator.
        use_kernel: condition G on the kernel code (SFTMD / SFTconcat).
        use_seg: condition G on segmentation probabilities (needs ``seg_checkpoint``).
        seg_checkpoint: srkit checkpoint holding a trained SegNet (e.g. runs/seg/model.safetensors).
        pixel: 'l1' (IKC, default) or 'l2'.
        pca_samples: random kernels the PCA is fitted on (fixed seed 0; a stage started from a
            checkpoint reuses the checkpoint's PCA instead).
        code_noise: G sees the true code plus Gaussian noise whose std is drawn per sample,
            uniformly in [0, code_noise] (default 0: the true code, as in IKC). Noise of the size
            of the predictor's error keeps G's best input at the true code while teaching it not to
            collapse when the estimate is slightly off (the bundled ×2 used 0.1; the Set5 sweep is in
            the README).
    """
    generator: str = "small"
    use_kernel: bool = True
    use_seg: bool = False
    seg_checkpoint: str | None = None
    pixel: str = "l1"
    pca_samples: int = 30000
    code_noise: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        if not self.code_noise >= 0.0:
            raise ValueError(f"code_noise must be >= 0, got {self.code_noise!r}")
        if self.code_noise and type(self) is not SFTMDConfig:
            raise ValueError(f"code_noise is a setting of the sftmd stage; {type(self).__name__} does not use it")

    PRESETS: ClassVar[dict[str, dict]] = {
        # ~20 s on 2 CPU cores: a pipeline check, not a model.
        "smoke": dict(out="runs/smoke-sftmd", steps=40, batch=4, patch=48, generator="tiny", val_images=2,
                      val_patch=64, log_every=5, val_every=20, ckpt_every=20, pca_samples=5000, lr=1e-3),
        # the bundled CPU model size; ~0.5 s/step on 2 idle cores at ×4 (1.5 s under load): 30–90 min.
        "cpu": dict(out="runs/cpu-sftmd", steps=4000, batch=8, patch=96, generator="small", lr=2e-4,
                    val_every=500, ckpt_every=500, log_every=20),
        # IKC's SFTMD setting (nf=64, nb=16, batch 16); hours on one GPU.
        "gpu": dict(out="runs/gpu-sftmd", steps=300000, batch=16, patch=192, generator="default",
                    val_every=5000, ckpt_every=5000, log_every=100, val_images=16, val_patch=192,
                    lr_decay_at=(0.4, 0.6, 0.8)),
    }


class GeneratorStage(Trainer):
    """Shared set-up of the generator stages (not a trainer by itself)."""

    def build_generator_stage(self) -> None:
        cfg = self.cfg
        init = load_init(cfg.init_from, self.device, cfg.scale)
        self.init = init
        if init is not None and init.pca is not None:
            self.pca = init.pca.to(self.device)   # codes must mean what they meant in stage 1
        else:
            self.pca = fit_pca(cfg.degradation.kernel_spec(), cfg.pca_samples).to(self.device)
        if init is not None and "generator" in init.modules:
            g = init.modules["generator"]
            if g.cfg.scale != cfg.scale:
                raise ValueError(f"init_from {cfg.init_from}: generator scale {g.cfg.scale} != scale {cfg.scale}")
            self.print(f"generator from {cfg.init_from} ({g.cfg.variant}, nf={g.cfg.nf}, nb={g.cfg.nb})")
        else:
            use_kernel = getattr(cfg, "use_kernel", True)
            use_seg = getattr(cfg, "use_seg", False)
            g = SFTGenerator(GeneratorConfig.preset(cfg.generator, scale=cfg.scale, use_kernel=use_kernel,
                                                    use_seg=use_seg, code_len=self.pca.b))
        self.modules["generator"] = g.to(self.device).train()
        self.segnet = None
        if g.cfg.use_seg:
            seg_path = getattr(cfg, "seg_checkpoint", None)
            if init is not None and "segnet" in init.modules and not seg_path:
                self.segnet = init.modules["segnet"]
            elif seg_path:
                from srkit.checkpoint import load_checkpoint
                mods = load_checkpoint(seg_path, self.device).modules
                if "segnet" not in mods:
                    raise ValueError(f"seg_checkpoint {seg_path} holds no 'segnet' (modules: {sorted(mods)})")
                self.segnet = mods["segnet"]
            else:
                raise ValueError("this generator variant uses segmentation (use_seg=True) but no trained SegNet "
                                 "was given: train one with `srkit train seg` and pass seg_checkpoint=PATH "
                                 "(--config), or set use_seg=False")
            self.modules["segnet"] = frozen(self.segnet.to(self.device))
        self.sampler, self.val_batch = sr_data(cfg, self.pca, self.device, self.out, self.print)

    def seg(self, lr: torch.Tensor) -> torch.Tensor | None:
        """ψ of the frozen SegNet (None for variants without segmentation)."""
        if self.segnet is None:
            return None
        with torch.no_grad():
            return self.segnet(lr)

    def val_psnr(self, code: torch.Tensor | None = None) -> float:
        """PSNR of G on the fixed validation set with ``code`` (default: the true code)."""
        b = self.val_batch
        g = dist.unwrap(self.modules["generator"])
        sr = g(b["lr"], b["code"] if code is None else code, self.seg(b["lr"]))
        return batch_psnr(sr, b["hr"], self.cfg.scale)


class SFTMDTrainer(GeneratorStage):
    """G(LR | h_true, ψ) → HR with a pixel loss."""
    name = "sftmd"

    def build(self) -> None:
        self.build_generator_stage()
        g = self.modules["generator"]
        self.g = dist.wrap(g, self.device)
        self.adam("generator", g.parameters())

    def noisy(self, code: torch.Tensor) -> torch.Tensor:
        """``code`` plus per-sample Gaussian noise of std U[0, code_noise], seeded by step (resumable)."""
        if self.cfg.code_noise == 0.0:
            return code
        g = self.step_generator()
        std = torch.rand(code.shape[0], 1, generator=g) * self.cfg.code_noise
        return code + (std * torch.randn(code.shape, generator=g)).to(code)

    def train_step(self, batch: dict) -> dict[str, float]:
        sr = self.g(batch["lr"], self.noisy(batch["code"]), self.seg(batch["lr"]))
        return {"pixel": self.optimize("pixel", pixel_loss(sr, batch["hr"], self.cfg.pixel), "generator")}

    def validate(self) -> dict[str, float]:
        return {"val_psnr": self.val_psnr()}
