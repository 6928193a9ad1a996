"""What a video file is (``inspect_video`` → ``SourceInfo``): what its streams declare and what pictures
across it show (idet, cuts, damage), blank and still pictures skipped."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from srkit.imageio import sws_exact
from srkit.inference.video.integrity import declared_span
from srkit.inference.video.shots import ShotDetector

if TYPE_CHECKING:
    from srkit.inference.damage import Damage


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


# A second opinion before idet overrules a stream flagged progressive: idet compares each frame's
# lines with the previous and next frame's (4 % apart is a verdict), so progressive detail moving
# vertically fools it (stripes 8 lines apart scrolling 2 lines a frame, like credits: bff on every
# frame). Woven fields of a moving picture show combing, measured directly (``comb_blocks``): per
# block, curvature across neighbouring lines (other field) against lines 2 apart (same field);
# smooth detail gives 0.25, noise 1, combing more. Measured 2026-12-07 (tests/test_video_interlace.py,
# the archive clip's picture): progressive pans and scrolls 0.0 % of textured blocks combed; the
# clip woven panning 4, 2, 1 px a field 57, 31, 20 %; moving 1 line a field straight down (woven
# frames line-doubled, no combing) 0.16 %.
COMB_BLOCK, COMB_RATIO, COMB_FLOOR = 16, 2.0, 3.0


# Below this share of textured blocks combed, the pictures show no combing to remove: a stream
# flagged progressive stays progressive whatever idet says (``_plan_interlace``).
COMB_PROGRESSIVE_SHARE = 0.01


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


@dataclass
class StreamInfo:
    """One stream of the input: index, type (video/audio/subtitle/data/attachment), codec, the
    language and title tags (None when absent), and its declared start time in seconds (exact;
    None when it declares none: attachments, some data streams)."""
    index: int
    type: str
    codec: str
    language: str | None = None
    title: str | None = None
    detail: str = ""
    start: Fraction | None = None


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
        comb: blocks of the pictures idet judged that are "combed" and "textured"
            (``comb_blocks``); empty when idet did not run.
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
    comb: dict[str, int] = field(default_factory=dict)

    @property
    def comb_share(self) -> float | None:
        """Share of the textured blocks that show combing (``comb_blocks``), 0..1; None when
        nothing was measured."""
        textured = self.comb.get("textured", 0)
        return self.comb.get("combed", 0) / textured if textured else None

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


def comb_blocks(luma: np.ndarray) -> tuple[int, int]:
    """(combed, textured) counts of ``COMB_BLOCK``-square blocks of a frame's luma (H×W, any
    range in 8-bit levels): textured where the mean curvature across lines, 1 and 2 apart together,
    passes ``COMB_FLOOR``; combed where the curvature across neighbouring lines (woven from the other
    field) passes ``COMB_FLOOR`` and ``COMB_RATIO`` times that across lines 2 apart (one field)."""
    luma = luma.astype(np.float32)
    across = np.abs(luma[1:-3] + luma[3:-1] - 2 * luma[2:-2])   # rows 2..H-3, other field
    within = np.abs(luma[:-4] + luma[4:] - 2 * luma[2:-2])      # the same rows, same field
    rows, cols = (across.shape[0] // COMB_BLOCK) * COMB_BLOCK, (luma.shape[1] // COMB_BLOCK) * COMB_BLOCK
    if not rows or not cols:
        return 0, 0

    def blocks(curvature):
        return curvature[:rows, :cols].reshape(rows // COMB_BLOCK, COMB_BLOCK, cols // COMB_BLOCK,
                                               COMB_BLOCK).mean(axis=(1, 3))
    across, within = blocks(across), blocks(within)
    textured = across + within > COMB_FLOOR
    combed = textured & (across > COMB_FLOOR) & (across > COMB_RATIO * within)
    return int(combed.sum()), int(textured.sum())


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
            if s.type == "attachment":  # no codec: what it holds is its MIME type
                name, detail = s.mimetype or "?", s.name or ""
            begin = s.start_time * s.time_base if s.start_time is not None and s.time_base else None
            streams.append(StreamInfo(s.index, s.type, name, _tag(s.metadata, "language"),
                                      _tag(s.metadata, "title"), detail, begin))
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
    comb = {"combed": 0, "textured": 0}
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
                            combed, textured = comb_blocks(frame.to_ndarray(format="gray"))
                            comb["combed"] += combed
                            comb["textured"] += textured
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
        info.comb = comb


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
