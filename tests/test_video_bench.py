"""The video benchmark: clips from stills (srkit.data.sequences), the warping error
(srkit.evaluation.temporal) and ``srkit bench video`` (srkit.evaluation.video_bench)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from srkit.data.sequences import MOTIONS, load_sequence_folders, still_clip
from srkit.evaluation.temporal import Motion, clip_motion, consistent, warp, warping_error, xt_slice
from srkit.imageio import write_image


def _still(size=(120, 150)):
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[60:60 + size[0], 150:150 + size[1]])


def test_pan_clip_is_seeded_and_its_flow_is_the_velocity():
    clip = still_clip(_still(), "pan", "astro", frames=3, size=(72, 96), seed=3)
    again = still_clip(_still(), "pan", "astro", frames=3, size=(72, 96), seed=3)
    assert clip.frames.shape == (3, 72, 96, 3) and clip.frames.dtype == np.uint8
    assert np.array_equal(clip.frames, again.frames)
    velocity = np.array(clip.info["velocity_px_per_frame"])
    assert 1.3 <= np.hypot(*velocity) <= 3.2
    motion = clip_motion(clip.frames)
    # content at r in frame t was at r + v in frame t − 1: the backward flow is the velocity
    found = np.median(motion.backward[0][:, motion.valid[0]], axis=1)
    assert np.allclose(found, velocity, atol=0.1), (found, velocity)


def test_caption_text_moves_by_whole_pixels():
    clip = still_clip(_still(), "caption", "astro", frames=3, size=(72, 96), seed=1)
    speed = -clip.info["text_px_per_frame"][1]
    assert speed in (2, 3, 4)
    # the ticker bar: frame 1 is frame 0 moved left by `speed` pixels, exactly, where both show it
    (top, left), (height, width) = clip.info["text_origin"], clip.info["text_card_size"]
    assert width > 96 - left  # the bar runs off the right edge
    rows = slice(top, min(72, top + height))
    a, b = clip.frames[0][rows], clip.frames[1][rows]
    assert np.array_equal(b[:, left - speed:96 - speed], a[:, left:96])
    assert not np.array_equal(b[:, left:96], a[:, left:96])


def test_every_motion_makes_a_clip_and_a_small_still_is_refused():
    for motion in MOTIONS:
        clip = still_clip(_still(), motion, frames=2, size=(48, 60), seed=0)
        assert clip.frames.shape == (2, 48, 60, 3) and not np.array_equal(clip.frames[0], clip.frames[1])
    with pytest.raises(ValueError, match="too small for a 100×140 pan"):
        still_clip(_still((100, 140)), "pan", "tiny", frames=8, size=(100, 140))


def test_sequence_folders(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("calendar", "city"):
        for t in range(3):
            write_image(tmp_path / "seqs" / name / f"{t:03d}.png", rng.integers(0, 256, (26, 30, 3), dtype=np.uint8))
    clips = load_sequence_folders(tmp_path / "seqs", 4, max_frames=2)
    assert [c.name for c in clips] == ["calendar", "city"] and clips[0].frames.shape == (2, 24, 28, 3)
    write_image(tmp_path / "seqs" / "city" / "003.png", rng.integers(0, 256, (20, 30, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="city: frames of different sizes"):
        load_sequence_folders(tmp_path / "seqs", 4)
    with pytest.raises(FileNotFoundError, match="one sub-folder of HR frames per sequence"):
        load_sequence_folders(tmp_path / "seqs" / "calendar", 4)


def test_warp_and_the_forward_backward_check_on_known_flows():
    y, x = np.mgrid[0:10, 0:12].astype(np.float64)
    ramp = 3.0 * x + y
    one_right = np.stack([np.zeros_like(x), np.ones_like(x)])
    assert np.allclose(warp(ramp, one_right)[:, :-1], ramp[:, 1:])
    assert np.allclose(warp(ramp, 0.5 * one_right)[:, :-1], ramp[:, :-1] + 1.5)
    ok = consistent(one_right, -one_right)  # undone by the forward flow: kept, except off the frame
    assert ok[:, :-1].all() and not ok[:, -1].any()
    assert not consistent(one_right, one_right).any()  # the forward flow goes the same way: occluded


def test_warping_error_counts_flicker_in_luma_levels():
    base = (np.random.default_rng(1).random((40, 48, 3)) * 200 + 20)
    frames = np.stack([np.roll(base, -k, axis=1) for k in range(3)]).round().astype(np.uint8)
    motion = Motion([np.stack([np.zeros((40, 48)), np.ones((40, 48))])] * 2,
                    [np.ones((40, 48), bool)] * 2)
    assert warping_error(frames, motion, shave=2) < 1e-9  # the exact motion: nothing left
    flicker = frames.copy()
    flicker[1] = np.clip(flicker[1].astype(int) + 10, 0, 255).astype(np.uint8)  # one frame 10 levels brighter
    # Y gains 10·(65.481 + 128.553 + 24.966)/255 = 8.588 levels: in the pair (0, 1) and again in (1, 2)
    assert warping_error(flicker, motion, shave=2) == pytest.approx((10 * 219 / 255) ** 2, rel=1e-3)
    assert xt_slice(frames, row=5, repeat=2).shape == (6, 48, 3)


def _bench_clips(tmp_path):
    clip = still_clip(_still(), "pan", "astro", frames=3, size=(48, 60), seed=2)
    return {"stills": [clip]}


def test_bench_scores_match_an_independent_path_and_the_phase_matters(tmp_path):
    from srkit.degrade import protocol_lr
    from srkit.evaluation.video_bench import format_video, run_video_bench
    from srkit.metrics import evaluate_pair
    from srkit.phase import align_output
    from srkit.resize import imresize_np
    clips = _bench_clips(tmp_path)
    out = run_video_bench(clips, 2, protocol="bd", phases=("centre", "corner"), progress=False,
                          slices_dir=tmp_path / "xt")
    rows = out["results"]["stills"]["clean"]
    hr = clips["stills"][0].frames
    expect = np.mean([evaluate_pair(align_output(imresize_np(protocol_lr(f, 2, "bd"), 2), 2, "corner"), f, 2)["psnr"]
                      for f in hr])
    assert rows["bicubic [corner]"]["psnr"] == pytest.approx(expect, abs=1e-9)
    assert rows["bicubic [corner]"]["psnr"] > rows["bicubic [centre]"]["psnr"] + 1.0
    gt = out["clips"]["stills"]["astro"]["gt_warp"]
    assert rows["bicubic [corner]"]["warp_excess"] == pytest.approx(rows["bicubic [corner]"]["warp"] - gt)
    assert rows["bicubic [corner]"]["frames"] == 3 and rows["bicubic [corner]"]["clips"] == 1
    panel = (tmp_path / "xt" / "stills_astro_clean_xt.png")
    from srkit.imageio import read_image_uint8
    assert read_image_uint8(panel).shape == (3 * 3 * 4 + 2 * 3, 60, 3)  # truth + 2 rows of 3 frames ×4, 2 gaps
    assert "| bicubic [corner] |" in format_video(out)


def test_bundle_method_estimates_once_per_clip_and_bd_defaults_to_corner(tmp_path):
    from _standins import tiny_pipeline

    from srkit.evaluation.video_bench import BundleMethod, run_video_bench
    pipeline = tiny_pipeline("sftmd", scale=2)
    calls = []
    original = pipeline.ikc
    pipeline.ikc = lambda *a, **k: calls.append(1) or original(*a, **k)
    method = BundleMethod(pipeline, steps=1)
    out = run_video_bench(_bench_clips(tmp_path), 2, {"tiny": method}, protocol="bd", progress=False)
    assert out["settings"]["phases"] == ["corner"] and len(calls) == 1
    rows = out["results"]["stills"]["clean"]
    assert set(rows) == {"bicubic", "tiny"} and np.isfinite(rows["tiny"]["warp"])


def test_cli_on_a_folder_of_sequences(tmp_path, capsys):
    from srkit.cli import main
    clip = still_clip(_still(), "zoom", "astro", frames=3, size=(48, 60), seed=0)
    for t, frame in enumerate(clip.frames):
        write_image(tmp_path / "seqs" / "astro" / f"{t:04d}.png", frame)
    out = tmp_path / "video.json"
    assert main(["bench", "video", "--folders", str(tmp_path / "seqs"), "--scale", "2", "--protocol", "bi",
                 "--frames", "3", "--json", str(out), "--no-progress", "--cells", "clean,noise 5"]) == 0
    result = json.loads(out.read_text())
    assert set(result["results"]["seqs"]) == {"clean", "noise 5"}
    clean, noisy = (result["results"]["seqs"][c]["bicubic"]["psnr"] for c in ("clean", "noise 5"))
    assert clean > noisy and "BI; centre phase" in result["protocol"]["degradation"]
    assert "seqs, clean (1 clips, 3 frames" in capsys.readouterr().out
    assert main(["bench", "video", "--scale", "2"]) == 2


def test_multi_frame_checkpoint_gives_its_row_and_the_repeat_control(tmp_path):
    """A multi-frame checkpoint adds two rows; at initialisation both equal the single-frame bundle's."""
    import torch

    import srkit
    from srkit.checkpoint import save_checkpoint
    from srkit.evaluation.video_bench import WindowMethod, bundle_methods, run_video_bench
    from srkit.models.edvr import MultiFrameGenerator
    pipe = srkit.load("x2")
    modules = {**pipe.modules(), "generator": MultiFrameGenerator.from_single(pipe.generator)}
    save_checkpoint(tmp_path / "multi.safetensors", modules, pca=pipe.pca)
    methods = bundle_methods(["x2", str(tmp_path / "multi.safetensors")], 2, steps=1)
    multi = str(tmp_path / "multi.safetensors")
    assert list(methods) == ["x2", multi, f"{multi}, centre ×3"], list(methods)
    assert isinstance(methods[multi], WindowMethod) and methods[f"{multi}, centre ×3"].repeat_centre
    torch.set_num_threads(1)
    out = run_video_bench(_bench_clips(tmp_path), 2, methods, progress=False)
    rows = out["results"]["stills"]["clean"]
    for name in (multi, f"{multi}, centre ×3"):
        assert rows[name]["psnr"] == pytest.approx(rows["x2"]["psnr"], abs=0.01), (name, rows)
        assert rows[name]["warp"] == pytest.approx(rows["x2"]["warp"], rel=0.01), (name, rows)
