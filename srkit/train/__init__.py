"""Trainers for the four stages (paper §2.2): ``seg`` (S), ``sftmd`` (G with the true kernel code),
``ikc`` (P, C and G alternately), ``sftgan`` (perceptual + GAN fine-tuning with D) and ``video`` (the
multi-frame generator, or the equal-budget single-frame fine-tune, on synthetic camera motion).

``TRAINERS[name] -> (config class, trainer class)``; each config has ``from_preset('smoke'|'cpu'|'gpu')``.
Imported lazily so ``import srkit.train`` stays cheap.
"""
from __future__ import annotations

import importlib

_TRAINERS = {"seg": ("srkit.train.seg", "SegTrainConfig", "SegTrainer"),
             "sftmd": ("srkit.train.sftmd", "SFTMDConfig", "SFTMDTrainer"),
             "ikc": ("srkit.train.ikc", "IKCConfig", "IKCTrainer"),
             "sftgan": ("srkit.train.sftgan", "SFTGANConfig", "SFTGANTrainer"),
             "video": ("srkit.train.video", "VideoConfig", "VideoTrainer")}
STAGES = tuple(_TRAINERS)


def get_trainer(name: str):
    """(config class, trainer class) of a stage: 'seg', 'sftmd', 'ikc' or 'sftgan'."""
    if name not in _TRAINERS:
        raise ValueError(f"unknown trainer {name!r}; choose one of {', '.join(_TRAINERS)}")
    module, cfg, trainer = _TRAINERS[name]
    m = importlib.import_module(module)
    return getattr(m, cfg), getattr(m, trainer)


def train(name: str, preset: str = "smoke", resume: bool = False, log=print, on_step=None, **overrides):
    """Build and run a trainer in one call (notebooks): returns the trainer after ``fit``.
    ``log`` receives the trainer's messages (data report, validation lines); ``on_step(step, values)``,
    when given, is called after every step with that step's losses (and validation metrics on the
    steps that validate), e.g. to redraw a live loss figure."""
    cfg_cls, trainer_cls = get_trainer(name)
    trainer = trainer_cls(cfg_cls.from_preset(preset, **overrides), resume=resume, log=log)
    trainer.on_step = on_step
    trainer.fit()
    return trainer
