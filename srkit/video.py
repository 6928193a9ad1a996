"""Upscale video files frame by frame, keeping timing and audio, never damaging the input.

* Reading: anything PyAV/FFmpeg decodes. Frames go through the model as RGB uint8.
* Kernel: the IKC loop runs once per shot (a cut detector on luma histograms of small thumbnails,
  plus a refresh every ``max_shot_frames``); frames of a shot reuse the code, so the IKC cost is paid
  per shot, not per frame.
* Writing: H.264 (libx264, yuv420p, ``crf``) or lossless FFV1 (8-bit RGB, .mkv). Each frame keeps
  its source timestamp; the stream keeps the source frame rate; audio packets are copied unchanged.
* Safety: output == input is refused; output goes to a temporary file beside the final name and is
  renamed only when complete, so an interruption leaves nothing under the final name.
* Damaged input never ends a job silently. Each damaged packet gets one ``UserWarning`` that starts
  with the file name and gives the time ("clip.mp4: skipped an undecodable packet at 1.24 s (…)"),
  and counts once in ``VideoResult.corrupt_packets``; the output holds the surviving frames at
  their own timestamps. What counts as damage:

  - a packet the decoder rejects (``av.error.FFmpegError`` from ``packet.decode()``): skipped, as
    ffmpeg does;
  - errors FFmpeg only logs: an ERROR message of the demuxer or decoder (FFmpeg's log is
    captured while the job runs, with PyAV's log level raised to ERROR if it was lower and put
    back after), a packet the demuxer flags corrupt, a frame decoded with concealed errors
    (``frame.is_corrupt``): the frames are kept;
  - a video packet that silently gives no frame (no frame ever takes its timestamp), a frame the
    decoder releases out of order after damage, an audio packet whose timestamp goes backwards
    (the last two are dropped: the muxer needs rising timestamps);
  - declared frames neither decoded nor accounted for above (one summary warning, "decoded 23 of
    30 frames; 7 are missing without any error (damaged data the demuxer skipped: 7 after
    0.44 s)"): always where the container indexes its frames (MP4/MOV, AVI); where the count is
    only duration × rate (Matroska, MPEG-TS, …) only beyond ``TRUNCATION_TOLERANCE`` and when
    the other frames are evenly spaced, since a variable-frame-rate stream falls short by design;
  - a read error of the demuxer: the input ends there (as ffmpeg treats it) and what is missing
    is judged like a truncated file.

  Truncation: when the demuxer stops more than ``TRUNCATION_TOLERANCE`` (2) frame durations before
  the end its container declares, ``PartialVideoError`` is raised once decoding ends (the end is
  only known there, so the frames before it have been upscaled by then), and nothing is left
  under the output name; with ``allow_partial=True`` (CLI ``--allow-partial``) the
  decoded frames are written and one warning says how many of how many. A Matroska file whose
  demuxer cannot get past damage reads the same way. Only containers that declare their length in
  a header or index can show truncation (MP4/MOV, Matroska/WebM, AVI, MXF, NUT, ASF): MPEG-TS/PS
  and Ogg lengths are read from the last timestamps present, so a cut .ts is just a shorter video.
  A file of which no frame decodes raises ``ValueError``.
* Guards (``srkit.guard``): the kernel estimate of each shot and the output of each frame are
  checked as for images; one warning line per shot, "clip.mp4 shot 3 (frame 120): …", says what was
  done and in how many of its frames; ``VideoResult.guard_events`` counts the shots it acted on.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .imageio import atomic_path
from .guard import check_output, join_messages, warn
from .infer import auto_tile, tiled_upscale
from .runner import ModelRunner

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".mts",
                  ".m2ts", ".mxf", ".nut", ".flv", ".wmv", ".y4m", ".dv", ".vob", ".ogv")
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi",
          ".nut": "nut"}
CODECS = {  # name → (encoder, pixel format, containers that can hold it)
    "h264": ("libx264", "yuv420p", (".mp4", ".m4v", ".mov", ".mkv")),
    "ffv1": ("ffv1", "bgr0", (".mkv", ".avi", ".nut")),  # 8-bit RGB: lossless to the model output
}
# Frame durations by which reading may stop short of the declared end without the file being
# called truncated: container rounding (Matroska stores milliseconds; MP4 edit lists, B-frame delay
# and audio priming shift the ends by a fraction of a frame) stays well inside two frames, while a
# cut file ends short by a good part of its length.
TRUNCATION_TOLERANCE = 2
# Demuxers (FFmpeg names) that read the length from the file's header or index, so that a truncated
# copy still declares the full length. The others estimate it from the last timestamps present
# (MPEG-TS/PS, Ogg: truncation cannot show) or from the bit rate (raw streams, FLV without metadata:
# too rough to fail a job on).
DECLARING_DEMUXERS = frozenset({"mov", "mp4", "matroska", "webm", "avi", "mxf", "nut", "asf"})


class PartialVideoError(ValueError):
    """The input ends before the length its container declares (an interrupted download or copy).

    Raised after decoding and before anything is written under the output name; pass
    ``allow_partial=True`` (CLI ``--allow-partial``) to keep the frames that were decoded.

    Attributes:
        decoded: frames decoded.
        expected: frames the file declares.
    """

    def __init__(self, message: str, decoded: int = 0, expected: int | None = None):
        super().__init__(message)
        self.decoded, self.expected = decoded, expected


@dataclass
class ShotDetector:
    """Flags the first frame of each shot.

    Args:
        threshold: half the L1 distance between consecutive 32-bin luma histograms, in [0, 1]; a
            cut is declared above it (default 0.35: fades and motion stay below, hard cuts exceed it).
        max_shot_frames: declare a new shot at least this often (default 250 = 10 s at 25 fps), so a
            slow change of lens or focus is followed.
        thumb: thumbnail size (width, height) the histogram is computed on (default 64×36).
    """
    threshold: float = 0.35
    max_shot_frames: int = 250
    thumb: tuple[int, int] = (64, 36)

    def __post_init__(self):
        self._previous: np.ndarray | None = None
        self._since_cut = 0

    def histogram(self, frame) -> np.ndarray:
        """Normalised 32-bin histogram of the frame's luma thumbnail (an ``av.VideoFrame``)."""
        luma = frame.to_ndarray(format="gray", width=self.thumb[0], height=self.thumb[1])
        counts = np.bincount(luma.ravel() >> 3, minlength=32).astype(np.float64)
        return counts / counts.sum()

    def is_cut(self, frame) -> bool:
        """True for the first frame, after a hard cut, and every ``max_shot_frames`` frames."""
        hist = self.histogram(frame)
        distance = 1.0 if self._previous is None else 0.5 * np.abs(hist - self._previous).sum()
        self._previous = hist
        self._since_cut += 1
        if distance > self.threshold or self._since_cut >= self.max_shot_frames:
            self._since_cut = 0
            return True
        return False


@dataclass
class VideoResult:
    """What ``upscale_video`` did: frames written, shots (IKC estimates) and output size.

    Attributes:
        corrupt_packets: damage found in the input, each also warned about (see the module
            docstring): packets the decoder rejected (skipped), packets FFmpeg logged an error
            about or decoded with concealed errors, frames lost silently, a demuxer read error.
        expected_frames: frames the input declares (``stream.frames``, else duration × frame rate);
            None when it declares no length. ``frames`` may be up to ``TRUNCATION_TOLERANCE`` lower
            on an intact file.
        guard_events: shots a guard acted on (kernel estimate or frame output; one warning each).
    """
    frames: int
    shots: int
    width: int
    height: int
    audio_packets: int
    corrupt_packets: int = 0
    expected_frames: int | None = None
    guard_events: int = 0


def check_paths(source: Path, target: Path, codec: str) -> None:
    """Refuse to overwrite the input and reject codec/container pairs that cannot work."""
    if not source.is_file():
        raise FileNotFoundError(f"video not found: {source}")
    if target.resolve() == source.resolve() or (target.exists() and target.samefile(source)):
        raise ValueError(f"output {target} is the input file; srkit never overwrites its input")
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; choose one of {sorted(CODECS)}")
    suffix = target.suffix.lower()
    if suffix not in CODECS[codec][2]:
        raise ValueError(f"{target}: codec {codec} cannot be written to a {suffix or 'suffix-less'} "
                         f"file; use one of {', '.join(CODECS[codec][2])}")


def open_input(path: Path):
    """Open a video with PyAV; errors name the file."""
    import av
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as error:
        raise ValueError(f"cannot read video {path}: {error}") from error
    if not container.streams.video:
        container.close()
        raise ValueError(f"{path} has no video stream")
    return container


def colorspace_for(height: int, tagged: int | None = None) -> str:
    """YUV↔RGB matrix: the stream's tag when known (1 = BT.709, 5/6 = BT.601), else the convention
    players follow — BT.709 from 720 lines up, BT.601 below."""
    if tagged == 1:
        return "ITU709"
    if tagged in (5, 6):
        return "ITU601"
    return "ITU709" if height >= 720 else "ITU601"


def add_video_stream(container, source_stream, codec: str, width: int, height: int, crf: int,
                     preset: str):
    """Output stream at the source frame rate and time base, tagged with the colour matrix used."""
    encoder, pix_fmt, _ = CODECS[codec]
    rate = source_stream.average_rate or source_stream.guessed_rate or 25
    stream = container.add_stream(encoder, rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    # Same time base as the source, so every frame keeps its exact timestamp (VFR stays VFR).
    stream.time_base = source_stream.time_base
    stream.codec_context.time_base = source_stream.time_base
    if codec == "h264":
        stream.options = {"crf": str(crf), "preset": preset}
        matrix = 1 if colorspace_for(height) == "ITU709" else 6
        stream.codec_context.colorspace = matrix
        stream.codec_context.color_primaries = matrix
        stream.codec_context.color_trc = matrix
        stream.codec_context.color_range = 1  # limited ("tv") range, what swscale produces
    return stream


def even_crop(image: np.ndarray, codec: str) -> np.ndarray:
    """yuv420p needs even sizes: drop a last odd row/column (only ×3 of odd inputs hits this)."""
    if CODECS[codec][1] != "yuv420p":
        return image
    height, width = image.shape[:2]
    return np.ascontiguousarray(image[: height - height % 2, : width - width % 2])


def output_size(width: int, height: int, scale: int, codec: str) -> tuple[int, int]:
    """Encoded width, height after ×scale (and ``even_crop``)."""
    width, height = width * scale, height * scale
    if CODECS[codec][1] == "yuv420p":
        width, height = width - width % 2, height - height % 2
    return width, height


def upscale_video(source: str | Path, target: str | Path, model, *, scale: int | None = None,
                  steps: int = 7, tile: int | None = None, overlap: int = 16, device=None,
                  half: bool = False, compile: bool = False, codec: str = "h264", crf: int = 18,
                  preset: str = "medium", shots: ShotDetector | None = None, progress: bool = True,
                  on_frame: Callable[[int], None] | None = None,
                  allow_partial: bool = False) -> VideoResult:
    """Upscale a video file with a srkit model.

    Args:
        source: input video (any container/codec FFmpeg decodes).
        target: output path; .mp4/.mkv/.mov for h264, .mkv/.avi/.nut for ffv1. Must not be ``source``.
        model: Pipeline, generator, callable (LR → SR) or name/path for ``srkit.load``.
        scale: expected factor (checked against the model; required for a plain callable).
        steps: IKC correction steps per shot (default 7).
        tile: LR tile size; None picks one from the frame size and device, 0 = whole frames.
        overlap: LR context margin per tile side (default 16).
        device, half, compile: as in ``srkit.upscale``.
        codec: "h264" (libx264, yuv420p) or "ffv1" (lossless RGB). Default "h264".
        crf: x264 constant rate factor 0–51 (default 18, visually transparent).
        preset: x264 speed preset (default "medium").
        shots: cut detector (default ``ShotDetector()``).
        progress: show a tqdm bar with frames/s and ETA (default True).
        on_frame: called with the index of each frame after it is encoded (hooks, tests).
        allow_partial: write the decoded frames of a truncated input (with a warning) instead of
            raising ``PartialVideoError`` (default False).

    Returns:
        A ``VideoResult`` with frames, shots, output size, copied audio packets, the damage found
        (``corrupt_packets``), the declared length (``expected_frames``) and ``guard_events``.

    Raises:
        PartialVideoError: the input is truncated (see the module docstring) and ``allow_partial``
            is False; nothing is left under ``target``.
        ValueError: unreadable input, no decodable frame, bad paths or options.
    """
    source, target = Path(source), Path(target)
    check_paths(source, target, codec)
    runner = ModelRunner.wrap(model, steps=steps, device=device, half=half, compile=compile,
                              scale=scale)
    runner.check_scale(scale)
    with open_input(source) as src, atomic_path(target) as temporary:
        result = _transcode(src, source.name, temporary, target, runner, tile, overlap, half, codec,
                            crf, preset, shots or ShotDetector(), progress, on_frame, allow_partial)
    return result


def _transcode(src, source_name: str, temporary: Path, target: Path, runner: ModelRunner, tile,
               overlap, half, codec, crf, preset, shots: ShotDetector, progress: bool, on_frame,
               allow_partial: bool) -> VideoResult:
    """Demux, upscale video frames, copy audio packets, mux into ``temporary``."""
    import av
    from tqdm import tqdm
    video_in = src.streams.video[0]
    # Slice threads only: a frame-threaded decoder reports a bad packet's error (and logs it) a few
    # packets late, so the warning would name the wrong time. Decoding stays far faster than the
    # model either way.
    video_in.thread_type = "SLICE"
    audio_in = list(src.streams.audio)
    width, height = output_size(video_in.width, video_in.height, runner.scale, codec)
    tile = auto_tile(video_in.height, video_in.width, runner.device) if tile is None else tile
    frames = shot_count = audio_packets = guard_events = 0
    code, shot = None, None
    with av.open(str(temporary), "w", format=MUXERS.get(target.suffix.lower())) as dst, \
            _Damage(source_name, src, video_in) as damage:
        video_out = add_video_stream(dst, video_in, codec, width, height, crf, preset)
        audio_out = {s.index: dst.add_stream_from_template(s) for s in audio_in}
        bar = tqdm(total=damage.expected or None, unit="frame", desc=target.name,
                   disable=not progress)
        with bar:
            for packet in _demux(src, [video_in, *audio_in], damage):
                if packet.stream.type == "audio":
                    if packet.dts is None:  # demuxer flush packet: nothing to copy
                        continue
                    if not damage.audio(packet):
                        continue
                    packet.stream = audio_out[packet.stream.index]
                    dst.mux(packet)
                    audio_packets += 1
                    continue
                for frame in damage.decode(packet):
                    lr = _frame_to_tensor(frame, video_in.width, video_in.height)
                    if shots.is_cut(frame):
                        guard_events += shot.report() if shot is not None else 0
                        shot_count += 1
                        shot = _Shot(f"{source_name} shot {shot_count} (frame {frames})")
                        estimate = runner.estimate(lr, shot.name, emit=False)
                        code, shot.estimate_message = estimate.code, estimate.messages[0]
                    tile_fn = runner.tile_fn(code)
                    sr = tiled_upscale(lr, tile_fn, runner.scale, tile=tile,
                                       overlap=overlap, device=runner.device, half=half,
                                       channels_last=runner.channels_last)
                    shot.add(check_output(sr, lr, runner.scale, shot.name,
                                          [tile_fn.message(shot.name)], emit=False)[0])
                    out_frame = _tensor_to_frame(sr, codec, height)
                    out_frame.pts = _source_pts(frame, frames, video_in)
                    out_frame.time_base = video_in.time_base
                    dst.mux(video_out.encode(out_frame))
                    if on_frame is not None:
                        on_frame(frames)
                    frames += 1
                    bar.update(1)
            guard_events += shot.report() if shot is not None else 0
            damage.finish(allow_partial)  # raises PartialVideoError: the temporary file goes
            dst.mux(video_out.encode(None))  # flush the encoder's delayed frames
    return VideoResult(frames, shot_count, width, height, audio_packets,
                       corrupt_packets=damage.corrupt, expected_frames=damage.expected,
                       guard_events=guard_events)


class _Shot:
    """The guards' findings for one shot, reported as one warning line when the shot ends."""

    def __init__(self, name: str):
        self.name, self.estimate_message = name, ""
        self.frames, self.fixed, self.first = 0, 0, ""

    def add(self, line: str) -> None:
        """Record one frame's output check (``srkit.guard.check_output``; "" when clean)."""
        self.frames += 1
        if line:
            self.fixed += 1
            self.first = self.first or line.split(": ", 1)[1]

    def report(self) -> int:
        """Warn once for the shot if a guard acted; returns 1 if one did (a guard event), else 0."""
        frames = (f"{self.name}: in {self.fixed} of {self.frames} frames, {self.first}"
                  if self.fixed else "")
        line = join_messages(self.estimate_message, frames)
        warn([line])
        return int(bool(line))


def _demux(src, streams, damage: "_Damage"):
    """``src.demux(*streams)``, except that a read error ends the input where it happened (ffmpeg
    treats it as the end of the file) instead of ending the job; the video decoder is then flushed
    with an empty packet, as the demuxer's own end does."""
    import av
    packets = src.demux(*streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as error:
            damage.read_error(error)
            flush = av.Packet()
            flush.stream = streams[0]
            yield flush
            return
        damage.packet(packet)
        yield packet


class _Damage:
    """What the input lost: its warnings, ``VideoResult.corrupt_packets``, the truncation verdict.

    Use it as a context manager around the demux/decode loop (it captures FFmpeg's error log
    there), pass it every demuxed packet (``packet``), decode video through it (``decode``), copy
    an audio packet only when ``audio`` allows, then call ``finish``. Each damaged packet gets one
    warning and counts once. Times in messages are seconds from the start of the file.

    FFmpeg's log is process-wide: while a job runs, PyAV's log level is at least ERROR (it is None,
    silent, by default) and every thread's FFmpeg messages pass through here; those the caller
    asked for with ``av.logging.set_level`` are handed on to Python logging as PyAV would, but two
    jobs running at once in one process may see each other's errors.
    """

    # A frame comes out at most this many packets after its own (reordering delay is at most 16
    # for H.264/HEVC); a packet whose timestamp no frame has taken by then produced no frame.
    REORDER_WINDOW = 64
    GAP_LIST = 100  # gaps kept for the message (all are counted)

    def __init__(self, name: str, container, stream):
        self.name, self.time_base = name, stream.time_base
        self.rate = float(stream.average_rate or stream.guessed_rate or 25)
        self.origin = container.start_time / 1e6 if container.start_time is not None else 0.0
        self.span = declared_span(container, stream)
        self.declares_length = bool(DECLARING_DEMUXERS & set(container.format.name.split(",")))
        self.exact_count = bool(stream.frames)  # a frame index (MP4/MOV, AVI), not an estimate
        self.expected = stream.frames or None
        if self.expected is None and self.span is not None:
            self.expected = round((self.span[1] - self.span[0]) * self.rate)
        # FFmpeg log contexts that speak about the input (not the encoder or the output muxer).
        self.sources = {container.format.name, stream.codec_context.name}
        self.corrupt = self.rejected = self.decoded = 0
        self.frames_lost = 0       # frames known lost: rejected, dropped or silent packets
        self.frames_skipped = 0    # frames no damage: empty (VFR padding) or discarded packets
        self.read_end: float | None = None  # furthest packet end read, any stream (seconds)
        self.pending: dict[int, int] = {}   # pts → index of video packets awaiting their frame
        self.packets = 0
        self.last_pts: int | None = None    # of the last frame passed on
        self.last_audio_dts: dict[int, int] = {}
        # Spacing of the frames passed on, in frame steps: how many are about one step (a CFR
        # stream: nearly all), and where the longer ones are (the first GAP_LIST of them).
        self.steps = self.regular_steps = 0
        self.gaps: list[tuple[float, int]] = []  # (time before the gap, frames missing)
        self.last_time: float | None = None
        self._logs: list = []

    def __enter__(self) -> "_Damage":
        import av.logging
        self._level = av.logging.get_level()
        if self._level is None or self._level < av.logging.ERROR:
            av.logging.set_level(av.logging.ERROR)
        self._capture = av.logging.Capture(local=False)  # decoder slice threads log too
        self._logs = self._capture.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        import av.logging
        self._ffmpeg_errors()  # hands on what the caller asked for
        self._capture.__exit__(*exc)
        if self._level != av.logging.get_level():
            av.logging.set_level(self._level)

    def _ffmpeg_errors(self) -> list[str]:
        """FFmpeg's error messages about the input since the last call ("demuxer: message")."""
        import logging
        import av.logging
        count = len(self._logs)  # slice threads may append meanwhile: keep what comes after
        logs = self._logs[:count]
        del self._logs[:count]
        errors = []
        for level, name, message in logs:
            if level <= av.logging.ERROR and name in self.sources:
                errors.append(f"{name}: {message.strip()}")
            if self._level is not None and level <= self._level:
                logger = logging.getLogger(f"libav.{name}" if name else "libav.generic")
                logger.log(av.logging.adapt_level(level), message.strip())
        return errors

    def _position(self, seconds: float | None) -> str:
        return "an unknown time" if seconds is None else f"{seconds - self.origin:.2f} s"

    def _time(self, pts: int | None) -> float | None:
        return None if pts is None else float(pts * self.time_base)

    def _damaged(self, message: str, frames_lost: int = 0) -> None:
        self.corrupt += 1
        self.frames_lost += frames_lost
        warnings.warn(f"{self.name}: {message}", UserWarning)

    def packet(self, packet) -> None:
        """Note how far into the file the demuxer got (any stream: a cut file stops all of them)."""
        start = packet.pts if packet.pts is not None else packet.dts
        if start is None or packet.time_base is None:
            return
        end = float((start + (packet.duration or 0)) * packet.time_base)
        if packet.stream.type == "video" and not packet.duration:
            end += 1 / self.rate
        self.read_end = end if self.read_end is None else max(self.read_end, end)

    def decode(self, packet) -> list:
        """``packet.decode()`` without the frames that cannot be used; warns once if the packet
        was damaged: rejected by the decoder (skipped, as ffmpeg does), flagged corrupt by the
        demuxer, decoded with concealed errors, or the subject of an FFmpeg error message. A packet
        that silently yields no frame is warned about once it is clear that none will come."""
        import av
        seconds = self._time(packet.pts if packet.pts is not None else packet.dts)
        if seconds is None:  # the final flush (or a rare untimed packet): as far as reading got
            seconds = self.read_end
        at = self._position(seconds)
        flush = packet.size == 0 and packet.pts is None and packet.dts is None
        if not flush:
            self.packets += 1
            if packet.size == 0 or packet.is_discard:
                # Empty: a frame the encoder dropped on purpose (AVI's VFR padding). Discard: before
                # an edit list's start. Neither gives a frame, and neither is damage.
                self.frames_skipped += 1
            elif packet.pts is not None:
                self.pending[packet.pts] = self.packets
        try:
            frames = packet.decode()
        except av.error.FFmpegError as error:
            self._ffmpeg_errors()  # the exception already carries the last one
            self.rejected += 1
            self.pending.pop(packet.pts, None)
            self._damaged(f"skipped an undecodable packet at {at} ({error})", frames_lost=1)
            return []
        kept, concealed = [], 0
        for frame in frames:
            self.pending.pop(frame.pts, None)
            if frame.pts is not None and self.last_pts is not None and frame.pts <= self.last_pts:
                # After damage a decoder can release a delayed frame behind later ones (so can
                # H.264 with B-frames in AVI, whose pts are decode-order counters); the encoder and
                # muxer need rising timestamps, so it goes (as ffmpeg's VFR mode drops it).
                after = self._position(self._time(self.last_pts))
                self._damaged(f"dropped the frame at {self._position(frame.time)}, which the "
                              f"decoder released after the one at {after} (damaged data or broken "
                              f"timestamps)", frames_lost=1)
                continue
            kept.append(frame)
            concealed += bool(frame.is_corrupt)
            self.last_pts = frame.pts if frame.pts is not None else self.last_pts
            self._spacing(frame.time)
        self.decoded += len(kept)
        errors = self._ffmpeg_errors()
        if errors or concealed or packet.is_corrupt:
            why = errors[0] if errors else "the demuxer flagged the packet as corrupt" \
                if packet.is_corrupt else "the decoder concealed errors in the frame"
            self._damaged(f"damaged data at {at} ({why}); kept what FFmpeg could decode"
                          + (f", {concealed} frame(s) with concealed errors" if concealed else ""))
        self._silent_losses(None if flush else self.packets - self.REORDER_WINDOW)
        return kept

    def _spacing(self, seconds: float | None) -> None:
        if seconds is None:
            return
        if self.last_time is not None:
            steps = (seconds - self.last_time) * self.rate
            self.steps += 1
            self.regular_steps += 0.5 < steps < 1.5
            if steps >= 1.5 and len(self.gaps) < self.GAP_LIST:
                self.gaps.append((self.last_time, round(steps) - 1))
        self.last_time = seconds

    def _silent_losses(self, before: int | None) -> None:
        """Warn about the video packets (before packet number ``before``; None: all) that never
        gave a frame, though neither the decoder nor the demuxer said anything."""
        for pts, index in list(self.pending.items()):
            if before is None or index < before:
                del self.pending[pts]
                self._damaged(f"the packet at {self._position(self._time(pts))} gave no frame and "
                              f"no error (FFmpeg dropped damaged data silently)", frames_lost=1)

    def audio(self, packet) -> bool:
        """Whether an audio packet can be copied: the muxer needs rising timestamps per stream, and
        a damaged file can repeat or reverse them; such a packet is skipped with a warning. FFmpeg
        errors while reading it (the demuxer resyncing past damage) are warned about too."""
        seconds = float(packet.dts * packet.time_base)
        errors = self._ffmpeg_errors()
        if errors or packet.is_corrupt:
            why = errors[0] if errors else "the demuxer flagged an audio packet as corrupt"
            self._damaged(f"damaged data at {self._position(seconds)} ({why})")
        last = self.last_audio_dts.get(packet.stream.index)
        if last is not None and packet.dts <= last:
            self._damaged(f"skipped an audio packet at {self._position(seconds)} whose timestamp "
                          f"does not follow the previous one's (damaged data)")
            return False
        self.last_audio_dts[packet.stream.index] = packet.dts
        return True

    def read_error(self, error) -> None:
        self._ffmpeg_errors()
        self._damaged(f"stopped reading at {self._position(self.read_end)}: the demuxer failed "
                      f"({error}); treating that as the end of the file")

    def truncated(self) -> bool:
        """Whether the demuxer stopped more than ``TRUNCATION_TOLERANCE`` frames before the end
        the container declares."""
        if not self.declares_length or self.span is None or self.read_end is None:
            return False
        return self.span[1] - self.read_end > TRUNCATION_TOLERANCE / self.rate + 1e-3

    def _unaccounted(self) -> None:
        """One warning for the declared frames that were neither decoded nor warned about: lost
        where nothing saw them (an AVI chunk or a Matroska cluster the demuxer skipped silently).

        Where the container indexes its frames (MP4/MOV, AVI) every one is accounted for. Where the
        count is only duration × rate (Matroska, MPEG-TS, …) a variable-frame-rate stream falls
        short by design, so there the shortfall must pass ``TRUNCATION_TOLERANCE`` and the frames
        must otherwise be evenly spaced (90 % of them one frame step apart, as in a CFR stream).
        """
        if self.expected is None:
            return
        missing = self.expected - self.decoded - self.frames_lost - self.frames_skipped
        if self.exact_count:
            if missing <= 0:
                return
        elif missing <= TRUNCATION_TOLERANCE or self.regular_steps < 0.9 * self.steps:
            return
        where = [f"{count} after {self._position(before)}" for before, count in self.gaps[:5]]
        tail = 0
        if self.span is not None and self.last_time is not None:
            tail = round((self.span[1] - self.last_time) * self.rate) - 1
        if tail > 0 and not where:  # no gap shows where (AVI numbers its frames by position)
            why = f"the file ends {tail} frame{'s' * (tail != 1)} early, or the demuxer skipped " \
                  f"damaged data"
        else:
            where += [f"{tail} at the end"] if tail > 0 else []
            why = "damaged data the demuxer skipped" + (f": {', '.join(where)}" if where else "")
        self._damaged(f"decoded {self.decoded} of {self.expected} frames; {missing} "
                      f"{'is' if missing == 1 else 'are'} missing without any error ({why})",
                      frames_lost=missing)

    def finish(self, allow_partial: bool) -> None:
        """Account for every declared frame, then judge truncation (raise, or warn under
        ``allow_partial``)."""
        self._silent_losses(None)
        if self.decoded == 0:
            raise ValueError(f"{self.name}: no frame could be decoded "
                             f"({self.rejected} packets were rejected by the decoder)")
        if not self.truncated():
            self._unaccounted()
            return
        counts = f"{self.name}: decoded {self.decoded} of {self.expected} frames"
        ends = f"{self._position(self.read_end)} of {self._position(self.span[1])}"
        if not allow_partial:
            raise PartialVideoError(
                f"{counts}; the file looks truncated (reading stopped at {ends}; pass "
                f"allow_partial=True / --allow-partial to keep the {self.decoded} frames)",
                self.decoded, self.expected)
        warnings.warn(f"{counts}; wrote a partial output (reading stopped at {ends})", UserWarning)


def declared_span(container, stream) -> tuple[float, float] | None:
    """(start, end) in seconds of the video stream, as the file declares it; None when it does not.

    The stream's own duration first (MP4/MOV, AVI, and FFmpeg's estimate for MPEG-TS), then the
    per-track DURATION tag that FFmpeg and mkvmerge write into Matroska, then the container's
    duration (which also covers the audio, so it can be longer than the video by its tail).
    """
    start = None if stream.start_time is None else float(stream.start_time * stream.time_base)
    if stream.duration:
        start = start or 0.0
        return start, start + float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    seconds = _parse_duration(tag) if tag else None
    if seconds:
        start = start or 0.0
        return start, start + seconds
    if container.duration:
        begin = container.start_time / 1e6 if container.start_time is not None else (start or 0.0)
        return begin, begin + container.duration / 1e6
    return None


def _parse_duration(tag: str) -> float | None:
    """Seconds of a Matroska "HH:MM:SS.nnnnnnnnn" tag (None if malformed)."""
    try:
        hours, minutes, seconds = tag.strip().split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def _frame_to_tensor(frame, width: int | None = None, height: int | None = None) -> torch.Tensor:
    """av.VideoFrame → 1×3×H×W uint8 tensor (a channels-last view of the RGB buffer), scaled to
    ``width``×``height`` when given and different: a damaged (or spliced) stream can switch frame
    size mid-way, and the encoder was opened for the stream's size (ffmpeg scales the same way)."""
    rgb = frame.to_ndarray(format="rgb24", width=width or frame.width,
                           height=height or frame.height,
                           src_colorspace=colorspace_for(frame.height, frame.colorspace))
    return torch.from_numpy(rgb).permute(2, 0, 1)[None]


def _tensor_to_frame(sr: torch.Tensor, codec: str, height: int):
    """1×3×H×W uint8 (channels-last) → av.VideoFrame in the encoder's pixel format."""
    import av
    rgb = even_crop(sr[0].permute(1, 2, 0).numpy(), codec)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    if CODECS[codec][1] == "yuv420p":
        frame = frame.reformat(format="yuv420p", dst_colorspace=colorspace_for(height))
    return frame


def _source_pts(frame, index: int, stream) -> int:
    """The source frame's timestamp (in the stream's time base); for the rare demuxers that give
    none, the index-th tick of the stream's frame rate."""
    if frame.pts is not None:
        return frame.pts
    rate = stream.average_rate or stream.guessed_rate or 25
    return round(index / (rate * stream.time_base))


def is_video(path: str | Path) -> bool:
    """Whether a path looks like a video file (by suffix)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def temporary_files(target: str | Path) -> list[Path]:
    """Leftover temporary files of ``target`` (``.NAME.*.part.EXT``); empty after any run."""
    target = Path(target)
    return sorted(target.parent.glob(f".{target.name}.*.part{target.suffix}"))

