"""Video stage: motion windows, the multi-frame and single-frame fine-tunes from the x2 bundle, resume."""
import numpy as np
import pytest
import torch

import srkit
from srkit.data.motion_windows import WindowSampler, margin, moving_window
from srkit.data.pairs import DegradationConfig, PatchDataset
from srkit.models.edvr import MultiFrameGenerator
from srkit.models.sft import SFTGenerator
from srkit.train.video import VideoConfig, VideoTrainer
from tests._trainutil import QUIET, crash_and_resume, overfit, state_equal, weights

FAST = dict(QUIET, steps=4, ckpt_every=2, val_every=2, log_every=1, lr_decay_at=(0.5,), max_images=4)


def test_moving_window_integer_pan_shifts_exactly():
    rng = np.random.default_rng(0)
    crop = (rng.random((40, 40, 3)) * 255).astype(np.uint8)
    frames = moving_window(crop, 3, 16, {"velocity": np.array([0.0, 2.0]), "zoom": 1.0, "angle": 0.0})
    assert frames.shape == (3, 16, 16, 3) and frames.dtype == np.uint8
    # the window moves 2 px right per frame: the content moves 2 px left (the spline interpolates exactly)
    assert np.array_equal(frames[1][:, 2:], frames[2][:, :-2]), "an integer pan must shift by whole pixels"
    assert np.array_equal(frames[0][:, 2:], frames[1][:, :-2])
    still = moving_window(crop, 3, 16, {"velocity": np.zeros(2), "zoom": 1.0, "angle": 0.0})
    assert np.array_equal(still[0], still[1]) and np.array_equal(still[1], still[2]), "no motion: equal frames"


def test_window_sampler_is_a_pure_function_of_the_step_and_shares_the_kernel():
    rng = np.random.default_rng(1)
    images = [(rng.random((110, 120, 3)) * 255).astype(np.uint8) for _ in range(3)]
    d = DegradationConfig(scale=2)
    s = WindowSampler(PatchDataset(images), d, frames=3, patch=32, batch=4)
    a, b = s.batch_at(7), s.batch_at(7)
    assert all(torch.equal(a[k], b[k]) for k in a), "the same step must give the same windows"
    assert a["lr"].shape == (4, 3, 3, 16, 16) and a["hr"].shape == (4, 3, 32, 32)
    assert not torch.equal(a["lr"], s.batch_at(8)["lr"]), "another step, other windows"
    # frames of a locked-off window (speed 0) are equal after degradation: one kernel for the window
    for i in torch.nonzero(a["speed"] == 0).flatten().tolist():
        assert torch.equal(a["lr"][i, 0], a["lr"][i, 1]), "a static window must give equal LR frames"
    with pytest.raises(ValueError, match="blur and noise only"):
        WindowSampler(PatchDataset(images), DegradationConfig(scale=2, jpeg=(30, 90)), patch=32)
    with pytest.raises(ValueError, match="lower the patch size"):
        WindowSampler(PatchDataset(images), d, patch=110 - 2 * margin(3, 110) + 12)


@pytest.mark.parametrize("mode", ["multi", "single"])
def test_smoke_from_x2_loss_falls_and_checkpoint_is_a_pipeline(tmp_path, mode):
    t = VideoTrainer(VideoConfig.from_preset("smoke", out=str(tmp_path), mode=mode, lr=5e-4, lr_decay_at=(), **QUIET),
                     log=lambda *a: None)
    first, last = overfit(t, 12, "pixel")
    assert last < first, f"{mode}: L1 must fall when overfitting one batch ({first:.5f} → {last:.5f})"
    t.save(final=True)
    pipe = srkit.load(tmp_path / "model.safetensors")
    want = MultiFrameGenerator if mode == "multi" else SFTGenerator
    assert isinstance(pipe.generator, want), f"{mode}: generator is {type(pipe.generator).__name__}"
    assert state_equal(pipe.generator.state_dict(), t.modules["generator"].state_dict())
    assert pipe.segnet is not None and pipe.predictor is not None and pipe.corrector is not None, \
        "the checkpoint must carry the bundle's segmenter and IKC networks"


def test_multi_starts_at_the_bundle_and_reports_the_repeat_control(tmp_path):
    t = VideoTrainer(VideoConfig.from_preset("smoke", out=str(tmp_path), **FAST), log=lambda *a: None)
    b = t.val_batch
    x2 = srkit.load("x2").generator
    with torch.no_grad():
        centre = b["lr"][:, 1]
        seg = t.seg(centre)
        diff = (t.modules["generator"](b["lr"], b["code"], seg) - x2(centre, b["code"], seg)).abs().max()
    assert diff < 1e-5, f"step 0 must reproduce the x2 bundle on the centre frame (max diff {diff})"
    val = t._eval()
    assert set(val) == {"val_psnr", "val_psnr_repeat"}, val
    assert val["val_psnr"] == pytest.approx(val["val_psnr_repeat"], abs=1e-3), "at step 0 time is not used yet"


def test_kill_and_resume_is_bit_exact(tmp_path):
    a, b = crash_and_resume(VideoConfig, VideoTrainer, tmp_path, crash_at=3, **FAST)
    assert a.step == b.step == 4
    assert state_equal(weights(a), weights(b)), "a resumed run must end with the same weights"


def test_config_is_checked():
    with pytest.raises(ValueError, match="mode"):
        VideoConfig(mode="both", init_from="x2")
    with pytest.raises(ValueError, match="odd"):
        VideoConfig(frames=4, init_from="x2")
    with pytest.raises(ValueError, match="init_from"):
        VideoConfig()


def test_cli_under_srkit_smoke_runs_the_cpu_recipe_at_smoke_size(tmp_path, monkeypatch):
    """`srkit train video --preset cpu --config bench/configs/video_x2_multi.json` under SRKIT_SMOKE=1:
    the same code path, shrunk to the smoke preset (4 steps), and its model loads as a pipeline."""
    import json
    from pathlib import Path

    from srkit.cli import main
    monkeypatch.setenv("SRKIT_SMOKE", "1")
    config = Path(__file__).resolve().parents[1] / "bench/configs/video_x2_multi.json"
    assert json.loads(config.read_text())["steps"] == 400, "the recipe's own schedule"
    assert main(["train", "video", "--preset", "cpu", "--config", str(config), "--out",
                 str(tmp_path / "run"), "--data", "skimage", "--no-progress"]) == 0
    log = json.loads((tmp_path / "run" / "log.json").read_text())
    assert log[-1]["step"] == 4 and "val_psnr_repeat" in log[-1], log[-1]
    assert isinstance(srkit.load(tmp_path / "run" / "model.safetensors").generator, MultiFrameGenerator)
