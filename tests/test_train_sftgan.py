"""SFT-GAN stage: refuses random VGG features, smoke run, generator loss falls, checkpoint loads."""
import pytest

import srkit
from srkit.inference.pipeline import Pipeline
from srkit.train.sftgan import SFTGANConfig, SFTGANTrainer
from srkit.train.sftmd import SFTMDConfig, SFTMDTrainer
from tests._trainutil import QUIET, crash_and_resume, overfit, state_equal, weights

Q = dict(log=lambda *a: None)


def test_refuses_random_vgg(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = SFTGANConfig.from_preset("smoke", out=str(tmp_path), allow_random_features=False, **QUIET)
    try:
        SFTGANTrainer(cfg, **Q)
    except ValueError as e:
        assert "seg_encoder" in str(e) and "allow_random_features" in str(e)
    else:
        pytest.skip("ImageNet VGG19 weights are cached here: nothing to refuse")


def test_from_pixel_stage_loss_falls_and_loads(tmp_path):
    s = SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path / "s"), steps=2, scale=2, **QUIET), **Q)
    s.fit()
    t = SFTGANTrainer(SFTGANConfig.from_preset("smoke", out=str(tmp_path / "g"), scale=2, lr=2e-3, lr_decay_at=(),
                                               init_from=str(tmp_path / "s" / "model.safetensors"), **QUIET), **Q)
    first, last = overfit(t, 30, "perceptual")
    assert last < 0.9 * first, (first, last)
    assert all(0 <= r["d_real"] <= 1 for r in t.records)
    t.save(final=True)
    p = srkit.load(tmp_path / "g" / "model.safetensors")
    assert isinstance(p, Pipeline) and p.discriminator is not None
    assert state_equal(p.generator.state_dict(), t.modules["generator"].state_dict())


def test_kill_and_resume_is_bit_exact(tmp_path):
    a, b = crash_and_resume(SFTGANConfig, SFTGANTrainer, tmp_path, crash_at=3, steps=4, ckpt_every=2, val_every=2,
                            log_every=1, **QUIET)
    assert state_equal(weights(a), weights(b))
