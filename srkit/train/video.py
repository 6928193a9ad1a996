"""Video stage: fine-tune a bundle's generator on windows of synthetic camera motion.

``mode='multi'`` wraps the bundle's SFTconcat generator in ``srkit.models.edvr.MultiFrameGenerator``
(flow alignment + temporal attention fusion, starting as the single-frame generator) and trains it on
T-frame windows; ``mode='single'`` fine-tunes the single-frame generator on the centre frames of the
same windows, step for step: the equal-budget comparison that says whether the neighbours, and not
the extra training, bring what the multi-frame model gains. Both use the true kernel code and an L1
loss on the centre frame (the sftmd stage's setting), ψ from the bundle's frozen segmenter.

Validation (fixed windows from the held-out training images): ``val_psnr`` of the trained model and,
for 'multi', ``val_psnr_repeat``, the same model fed the centre frame T times: the control that shows
whether the model uses time at all (no drop: it does not).

``model.safetensors`` is a complete pipeline: the trained generator with the starting bundle's
segmenter, IKC predictor, corrector and PCA.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import torch

from srkit.data.motion_windows import WindowSampler, margin
from srkit.models.edvr import MultiFrameGenerator
from srkit.models.losses import pixel_loss
from srkit.train import dist
from srkit.train.loop import TrainConfig, Trainer, batch_psnr, frozen, load_init

MODES = ("multi", "single")
# what a recipe's config sets that SRKIT_SMOKE=1 leaves at the smoke preset's values
SIZE_FIELDS = ("steps", "batch", "patch", "val_images", "val_patch", "log_every", "val_every", "ckpt_every",
               "max_minutes", "max_images")


@dataclass
class VideoConfig(TrainConfig):
    """Video-stage settings (plus every TrainConfig field).

    Attributes:
        init_from: the bundle (name such as 'x2', or a path) to start from: it must hold a generator,
            a segmenter if the generator uses one, and the PCA. A checkpoint of this stage resumes its
            multi-frame generator.
        mode: 'multi' (the multi-frame generator) or 'single' (the equal-budget single-frame fine-tune).
        frames: T, frames per window (odd).
        new_lr_mult: learning-rate multiple for the alignment and fusion layers, which start from
            nothing while the body starts trained (default 5).
        pixel: 'l1' (default) or 'l2'.
    """
    mode: str = "multi"
    frames: int = 3
    new_lr_mult: float = 5.0
    pixel: str = "l1"

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.frames < 3 or self.frames % 2 == 0:
            raise ValueError(f"frames must be odd and >= 3, got {self.frames}")
        if not self.init_from:
            raise ValueError("the video stage starts from a bundle: set init_from (e.g. 'x2')")

    PRESETS: ClassVar[dict[str, dict]] = {
        # a pipeline check on the same code path: a few seconds on 2 CPU cores
        "smoke": dict(out="runs/smoke-video", steps=4, batch=2, patch=32, scale=2, init_from="x2", val_images=2,
                      val_patch=32, log_every=2, val_every=2, ckpt_every=2, max_images=8),
        # the recipe of bench/configs/video_x2_*.json (400 steps: ~25 min with one thread on a shared 2-core CPU)
        "cpu": dict(out="runs/cpu-video", steps=400, batch=8, patch=64, scale=2, init_from="x2", lr=1e-4,
                    val_images=16, val_patch=96, log_every=20, val_every=200, ckpt_every=100),
        "gpu": dict(out="runs/gpu-video", steps=100000, batch=16, patch=128, scale=2, init_from="x2",
                    val_images=32, val_patch=128, log_every=100, val_every=2000, ckpt_every=2000),
    }


    @classmethod
    def from_preset(cls, name: str, **overrides):
        """As ``TrainConfig.from_preset``; under ``SRKIT_SMOKE=1`` the sizes and schedule of a recipe's
        config (``SIZE_FIELDS``) are dropped too, so the recipe's own command runs as a smoke check."""
        if os.environ.get("SRKIT_SMOKE") == "1":
            overrides = {k: v for k, v in overrides.items() if k not in SIZE_FIELDS}
        return super().from_preset(name, **overrides)


class VideoTrainer(Trainer):
    """G(window | h_true, ψ_centre) → HR centre frame, L1; or the single-frame G on the centre frame."""
    name = "video"

    def build(self) -> None:
        from srkit.checkpoint import resolve
        cfg = self.cfg
        init = load_init(str(resolve(cfg.init_from)), self.device, cfg.scale)
        if "generator" not in init.modules or init.pca is None:
            raise ValueError(f"init_from {cfg.init_from}: a bundle with a generator and a PCA is needed, "
                             f"got {sorted(init.modules)}{'' if init.pca is not None else ' and no PCA'}")
        self.pca = init.pca.to(self.device)
        g = init.modules["generator"]
        if g.cfg.scale != cfg.scale:
            raise ValueError(f"init_from {cfg.init_from}: generator scale {g.cfg.scale} != scale {cfg.scale}")
        if isinstance(g, MultiFrameGenerator):
            if cfg.mode == "single" or g.cfg.frames != cfg.frames:
                raise ValueError(f"init_from {cfg.init_from} holds a {g.cfg.frames}-frame generator; "
                                 f"mode={cfg.mode!r}, frames={cfg.frames} cannot start from it")
            net, new = g, list(g.flow.parameters()) + list(g.fusion.parameters())
        elif cfg.mode == "multi":
            net = MultiFrameGenerator.from_single(g, frames=cfg.frames)
            new = list(net.flow.parameters()) + list(net.fusion.parameters())
        else:
            net, new = g, []
        self.modules["generator"] = net.to(self.device).train()
        for name in ("segnet", "predictor", "corrector"):  # carried into model.safetensors unchanged
            if name in init.modules:
                self.modules[name] = frozen(init.modules[name].to(self.device))
        self.segnet = self.modules.get("segnet")
        if g.cfg.use_seg and self.segnet is None:
            raise ValueError(f"init_from {cfg.init_from}: the generator uses segmentation but holds no segnet")
        self.g = dist.wrap(net, self.device)
        ids = {id(p) for p in new}
        groups = [{"params": [p for p in net.parameters() if id(p) not in ids], "lr": cfg.lr}]
        if new:
            groups.append({"params": new, "lr": cfg.lr * cfg.new_lr_mult})
        self.adam("generator", groups)
        self.sampler, self.val_batch = self._data()

    def _data(self):
        from srkit.data.pairs import PatchDataset
        from srkit.data.sources import build_manifest
        from srkit.train.data import resolve_refs
        cfg, main = self.cfg, dist.is_main()
        refs = resolve_refs(cfg.data, self.print if main else (lambda *a: None))
        side = max(cfg.patch, cfg.val_patch) + 2 * margin(cfg.frames, max(cfg.patch, cfg.val_patch))
        manifest = build_manifest(refs, self.out / "manifest.json" if main else None, min_size=side, seed=cfg.seed)
        train_refs = manifest["train"][:cfg.max_images or None]
        train = PatchDataset.from_refs(train_refs)
        val = PatchDataset.from_refs(manifest["val"] or train_refs[:1])
        deg = cfg.degradation
        sampler = WindowSampler(train, deg, cfg.frames, cfg.patch, cfg.batch, self.pca, cfg.seed, rank=dist.rank())
        val_batch = WindowSampler(val, deg, cfg.frames, cfg.val_patch, cfg.val_images, self.pca, cfg.seed + 1,
                                  augment=False).batch_at(0)
        self.print(f"video stage ({cfg.mode}, {cfg.frames} frames): {len(train)} training images, "
                   f"{len(val)} validation images, windows of {cfg.patch} px")
        return sampler, {k: v.to(self.device) for k, v in val_batch.items()}

    def batch_at(self, step: int) -> dict:
        return {k: v.to(self.device) for k, v in self.sampler.batch_at(step).items()}

    def seg(self, lr: torch.Tensor) -> torch.Tensor | None:
        if self.segnet is None:
            return None
        with torch.no_grad():
            return self.segnet(lr)

    def forward(self, g, lr: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """The model's SR of the centre frames of windows lr (N×T×3×h×w)."""
        centre = lr[:, lr.shape[1] // 2]
        return g(lr if self.cfg.mode == "multi" else centre, code, self.seg(centre))

    def train_step(self, batch: dict) -> dict[str, float]:
        sr = self.forward(self.g, batch["lr"], batch["code"])
        return {"pixel": self.optimize("pixel", pixel_loss(sr, batch["hr"], self.cfg.pixel), "generator")}

    def validate(self) -> dict[str, float]:
        b, g = self.val_batch, dist.unwrap(self.modules["generator"])
        out = {"val_psnr": batch_psnr(self.forward(g, b["lr"], b["code"]), b["hr"], self.cfg.scale)}
        if self.cfg.mode == "multi":
            repeat = b["lr"][:, self.cfg.frames // 2][:, None].expand_as(b["lr"])
            out["val_psnr_repeat"] = batch_psnr(self.forward(g, repeat, b["code"]), b["hr"], self.cfg.scale)
        return out
