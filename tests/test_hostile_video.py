"""Damaged video (srkit.inference.video): bad packets are skipped, counted and named; a truncated file is
refused (or kept on request) and leaves nothing half-written; no lost frame goes unreported.

Every clip is built here with PyAV (32×24 noise, so each frame is its own few hundred bytes and
damage stays local) and then damaged on purpose: the bytes of chosen video packets overwritten
with seeded garbage, the file cut short, or its timestamps edited. Cheap on 2 CPU cores.
"""
from __future__ import annotations

import random
import re
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

import srkit.inference.video as video
import torch

from srkit.inference.guard import GuardWarning
from srkit.inference.runner import ModelRunner, TileFunction
from srkit.imageio import temporary_files
from srkit.inference.video import PartialVideoError, upscale_video

from _standins import NearestSR, _write_tone, frame_pattern, make_video

FPS = 25


def _noise_clip(path: Path, codec: str = "libx264", frames: int = 30, audio: str | None = None,
                options: dict | None = None) -> Path:
    """``frames`` frames of seeded noise at 25 fps, a key frame every 10 (so damage heals)."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options=options or {}) as container:
        stream = container.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        stream.codec_context.gop_size = 10
        sound = container.add_stream(audio, rate=48000, layout="mono") if audio else None
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8),
                                               format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        if sound is not None:
            _write_tone(container, sound, seconds=frames / FPS)
        container.mux(stream.encode(None))
    return path


def _video_packets(path: Path) -> list:
    """(byte position, size) of each non-empty video packet, in file order."""
    with av.open(str(path)) as container:
        return sorted((p.pos, p.size) for p in container.demux(video=0) if p.size)


def _garble(clip: Path, path: Path, first: int, count: int, seed: int = 0) -> Path:
    """A copy of ``clip`` with the bytes of video packets ``first`` … ``first + count - 1``
    (in file order) overwritten by seeded garbage: damage in the middle of the file."""
    data, rng = bytearray(clip.read_bytes()), random.Random(seed)
    for pos, size in _video_packets(clip)[first:first + count]:
        data[pos:pos + size] = bytes(rng.randrange(256) for _ in range(size))
    path.write_bytes(bytes(data))
    return path


def _upscale(source: Path, target: Path, **kwargs):
    """``upscale_video`` with a nearest-neighbour ×2 model; returns (result, warning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = upscale_video(source, target, NearestSR(2), device="cpu", progress=False, **kwargs)
    return result, [str(w.message) for w in caught]


def _times(path: Path) -> list[float]:
    """Timestamps (s) of the frames a file decodes to."""
    with av.open(str(path)) as container:
        return [round(float(f.time), 3) for f in container.decode(video=0)]


def _damage_messages(messages: list[str], name: str) -> list[str]:
    return [m for m in messages if m.startswith(f"{name}: ")]


# --- corrupt packets ------------------------------------------------------------------------------

def test_undecodable_packets_are_skipped_with_one_warning_each(tmp_path):
    clip = _noise_clip(tmp_path / "clip.mp4")
    bad = _garble(clip, tmp_path / "bad.mp4", first=12, count=2)      # frames at 0.48 s, 0.52 s
    result, messages = _upscale(bad, tmp_path / "out.mp4")
    assert len(messages) == 2 and result.corrupt_packets == 2
    assert messages[0].startswith("bad.mp4: skipped an undecodable packet at 0.48 s (")
    assert messages[1].startswith("bad.mp4: skipped an undecodable packet at 0.52 s (")
    assert "Invalid data" in messages[0]                                   # FFmpeg's own reason
    # The surviving frames, each at its own timestamp, in a valid file.
    assert result.frames == 28 and result.expected_frames == 30
    assert _times(tmp_path / "out.mp4") == [t for t in _times(clip) if t not in (0.48, 0.52)]
    assert not temporary_files(tmp_path / "out.mp4")


def test_errors_ffmpeg_only_logs_are_counted(tmp_path):
    """MPEG-2 in MPEG-TS shrugs damage off: the demuxer flags packets, the decoder conceals and
    logs; nothing raises. Each such packet still gets its warning, and the lost frames one more."""
    clip = _noise_clip(tmp_path / "clip.ts", codec="mpeg2video")
    bad = _garble(clip, tmp_path / "bad.ts", first=12, count=3)
    result, messages = _upscale(bad, tmp_path / "out.mp4")
    assert messages and _damage_messages(messages, "bad.ts") == messages
    assert result.corrupt_packets == len(messages)                     # one warning per event
    assert any(re.match(r"bad\.ts: damaged data at 0\.\d\d s \(", m) for m in messages)
    assert result.frames < 30 and result.frames == len(_times(tmp_path / "out.mp4"))
    lost = 30 - result.frames
    assert f"bad.ts: decoded {result.frames} of 30 frames; {lost} are missing" in " ".join(messages)


def test_frames_the_demuxer_skips_silently_are_reported(tmp_path):
    """Matroska resyncs past damage without a word (even at FFmpeg's DEBUG level): the missing
    stretch is found from the frame count and the gap in the timestamps."""
    clip = _noise_clip(tmp_path / "clip.mkv", codec="mpeg4", audio="aac")
    bad = _garble(clip, tmp_path / "bad.mkv", first=12, count=2)
    result, messages = _upscale(bad, tmp_path / "out.mkv")
    lost = 30 - result.frames
    assert lost > 2 and result.corrupt_packets == len(messages) >= 1
    assert any(m.startswith(f"bad.mkv: decoded {result.frames} of 30 frames; {lost} are missing "
                            f"without any error (damaged data the demuxer skipped: {lost} after 0.")
               for m in messages), messages
    assert len(_times(tmp_path / "out.mkv")) == result.frames


def test_frames_out_of_order_and_repeated_audio_timestamps_do_not_end_the_job(tmp_path):
    """The encoder and muxer need rising timestamps; damage can break that. The offending frame or
    audio packet is dropped with a warning instead of the job failing in ``mux``."""
    clip = tmp_path / "clip.mkv"
    make_video(clip, frames=12, width=32, height=24, audio="aac", codec="mpeg4")
    bad = tmp_path / "bad.mkv"
    audio_seen, last = 0, None
    with av.open(str(clip)) as src, av.open(str(bad), "w") as dst:
        out = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is None:
                continue
            if packet.stream.type == "video" and packet.pts == 200:          # frames 5 and 6 swap
                packet.pts = 240                                            # (dts stays 200)
            elif packet.stream.type == "video" and packet.pts == 240:
                packet.pts = packet.dts = 200
            if packet.stream.type == "audio":
                audio_seen += 1
                if audio_seen == 11:                                        # repeats the 10th
                    packet.pts, packet.dts = last
                last = packet.pts, packet.dts
            packet.stream = out[packet.stream.index]
            dst.mux(packet)
    result, messages = _upscale(bad, tmp_path / "out.mp4")
    assert any(m.startswith("bad.mkv: dropped the frame at 0.20 s, which the decoder released "
                            "after the one at 0.24 s") for m in messages), messages
    assert any(m.startswith("bad.mkv: skipped an audio packet at ") for m in messages), messages
    assert result.corrupt_packets == len(messages) == 2 and result.frames == 11
    assert len(_times(tmp_path / "out.mp4")) == 11


@pytest.mark.parametrize("suffix, codec, audio, seed", [
    (".ts", "mpeg2video", "mp2", 0),      # damage in an audio PES: a repeated audio timestamp
    (".ts", "mpeg2video", "mp2", 4),
    (".mp4", "libx264", "aac", 5),        # H.264 loses its reorder state: late frames, silent drops
    (".mp4", "libx264", "aac", 10),
    (".mkv", "libx264", "aac", 3),        # the Matroska demuxer logs an error and resyncs
    (".avi", "mpeg4", "mp2", 0),          # an AVI chunk skipped silently: only the count tells
])
def test_random_damage_never_loses_the_job(tmp_path, suffix, codec, audio, seed):
    """A few KB of garbage at a seeded random place in the middle: each of these once ended the
    job (mux errors) or lost frames without a word. Now the job completes, every lost frame is
    warned about, and the output is valid."""
    clip = _noise_clip(tmp_path / f"clip{suffix}", codec=codec, audio=audio)
    data, rng = bytearray(clip.read_bytes()), random.Random(seed)
    size, at = rng.choice([64, 512, 2048]), rng.randrange(len(data) // 5, len(data) * 4 // 5)
    data[at:at + size] = bytes(rng.randrange(256) for _ in range(min(size, len(data) - at)))
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(bytes(data))
    result, messages = _upscale(bad, tmp_path / "out.mp4", allow_partial=True)
    assert result.corrupt_packets == len(messages) >= 1
    assert _damage_messages(messages, bad.name) == messages
    assert len(_times(tmp_path / "out.mp4")) == result.frames
    assert not temporary_files(tmp_path / "out.mp4")


def test_a_file_with_no_decodable_frame_is_an_error(tmp_path):
    clip = _noise_clip(tmp_path / "clip.mp4", codec="mpeg4")
    bad = _garble(clip, tmp_path / "bad.mp4", first=0, count=30)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"bad\.mp4: no frame could be decoded \(30 packets"):
            upscale_video(bad, tmp_path / "out.mp4", NearestSR(2), device="cpu", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4", "clip.mp4"]


# --- truncated files ------------------------------------------------------------------------------

def _half(clip: Path, path: Path) -> Path:
    data = clip.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


CUT_CLIPS = [
    pytest.param(".mp4", {"movflags": "faststart"}, id="mp4"),   # index first, as on the web
    pytest.param(".mkv", None, id="mkv"),
]


@pytest.mark.parametrize("suffix, options", CUT_CLIPS)
def test_truncated_file_is_refused_and_leaves_nothing(tmp_path, suffix, options):
    clip = _noise_clip(tmp_path / f"clip{suffix}", audio="aac", options=options)
    half = _half(clip, tmp_path / f"half{suffix}")
    target = tmp_path / "out.mp4"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with pytest.raises(PartialVideoError) as caught:
            upscale_video(half, target, NearestSR(2), device="cpu", progress=False)
    error = caught.value
    assert isinstance(error, ValueError) and error.expected == 30 and 5 < error.decoded < 25
    assert re.fullmatch(
        rf"half\{suffix}: decoded {error.decoded} of 30 frames; the file looks truncated \(reading "
        rf"stopped at 0\.\d\d s of 1\.20 s; pass allow_partial=True / --allow-partial to keep the "
        rf"{error.decoded} frames\)", str(error)), str(error)
    assert not target.exists() and not temporary_files(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([clip.name, half.name])


@pytest.mark.parametrize("suffix, options", CUT_CLIPS)
def test_allow_partial_writes_the_decoded_frames(tmp_path, suffix, options):
    clip = _noise_clip(tmp_path / f"clip{suffix}", audio="aac", options=options)
    half = _half(clip, tmp_path / f"half{suffix}")
    result, messages = _upscale(half, tmp_path / "out.mp4", allow_partial=True)
    assert result.expected_frames == 30 and 5 < result.frames < 25
    partial = [m for m in messages if "wrote a partial output" in m]
    assert len(partial) == 1 and re.fullmatch(
        rf"half\{suffix}: decoded {result.frames} of 30 frames; wrote a partial output \(reading "
        rf"stopped at 0\.\d\d s of 1\.20 s\)", partial[0]), partial
    assert _times(tmp_path / "out.mp4") == _times(clip)[: result.frames]
    assert not temporary_files(tmp_path / "out.mp4")


@pytest.mark.parametrize("suffix, options", CUT_CLIPS)
@pytest.mark.parametrize("frames_cut", [1, 2, 3])
def test_truncation_tolerance_is_two_frames(tmp_path, suffix, options, frames_cut):
    """Reading may stop up to TRUNCATION_TOLERANCE (2) frame durations before the declared end
    (container rounding) without an error; 3 frames short is truncated. Where the container
    indexes its frames (MP4), the missing ones are still warned about."""
    assert video.TRUNCATION_TOLERANCE == 2
    clip = _noise_clip(tmp_path / f"clip{suffix}", codec="mpeg4", options=options)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(clip.read_bytes()[: _video_packets(clip)[-frames_cut][0]])
    if frames_cut > 2:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            with pytest.raises(PartialVideoError, match=r"decoded 27 of 30 frames"):
                upscale_video(cut, tmp_path / "out.mkv", NearestSR(2), device="cpu",
                              progress=False)
        return
    result, messages = _upscale(cut, tmp_path / "out.mkv")
    assert result.frames == 30 - frames_cut and result.expected_frames == 30
    if suffix == ".mp4":
        plural = "s" if frames_cut > 1 else ""
        assert messages == [f"cut.mp4: decoded {result.frames} of 30 frames; {frames_cut} "
                            f"{'are' if plural else 'is'} missing without any error (the file "
                            f"ends {frames_cut} frame{plural} early, or the demuxer skipped "
                            f"damaged data)"]
    assert result.corrupt_packets == len(messages)


# --- intact input reports nothing -----------------------------------------------------------------

@pytest.mark.parametrize("suffix, codec, audio", [
    (".mp4", "libx264", "aac"), (".mkv", "libx264", "aac"), (".mov", "libx264", "aac"),
    (".ts", "mpeg2video", "mp2"), (".avi", "mpeg4", "mp2"), (".mkv", "mpeg4", None),
])
def test_intact_clips_report_no_damage(tmp_path, suffix, codec, audio):
    clip = tmp_path / f"clip{suffix}"
    make_video(clip, frames=12, width=32, height=24, audio=audio, codec=codec)
    result, messages = _upscale(clip, tmp_path / "out.mkv")
    assert _damage_messages(messages, clip.name) == []
    assert result.corrupt_packets == 0 and result.frames == result.expected_frames == 12


@pytest.mark.parametrize("suffix", [".mkv", ".ts", ".mp4"])
def test_variable_frame_rate_is_not_damage(tmp_path, suffix):
    """Where the frame count is only duration × rate (Matroska, TS), a VFR stream decodes fewer
    frames than that by design: no warning, no error."""
    clip = tmp_path / f"vfr{suffix}"
    times = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 20, 21, 22, 23, 24, 30, 31, 32, 40]
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("mpeg2video" if suffix == ".ts" else "libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(frame_pattern(i, 32, 24), format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    result, messages = _upscale(clip, tmp_path / "out.mkv")
    assert messages == [] and result.corrupt_packets == 0 and result.frames == len(times)


# --- demuxer read errors --------------------------------------------------------------------------

class _FailingReads:
    """An opened input whose demuxer raises InvalidDataError after ``after`` packets."""

    def __init__(self, container, after: int):
        self._container, self._after = container, after

    def __getattr__(self, name):
        return getattr(self._container, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._container.close()

    def demux(self, *streams):
        for index, packet in enumerate(self._container.demux(*streams)):
            if index == self._after:
                raise av.error.InvalidDataError(-1094995529, "Invalid data found when processing "
                                                "input")
            yield packet


@pytest.mark.parametrize("allow_partial", [False, True])
def test_a_demuxer_error_ends_the_input_there(tmp_path, monkeypatch, allow_partial):
    """As ffmpeg does, a read error is the end of the input: warned about, then judged as a
    truncated file (the decoder is flushed, so the frames it still held are kept)."""
    clip = _noise_clip(tmp_path / "clip.mp4")
    opened = video.open_input
    monkeypatch.setattr(video.transcode, "open_input", lambda path: _FailingReads(opened(path), after=12))
    target = tmp_path / "out.mp4"
    if not allow_partial:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            with pytest.raises(PartialVideoError, match=r"clip\.mp4: decoded 12 of 30 frames"):
                upscale_video(clip, target, NearestSR(2), device="cpu", progress=False)
        assert not target.exists() and not temporary_files(target)
        return
    result, messages = _upscale(clip, target, allow_partial=True)
    assert messages[0].startswith("clip.mp4: stopped reading at 0.48 s: the demuxer failed (")
    assert messages[1].startswith("clip.mp4: decoded 12 of 30 frames; wrote a partial output")
    assert result.frames == 12 and result.corrupt_packets == 1
    assert _times(target) == _times(clip)[:12]


# --- kernel guard events --------------------------------------------------------------------------

def test_guard_warnings_name_the_file_and_shot_and_are_counted(tmp_path):
    from srkit.inference.pipeline import KernelEstimate
    source = tmp_path / "cut.mp4"
    make_video(source, frames=10, width=48, height=32, audio=None, cut_at=6)
    runner = ModelRunner(NearestSR(2), device="cpu")
    names = []

    def estimate(lr, name=None, emit=True):         # what the kernel guard reports when it acts
        names.append(name)
        message = f"{name}: the kernel estimate left the trained kernel region" if "shot 2" in name else ""
        return KernelEstimate(None, status=["stopped" if message else "ok"], messages=[message])
    runner.estimate = estimate
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = upscale_video(source, tmp_path / "out.mp4", runner, progress=False,
                               shots=video.ShotDetector(max_shot_frames=100))
    assert names == ["cut.mp4 shot 1 (frame 0)", "cut.mp4 shot 2 (frame 6)"]
    assert result.shots == 2 and result.guard_events == 1          # only shot 2's guard acted
    messages = [str(w.message) for w in caught if issubclass(w.category, GuardWarning)]
    assert messages == ["cut.mp4 shot 2 (frame 6): the kernel estimate left the trained kernel region"]


def test_a_black_model_is_caught_once_per_shot_naming_it(tmp_path):
    """A model whose frames come out black: every frame is repaired (bicubic, since nothing can be
    back-projected from black), and the user gets one line per shot, not one per frame."""
    import av

    class BlackSR(torch.nn.Module):
        scale = 2

        def forward(self, x):
            return torch.zeros(x.shape[0], 3, x.shape[2] * 2, x.shape[3] * 2)
    source = tmp_path / "cut.mp4"
    make_video(source, frames=10, width=48, height=32, audio=None, cut_at=6)
    runner = ModelRunner(BlackSR(), device="cpu")
    runner.tile_fn = lambda code=None: TileFunction(BlackSR(), 2, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = upscale_video(source, tmp_path / "out.mkv", runner, progress=False, codec="ffv1",
                               shots=video.ShotDetector(max_shot_frames=100))
    lines = [str(w.message) for w in caught if issubclass(w.category, GuardWarning)]
    assert len(lines) == 2 and result.guard_events == 2
    assert lines[0].startswith("cut.mp4 shot 1 (frame 0): in 6 of 6 frames, ")
    assert lines[1].startswith("cut.mp4 shot 2 (frame 6): in 4 of 4 frames, ")
    with av.open(str(tmp_path / "out.mkv")) as container:
        means = [frame.to_ndarray(format="rgb24").mean() for frame in container.decode(video=0)]
    assert len(means) == 10 and min(means) > 20                  # no black frame was written


# --- geometry the filters refuse ------------------------------------------------------------------

def _ffv1_clip(path: Path, width: int, height: int, frames: int = 2, colour=(5, 5, 6),
               field_order: int = 1) -> None:
    """An FFV1 yuv420p clip (odd sizes allowed), BT.601-tagged, of the top-left ``width`` ×
    ``height`` of one fixed gradient (so clips of different sizes agree where they overlap)."""
    from srkit.imageio import sws_exact
    y, x = np.mgrid[0:height, 0:width]
    picture = np.stack([40 + x * 175 // 200, 40 + y * 175 // 400, np.full_like(x, 120)],
                       axis=-1).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        context = stream.codec_context
        context.colorspace, context.color_primaries, context.color_trc = colour
        context.color_range, context.field_order = 1, field_order
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU601", dst_color_range="MPEG",
                interpolation=sws_exact())
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _first_frame_rgb(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(np.float64)


@pytest.mark.parametrize("width, height", [(161, 361), (162, 361), (161, 362)])
def test_odd_sizes_get_the_bt709_conversion_on_hd_output(tmp_path, width, height):
    """An odd width or height whose ×2 output is HD: FFmpeg's colorspace filter refuses odd sizes
    (a raw PatchWelcomeError traceback before). The picture goes to 4:4:4, is padded by a black
    row/column around the filter and cropped back: every sample, the last row and column
    included, comes out as the same gradient's 162×362 clip converts it (FFV1 RGB output;
    measured on 161×361: at most 4 levels apart, 0.40 on average: swscale's chroma upsampling before the
    filter against the filter's own)."""
    _ffv1_clip(tmp_path / "even.mkv", 162, 362)
    _upscale(tmp_path / "even.mkv", tmp_path / "even_out.mkv", codec="ffv1")
    source = tmp_path / "odd.mkv"
    _ffv1_clip(source, width, height)
    result, messages = _upscale(source, tmp_path / "out.mkv", codec="ffv1")
    assert messages == [] and result.frames == 2
    assert result.plan.colour_filter and (result.width, result.height) == (2 * width, 2 * height)
    assert f"colour: the colorspace filter needs even sizes: each {width}x{height} picture is " \
           "padded by a black row/column and cropped back after it (the conversion is per pixel: " \
           "the picture is unchanged)" in result.plan.notes
    odd, even = _first_frame_rgb(tmp_path / "out.mkv"), _first_frame_rgb(tmp_path / "even_out.mkv")
    error = np.abs(odd - even[:2 * height, :2 * width])
    assert error.max() <= 5 and error.mean() < 0.5, (error.max(), error.mean(), error[-1].max(),
                                                      error[:, -1].max())


def test_pictures_too_small_to_deinterlace_are_refused_naming_the_option(tmp_path):
    """bwdif refuses planes under 3×4 (a 4:2:0 picture under 5×7): a raw ArgumentError before."""
    source = tmp_path / "tiny.mkv"
    _ffv1_clip(source, 4, 6, field_order=2)
    with pytest.raises(ValueError, match=re.escape(
            "tiny.mkv: 4x6 yuv420p pictures are too small to deinterlace (FFmpeg's bwdif needs "
            "every plane at least 3x4); --deinterlace off upscales the frames as they are")):
        upscale_video(source, tmp_path / "out.mkv", NearestSR(2), device="cpu", progress=False,
                      codec="ffv1")
    assert not (tmp_path / "out.mkv").exists()
    result, _ = _upscale(source, tmp_path / "out.mkv", codec="ffv1", deinterlace="off")
    assert result.frames == 2 and (result.width, result.height) == (8, 12)


# --- what is not a video --------------------------------------------------------------------------

def test_probe_refuses_what_is_not_a_video_naming_it(tmp_path, capsys):
    """A text file named .png (exit 0 with "png 0x0" before), a real PNG, a GIF, /dev/zero and a
    FIFO (both "not found" before; FFmpeg would read the one forever and block on the other)."""
    import os
    from PIL import Image
    from srkit.cli import main
    text = tmp_path / "notes.png"
    text.write_text("hello\n")
    image = tmp_path / "photo.png"
    Image.new("RGB", (8, 8), (200, 10, 10)).save(image)
    gif = tmp_path / "anim.gif"
    Image.new("RGB", (8, 8)).save(gif)
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    cases = {text: f"{text} is an image (.png): srkit probe looks at video files; srkit upscale "
                   "takes images directly",
             image: f"{image} is an image (.png): srkit probe looks at video files; srkit upscale "
                    "takes images directly",
             gif: f"{gif}: .gif is not a video suffix srkit upscale reads (.mp4 .mkv",
             Path("/dev/zero"): "/dev/zero is a character device, not a video file; srkit reads "
                                "video from regular files",
             fifo: f"{fifo} is a FIFO (named pipe), not a video file; srkit reads video from "
                   "regular files"}
    for path, message in cases.items():
        assert main(["probe", str(path)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.startswith(f"srkit probe: error: {message}"), \
            (path, captured.err)


def test_a_file_ffmpeg_opens_by_its_suffix_but_holds_no_picture_is_refused(tmp_path):
    """FFmpeg's image2 demuxer opens any file named .png: ``inspect_video`` (and so upscale_video)
    refuses a stream without a picture size whose packets decode to nothing."""
    from srkit.inference.video import inspect_video
    text = tmp_path / "notes.png"
    text.write_text("hello\n")
    with pytest.raises(ValueError, match=re.escape(
            f"{text}: FFmpeg finds no picture in it (read as image2, png): not a video, or "
            "damaged beyond decoding")):
        inspect_video(text)


# --- timing and geometry that change mid-stream ---------------------------------------------------

def _mpeg2_ts(path: Path, width: int, height: int, start: int, frames: int = 3) -> bytes:
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream("mpeg2video", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = 3
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(frame_pattern(start + i, width, height),
                                               format="rgb24")
            frame.pts, frame.time_base = start + i, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path.read_bytes()


def test_a_picture_size_change_mid_stream_is_refused_not_squeezed(tmp_path):
    """Two MPEG-TS pieces spliced, 160×120 then 176×144: the 11:9 frames used to be scaled to
    4:3 (squeezed) with exit 0; now the job stops at the change, names it, and writes nothing."""
    spliced = tmp_path / "spliced.ts"
    spliced.write_bytes(_mpeg2_ts(tmp_path / "a.ts", 160, 120, 0)
                        + _mpeg2_ts(tmp_path / "b.ts", 176, 144, 3))
    target = tmp_path / "out.mp4"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=re.escape(
                "spliced.ts: the picture size changes at 0.12 s from 160x120 to 176x144; an "
                "output holds one size, and scaling would squeeze the pictures: split the file "
                "there and upscale each part")):
            upscale_video(spliced, target, NearestSR(2), device="cpu", progress=False)
    assert not target.exists() and not temporary_files(target)
