"""srkit.precision and the trainers' ``precision`` field: what 'auto' picks, bf16 training that keeps
fp32 weights, follows the fp32 run closely, and resumes exactly within its precision."""
import numpy as np
import pytest
import torch

from srkit import precision
from srkit.train.ikc import IKCConfig, IKCTrainer
from srkit.train.sftmd import SFTMDConfig, SFTMDTrainer
from tests._trainutil import QUIET, crash_and_resume, overfit, state_equal, weights

FAST = dict(QUIET, steps=6, ckpt_every=2, val_every=3, log_every=1, lr_decay_at=(0.5,))


def test_resolve_picks_bf16_only_where_the_hardware_has_it():
    assert precision.resolve("fp32", "cpu") == "fp32" and precision.resolve("bf16", "cpu") == "bf16"
    assert precision.resolve("auto", "cpu") == ("bf16" if precision.cpu_has_bf16() else "fp32")
    with pytest.raises(ValueError, match=r"precision must be one of \('fp32', 'bf16', 'auto'\), got 'half'"):
        precision.resolve("half", "cpu")
    with pytest.raises(ValueError, match="precision must be one of"):
        SFTMDConfig.from_preset("smoke", precision="fp16")


def test_autocast_runs_convolutions_in_bf16_and_losses_in_fp32():
    x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
    with precision.autocast("cpu", "bf16"):
        y = torch.nn.functional.conv2d(precision.channels_last(x), w, padding=1)
        loss = torch.nn.functional.l1_loss(y, torch.zeros_like(y))
    assert y.dtype == torch.bfloat16 and loss.dtype == torch.float32
    with precision.autocast("cpu", "fp32"):
        assert torch.nn.functional.conv2d(x, w).dtype == torch.float32
    with pytest.raises(ValueError, match="resolved precision"):
        precision.autocast("cpu", "auto")


def test_bf16_training_keeps_fp32_weights_and_follows_the_fp32_run(tmp_path):
    runs = {}
    for p in ("fp32", "bf16"):
        t = SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path / p), scale=2, lr=2e-3, lr_decay_at=(),
                                                 precision=p, **QUIET), log=lambda *a: None)
        runs[p] = (t, overfit(t, 30, "pixel"))
    t, (first, last) = runs["bf16"]
    g = t.modules["generator"]
    assert all(q.dtype == torch.float32 for q in g.parameters())  # master weights stay fp32
    conv = next(m for m in g.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert last < 0.95 * first, (first, last)  # it learns (measured: 0.90 in fp32, 0.92 in bf16)
    f32 = [r["pixel"] for r in runs["fp32"][0].records]
    b16 = [r["pixel"] for r in t.records]
    # the same batches and initial weights: the loss curves agree to a few per cent (measured: 4 %)
    assert np.allclose(b16, f32, rtol=0.05), (f32, b16)
    assert runs["fp32"][0].precision == "fp32" and t.precision == "bf16"


@pytest.mark.parametrize("cfg_cls, trainer_cls", [(SFTMDConfig, SFTMDTrainer), (IKCConfig, IKCTrainer)])
def test_bf16_kill_and_resume_is_bit_exact(tmp_path, cfg_cls, trainer_cls):
    a, b = crash_and_resume(cfg_cls, trainer_cls, tmp_path, crash_at=3, precision="bf16", **FAST)
    assert a.step == b.step == 6
    assert state_equal(weights(a), weights(b))


def test_explicit_bf16_on_a_cpu_without_it_says_it_is_emulated(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    precision._warn_emulated_bf16.cache_clear()
    with pytest.warns(RuntimeWarning, match=r"bf16 on this CPU is emulated .* --precision auto picks fp32"):
        assert precision.resolve("bf16", "cpu") == "bf16"
    import warnings
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        precision.resolve("bf16", "cpu")
    assert not again  # once per process: a video's every tile does not repeat it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision.resolve("auto", "cpu") == "fp32" and precision.resolve("fp32", "cpu") == "fp32"
        monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
        assert precision.resolve("bf16", "cpu") == "bf16" and precision.resolve("auto", "cpu") == "bf16"
