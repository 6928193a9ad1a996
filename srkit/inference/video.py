"""Upscale video files frame by frame, keeping timing, picture geometry, colour and every other
stream, never damaging the input.

* Reading: anything PyAV/FFmpeg decodes. ``inspect_video`` reads what the stream declares (field
  order, SAR, colour matrix/primaries/transfer/range, bit depth, rotation, timecode, streams,
  chapters) and what the pictures show (FFmpeg's ``idet`` and the damage measures on
  ``IDET_FRAMES`` pictures with content, in stretches across a long video: its first seconds are
  often black, bars or a slate).
  ``plan_video`` turns that and the options into what the job will do (``VideoPlan``): the same
  table ``srkit probe`` prints.
* Pictures before the model (one FFmpeg filter graph per job): interlaced input is deinterlaced
  with ``bwdif`` (``deinterlace``: "auto", "off", "frame" keeps the frame rate, "field" doubles
  it); BT.601 colour is converted to BT.709 (matrix and primaries; the BT.601/709 camera curve,
  whatever BT.470 gamma it is tagged with, is kept) with the ``colorspace`` filter when the output
  is HD (height >= 720) unless ``keep_colour`` (``srkit.inference.colour``). Frames reach the model as RGB: uint8 for 8-bit input
  with nothing converted, else float from 16-bit RGB (10-bit input is never rounded to 8 bits).
* Pictures after the model: ``square_pixels`` resamples to square pixels, ``fit=(W, H)`` scales
  and pads to a delivery raster (``scale`` + ``pad``); otherwise the SAR is kept, so the display
  aspect is the input's. On 720-sample SD with an analogue SAR (ITU-R BT.601: 12:11 / 16:11 at
  625 lines, 10:11 / 40:33 at 525) the 704 active samples carry the display aspect and the 8 + 8
  samples beside them are cut when resampling; with the "digital" SARs (16:15, 64:45, 8:9, 32:27)
  all 720 carry it.
* Writing (``CODECS``): H.264 and HEVC (crf), ProRes 422 HQ and DNxHR HQX (10-bit 4:2:2, .mov /
  .mxf), FFV1 lossless RGB or 10-bit 4:2:2. ``available_codecs`` says which encoders this FFmpeg
  has. The output keeps the source timestamps (field mode: twice the rate), is tagged with the
  colour it holds, its SAR, its field order (progressive only when it is), rotation and start
  timecode. Every audio and subtitle stream is copied packet for packet with its language and
  title (text subtitles the container cannot hold, SRT in MOV/MP4, re-encoded as mov_text), and
  so are chapters and container metadata; what the output container cannot hold is named in one
  warning line.
* Kernel: the IKC loop runs once per shot (a cut detector on luma histograms of small thumbnails,
  plus a refresh every ``max_shot_frames``); frames of a shot reuse the code, so the IKC cost is paid
  per shot, not per frame.
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
    decoder releases out of order after damage, an audio or subtitle packet whose timestamp goes
    backwards (the last two are dropped: the muxer needs rising timestamps);
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
* Guards (``srkit.inference.guard``): the kernel estimate of each shot and the output of each frame are
  checked as for images; one warning line per shot, "clip.mp4 shot 3 (frame 120): …", says what was
  done and in how many of its frames; ``VideoResult.guard_events`` counts the shots it acted on.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

from srkit.imageio import atomic_path, sws_exact
# the colour tables are part of this module's interface (``srkit probe`` and tests read them here)
from srkit.inference.colour import (BT601_MATRICES, HD_HEIGHT, MATRICES, PRIMARIES,  # noqa: F401
                                    RANGES, SWS_MATRICES, TRANSFERS, colour_chain, colour_defaults,
                                    plan_colour)

if TYPE_CHECKING:
    from srkit.inference.damage import Damage
from srkit.inference.guard import check_output, join_messages, warn
from srkit.inference.tiling import auto_tile, tiled_upscale
from srkit.inference.runner import ModelRunner

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".mts",
                  ".m2ts", ".mxf", ".nut", ".flv", ".wmv", ".y4m", ".dv", ".vob", ".ogv")
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi",
          ".nut": "nut", ".mxf": "mxf"}
# Text subtitle codecs (FFmpeg names), in the order srkit converts to when the output container
# cannot hold a text subtitle as it is: MOV/MP4 take only mov_text.
TEXT_SUBTITLES = ("mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text")
# Muxers that store chapters (FFmpeg drops them silently elsewhere).
CHAPTER_MUXERS = frozenset({"mp4", "mov", "matroska", "nut"})


@dataclass(frozen=True)
class Codec:
    """An output codec of ``upscale_video``.

    Attributes:
        encoder: FFmpeg encoder name.
        pix_fmt: pixel format for 8-bit input.
        deep_pix_fmt: pixel format for input of more than 8 bits (the same for 10-bit codecs).
        containers: file suffixes that can hold it (the first is the default).
        options: encoder options always set (profile, …).
        description: one line for ``--codec help`` and ``srkit probe``.
    """
    encoder: str
    pix_fmt: str
    deep_pix_fmt: str
    containers: tuple[str, ...]
    options: tuple[tuple[str, str], ...] = ()
    description: str = ""

    def pixel_format(self, source_bits: int) -> str:
        """The pixel format written for a source of ``source_bits`` bits per sample."""
        return self.deep_pix_fmt if source_bits > 8 else self.pix_fmt


CODECS = {
    "h264": Codec("libx264", "yuv420p", "yuv420p10le", (".mp4", ".m4v", ".mov", ".mkv"),
                  description="H.264 4:2:0, 8-bit (10-bit for deeper input), --crf"),
    "hevc": Codec("libx265", "yuv420p10le", "yuv420p10le", (".mp4", ".mov", ".mkv"),
                  (("x265-params", "log-level=error"),),
                  description="HEVC Main 10, 4:2:0 10-bit, --crf"),
    "prores": Codec("prores_ks", "yuv422p10le", "yuv422p10le", (".mov",),
                    (("profile", "3"), ("vendor", "apl0")),
                    description="ProRes 422 HQ (prores_ks profile 3), 4:2:2 10-bit"),
    "dnxhr": Codec("dnxhd", "yuv422p10le", "yuv422p10le", (".mov", ".mxf"),
                   (("profile", "dnxhr_hqx"),),
                   description="DNxHR HQX, 4:2:2 10-bit (frames of at least 256x120)"),
    # 8-bit RGB is lossless to the model output; 10-bit RGB for deeper input.
    "ffv1": Codec("ffv1", "bgr0", "gbrp10le", (".mkv", ".avi", ".nut"),
                  description="FFV1 lossless RGB of the model output (8-bit; 10-bit for deeper "
                              "input)"),
    "ffv1-422": Codec("ffv1", "yuv422p10le", "yuv422p10le", (".mkv", ".nut"),
                      (("level", "3"), ("slicecrc", "1")),
                      description="FFV1 version 3, 4:2:2 10-bit with slice CRCs (archive master)"),
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

# --- interlace ------------------------------------------------------------------------------------
DEINTERLACE_MODES = ("auto", "off", "frame", "field", "ivtc")
# 3:2 pulldown (24 fps film in 30000/1001 or 30 fps interlaced video) repeats a field in 2 of every 5
# frames: idet counted a repeated field on 20 of 50 frames of a telecined clip and on 0 of 50 of a
# woven 576i clip (``srkit.data.archive_clip``; tests/test_video_ivtc.py). Above this share of at
# least PULLDOWN_MIN_FRAMES judged frames, ``auto`` undoes the pulldown instead of deinterlacing.
PULLDOWN_SHARE = 0.25
PULLDOWN_MIN_FRAMES = 10
PULLDOWN_RATES = (Fraction(30000, 1001), Fraction(30))
IDET_FRAMES = 50  # frames idet looks at: two seconds at 25 fps, a few ms of decoding for SD
# Broadcast interlace exists from 480 lines up (480i, 486i, 576i, 1080i); idet's thresholds misfire
# on small pictures (noise, synthetic gradients read as combing), so pictures below this many lines
# are judged by the stream's flag alone.
IDET_MIN_HEIGHT = 288
DAMAGE_FRAMES = 5  # frames of those whose noise and blocking are measured (--weights auto, probe)
# A video of at least this many frames is looked at in SPREAD_STRETCHES stretches across its length
# (``stretch_starts``), not at its start: leaders of black, bars and slates are not the programme.
SPREAD_MIN_FRAMES = 100
SPREAD_STRETCHES = 5
BLANK_RUN = 4  # a stretch decodes at most this many times its share of frames looking for content
STILL_DIFF = 0.5  # mean luma change (8-bit levels, 64×36 thumbnail) below which a picture is still
# AVFieldOrder → the field displayed first, which is what deinterlacing needs: 2 TT (top coded
# and displayed first), 3 BB, 4 TB (top coded first, bottom displayed first), 5 BT.
FIELD_ORDERS = {1: "progressive", 2: "tff", 3: "bff", 4: "bff", 5: "tff"}

# bwdif (and the fieldmatch chain of ivtc) refuse planes under 3 samples wide or 4 lines high:
# measured, a 4:2:0 picture needs 5×7 (4×8 and 8×6 fail to configure)
BWDIF_MIN = (3, 4)
DNXHR_MIN = (256, 120)  # the smallest frame FFmpeg's DNxHR profiles open for
# Encoders that code woven frames as two fields when asked (AV_CODEC_FLAG_INTERLACED_DCT).
INTERLACED_ENCODERS = frozenset({"libx264", "prores_ks"})  # DNxHR profiles cannot

# --- geometry -------------------------------------------------------------------------------------
# ITU-R BT.601 "analogue" SARs: the 52 µs active line is 702 samples at 13.5 MHz, taken as 704
# (MPEG's convention), and those 704 carry 4:3 or 16:9; a 720-sample line is slightly wider.
ANALOGUE_SARS = {Fraction(12, 11), Fraction(16, 11), Fraction(10, 11), Fraction(40, 33)}
SD_WIDTH, ACTIVE_WIDTH = 720, 704
# Matroska, MXF, AVI and NUT write the SAR from the stream (AVStream), which PyAV leaves unset
# (MOV/MP4 take it from the codec parameters); they keep it only when the encoder writes it into
# the bitstream the demuxer reads back (H.264/HEVC VUI).
STREAM_SAR_MUXERS = frozenset({"matroska", "mxf", "avi", "nut"})
BITSTREAM_SAR_ENCODERS = frozenset({"libx264", "libx265"})


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
        frames: frames written (twice the decoded frames with ``deinterlace="field"``).
        corrupt_packets: damage found in the input, each also warned about (see the module
            docstring): packets the decoder rejected (skipped), packets FFmpeg logged an error
            about or decoded with concealed errors, frames lost silently, a demuxer read error.
        expected_frames: frames the input declares (``stream.frames``, else duration × frame rate);
            None when it declares no length. ``frames`` may be up to ``TRUNCATION_TOLERANCE`` lower
            on an intact file.
        guard_events: shots a guard acted on (kernel estimate or frame output; one warning each).
        plan: what was decided (deinterlacing, geometry, colour, codec, streams).
        copied_packets: packets copied per source stream index (audio, subtitles).
    """
    frames: int
    shots: int
    width: int
    height: int
    audio_packets: int
    corrupt_packets: int = 0
    expected_frames: int | None = None
    guard_events: int = 0
    plan: "VideoPlan | None" = None
    copied_packets: dict[int, int] = field(default_factory=dict)


# --- what the input is ----------------------------------------------------------------------------

@dataclass
class StreamInfo:
    """One stream of the input: index, type (video/audio/subtitle/data/attachment), codec, and
    the language and title tags (None when absent)."""
    index: int
    type: str
    codec: str
    language: str | None = None
    title: str | None = None
    detail: str = ""


@dataclass
class SourceInfo:
    """What a video file declares and what its first pictures show (``inspect_video``).

    Attributes:
        sar: sample aspect ratio (1 when the file declares none: FFmpeg's "unknown = square").
        field_order: the stream's flag: "progressive", "tff", "bff" or "unknown".
        idet: FFmpeg ``idet`` multi-frame counts on the pictures looked at (``stretch_starts``:
            across a long video, else its first frames; blank and still pictures skipped): keys "tff",
            "bff", "progressive", "undetermined", "frames" (frames judged) and "repeated" (frames
            one of whose fields repeats the previous frame's: 3:2 pulldown, ``pulldown``); empty
            when the pictures are too small to judge (``IDET_MIN_HEIGHT``), or none decoded or all
            blank.
        matrix, primaries, transfer, colour_range: AVCOL_* codes (2 / 0 = unspecified).
        bits: bits per sample of the decoded pixel format.
        rotation: display rotation in degrees (counter-clockwise, as FFmpeg's display matrix).
        timecode: start timecode ("hh:mm:ss:ff"), from the stream, container or MPEG-2 GOP header.
        cuts: shot cuts among the pictures looked at, within each stretch (``ShotDetector``), a
            cheap hint.
        damage: noise σ and blockiness (``srkit.inference.damage``), the median over up to
            ``DAMAGE_FRAMES`` of those pictures measured field by field; None when none decoded
            or all were blank.
        start: start time (s) of the video stream as declared (0 when none).
        looked_at: moving pictures looked at; stretches: how many stretches they came from
            (1: the start of the video).
    """
    path: Path
    container: str
    width: int
    height: int
    sar: Fraction
    rate: Fraction
    time_base: Fraction
    codec: str
    pix_fmt: str
    bits: int
    field_order: str
    idet: dict[str, int]
    matrix: int
    primaries: int
    transfer: int
    colour_range: int
    rotation: float
    duration: float | None
    frames: int | None
    timecode: str | None
    streams: list[StreamInfo]
    chapters: int
    cuts: int = 0
    damage: Damage | None = None
    start: float = 0.0
    looked_at: int = 0
    stretches: int = 1

    @property
    def looked_where(self) -> str:
        """Where the idet, cut and damage figures come from, in words."""
        if self.stretches > 1:
            return f"{self.looked_at} moving pictures in {self.stretches} stretches across the video"
        return f"the first {self.looked_at} moving pictures"

    @property
    def dar(self) -> Fraction:
        """Display aspect ratio of the whole coded picture: width × SAR / height (1 when the size
        is unknown)."""
        return Fraction(self.width) * self.sar / self.height if self.height else Fraction(1)

    @property
    def stream_interlaced(self) -> bool:
        return self.field_order in ("tff", "bff")

    @property
    def pulldown(self) -> bool:
        """3:2 pulldown: a 30000/1001 or 30 fps interlaced video (by flag or pictures) one of whose
        fields repeats the previous frame's on at least ``PULLDOWN_SHARE`` of the frames idet judged."""
        judged = self.idet.get("frames", 0)
        interlaced = self.stream_interlaced or self.picture_order in ("tff", "bff")
        return bool(interlaced and judged >= PULLDOWN_MIN_FRAMES and self.rate in PULLDOWN_RATES
                    and self.idet.get("repeated", 0) >= PULLDOWN_SHARE * judged)

    @property
    def picture_order(self) -> str | None:
        """"tff"/"bff" when idet's verdict is interlaced, "progressive", or None (no verdict)."""
        counts = self.idet
        decided = counts.get("tff", 0) + counts.get("bff", 0) + counts.get("progressive", 0)
        if decided < 2:
            return None
        woven = counts.get("tff", 0) + counts.get("bff", 0)
        # a clear majority either way; a mixed result (cuts, titles over film) is no verdict
        if woven >= 2 * counts.get("progressive", 0) and woven >= 2:
            return "tff" if counts.get("tff", 0) >= counts.get("bff", 0) else "bff"
        if counts.get("progressive", 0) >= 2 * woven:
            return "progressive"
        return None


def require_file(path: Path, what: str = "video") -> None:
    """FileNotFoundError when ``path`` does not exist; ValueError when it is no regular file (a
    directory, a character device such as /dev/zero, a FIFO, a socket), which FFmpeg would read
    forever or block on."""
    import stat
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} not found: {path}") from None
    except OSError as error:
        raise ValueError(f"cannot read {what} {path}: {error.strerror}") from error
    if not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a character device"
                if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode) else "a FIFO (named pipe)"
                if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise ValueError(f"{path} is {kind}, not a {what} file; srkit reads {what} from regular files")


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


def _sar(value) -> Fraction | None:
    """A SAR as a Fraction; None when absent or 0/0 (FFmpeg's "unknown")."""
    try:
        return Fraction(value.numerator, value.denominator) if value and value.numerator else None
    except (AttributeError, ZeroDivisionError):
        return None


def _tag(metadata, key: str) -> str | None:
    """A metadata value by case-insensitive key (Matroska writes TIMECODE, MOV timecode)."""
    for name, value in metadata.items():
        if name.lower() == key:
            return value
    return None


def inspect_video(path: str | Path, frames: int = IDET_FRAMES) -> SourceInfo:
    """Read what ``path`` declares and run ``idet`` on its first ``frames`` frames (>= 0).

    Decodes at most ``frames`` frames (none are upscaled); damage met on the way is left to the
    job itself to report. Raises ValueError for a file that does not open or has no video.
    """
    import av
    path = Path(path)
    require_file(path)
    with open_input(path) as src:
        stream = src.streams.video[0]
        context = stream.codec_context
        still = src.format.name == "image2" or src.format.name.endswith("_pipe")
        if still and not (stream.width and stream.height) and not _decodes(src, stream):
            # FFmpeg's image demuxers "open" any file by its suffix (text named .png): a stream
            # without a picture size whose packets decode to nothing is no video (a damaged
            # video is left to the job, which counts what it rejected)
            raise ValueError(f"{path}: FFmpeg finds no picture in it (read as {src.format.name}, "
                             f"{context.name}): not a video, or damaged beyond decoding")
        pix_fmt = context.format.name if context.format is not None else "yuv420p"
        bits = max((c.bits for c in av.VideoFormat(pix_fmt).components), default=8)
        sar = _sar(stream.sample_aspect_ratio) or _sar(context.sample_aspect_ratio) or Fraction(1)
        streams = []
        for s in src.streams:
            detail = ""
            if s.type == "audio":
                detail = f"{s.codec_context.channels} ch, {s.codec_context.sample_rate} Hz"
            name = s.codec_context.name if s.codec_context is not None else "?"
            streams.append(StreamInfo(s.index, s.type, name, _tag(s.metadata, "language"),
                                      _tag(s.metadata, "title"), detail))
        timecode = _tag(stream.metadata, "timecode") or _tag(src.metadata, "timecode")
        span = declared_span(src, stream)
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        expected = stream.frames or (round((span[1] - span[0]) * float(rate)) if span else None)
        info = SourceInfo(
            path, src.format.name, stream.width, stream.height, sar, Fraction(rate),
            stream.time_base, context.name, pix_fmt, bits,
            FIELD_ORDERS.get(context.field_order, "unknown"), {}, context.colorspace,
            context.color_primaries, context.color_trc, context.color_range, 0.0,
            (span[1] - span[0]) if span else None, expected, timecode, streams,
            len(src.chapters()), start=span[0] if span else 0.0)
        _look_at_pictures(src, stream, info, frames)
    return info


def _decodes(src, stream) -> bool:
    """Whether a stream that declares no picture size gives a frame among its first packets (the
    stream is sought back to its start afterwards)."""
    import av
    try:
        for frame in src.decode(stream):
            return bool(frame.width and frame.height)
    except av.error.FFmpegError:
        return False
    finally:
        try:
            src.seek(0)
        except (av.error.FFmpegError, OSError, ValueError):
            pass
    return False


def stretch_starts(info: SourceInfo, frames: int) -> list[float]:
    """Where the pictures are looked at: seconds from the start of the video stream.

    A programme rarely starts with what it is: black, colour bars, a slate or a countdown fill its
    first seconds, and they show neither the interlace nor the damage of what follows (bars read
    as the wrong field order, black as no noise at all). So a video of at least
    ``SPREAD_MIN_FRAMES`` frames, and twice ``frames``, is looked at in ``SPREAD_STRETCHES`` stretches centred on
    10 %, 30 %, 50 %, 70 % and 90 % of its length; a shorter one (or one that declares no length)
    from its start. ``frames`` is the total to look at (the stretches share it).
    """
    length = info.duration
    if length is None or length <= 0 or not info.rate:
        return [0.0]
    if length * float(info.rate) < max(SPREAD_MIN_FRAMES, 2 * frames):
        return [0.0]
    return [length * (k + 0.5) / SPREAD_STRETCHES for k in range(SPREAD_STRETCHES)]


def picture_kind(thumb: np.ndarray, previous: np.ndarray | None) -> str:
    """"blank", "still" or "moving": what a picture can tell about interlace and damage.

    Blank (black, one flat colour, the end of a fade: the 64×36 luma thumbnail ``thumb`` varies by
    less than ``srkit.inference.damage.BLANK_STD`` levels) tells nothing. Still (the thumbnail
    moved by less than ``STILL_DIFF`` levels on average since ``previous``: colour bars, a slate,
    a freeze frame) tells nothing about interlace: woven fields differ only where something moves.
    """
    from srkit.inference.damage import BLANK_STD
    if float(thumb.std()) < BLANK_STD:
        return "blank"
    if previous is not None and float(np.abs(thumb - previous).mean()) < STILL_DIFF:
        return "still"
    return "moving"


def _look_at_pictures(src, stream, info: SourceInfo, frames: int) -> None:
    """Fill ``info`` from ``frames`` pictures: rotation, colour tags the stream left unspecified and
    the MPEG-2 GOP timecode from the first frame; idet counts, cuts and damage from moving pictures
    (``picture_kind``: blank and still ones are skipped; a video with too few of them for
    the spacing of the damage measures is measured on its first picture with content), in the
    stretches of ``stretch_starts``."""
    import av

    from srkit.inference.damage import measure_damage, median_damage
    if frames <= 0:
        return
    stream.thread_type = "SLICE"
    starts = stretch_starts(info, frames)
    per = -(-frames // len(starts))  # pictures with content per stretch
    every = max(1, per * len(starts) // DAMAGE_FRAMES)  # one damage measure per this many pictures
    judge = info.height >= IDET_MIN_HEIGHT
    totals: dict[str, int] = {}
    measures, looked, first, fallback = [], 0, True, None
    if starts[0] > 0:  # the tags and the start timecode are the first frame's
        try:
            _read_tags(next(src.decode(stream)), info)
            first = False
        except (StopIteration, av.error.FFmpegError):
            pass
    for start in starts:
        if start > 0:
            target = int(Fraction(info.start + start).limit_denominator(1000) / stream.time_base)
            try:
                src.seek(target, stream=stream, backward=True)
            except (av.error.FFmpegError, OSError, ValueError):
                break  # a file that cannot seek: what was seen so far is the verdict
        graph, shape, pushed, content, decoded, last, previous = None, None, 0, 0, 0, None, None
        shots = ShotDetector()
        try:
            for frame in src.decode(stream):
                decoded += 1
                if first:
                    first = False
                    _read_tags(frame, info)
                thumb = frame.to_ndarray(format="gray", width=64, height=36).astype(np.float32)
                kind, previous = picture_kind(thumb, previous), thumb
                if fallback is None and kind != "blank":
                    fallback = frame  # the damage of last resort: the first picture with content
                if kind == "moving":
                    info.cuts += shots.is_cut(frame) and content > 0
                    if (looked + content) % every == every // 2 and len(measures) < DAMAGE_FRAMES:
                        rgb = frame.to_ndarray(format="rgb24", interpolation=sws_exact())
                        measures.append(measure_damage(rgb, field=True))
                    content += 1
                    if judge:
                        if graph is None:
                            shape = (frame.width, frame.height, frame.format.name)
                            graph = _idet_graph(frame, stream)
                        if (frame.width, frame.height, frame.format.name) != shape:
                            judge = False  # a size or format change: idet judges what came before
                        else:
                            graph.push(frame)
                            pushed += 1
                            last = _pull(graph, last)
                if content >= per or decoded >= BLANK_RUN * per:
                    break
        except av.error.FFmpegError:
            pass  # damage is the job's to report; what was seen so far is the verdict
        looked += content
        if graph is not None and pushed:
            graph.push(None)
            last = _pull(graph, last)
        if last is not None:
            for key, value in last.metadata.items():
                if key.startswith("lavfi.idet.multiple.") and not key.endswith("current_frame"):
                    name = key.rsplit(".", 1)[1]
                    totals[name] = totals.get(name, 0) + int(float(value))
                elif key in ("lavfi.idet.repeated.top", "lavfi.idet.repeated.bottom"):
                    totals["repeated"] = totals.get("repeated", 0) + int(float(value))
            totals["frames"] = totals.get("frames", 0) + pushed
    info.looked_at = looked
    info.stretches = len(starts)
    if not measures and fallback is not None:  # too few moving pictures for the spacing above
        rgb = fallback.to_ndarray(format="rgb24", interpolation=sws_exact())
        measures.append(measure_damage(rgb, field=True))
    if measures:
        info.damage = median_damage(measures)
    if totals:
        info.idet = totals


def _read_tags(frame, info: SourceInfo) -> None:
    """Rotation, the colour tags the stream left unspecified and the GOP timecode, from a frame."""
    info.rotation = float(frame.rotation or 0)
    info.matrix = info.matrix if info.matrix not in (2, None) else frame.colorspace
    info.primaries = info.primaries if info.primaries not in (2, None) else frame.color_primaries
    info.transfer = info.transfer if info.transfer not in (2, None) else frame.color_trc
    info.colour_range = info.colour_range or frame.color_range
    info.timecode = info.timecode or frame.metadata.get("timecode")


def _idet_graph(frame, stream):
    """buffer → idet → buffersink for frames shaped like ``frame``."""
    import av
    graph = av.filter.Graph()
    buffer = graph.add("buffer", f"video_size={frame.width}x{frame.height}:"
                                 f"pix_fmt={frame.format.name}:time_base={stream.time_base}:"
                                 "pixel_aspect=1/1")
    idet, sink = graph.add("idet"), graph.add("buffersink")
    buffer.link_to(idet)
    idet.link_to(sink)
    graph.configure()
    return graph


def _pull(graph, last=None):
    """Every frame the graph has ready; returns the last one (or ``last`` when none)."""
    import av
    while True:
        try:
            last = graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return last


# --- what the job will do ------------------------------------------------------------------------

@dataclass
class VideoPlan:
    """What ``upscale_video`` does with one input (``plan_video``); ``srkit probe`` prints it.

    Attributes:
        deinterlace: None (frames as they are), "frame" (one frame per frame), "field" (one per
            field, twice the rate) or "ivtc" (inverse telecine: the film frames of 3:2 pulldown,
            4 per 5 video frames; the filters are in ``_Pictures``).
        field_order: "tff"/"bff": the order given to bwdif, or flagged on the output of
            interlaced input with ``deinterlace="off"``; None for progressive input left alone.
        progressive: the output is progressive (and flagged so); False only for interlaced input
            with ``deinterlace="off"`` (flagged interlaced, ``field_order``).
        rate, time_base: output frame rate and time base.
        model_size: width, height of the model output (input × scale).
        width, height: encoded size; sar: output SAR.
        geometry: filter chain after the model (crop/scale/pad/setsar, and setfield for
            interlaced output), "" when the model output is kept as it is.
        matrix, primaries, transfer: AVCOL_* codes the source is read with (its tags, or the
            convention for its height where it has none).
        colour_filter: the ``colorspace`` filter arguments that convert the source's matrix and
            primaries to the output's before the model, "" when no filter runs
            (``srkit.inference.colour.plan_colour``).
        out_matrix, out_primaries, out_transfer: AVCOL_* codes of the output.
        codec, pix_fmt: output codec (key of ``CODECS``) and pixel format.
        float_input: frames reach the model as float from 16-bit RGB (else uint8 RGB).
        float_output: the model output stays float until the encoder's pixel format.
        copy: indexes of the source streams copied packet for packet.
        convert: source index → subtitle encoder, for text subtitles the output container cannot
            hold as they are (SRT in MOV/MP4 becomes mov_text, cue by cue, timing kept).
        notes: one line per decision, for ``srkit probe``.
        warnings: lines warned about when the job starts (each starts with the file name).
    """
    deinterlace: str | None
    field_order: str | None
    progressive: bool
    rate: Fraction
    time_base: Fraction
    model_size: tuple[int, int]
    width: int
    height: int
    sar: Fraction
    geometry: str
    matrix: int
    primaries: int
    transfer: int
    colour_range: int
    colour_filter: str
    out_matrix: int
    out_primaries: int
    out_transfer: int
    codec: str
    pix_fmt: str
    float_input: bool
    float_output: bool
    rotation: float
    timecode: str | None
    copy: list[int]
    chapters: bool
    convert: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def dar(self) -> Fraction:
        """Display aspect ratio of the output: width × SAR / height."""
        return Fraction(self.width) * self.sar / self.height if self.height else Fraction(1)


def _parse_fit(fit) -> tuple[int, int] | None:
    if fit is None:
        return None
    if isinstance(fit, str):
        try:
            width, height = (int(v) for v in fit.lower().split("x"))
        except ValueError:
            raise ValueError(f"fit {fit!r}: give WIDTHxHEIGHT, e.g. 1920x1080") from None
    else:
        width, height = fit
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise ValueError(f"fit {width}x{height}: both sizes must be even and at least 16")
    return width, height


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def active_width(width: int, height: int, sar: Fraction) -> int:
    """Samples that carry the display aspect: 704 of a 720-sample SD line with an analogue
    BT.601 SAR (12:11, 16:11, 10:11, 40:33), else the whole width."""
    if width == SD_WIDTH and height in (480, 486, 576) and sar in ANALOGUE_SARS:
        return ACTIVE_WIDTH
    return width


def plan_video(info: SourceInfo, target: str | Path, codec: str = "h264", scale: int = 2,
               deinterlace: str = "auto", square_pixels: bool = False, fit=None,
               keep_colour: bool = False) -> VideoPlan:
    """Decide what to do with ``info``'s file for an output ``target`` (its suffix picks the
    container). See ``upscale_video`` for the options; raises ValueError for bad ones."""
    import av
    target = Path(target)
    name = info.path.name
    if deinterlace not in DEINTERLACE_MODES:
        raise ValueError(f"deinterlace {deinterlace!r}: choose one of "
                         f"{', '.join(DEINTERLACE_MODES)}")
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    fit = _parse_fit(fit)
    if fit and square_pixels:
        raise ValueError("fit already gives square pixels; use square_pixels or fit, not both")
    notes, warned = [], []

    # Interlace: the stream's flag, checked against the pictures.
    seen = info.picture_order
    idet = (f"idet on {info.idet.get('frames', 0)} frames: {info.idet.get('tff', 0)} tff, "
            f"{info.idet.get('bff', 0)} bff, {info.idet.get('progressive', 0)} progressive"
            if info.idet else "idet not run (pictures under "
            f"{IDET_MIN_HEIGHT} lines are judged by the stream flag)")
    notes.append(f"interlace: stream flag {info.field_order}; {idet}")
    interlaced = info.stream_interlaced or seen in ("tff", "bff")
    order = info.field_order if info.stream_interlaced else None
    if seen in ("tff", "bff") and order is not None and seen != order:
        warned.append(f"{name}: the stream says {order} but the pictures are {seen} ({idet}); "
                      f"deinterlacing as {seen}")
        order = seen
    elif seen in ("tff", "bff") and order is None:
        if info.field_order == "progressive" and deinterlace == "auto":
            warned.append(f"{name}: the stream is flagged progressive but its pictures are "
                          f"interlaced, {seen} ({idet}); deinterlacing (--deinterlace off keeps "
                          "the frames as they are)")
        order = seen
    mode = None
    if info.pulldown:
        notes.append(f"interlace: 3:2 pulldown: {info.idet.get('repeated', 0)} of {info.idet.get('frames', 0)} "
                     "frames repeat a field of the one before (film at 24 fps)")
    if deinterlace == "auto":
        mode = ("ivtc" if info.pulldown else "frame") if interlaced else None
    elif deinterlace in ("frame", "field", "ivtc"):
        mode = deinterlace
        if order is None:
            order = "tff"
            notes.append("interlace: neither stream nor pictures give a field order; top field "
                         "first, as bwdif assumes")
    elif interlaced:
        warned.append(f"{name}: the input is interlaced ({order}) and --deinterlace off "
                      "upscales its woven frames as they are (combing included); the output is "
                      f"flagged interlaced ({order}), not progressive")
    if info.stream_interlaced and seen == "progressive" and mode:
        notes.append("interlace: flagged interlaced but the pictures look progressive "
                      "(film-originated?); --deinterlace off keeps full vertical resolution")
    if mode and info.width and info.height:
        planes = [(c.width, c.height) for c in
                  av.VideoFormat(info.pix_fmt, info.width, info.height).components]
        if min(w for w, _ in planes) < BWDIF_MIN[0] or min(h for _, h in planes) < BWDIF_MIN[1]:
            raise ValueError(f"{name}: {info.width}x{info.height} {info.pix_fmt} pictures are too "
                             f"small to deinterlace (FFmpeg's bwdif needs every plane at least "
                             f"{BWDIF_MIN[0]}x{BWDIF_MIN[1]}); --deinterlace off upscales the "
                             "frames as they are")
    progressive = mode is not None or not interlaced
    rate, time_base = info.rate, info.time_base
    if mode == "field":
        rate, time_base = rate * 2, time_base / 2
    elif mode == "ivtc":
        rate = rate * Fraction(4, 5)
        time_base = 1 / rate
    how = {"ivtc": f"inverse telecine (fieldmatch {order}, bwdif on frames still combed, decimate 1 in 5)",
           "frame": f"bwdif, {order}, frame rate", "field": f"bwdif, {order}, field rate"}.get(mode, "none")
    notes.append(f"interlace: {how}; "
                 f"output {'progressive' if progressive else 'flagged interlaced, ' + order} at "
                 f"{float(rate):g} fps")

    # Geometry.
    spec = CODECS[codec]
    pix_fmt = spec.pixel_format(info.bits)
    missing = codec_support(codec)[info.bits > 8]
    if missing:
        raise ValueError(f"{name}: --codec {codec} cannot write this {info.bits}-bit input: "
                         f"{missing}; --codec help lists the codecs that can")
    chroma = av.VideoFormat(pix_fmt)
    model_w, model_h = info.width * scale, info.height * scale
    geometry, sar = "", info.sar
    active = active_width(info.width, info.height, info.sar)
    crop = ""
    if (square_pixels or fit) and active != info.width:
        left = (info.width - active) // 2 * scale
        crop = f"crop={active * scale}:{model_h}:{left}:0,"
        notes.append(f"geometry: {active} of {info.width} samples carry the display aspect "
                     f"(BT.601 analogue SAR {_ratio(info.sar)}); the {info.width - active} beside "
                     "them are cut")
    # display aspect of the active picture (a stream of unknown size, whose frames all fail to
    # decode, is left to the job to report)
    display = Fraction(active) * info.sar / info.height if info.height else Fraction(1)
    if square_pixels:
        width, height = _even(active * scale * info.sar), _even(model_h)
        geometry, sar = f"{crop}scale={width}:{height}:flags=lanczos,setsar=1", Fraction(1)
    elif fit:
        width, height = fit
        inner_w, inner_h = (width, _even(width / display)) if display >= Fraction(width, height) \
            else (_even(height * display), height)
        inner_w, inner_h = min(inner_w, width), min(inner_h, height)
        geometry = (f"{crop}scale={inner_w}:{inner_h}:flags=lanczos,"
                    f"pad={width}:{height}:{(width - inner_w) // 2}:{(height - inner_h) // 2}:"
                    f"black,setsar=1")
        sar = Fraction(1)
    else:
        # 4:2:x needs an even width (and 4:2:0 an even height): a last odd column/row goes.
        width = model_w - model_w % (2 if chroma.name.startswith("yuv4") and "444" not in
                                     chroma.name else 1)
        height = model_h - model_h % (2 if "420" in chroma.name else 1)
    if not progressive:
        # the woven frames stay interlaced material: flagged so in the frames (ProRes and DNxHR
        # code it) as well as in the stream
        geometry = ",".join(filter(None, [geometry, f"setfield={order}"]))
    out_dar = Fraction(width) * sar / height if height else Fraction(1)
    if codec == "dnxhr" and height and (width < DNXHR_MIN[0] or height < DNXHR_MIN[1]):
        raise ValueError(f"{target.name}: DNxHR needs frames of at least {DNXHR_MIN[0]}×"
                         f"{DNXHR_MIN[1]}, not {width}×{height}")
    notes.append(f"geometry: {info.width}x{info.height} SAR {_ratio(info.sar)} (DAR "
                 f"{_ratio(info.dar)}) → {width}x{height} SAR {_ratio(sar)} (DAR {_ratio(out_dar)})"
                 + (", square pixels" if square_pixels else f", fit {fit[0]}x{fit[1]}" if fit
                    else ""))
    muxer = MUXERS.get(target.suffix.lower())
    if sar != 1 and muxer in STREAM_SAR_MUXERS and spec.encoder not in BITSTREAM_SAR_ENCODERS:
        keeping = [c for c in spec.containers if MUXERS.get(c) not in STREAM_SAR_MUXERS]
        instead = f"write {'/'.join(keeping)}" if keeping else \
            "ProRes or DNxHR in .mov, or H.264/HEVC, keep it"
        warned.append(f"{name}: {target.suffix} takes the sample aspect ratio from the stream "
                      f"header, which PyAV cannot set, and {codec} does not carry it in its "
                      f"bitstream: {target.name} will lose SAR {_ratio(sar)} (DAR "
                      f"{_ratio(out_dar)}); {instead}, or resample with square_pixels / fit")
    if info.rotation:
        notes.append(f"geometry: display rotation {info.rotation:g}° kept (display matrix)")

    # Colour (``srkit.inference.colour``).
    colour = plan_colour(info, height, keep_colour)
    notes += colour.notes
    warned += colour.warnings
    colour_filter = colour.colour_filter
    bits_out = max(c.bits for c in chroma.components)
    float_input = info.bits > 8 or bool(colour_filter)
    float_output = float_input or bits_out > 8 or bool(geometry)
    notes.append(f"bit depth: {info.pix_fmt} ({info.bits}-bit) → model as "
                 f"{'float (16-bit RGB)' if float_input else 'RGB 8-bit'} → {pix_fmt} "
                 f"({bits_out}-bit), {codec}: {spec.description}")

    # Streams.
    supported = _muxer_codecs(target.suffix.lower())
    copy, convert = [], {}
    for s in info.streams:
        if s.type == "video":
            if s.index != _first_video(info):
                warned.append(f"{name}: stream #{s.index} (video, {s.codec}) is not carried: only "
                              "the first video stream is upscaled")
            continue
        label = f"#{s.index} ({s.type}, {s.codec}{', ' + s.language if s.language else ''})"
        if s.type in ("audio", "subtitle") and s.codec in supported:
            copy.append(s.index)
            notes.append(f"streams: {label} copied")
        elif s.type == "subtitle" and s.codec in TEXT_SUBTITLES and \
                next((c for c in TEXT_SUBTITLES if c in supported), None):
            convert[s.index] = next(c for c in TEXT_SUBTITLES if c in supported)
            notes.append(f"streams: {label} converted to {convert[s.index]} ({target.suffix} "
                         f"cannot hold {s.codec}; text and timing kept)")
        elif s.type == "data" and s.codec in ("none", "timecode", "bin_data") and info.timecode:
            notes.append(f"streams: {label} timecode track: its start {info.timecode} is written "
                         "anew")
        else:
            why = (f"{target.suffix} cannot hold {s.codec}" if s.type in ("audio", "subtitle")
                   else f"{s.type} streams are not carried")
            warned.append(f"{name}: stream {label} is not copied to {target.name}: {why}")
    chapters = info.chapters > 0 and MUXERS.get(target.suffix.lower()) in CHAPTER_MUXERS
    if info.chapters and not chapters:
        warned.append(f"{name}: {info.chapters} chapters are not copied: {target.suffix} files "
                      "cannot hold chapters")
    elif info.chapters:
        notes.append(f"streams: {info.chapters} chapters copied")
    if info.timecode:
        notes.append(f"streams: start timecode {info.timecode} kept")
    return VideoPlan(mode, order if mode or not progressive else None, progressive, rate,
                     time_base, (model_w, model_h),
                     width, height, sar, geometry, colour.matrix, colour.primaries,
                     colour.transfer, colour.colour_range, colour_filter, colour.out_matrix,
                     colour.out_primaries, colour.out_transfer, codec, pix_fmt, float_input,
                     float_output,
                     info.rotation, info.timecode, copy, chapters, convert, notes, warned)


def _first_video(info: SourceInfo) -> int:
    return next(s.index for s in info.streams if s.type == "video")


def _ratio(value: Fraction) -> str:
    """16:9, 4:3, … or a decimal for anything else."""
    value = value.limit_denominator(1000)
    if value.denominator <= 100:
        return f"{value.numerator}:{value.denominator}"
    return f"{float(value):.4f}"


def _muxer_codecs(suffix: str) -> set[str]:
    """Codec names the muxer for ``suffix`` can hold (empty for an unknown suffix)."""
    import av
    muxer = MUXERS.get(suffix)
    if muxer is None:
        return set()
    with av.open(io.BytesIO(), "w", format=muxer) as probe:
        return set(probe.supported_codecs)


def codec_support(name: str) -> tuple[str, str]:
    """Whether this FFmpeg build can write codec ``name`` (a key of ``CODECS``): (what is missing
    for 8-bit input, what is missing for deeper input), each "" when nothing is."""
    import av
    spec = CODECS[name]
    try:
        formats = {f.name for f in av.codec.Codec(spec.encoder, "w").video_formats or ()}
    except (av.error.FFmpegError, ValueError) as error:
        missing = f"no {spec.encoder} encoder in this FFmpeg ({error})"
        return missing, missing
    return tuple(f"{spec.encoder} in this FFmpeg cannot write {fmt}" if fmt not in formats
                 else "" for fmt in (spec.pix_fmt, spec.deep_pix_fmt))


def available_codecs() -> dict[str, str]:
    """Each of ``CODECS`` → "" when this FFmpeg build can write it for 8-bit input, else why
    not (deeper input is checked by ``plan_video``, see ``codec_support``)."""
    return {name: codec_support(name)[0] for name in CODECS}


def codec_table() -> str:
    """The codecs, their containers and whether this build has them (``--codec help``)."""
    lines = []
    for name, spec in CODECS.items():
        plain, deep = codec_support(name)
        state = f"NOT available: {plain}" if plain else \
            f"available for 8-bit input only ({deep})" if deep else "available"
        lines.append(f"{name:9} {spec.description}; {'/'.join(spec.containers)}; {state}")
    return "\n".join(lines)


def check_paths(source: Path, target: Path, codec: str) -> None:
    """Refuse to overwrite the input and reject codec/container pairs that cannot work."""
    require_file(source)
    if target.resolve() == source.resolve() or (target.exists() and target.samefile(source)):
        raise ValueError(f"output {target} is the input file; srkit never overwrites its input")
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    suffix = target.suffix.lower()
    if suffix not in CODECS[codec].containers:
        raise ValueError(f"{target}: codec {codec} cannot be written to a "
                         f"{suffix or 'suffix-less'} file; use one of "
                         f"{', '.join(CODECS[codec].containers)}")
    why = available_codecs()[codec]
    if why:
        raise ValueError(f"{target}: codec {codec} is not available: {why}")


def colorspace_for(height: int, tagged: int | None = None) -> str:
    """swscale's YUV↔RGB matrix: the stream's tag when known, else the convention players follow
    — BT.709 from 720 lines up, BT.601 below."""
    if tagged in SWS_MATRICES:
        return SWS_MATRICES[tagged]
    return "ITU709" if height >= HD_HEIGHT else "ITU601"


def add_video_stream(container, plan: VideoPlan, source_stream, crf: int, preset: str):
    """The output video stream: the plan's rate, time base, size, SAR, colour tags, field order,
    rotation and timecode; the source stream's language and title."""
    spec = CODECS[plan.codec]
    stream = container.add_stream(spec.encoder, rate=plan.rate)
    stream.width, stream.height, stream.pix_fmt = plan.width, plan.height, plan.pix_fmt
    # The source's time base (halved for field rate), so every frame keeps its exact timestamp.
    stream.time_base = plan.time_base
    context = stream.codec_context
    context.time_base = plan.time_base
    options = dict(spec.options)
    if spec.encoder in ("libx264", "libx265"):
        options.update(crf=str(crf), preset=preset)
    if not plan.progressive and spec.encoder in INTERLACED_ENCODERS:
        options["flags"] = "+ildct"  # field coding, so the bitstream too says interlaced
    stream.options = options
    # Both: MP4/MOV take the SAR from the codec parameters, Matroska and MXF from the stream.
    context.sample_aspect_ratio = stream.sample_aspect_ratio = plan.sar
    context.color_primaries, context.color_trc = plan.out_primaries, plan.out_transfer
    if not _is_rgb(plan.pix_fmt):
        context.colorspace, context.color_range = plan.out_matrix, 1  # limited ("tv") range
    # AV_FIELD_PROGRESSIVE, or AV_FIELD_TT / AV_FIELD_BB for woven frames kept as they are
    context.field_order = 1 if plan.progressive else 2 if plan.field_order == "tff" else 3
    if plan.rotation:
        stream.set_display_rotation(plan.rotation)
    for key in ("language", "title"):
        value = _tag(source_stream.metadata, key)
        if value:
            stream.metadata[key] = value
    if plan.timecode:
        stream.metadata["timecode"] = plan.timecode  # MOV/MP4 write a tmcd track from it
    return stream


def _is_rgb(pix_fmt: str) -> bool:
    import av
    return av.VideoFormat(pix_fmt).is_rgb


# Tags the muxer writes itself or that describe the old encoding, not the programme.
_MUXER_TAGS = frozenset({"encoder", "major_brand", "minor_version", "compatible_brands",
                         "duration", "handler_name", "vendor_id", "bps", "number_of_frames",
                         "number_of_bytes", "timecode"})


def _copy_tags(source, target) -> None:
    for key, value in source.items():
        if key.lower() not in _MUXER_TAGS and not key.startswith("_STATISTICS"):
            target[key] = value


def upscale_video(source: str | Path, target: str | Path, model, *, scale: int | None = None,
                  steps: int = 7, tile: int | None = None, overlap: int = 16, device=None,
                  precision: str = "fp32", compile: bool = False, codec: str = "h264", crf: int = 18,
                  preset: str = "medium", shots: ShotDetector | None = None, progress: bool = True,
                  on_frame: Callable[[int], None] | None = None,
                  allow_partial: bool = False, deinterlace: str = "auto",
                  square_pixels: bool = False, fit: str | tuple[int, int] | None = None,
                  keep_colour: bool = False) -> VideoResult:
    """Upscale a video file with a srkit model.

    Args:
        source: input video (any container/codec FFmpeg decodes).
        target: output path; its suffix must be one of the codec's containers (``CODECS``).
            Must not be ``source``.
        model: Pipeline, generator, callable (LR → SR) or name/path for ``srkit.load``.
        scale: expected factor (checked against the model; required for a plain callable).
        steps: IKC correction steps per shot (default 7).
        tile: LR tile size; None picks one from the frame size and device, 0 = whole frames.
        overlap: LR context margin per tile side (default 16).
        device, precision, compile: as in ``srkit.upscale``.
        codec: a key of ``CODECS``: "h264" (default), "hevc", "prores", "dnxhr", "ffv1",
            "ffv1-422".
        crf: x264/x265 constant rate factor 0–51 (default 18, visually transparent).
        preset: x264/x265 speed preset (default "medium").
        shots: cut detector (default ``ShotDetector()``).
        progress: show a tqdm bar with frames/s and ETA (default True).
        on_frame: called with the index of each frame after it is encoded (hooks, tests).
        allow_partial: write the decoded frames of a truncated input (with a warning) instead of
            raising ``PartialVideoError`` (default False).
        deinterlace: "auto" (default: bwdif at the frame rate when the stream flag or idet says
            interlaced; inverse telecine when idet finds 3:2 pulldown), "off", "frame" (always,
            same rate), "field" (always, twice the rate) or "ivtc" (always inverse telecine:
            24000/1001 fps from 30000/1001).
        square_pixels: resample the model output to square pixels (default False: keep the SAR).
        fit: (width, height) or "WxH": scale into that raster keeping the display aspect and pad
            (pillarbox/letterbox); square pixels. Default None.
        keep_colour: keep BT.601 colour on HD output (default False: convert to BT.709).

    Returns:
        A ``VideoResult`` with frames, shots, output size, copied audio packets, the damage found
        (``corrupt_packets``), the declared length (``expected_frames``), ``guard_events`` and the
        ``plan``.

    Raises:
        PartialVideoError: the input is truncated (see the module docstring) and ``allow_partial``
            is False; nothing is left under ``target``.
        ValueError: unreadable input, no decodable frame, bad paths or options.
    """
    source, target = Path(source), Path(target)
    check_paths(source, target, codec)
    runner = ModelRunner.wrap(model, steps=steps, device=device, precision=precision, compile=compile,
                              scale=scale)
    runner.check_scale(scale)
    info = inspect_video(source)
    plan = plan_video(info, target, codec, runner.scale, deinterlace, square_pixels, fit,
                      keep_colour)
    for line in plan.warnings:
        warnings.warn(line, UserWarning)
    with open_input(source) as src, atomic_path(target) as temporary:
        result = _transcode(src, source.name, temporary, target, runner, tile, overlap,
                            plan, crf, preset, shots or ShotDetector(), progress, on_frame,
                            allow_partial)
    return result


class _Pictures:
    """The filter graph before the model: bwdif and the colour conversion (either may be absent:
    the graph then passes frames through). ``push`` a decoded frame, get the pictures ready."""

    def __init__(self, stream, plan: VideoPlan, name: str = "video"):
        self.stream, self.plan, self.graph, self.name = stream, plan, None, name
        self.width, self.height = stream.width, stream.height
        context = stream.codec_context
        self.format = context.format.name if context.format is not None else None
        self.matrix = SWS_MATRICES[plan.out_matrix if plan.colour_filter else plan.matrix]
        self.colour_range = "MPEG" if plan.colour_filter or plan.colour_range != 2 else "JPEG"
        self.rgb = "rgb48le" if plan.float_input else "rgb24"

    def _configure(self, frame) -> None:
        """The graph, for the stream's size and format (those of the first frame where the
        stream declares none)."""
        import av
        self.width, self.height = self.width or frame.width, self.height or frame.height
        self.format = self.format or frame.format.name
        self.graph = av.filter.Graph()
        sar = _sar(self.stream.sample_aspect_ratio) or Fraction(1)
        rate = self.plan.rate * Fraction(5, 4)  # decimate needs the source's frame rate
        node = self.graph.add("buffer", f"video_size={self.width}x{self.height}:"
                                        f"pix_fmt={self.format}:time_base={self.stream.time_base}:"
                                        f"pixel_aspect={sar.numerator}/{sar.denominator}"
                                        + (f":frame_rate={rate}" if self.plan.deinterlace == "ivtc" else ""))
        chain, plan = [], self.plan
        if plan.deinterlace == "ivtc":
            # fieldmatch pairs each field with its partner from the same film frame, bwdif
            # deinterlaces only the frames fieldmatch still finds combed (a cut, a video-shot title),
            # decimate drops the duplicate of each cycle of 5 (FFmpeg's filter documentation)
            chain += [("fieldmatch", f"order={plan.field_order}:combmatch=full"),
                      ("bwdif", f"mode=send_frame:parity={plan.field_order}:deint=interlaced"),
                      ("decimate", None)]
        elif plan.deinterlace:
            mode = "send_field" if plan.deinterlace == "field" else "send_frame"
            chain.append(("bwdif", f"mode={mode}:parity={plan.field_order}:deint=all"))
        chain += colour_chain(plan.colour_filter, self.width, self.height)
        for name, args in chain + [("buffersink", None)]:
            nxt = self.graph.add(name, args) if args else self.graph.add(name)
            node.link_to(nxt)
            node = nxt
        self.graph.configure()

    def push(self, frame) -> list:
        """The pictures ready after ``frame`` (None flushes the graph at the end)."""
        import av
        if self.graph is None:
            if frame is None:
                return []
            self._configure(frame)
        if frame is not None and (frame.width, frame.height) != (self.width, self.height):
            # a spliced stream can switch picture size mid-way; scaled to the first size (as
            # ffmpeg does) its frames would be squeezed, so the job stops (nothing is written)
            at = f"{float(frame.pts * frame.time_base):.2f} s" if frame.pts is not None and \
                frame.time_base else "a later frame"
            raise ValueError(f"{self.name}: the picture size changes at {at} from {self.width}x"
                             f"{self.height} to {frame.width}x{frame.height}; an output holds "
                             "one size, and scaling would squeeze the pictures: split the file "
                             "there and upscale each part")
        if frame is not None and frame.format.name != self.format:
            # a format switch at the same size (8 → 10 bits, 4:2:0 → 4:2:2): converted to the
            # stream's format, which the graph and the encoder were set up for
            pts, time_base = frame.pts, frame.time_base
            frame = frame.reformat(self.width, self.height, self.format, interpolation=sws_exact())
            frame.pts, frame.time_base = pts, time_base
        self.graph.push(frame)
        ready = []
        while True:
            try:
                ready.append(self.graph.pull())
            except (av.BlockingIOError, av.EOFError):
                return ready

    def tensor(self, picture) -> torch.Tensor:
        """A picture → 1×3×H×W tensor (channels-last view): uint8 RGB, or float [0, 1] from
        16-bit RGB."""
        rgb = picture.to_ndarray(format=self.rgb, src_colorspace=self.matrix,
                                 src_color_range=self.colour_range, interpolation=sws_exact())
        tensor = torch.from_numpy(rgb).permute(2, 0, 1)[None]
        if self.rgb == "rgb48le":
            tensor = tensor.float().div_(65535.0)
        return tensor


class _Output:
    """Model output → encoder frames: the plan's filter graph (crop/scale/pad/setsar/setfield)
    when it has one, then the encoder's pixel format with the output colour tags."""

    def __init__(self, plan: VideoPlan):
        import av
        self.plan = plan
        self.rgb = "rgb48le" if plan.float_output else "rgb24"
        self.graph, self.pushed = None, 0
        # Without resampling, an odd last row/column the pixel format cannot hold is cut first.
        self.resamples = "scale=" in plan.geometry
        if plan.geometry:
            self.graph = av.filter.Graph()
            width, height = plan.model_size if self.resamples else (plan.width, plan.height)
            node = self.graph.add("buffer", f"video_size={width}x{height}:pix_fmt={self.rgb}:"
                                            f"time_base={plan.time_base}:pixel_aspect=1/1")
            for part in plan.geometry.split(","):
                name, _, args = part.partition("=")
                nxt = self.graph.add(name, args)
                node.link_to(nxt)
                node = nxt
            sink = self.graph.add("buffersink")
            node.link_to(sink)
            self.graph.configure()

    def frame(self, sr: torch.Tensor):
        """1×3×H×W model output (uint8, or float [0, 1]) → the ``av.VideoFrame`` to encode."""
        import av
        plan = self.plan
        image = sr[0].permute(1, 2, 0)  # H×W×3 view of the channels-last output
        if self.rgb == "rgb48le":
            array = (image.float().clamp(0, 1).numpy() * 65535.0 + 0.5).astype(np.uint16)
        else:
            array = image.numpy()
        if not self.resamples:
            array = array[:plan.height, :plan.width]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format=self.rgb)
        if self.graph is not None:
            frame.pts, frame.time_base = self.pushed, plan.time_base
            self.pushed += 1
            self.graph.push(frame)
            frame = self.graph.pull()
        if _is_rgb(plan.pix_fmt):
            out = frame.reformat(format=plan.pix_fmt, interpolation=sws_exact())
        else:
            out = frame.reformat(format=plan.pix_fmt, dst_colorspace=SWS_MATRICES[plan.out_matrix],
                                 dst_color_range="MPEG", interpolation=sws_exact())
            out.colorspace, out.color_range = plan.out_matrix, 1
        # Encoders that write colour into each frame (ProRes, DNxHR) read the frame's tags.
        out.color_primaries, out.color_trc = plan.out_primaries, plan.out_transfer
        return out


def _copy_container(src, dst, plan: VideoPlan) -> dict:
    """Container metadata, chapters and the copied streams; returns source index → output
    stream."""
    _copy_tags(src.metadata, dst.metadata)
    if plan.timecode:
        dst.metadata["timecode"] = plan.timecode
    if plan.chapters:
        dst.set_chapters(src.chapters())
    streams = {}
    for index in [*plan.copy, *plan.convert]:
        stream = src.streams[index]
        if index in plan.convert:
            out = dst.add_stream(plan.convert[index])
            out.time_base = stream.time_base
            # the text encoder needs the ASS header the decoder makes when it opens
            stream.codec_context.open(strict=False)
            out.codec_context.subtitle_header = stream.codec_context.subtitle_header
        else:
            out = dst.add_stream_from_template(stream)
        _copy_tags(stream.metadata, out.metadata)
        try:
            out.disposition = stream.disposition  # default / forced / hearing impaired …
        except (AttributeError, TypeError, ValueError):
            pass
        streams[index] = out
    return streams


def _convert_subtitle(packet, stream):
    """One text subtitle packet re-encoded for ``stream`` (mov_text, …) with its timing; None
    when it holds no cue."""
    import av
    try:
        cues = packet.stream.codec_context.decode2(packet)
    except av.error.FFmpegError:
        return None  # an undecodable cue: the demuxer's damage checks have warned already
    if cues is None:
        return None
    converted = stream.codec_context.encode_subtitle(cues)
    converted.pts, converted.dts = packet.pts, packet.dts
    converted.duration, converted.time_base = packet.duration, packet.time_base
    return converted


def _transcode(src, source_name: str, temporary: Path, target: Path, runner: ModelRunner, tile,
               overlap, plan: VideoPlan, crf, preset, shots: ShotDetector, progress: bool,
               on_frame, allow_partial: bool) -> VideoResult:
    """Demux, deinterlace / convert, upscale video frames, copy the other streams, mux into
    ``temporary``."""
    import av
    from tqdm import tqdm
    video_in = src.streams.video[0]
    # Slice threads only: a frame-threaded decoder reports a bad packet's error (and logs it) a few
    # packets late, so the warning would name the wrong time. Decoding stays far faster than the
    # model either way.
    video_in.thread_type = "SLICE"
    copied = [src.streams[index] for index in [*plan.copy, *plan.convert]]
    tile = auto_tile(video_in.height, video_in.width, runner.device) if tile is None else tile
    out_dtype = torch.float32 if plan.float_output else None
    count = {"frames": 0, "shots": 0, "guard": 0, "decoded": 0}
    packets = {s.index: 0 for s in copied}
    state = {"code": None, "shot": None}
    per_frame = 2 if plan.deinterlace == "field" else 1
    with av.open(str(temporary), "w", format=MUXERS.get(target.suffix.lower())) as dst, \
            _Damage(source_name, src, video_in) as damage:
        video_out = add_video_stream(dst, plan, video_in, crf, preset)
        others = _copy_container(src, dst, plan)
        pictures, output = _Pictures(video_in, plan, source_name), _Output(plan)
        bar = tqdm(total=(damage.expected or 0) * per_frame or None, unit="frame",
                   desc=target.name, disable=not progress)

        def upscale(picture) -> None:
            lr = pictures.tensor(picture)
            if shots.is_cut(picture):
                count["guard"] += state["shot"].report() if state["shot"] is not None else 0
                count["shots"] += 1
                shot = state["shot"] = _Shot(f"{source_name} shot {count['shots']} "
                                             f"(frame {count['frames']})")
                estimate = runner.estimate(lr, shot.name, emit=False)
                state["code"], shot.estimate_message = estimate.code, estimate.messages[0]
            shot = state["shot"]
            tile_fn = runner.tile_fn(state["code"])
            sr = tiled_upscale(lr, tile_fn, runner.scale, tile=tile, overlap=overlap,
                               device=runner.device, precision=runner.precision, out_dtype=out_dtype,
                               channels_last=runner.channels_last)
            shot.add(check_output(sr, lr, runner.scale, shot.name,
                                  [tile_fn.message(shot.name)], emit=False)[0])
            out_frame = _tensor_to_frame(sr, output)
            # bwdif counts in half the input's time base even at the frame rate
            out_frame.pts = round(picture.pts * picture.time_base / plan.time_base) \
                if picture.time_base else picture.pts
            out_frame.time_base = plan.time_base
            dst.mux(_encoded(video_out, out_frame, count["frames"] + 1))
            if on_frame is not None:
                on_frame(count["frames"])
            count["frames"] += 1
            bar.update(1)

        with bar:
            for packet in _demux(src, [video_in, *copied], damage):
                if packet.stream.type != "video":
                    if packet.dts is None:  # demuxer flush packet: nothing to copy
                        continue
                    if not damage.copyable(packet):
                        continue
                    index = packet.stream.index
                    if index in plan.convert:
                        packet = _convert_subtitle(packet, others[index])
                        if packet is None:
                            continue
                    packet.stream = others[index]
                    dst.mux(packet)
                    packets[index] += 1
                    continue
                for frame in damage.decode(packet):
                    frame.pts = _source_pts(frame, count["decoded"], video_in)
                    frame.time_base = video_in.time_base
                    count["decoded"] += 1
                    for picture in pictures.push(frame):
                        upscale(picture)
            if count["decoded"]:
                for picture in pictures.push(None):  # bwdif holds one frame back
                    upscale(picture)
            count["guard"] += state["shot"].report() if state["shot"] is not None else 0
            damage.finish(allow_partial)  # raises PartialVideoError: the temporary file goes
            dst.mux(_encoded(video_out, None, count["frames"]))  # flush the delayed frames
    audio = sum(n for index, n in packets.items() if src.streams[index].type == "audio")
    return VideoResult(count["frames"], count["shots"], plan.width, plan.height, audio,
                       corrupt_packets=damage.corrupt, expected_frames=damage.expected,
                       guard_events=count["guard"], plan=plan, copied_packets=packets)


def _encoded(video_out, frame, frames_in: int) -> list:
    """The packets ``video_out`` gives for ``frame`` (None flushes), with sound decode times.

    libx265 leaves the decode time of a stream of one or two pictures uninitialised (x265 issue
    #781, fixed upstream in 2026-08 by PR #936): the muxer then refuses a DTS past the PTS, or
    stores a nonsense one. Two pictures are coded I, P with no reordering, so their decode time is
    their presentation time.
    """
    packets = video_out.encode(frame)
    if video_out.codec_context.name == "libx265" and frames_in <= 2:
        for packet in packets:
            if packet.pts is not None:
                packet.dts = packet.pts
    return packets


class _Shot:
    """The guards' findings for one shot, reported as one warning line when the shot ends."""

    def __init__(self, name: str):
        self.name, self.estimate_message = name, ""
        self.frames, self.fixed, self.first = 0, 0, ""

    def add(self, line: str) -> None:
        """Record one frame's output check (``srkit.inference.guard.check_output``; "" when clean)."""
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
    an audio or subtitle packet only when ``copyable`` allows, then call ``finish``. Each damaged
    packet gets one warning and counts once. Times in messages are seconds from the start of the
    file.

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

    def copyable(self, packet) -> bool:
        """Whether an audio or subtitle packet can be copied: the muxer needs rising timestamps
        per stream, and a damaged file can repeat or reverse them; such a packet is skipped with a
        warning. FFmpeg errors while reading it (the demuxer resyncing past damage) are warned
        about too."""
        kind = f"{'an' if packet.stream.type == 'audio' else 'a'} {packet.stream.type}"
        seconds = float(packet.dts * packet.time_base)
        errors = self._ffmpeg_errors()
        if errors or packet.is_corrupt:
            why = errors[0] if errors else f"the demuxer flagged {kind} packet as corrupt"
            self._damaged(f"damaged data at {self._position(seconds)} ({why})")
        last = self.last_audio_dts.get(packet.stream.index)
        if last is not None and packet.dts <= last:
            self._damaged(f"skipped {kind} packet at {self._position(seconds)} whose timestamp "
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


def _tensor_to_frame(sr: torch.Tensor, output: "_Output"):
    """1×3×H×W model output → the ``av.VideoFrame`` to encode (``_Output.frame``)."""
    return output.frame(sr)


def _source_pts(frame, index: int, stream) -> int:
    """The source frame's timestamp (in the stream's time base); for the rare demuxers that give
    none, the index-th tick of the stream's frame rate."""
    if frame.pts is not None:
        return frame.pts
    rate = stream.average_rate or stream.guessed_rate or 25
    return round(index / (rate * stream.time_base))

