"""SFTMD stage (G with the true kernel code): smoke run, loss falls, checkpoint loads, exact resume,
NaN guard, every ablation variant."""
import math

import pytest
import torch

import srkit
from srkit.models.sft import SFTGenerator
from srkit.train.loop import NonFiniteLossError
from srkit.train.sftmd import SFTMDConfig, SFTMDTrainer
from tests._trainutil import QUIET, crash_and_resume, overfit, state_equal, weights

FAST = dict(QUIET, steps=6, ckpt_every=2, val_every=3, log_every=1, lr_decay_at=(0.5,))


def test_smoke_loss_falls_and_checkpoint_loads(tmp_path):
    t = SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path), scale=2, lr=2e-3, lr_decay_at=(), **QUIET),
                     log=lambda *a: None)
    first, last = overfit(t, 60, "pixel")
    assert last < 0.85 * first, (first, last)
    t.save(final=True)
    g = srkit.load_network(tmp_path / "model.safetensors")
    assert isinstance(g, SFTGenerator) and state_equal(g.state_dict(), t.modules["generator"].state_dict())
    for f in ("log.csv", "log.json", "manifest.json", "data_report.json", "resume.safetensors"):
        assert (tmp_path / f).is_file(), f


def test_kill_and_resume_is_bit_exact(tmp_path):
    a, b = crash_and_resume(SFTMDConfig, SFTMDTrainer, tmp_path, crash_at=5, **FAST)
    assert a.step == b.step == 6
    assert state_equal(weights(a), weights(b))
    sa, sb = a.optimizers["generator"].state_dict(), b.optimizers["generator"].state_dict()
    assert all(torch.equal(sa["state"][i]["exp_avg_sq"], sb["state"][i]["exp_avg_sq"]) for i in sa["state"])
    strip = lambda recs: [{k: v for k, v in r.items() if k != "time_s"} for r in recs]  # noqa
    assert strip(a.records) == strip(b.records)


def test_nan_guard_stops_with_step_and_loss(tmp_path):
    t = SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path), **FAST), log=lambda *a: None)
    t.fit(stop_after=2)
    with torch.no_grad():
        t.modules["generator"].tail.bias.fill_(math.nan)
    with pytest.raises(NonFiniteLossError, match=r"step 2: pixel = nan.*stopped.*Last checkpoint"):
        t.fit()


def test_nan_guard_rolls_back(tmp_path):
    t = SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path), nan_policy="rollback", **FAST),
                     log=lambda *a: None)
    t.fit(stop_after=2)
    with torch.no_grad():
        t.modules["generator"].tail.bias.fill_(math.nan)
    t.fit()
    assert t.step == 6 and t.rollbacks == 1 and t.lr_factor == 0.5
    assert any(r.get("rollback_from") == 2 for r in t.records)
    assert all(torch.isfinite(p).all() for p in t.modules["generator"].parameters())


@pytest.mark.parametrize("use_kernel", [False, True])
def test_variants_without_seg(tmp_path, use_kernel):
    t = SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path), use_kernel=use_kernel, steps=2, **{
        k: v for k, v in FAST.items() if k != "steps"}), log=lambda *a: None)
    t.fit()
    assert srkit.load_network(tmp_path / "model.safetensors").cfg.use_kernel == use_kernel


def test_seg_variant_needs_a_segnet(tmp_path):
    with pytest.raises(ValueError, match="seg_checkpoint"):
        SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path), use_seg=True, **QUIET))


def test_unknown_field_and_preset():
    with pytest.raises(ValueError, match="unknown SFTMDConfig field"):
        SFTMDConfig.from_preset("smoke", nonsense=1)
    with pytest.raises(ValueError, match="unknown preset"):
        SFTMDConfig.from_preset("huge")


def test_code_noise_is_per_sample_seeded_and_off_by_default(tmp_path):
    t = SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path), code_noise=0.05, **FAST), log=lambda *a: None)
    code = torch.zeros(64, 10)
    a, b = t.noisy(code), t.noisy(code)
    assert torch.equal(a, b)                                  # a function of the step: resume stays exact
    std = a.std(dim=1)
    assert 0.0 < float(std.max()) <= 0.05 * 2 and float(std.min()) < float(std.max()) / 2  # std varies per sample
    t.step += 1
    assert not torch.equal(t.noisy(code), a)
    t0 = SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path / "off"), **FAST), log=lambda *a: None)
    assert t0.noisy(code) is code
    with pytest.raises(ValueError, match="code_noise"):
        SFTMDConfig.from_preset("smoke", code_noise=-0.1)
    from srkit.train.ikc import IKCConfig
    with pytest.raises(ValueError, match="sftmd stage"):
        IKCConfig.from_preset("smoke", code_noise=0.02)


def test_degradation_is_nested_and_reaches_the_batches(tmp_path):
    """TrainConfig.degradation is a DegradationConfig of the training scale (a dict from a recipe
    becomes one), so every field, the kernel width range included, reaches the sampler and the PCA."""
    from srkit.data.pairs import DegradationConfig
    cfg = SFTMDConfig.from_preset("smoke", scale=2, degradation={"sigma_range": [0.5, 0.6], "noise": [0, 20]})
    assert cfg.degradation == DegradationConfig(scale=2, sigma_range=(0.5, 0.6), noise=(0, 20))
    assert cfg.degradation.kernel_spec().sigma_range == (0.5, 0.6)
    with pytest.raises(ValueError, match="unknown degradation field"):
        SFTMDConfig.from_preset("smoke", degradation={"sigma": 1.0})
    with pytest.raises(ValueError, match="differs from the training scale 2"):
        SFTMDConfig.from_preset("smoke", scale=2, degradation=DegradationConfig(scale=4))
    t = SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path), scale=2, steps=1,
                                             degradation={"sigma_range": [0.5, 0.6]}, **QUIET), log=lambda *a: None)
    widths = t.sampler.batch_at(0)["kernel"]
    from srkit.kernels import gaussian_kernel
    lo, hi = gaussian_kernel(0.5), gaussian_kernel(0.6)
    peaks = widths.flatten(1).max(1).values        # a narrower Gaussian has the higher peak
    assert bool(((peaks <= lo.max() + 1e-6) & (peaks >= hi.max() - 1e-6)).all()), peaks
