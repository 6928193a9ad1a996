"""Timing and streams of a video output (srkit.inference.video): a stream that starts at a
negative time (an MPEG-TS whose 33-bit PTS wraps just after its start) or late (a TS clock at
1.44 s) gives an output that plays every frame from 0, the other streams kept at their offset; an
output that would hide frames behind its edit list is refused; Matroska outputs keep the source's
attachments (fonts).

Each input is built here with PyAV: 6 frames of 64×48 MPEG-2 at 25 fps in MPEG-TS, cheap on 2
CPU cores.
"""
from __future__ import annotations

import re
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from srkit.imageio import temporary_files
from srkit.inference.runner import ModelRunner
from srkit.inference.video import upscale_video
from srkit.inference.video.job import JobOptions
from srkit.inference.video.workers import upscale_video_job

from _standins import NearestSR, frame_pattern, make_video

FPS, TICKS = 25, 90000          # MPEG-TS counts in 90 kHz ticks
WRAP = 2 ** 33                  # its PTS field has 33 bits


def _ts(path: Path, first: int, frames: int = 6, audio_first: int | None = None) -> Path:
    """``frames`` frames of MPEG-2 at 25 fps in MPEG-TS, the first stamped ``first`` (90 kHz ticks,
    taken modulo 2**33 by the muxer); with MP2 audio from ``audio_first`` ticks when given."""
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream("mpeg2video", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.gop_size = 3
        sound = None
        if audio_first is not None:
            sound = container.add_stream("mp2", rate=48000, layout="mono")
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(frame_pattern(i, 64, 48), format="rgb24")
            frame.pts, frame.time_base = first + i * TICKS // FPS, Fraction(1, TICKS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if sound is not None:
            chunk = 1152
            for k in range(frames * 48000 // FPS // chunk + 1):
                t = (k * chunk + np.arange(chunk)) / 48000
                samples = (3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)[None]
                block = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
                block.sample_rate = 48000
                block.pts, block.time_base = audio_first * 48000 // TICKS + k * chunk, \
                    Fraction(1, 48000)
                container.mux(sound.encode(block))
            container.mux(sound.encode(None))
    return path


def _upscale(source: Path, target: Path, job: bool = False, **kwargs):
    """One pass (``upscale_video``) or a chunked job of 3-frame chunks, nearest ×2; returns
    (frames written, plan, warning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if job:
            options = JobOptions(scale=2, codec=kwargs.pop("codec", "h264"), chunk_frames=3,
                                 max_shot_frames=3)
            result = upscale_video_job(source, target, ModelRunner.wrap(NearestSR(2), device="cpu"),
                                       options, progress=False, say=lambda line: None)
        else:
            result = upscale_video(source, target, NearestSR(2), device="cpu", progress=False,
                                   **kwargs)
    return result, [str(w.message) for w in caught]


def _played(path: Path) -> tuple[list[float], float | None]:
    """(times of the frames a player decodes, after the edit list; the audio's start time)."""
    with av.open(str(path)) as container:
        times = [round(float(frame.time), 4) for frame in container.decode(video=0)]
        audio = container.streams.audio[0] if container.streams.audio else None
        start = None if audio is None or audio.start_time is None else \
            float(audio.start_time * audio.time_base)
    return times, start


@pytest.mark.parametrize("job", [False, True], ids=["one-pass", "chunked-job"])
def test_a_ts_whose_pts_wraps_after_its_start_plays_every_frame_from_0(tmp_path, job):
    """The PTS wraps after frame 3: FFmpeg reads the first three at negative times. The MP4 used to
    hold all six but play three (its edit list cut those before 0), with exit 0 and no warning."""
    source = _ts(tmp_path / "wrap.ts", WRAP - 3 * TICKS // FPS)
    with av.open(str(source)) as container:  # the input as FFmpeg reads it: 3 frames before 0
        assert sum(f.time < 0 for f in container.decode(video=0)) == 3
    result, messages = _upscale(source, tmp_path / "out.mp4", job=job)
    assert messages == [] and result.frames == 6
    assert _played(tmp_path / "out.mp4")[0] == [0.0, 0.04, 0.08, 0.12, 0.16, 0.2]
    assert any(note.startswith("timing: the streams start at -0.11") for note in result.plan.notes)


def test_an_output_that_would_hide_frames_before_0_is_refused(tmp_path, monkeypatch):
    """The integrity check counts the frames a player decodes after the edit list: with the timing
    fix undone (the streams kept at their source times), the MP4 would play 3 of its 6 frames;
    the job now stops with that count and leaves nothing under the output name."""
    import srkit.inference.video.plan as plan
    monkeypatch.setattr(plan, "_plan_origin", lambda info, carried, notes: Fraction(0))
    source = _ts(tmp_path / "wrap.ts", WRAP - 3 * TICKS // FPS)
    target = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match=re.escape(
            "wrap.ts: the output would play 3 of the 6 frames written (its container hides 3 "
            "before time 0); nothing was written")):
        _upscale(source, target)
    assert not target.exists() and not temporary_files(target)


def test_a_ts_start_offset_becomes_0_with_the_audio_offset_kept(tmp_path):
    """A TS clock at 1.44 s (video) and 1.39 s (audio): the MP4 used to keep the lead-in (a still
    first frame for 1.44 s). Now the audio starts at 0 and the video 50 ms after it, as in the
    source."""
    source = _ts(tmp_path / "late.ts", 144 * TICKS // 100, audio_first=140 * TICKS // 100)
    with av.open(str(source)) as container:
        video_in, audio_in = (float(s.start_time * s.time_base) for s in
                              (container.streams.video[0], container.streams.audio[0]))
    # the MP2 encoder's delay puts the first audio packet 10 ms earlier still
    assert video_in == pytest.approx(1.44) and 1.38 < audio_in <= 1.40
    result, messages = _upscale(source, tmp_path / "out.mp4")
    times, audio_start = _played(tmp_path / "out.mp4")
    assert messages == [] and result.frames == 6
    assert audio_start == pytest.approx(0, abs=1e-3)
    assert times[0] - audio_start == pytest.approx(video_in - audio_in, abs=1e-3)
    assert np.allclose(np.diff(times), 0.04)
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.duration / 1e6 < 0.4  # 0.24 s of video 50 ms after the audio
    assert f"timing: the streams start at {audio_in:.3f} s in the source; the output starts at 0 " \
           "(each stream keeps its offset to the others)" in result.plan.notes


def _with_font(path: Path) -> tuple[Path, bytes]:
    """A 12-frame Matroska clip with a TrueType font attached (DejaVu when installed, else bytes
    that stand for one: the muxers copy attachments without reading them)."""
    make_video(path.with_name("plain.mp4"), audio=None)
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    data = font.read_bytes() if font.exists() else b"\x00\x01\x00\x00font"
    with av.open(str(path.with_name("plain.mp4"))) as src, av.open(str(path), "w") as dst:
        video = dst.add_stream_from_template(src.streams.video[0])
        dst.add_attachment("Title Font.ttf", "font/ttf", data)
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = video
                dst.mux(packet)
    return path, data


def test_matroska_outputs_keep_font_attachments(tmp_path):
    """Fonts for ASS subtitles live in attachment streams: an MKV output used to drop them with a
    warning although Matroska holds them."""
    source, data = _with_font(tmp_path / "fonts.mkv")
    result, messages = _upscale(source, tmp_path / "out.mkv")
    assert messages == [] and result.plan.attach == [1]
    assert "streams: #1 (attachment, Title Font.ttf, font/ttf) attached" in result.plan.notes
    with av.open(str(tmp_path / "out.mkv")) as container:
        attached = [s for s in container.streams if s.type == "attachment"]
        assert [(s.name, s.mimetype, bytes(s.data)) for s in attached] == \
            [("Title Font.ttf", "font/ttf", data)]


def test_containers_without_attachments_say_so_naming_the_stream(tmp_path):
    source, _ = _with_font(tmp_path / "fonts.mkv")
    result, messages = _upscale(source, tmp_path / "out.mp4")
    assert messages == ["fonts.mkv: stream #1 (attachment, Title Font.ttf, font/ttf) is not copied "
                        "to out.mp4: .mp4 files cannot hold attachments (.mkv can)"]
    assert result.frames == 12
