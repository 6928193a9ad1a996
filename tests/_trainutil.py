"""Shared helpers of the trainer tests: tiny configs, overfitting a fixed batch, weight comparison."""
from __future__ import annotations

import numpy as np
import torch

QUIET = dict(progress=False, data="skimage")


def overfit(trainer, steps: int, key: str) -> tuple[float, float]:
    """Train on one fixed batch; (mean of the first 3, mean of the last 3) values of loss ``key``."""
    fixed = trainer.sampler.batch_at(0)
    trainer.batch_at = lambda step: fixed
    trainer.cfg.log_every, trainer.cfg.val_every, trainer.cfg.ckpt_every = 1, 0, 0
    trainer.cfg.steps = steps
    trainer.fit()
    vals = [r[key] for r in trainer.records if key in r]
    assert len(vals) == steps, vals
    return float(np.mean(vals[:3])), float(np.mean(vals[-3:]))


def state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def weights(trainer) -> dict:
    return {f"{n}.{k}": v.detach().clone() for n, m in trainer.modules.items() for k, v in m.state_dict().items()}


def crash_and_resume(cfg_cls, trainer_cls, tmp_path, crash_at: int, **kw):
    """Run A uninterrupted; run B crashes before step ``crash_at`` and is resumed. Returns (A, B)."""
    a = trainer_cls(cfg_cls.from_preset("smoke", out=str(tmp_path / "a"), **kw), log=lambda *x: None)
    a.fit()
    b = trainer_cls(cfg_cls.from_preset("smoke", out=str(tmp_path / "b"), **kw), log=lambda *x: None)
    real = b.train_step

    def step(batch):
        if b.step == crash_at:
            raise KeyboardInterrupt("simulated kill")
        return real(batch)
    b.train_step = step
    try:
        b.fit()
    except KeyboardInterrupt:
        pass
    del b
    b2 = trainer_cls(cfg_cls.from_preset("smoke", out=str(tmp_path / "b"), **kw), resume=True, log=lambda *x: None)
    b2.fit()
    return a, b2
