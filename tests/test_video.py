"""Video files (srkit.inference.video): timing and audio kept, interruptions leave nothing, errors are clear."""
from __future__ import annotations

import pytest
import torch

av = pytest.importorskip("av")

from srkit.imageio import sws_exact
from srkit.inference.tiling import tiled_upscale
from srkit.imageio import temporary_files
from srkit.inference.video import ShotDetector, upscale_video

from _standins import FakePipeline, TinyConvSR, make_video


def _streams(path):
    """(video facts, audio packets as (pts, bytes)) of a file."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        facts = dict(rate=video.average_rate, width=video.width, height=video.height,
                     duration=float(container.duration or 0) / 1e6)
        frames = [(f.pts, f.time) for f in container.decode(video=0)]
        container.seek(0)
        audio = [(p.pts, bytes(p)) for p in container.demux(audio=0) if p.dts is not None] \
            if container.streams.audio else []
    return facts, frames, audio


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    make_video(path, frames=12, width=64, height=48, fps=25, audio="aac")
    return path


def test_h264_keeps_frames_rate_duration_and_audio(clip, tmp_path):
    target = tmp_path / "clip_x2.mp4"
    result = upscale_video(clip, target, TinyConvSR(2), device="cpu", progress=False)
    before, frames_in, audio_in = _streams(clip)
    after, frames_out, audio_out = _streams(target)
    assert result.frames == len(frames_out) == len(frames_in) == 12
    assert (after["width"], after["height"]) == (128, 96)
    assert after["rate"] == before["rate"] == 25
    assert [t for _, t in frames_out] == pytest.approx([t for _, t in frames_in], abs=1e-3)
    assert after["duration"] == pytest.approx(before["duration"], abs=0.05)
    assert len(audio_in) > 0 and audio_out == audio_in                  # packets copied unchanged
    assert result.audio_packets == len(audio_in) and not temporary_files(target)
    # An intact file: nothing damaged, the declared length met (damage: tests/test_hostile_video.py).
    assert result.corrupt_packets == 0 and result.expected_frames == 12


def test_ffv1_is_lossless_and_keeps_pcm_audio(tmp_path):
    source, target = tmp_path / "in.mkv", tmp_path / "out.mkv"
    make_video(source, frames=4, width=40, height=30, fps=24, audio="pcm_s16le")
    model = TinyConvSR(2)
    upscale_video(source, target, model, codec="ffv1", device="cpu", tile=16, progress=False)
    with av.open(str(source)) as src, av.open(str(target)) as dst:
        first_in = next(src.decode(video=0)).to_ndarray(format="rgb24", interpolation=sws_exact())
        first_out = next(dst.decode(video=0)).to_ndarray(format="rgb24", interpolation=sws_exact())
        assert dst.streams.audio[0].codec_context.name == "pcm_s16le"
    expected = tiled_upscale(torch.from_numpy(first_in).permute(2, 0, 1)[None], model, 2, tile=16)
    assert (first_out == expected[0].permute(1, 2, 0).numpy()).all()


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_interrupted_job_leaves_nothing(clip, tmp_path, error):
    target = tmp_path / "out.mp4"

    def stop_at_frame_five(index):
        if index == 5:
            raise error("stop")
    with pytest.raises(error):
        upscale_video(clip, target, TinyConvSR(2), device="cpu", progress=False,
                      on_frame=stop_at_frame_five)
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_kernel_estimated_once_per_shot(tmp_path):
    source = tmp_path / "cut.mp4"
    make_video(source, frames=10, width=48, height=32, audio=None, cut_at=6)
    pipeline = FakePipeline(scale=2)
    result = upscale_video(source, tmp_path / "out.mp4", pipeline, device="cpu", progress=False,
                           shots=ShotDetector(max_shot_frames=100))
    assert result.shots == pipeline.ikc_calls == 2 and result.frames == 10


def test_shot_detector_refreshes_every_n_frames(tmp_path):
    source = tmp_path / "long.mp4"
    make_video(source, frames=9, width=32, height=32, audio=None)
    result = upscale_video(source, tmp_path / "out.mkv", FakePipeline(2), device="cpu",
                           progress=False, shots=ShotDetector(max_shot_frames=4))
    assert result.shots == 3  # frames 0, 4, 8


def test_refuses_to_overwrite_the_input(clip):
    size = clip.stat().st_size
    with pytest.raises(ValueError, match="never overwrites"):
        upscale_video(clip, clip, TinyConvSR(2), device="cpu", progress=False)
    assert clip.stat().st_size == size


def test_clear_errors(clip, tmp_path):
    with pytest.raises(ValueError, match="ffv1 cannot be written to a .mp4"):
        upscale_video(clip, tmp_path / "o.mp4", TinyConvSR(2), codec="ffv1", progress=False)
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        upscale_video(tmp_path / "missing.mp4", tmp_path / "o.mp4", TinyConvSR(2), progress=False)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 10)
    with pytest.raises(ValueError, match="cannot read video .*garbage.mp4"):
        upscale_video(garbage, tmp_path / "o.mp4", TinyConvSR(2), device="cpu", progress=False)
    with pytest.raises(ValueError, match="×2.*×4"):
        upscale_video(clip, tmp_path / "o.mp4", TinyConvSR(2), scale=4, device="cpu", progress=False)
    assert not (tmp_path / "o.mp4").exists() and not temporary_files(tmp_path / "o.mp4")
