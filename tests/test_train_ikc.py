"""IKC alternating training: P, C and G losses fall, the checkpoint loads as a Pipeline, exact resume,
frozen-generator recipe from an sftmd checkpoint."""
import pytest
import torch

import srkit
from srkit.inference.pipeline import Pipeline
from srkit.train.ikc import IKCConfig, IKCTrainer
from srkit.train.sftmd import SFTMDConfig, SFTMDTrainer
from tests._trainutil import QUIET, crash_and_resume, state_equal, weights

QUIETLOG = dict(log=lambda *a: None)


def test_alternation_losses_fall_and_pipeline_loads(tmp_path):
    t = IKCTrainer(IKCConfig.from_preset("smoke", out=str(tmp_path), scale=2, lr=2e-3, lr_decay_at=(), **QUIET),
                   **QUIETLOG)
    fixed = t.sampler.batch_at(0)
    t.batch_at = lambda step: fixed
    t.cfg.log_every, t.cfg.val_every, t.cfg.ckpt_every, t.cfg.steps = 1, 0, 0, 30
    t.fit()
    mean = lambda key, sl: sum(r[key] for r in t.records[sl]) / 3  # noqa
    for key, factor in (("predictor_code", 0.9), ("corrector_code", 0.9), ("pixel", 0.95)):
        assert mean(key, slice(-3, None)) < factor * mean(key, slice(0, 3)), key
    t.save(final=True)
    p = srkit.load(tmp_path / "model.safetensors")
    assert isinstance(p, Pipeline) and p.predictor is not None and p.corrector is not None and p.pca is not None
    sr = p.upscale(fixed["lr"][:1], steps=2)
    assert sr.shape == (1, 3, 48, 48)


def test_kill_and_resume_is_bit_exact(tmp_path):
    a, b = crash_and_resume(IKCConfig, IKCTrainer, tmp_path, crash_at=3, steps=4, ckpt_every=2, val_every=2,
                            log_every=1, **QUIET)
    assert state_equal(weights(a), weights(b))


def test_frozen_generator_from_sftmd(tmp_path):
    s = SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path / "s"), steps=2, **QUIET), **QUIETLOG)
    s.fit()
    g0 = {k: v.clone() for k, v in s.modules["generator"].state_dict().items()}
    t = IKCTrainer(IKCConfig.from_preset("smoke", out=str(tmp_path / "i"), steps=2, init_from=str(tmp_path / "s" /
                   "model.safetensors"), freeze_generator=True, **QUIET), **QUIETLOG)
    assert torch.equal(t.pca.matrix, s.pca.matrix.to(t.pca.matrix))  # the stage-1 PCA is kept
    t.fit()
    assert state_equal(g0, t.modules["generator"].state_dict())      # G untouched
    assert "generator" not in t.optimizers and "pixel" not in t.records[-1]


def test_corrector_only_stage_keeps_predictor_and_jitter_moves_start_codes(tmp_path):
    i = IKCTrainer(IKCConfig.from_preset("smoke", out=str(tmp_path / "i"), steps=2, **QUIET), **QUIETLOG)
    i.fit()
    t = IKCTrainer(IKCConfig.from_preset("smoke", out=str(tmp_path / "c"), steps=2, init_from=str(tmp_path / "i" /
                   "model.safetensors"), freeze_generator=True, freeze_predictor=True, start_jitter=1.0, **QUIET),
                   **QUIETLOG)
    p0 = {k: v.clone() for k, v in t.modules["predictor"].state_dict().items()}
    c0 = {k: v.clone() for k, v in t.modules["corrector"].state_dict().items()}
    assert set(t.optimizers) == {"corrector"}
    h0 = torch.zeros(4, t.pca.b)
    code = torch.randn(4, t.pca.b)
    moved = t.jitter(h0, code)
    assert not torch.equal(moved, h0) and torch.equal(t.jitter(h0, code), moved)  # seeded by step
    # with h0 = 0, each start is u·(another sample's true code), u in [0, 1]
    for k in range(4):
        others = [code[j] for j in range(4) if j != k]
        u = [float(moved[k] @ c / (c @ c)) for c in others]
        assert any(0 <= ui <= 1 and torch.allclose(moved[k], ui * c, atol=1e-6) for ui, c in zip(u, others)), k
    t.fit()
    assert state_equal(p0, t.modules["predictor"].state_dict())       # P untouched
    assert not state_equal(c0, t.modules["corrector"].state_dict())   # C trained
    t.cfg.start_jitter = 0.0
    assert torch.equal(t.jitter(h0, code), h0)


def test_start_jitter_must_be_a_fraction():
    with pytest.raises(ValueError, match="start_jitter"):
        IKCConfig(start_jitter=1.5)


def test_predictor_only_stage_trains_only_p_and_never_runs_g(tmp_path):
    i = IKCTrainer(IKCConfig.from_preset("smoke", out=str(tmp_path / "i"), steps=2, **QUIET), **QUIETLOG)
    i.fit()
    t = IKCTrainer(IKCConfig.from_preset("smoke", out=str(tmp_path / "p"), steps=2, t=0, freeze_generator=True,
                   init_from=str(tmp_path / "i" / "model.safetensors"), **QUIET), **QUIETLOG)
    assert set(t.optimizers) == {"predictor"}
    before = {n: {k: v.clone() for k, v in t.modules[n].state_dict().items()} for n in ("predictor", "corrector")}
    t.modules["generator"].forward = lambda *a: pytest.fail("G ran in a predictor-only training step")
    out = t.train_step(t.sampler.batch_at(0))
    assert set(out) == {"predictor_code"}
    assert not state_equal(before["predictor"], t.modules["predictor"].state_dict())  # P trained
    assert state_equal(before["corrector"], t.modules["corrector"].state_dict())      # C untouched


@pytest.mark.parametrize("bad", [dict(t=-1), dict(t=0, freeze_predictor=True), dict(t=0)])
def test_predictor_only_stage_rejects_what_it_cannot_do(tmp_path, bad):
    with pytest.raises(ValueError, match="t >= 0|t = 0"):
        IKCTrainer(IKCConfig.from_preset("smoke", out=str(tmp_path), steps=1, **{**bad, **QUIET}), **QUIETLOG)


def test_corrector_sr_loss_trains_c_through_the_frozen_generator(tmp_path):
    i = IKCTrainer(IKCConfig.from_preset("smoke", out=str(tmp_path / "i"), steps=2, **QUIET), **QUIETLOG)
    i.fit()
    kw = dict(steps=2, freeze_generator=True, freeze_predictor=True, init_from=str(tmp_path / "i" / "model.safetensors"))
    t = IKCTrainer(IKCConfig.from_preset("smoke", out=str(tmp_path / "c"), corrector_sr_loss=1.0, **kw, **QUIET),
                   **QUIETLOG)
    assert set(t.optimizers) == {"corrector"}
    batch = t.sampler.batch_at(0)
    before = {n: {k: v.clone() for k, v in t.modules[n].state_dict().items()} for n in ("generator", "corrector")}
    out = t.train_step(batch)
    assert out["corrector_sr"] > 0 and out["corrector_code"] > 0
    assert state_equal(before["generator"], t.modules["generator"].state_dict())       # G frozen
    assert not state_equal(before["corrector"], t.modules["corrector"].state_dict())   # C trained
    # The SR term changes C's update: the same step without it lands elsewhere.
    plain = IKCTrainer(IKCConfig.from_preset("smoke", out=str(tmp_path / "p"), **kw, **QUIET), **QUIETLOG)
    plain.train_step(batch)
    assert not state_equal(plain.modules["corrector"].state_dict(), t.modules["corrector"].state_dict())


@pytest.mark.parametrize("bad", [dict(corrector_sr_loss=-1.0, freeze_generator=True), dict(corrector_sr_loss=1.0)])
def test_corrector_sr_loss_needs_a_frozen_generator(tmp_path, bad):
    with pytest.raises(ValueError, match="corrector_sr_loss"):
        IKCConfig.from_preset("smoke", out=str(tmp_path), **{**bad, **QUIET})
