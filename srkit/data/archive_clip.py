"""A realistic interlaced archive clip built from a real image, with the truth of every field.

Broadcast SD is 576i25 (or 480i30): each frame holds two fields, taken 1/50 s apart. Upscaling the
woven frame as if it were one picture scales the combing into it; a correct path deinterlaces
first. Testing that needs a clip whose fields really differ (motion between them) and the
progressive picture of each field's instant, to measure against. ``make_archive_clip`` makes one:

* a source image (default ``assets/archive_clip_source.png``: photographs and text, not flat colours;
  a fixed file, never regenerated, because the tests' field-order and picture checks depend on its content)
  is enlarged into a "world" picture; a 16:9 window pans across it by ``pan`` display pixels per
  field (two progressive pictures per frame, one per field instant);
* each picture is squeezed to the 720×576 storage raster (anamorphic 16:9, SAR 64:45: 720 samples
  carry the full 16:9 width, the "digital" convention of DVB and DVD);
* each picture goes to YUV 4:2:0 with the BT.601 matrix *per field* (interlaced 4:2:0 subsamples
  chroma within a field, as MPEG-2 does), and the fields are woven top field first: the top field
  (even lines) from the first instant, the bottom field (odd lines) from the second;
* MPEG-2 video (interlaced DCT and motion estimation, tagged tff, BT.601 625-line colour, a GOP
  start timecode) with MP2 (or AC-3) audio, in MPEG-PS ``.mpg`` or MPEG-TS ``.ts``.

``make_archive_mkv`` puts the same pictures in Matroska with two audio tracks (language tags and
titles), an SRT subtitle track and chapters: the streams a remux must carry.

Both return an ``ArchiveClip`` with the file and the true pictures (RGB uint8, 576×720, two per
frame in display order), so a test can compare each output frame with the picture of its instant.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from srkit.imageio import sws_exact
from srkit.paths import ARCHIVE_CLIP_SOURCE

SAR_16_9 = Fraction(64, 45)     # 720×576 → 16:9 with all 720 samples (DVB/DVD "digital" 16:9)
TIMECODE = "10:00:00:00"        # programme start, the usual broadcast convention
# AVCOL_* (matrix, primaries, transfer) of 625-line BT.601, the curve tagged as SMPTE 170M; PAL
# MPEG-2 in the wild usually says (5, 5, 5): transfer gamma28 (BT.470 System B/G)
BT601_625 = (5, 5, 6)
SRT = """1
00:00:00,040 --> 00:00:00,200
Archive subtitle one

2
00:00:00,200 --> 00:00:00,360
Archive subtitle two
"""


@dataclass
class ArchiveClip:
    """An archive clip and its truth.

    Attributes:
        path: the file written.
        fields: the progressive picture of each field instant, RGB uint8 (height×width×3, the
            storage raster), in time order: 2 per frame (top field's instant first).
        fps: frame rate (25 for 576i, 30000/1001 for 480i).
        sar: sample aspect ratio written (64:45).
        audio: audio codec of each audio stream, in stream order.
    """
    path: Path
    fields: list[np.ndarray]
    fps: int | Fraction = 25
    sar: Fraction = SAR_16_9
    audio: list[str] = field(default_factory=list)


def field_pictures(frames: int, width: int = 720, height: int = 576, pan: tuple[int, int] = (4, 2),
                   image: str | Path | None = None) -> list[np.ndarray]:
    """The progressive picture of each field instant: 2 × ``frames`` RGB uint8 arrays.

    Args:
        frames: interlaced frames (>= 1); pictures = 2 × frames.
        width, height: storage raster (default 720×576; both even, height a multiple of 4).
        pan: window motion per field, in display pixels (x, y); default (4, 2): vertical motion is
            what makes fields differ, horizontal motion what makes combing visible.
        image: source picture (default ``assets/archive_clip_source.png``).
    """
    from PIL import Image
    if frames < 1 or width % 2 or height % 4:
        raise ValueError(f"frames must be >= 1, width even and height a multiple of 4; got "
                         f"{frames}, {width}×{height}")
    path = Path(image) if image is not None else ARCHIVE_CLIP_SOURCE
    if not path.is_file():
        raise FileNotFoundError(f"archive clip source image not found: {path}")
    source = Image.open(path).convert("RGB")
    display_width = round(height * 16 / 9)  # the 16:9 window, in square display pixels
    count = 2 * frames
    need_w = display_width + abs(pan[0]) * count
    need_h = height + abs(pan[1]) * count
    # Enlarge the whole image so the panning window fits; Lanczos keeps its detail.
    zoom = max(need_w / source.width, need_h / source.height)
    world = source.resize((int(np.ceil(source.width * zoom)), int(np.ceil(source.height * zoom))),
                          Image.LANCZOS)
    pictures = []
    for t in range(count):
        x0 = t * pan[0] if pan[0] >= 0 else world.width - display_width + t * pan[0]
        y0 = t * pan[1] if pan[1] >= 0 else world.height - height + t * pan[1]
        window = world.crop((x0, y0, x0 + display_width, y0 + height))
        # Anamorphic squeeze: 16:9 display width onto the storage raster's samples.
        pictures.append(np.asarray(window.resize((width, height), Image.LANCZOS)))
    return pictures


LEADERS = ("black", "bars")
# EBU colour bars, 100/0/75/0: white at 100 %, then yellow, cyan, green, magenta, red, blue, black at 75 %
EBU_BARS = ((255, 255, 255), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0),
            (0, 0, 191), (0, 0, 0))


def leader_picture(kind: str, width: int, height: int) -> np.ndarray:
    """A still picture of a programme's leader (RGB uint8): "black", or "bars" (8 EBU colour bars)."""
    if kind == "black":
        return np.zeros((height, width, 3), np.uint8)
    if kind == "bars":
        columns = np.minimum(np.arange(width) * len(EBU_BARS) // width, len(EBU_BARS) - 1)
        return np.broadcast_to(np.array(EBU_BARS, np.uint8)[columns], (height, width, 3)).copy()
    raise ValueError(f"leader must be one of {LEADERS}, not {kind!r}")


def weave(top: np.ndarray, bottom: np.ndarray):
    """One interlaced yuv420p ``av.VideoFrame`` from two RGB pictures: even lines of ``top``
    (converted with BT.601 as a field of its own), odd lines of ``bottom``; chroma subsampled per
    field, as interlaced MPEG-2 4:2:0 is."""
    import av
    height, width = top.shape[:2]
    planes = []
    for picture, parity in ((top, 0), (bottom, 1)):
        field_rgb = np.ascontiguousarray(picture[parity::2])
        yuv = av.VideoFrame.from_ndarray(field_rgb, format="rgb24").reformat(
            format="yuv420p", dst_colorspace="ITU601", dst_color_range="MPEG",
            interpolation=sws_exact()).to_ndarray()
        h = height // 2
        planes.append((yuv[:h], yuv[h:h + h // 4].reshape(h // 2, width // 2),
                       yuv[h + h // 4:].reshape(h // 2, width // 2)))
    woven = []
    for index in range(3):
        a, b = planes[0][index], planes[1][index]
        plane = np.empty((a.shape[0] * 2, a.shape[1]), np.uint8)
        plane[0::2], plane[1::2] = a, b
        woven.append(plane)
    y, u, v = woven
    data = np.concatenate([y, u.reshape(-1, width), v.reshape(-1, width)])
    return av.VideoFrame.from_ndarray(data, format="yuv420p")


def _video_stream(container, width: int, height: int, fps, bitrate: int,
                  flagged: str = "tff", colour: tuple[int, int, int] = BT601_625):
    """MPEG-2 video set up as broadcast SD: interlaced coding, SAR 16:9, the ``colour`` tags
    (AVCOL_* matrix, primaries, transfer), the field order ``flagged`` in the stream
    ("progressive": frame coding, flagged progressive)."""
    stream = container.add_stream("mpeg2video", rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    context = stream.codec_context
    context.sample_aspect_ratio = SAR_16_9
    context.colorspace, context.color_primaries, context.color_trc = colour
    context.color_range = 1
    context.field_order = {"tff": 2, "bff": 3, "progressive": 1}[flagged]  # AV_FIELD_TT / BB / PROGRESSIVE
    context.gop_size = 12
    stream.options = {"b": str(bitrate), "maxrate": str(bitrate), "bufsize": str(bitrate // 2)}
    if flagged != "progressive":
        stream.options["flags"] = "+ilme+ildct"
    return stream


def _write_video(container, stream, pictures, fps, flagged: str = "tff",
                 leader: np.ndarray | None = None, leader_frames: int = 0,
                 colour: tuple[int, int, int] = BT601_625) -> None:
    import av
    graph = av.filter.Graph()
    # setfield marks each frame interlaced with the field order the encoder writes (PyAV frames
    # have no such setter); the pictures themselves are always woven top field first.
    source = graph.add("buffer", f"video_size={stream.width}x{stream.height}:pix_fmt=yuv420p:"
                                 f"time_base={1 / Fraction(fps)}:pixel_aspect={SAR_16_9.numerator}/"
                                 f"{SAR_16_9.denominator}")
    mark, sink = graph.add("setfield", "prog" if flagged == "progressive" else flagged), graph.add("buffersink")
    source.link_to(mark)
    mark.link_to(sink)
    graph.configure()
    # a leader frame is one still picture in both fields
    pairs = [(leader, leader)] * leader_frames + list(zip(pictures[0::2], pictures[1::2]))
    for index, (top, bottom) in enumerate(pairs):
        frame = weave(top, bottom)
        frame.pts, frame.time_base = index, 1 / Fraction(fps)
        frame.colorspace, frame.color_range = colour[0], 1
        frame.color_primaries, frame.color_trc = colour[1], colour[2]
        graph.push(frame)
        container.mux(stream.encode(graph.pull()))
    container.mux(stream.encode(None))


def _write_audio(container, codec: str, seconds: float, tone: float, language: str | None = None,
                 title: str | None = None):
    """A stereo tone of ``seconds`` (48 kHz) in ``codec`` (mp2, ac3, …); returns the stream."""
    import av
    stream = container.add_stream(codec, rate=48000, layout="stereo")
    if codec == "ac3":
        stream.bit_rate = 192000
    if language:
        stream.metadata["language"] = language
    if title:
        stream.metadata["title"] = title
    stream.codec_context.open()  # frame_size and sample format are known once opened
    size = stream.codec_context.frame_size or 1152
    fmt = stream.codec_context.format
    total = int(48000 * seconds)
    pending = []
    for start in range(0, total, size):
        t = (start + np.arange(size)) / 48000
        wave = 0.2 * np.sin(2 * np.pi * tone * t)
        samples = np.stack([wave, wave])
        if fmt.is_planar:
            array = samples.astype(np.float32) if fmt.name.startswith("flt") else \
                (samples * 32767).astype(np.int16)
        else:
            array = (samples.T.reshape(1, -1) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(array, format=fmt.name, layout="stereo")
        frame.sample_rate, frame.pts = 48000, start
        pending += stream.encode(frame)
    pending += stream.encode(None)
    return stream, pending


def make_archive_clip(path: str | Path, frames: int = 8, width: int = 720, height: int = 576,
                      audio: str = "mp2", pan: tuple[int, int] = (4, 2),
                      image: str | Path | None = None, bitrate: int = 8_000_000,
                      flagged: str = "tff", leader: str | None = None,
                      leader_frames: int = 0, colour: tuple[int, int, int] = BT601_625,
                      fps: int | Fraction = 25) -> ArchiveClip:
    """Write a 576i25 (or, with ``height``/``fps``, 480i) archive clip: MPEG-2 interlaced (tff)
    with ``audio``, in .mpg or .ts.

    Args:
        path: output; ``.mpg``/``.mpeg`` (MPEG-PS) or ``.ts`` (MPEG-TS).
        frames: interlaced frames (default 8 = 0.32 s; 16 fields of motion).
        width, height: storage raster (default 720×576, the PAL/625 raster; SAR stays 64:45).
        audio: "mp2" (default) or "ac3"; one stereo track lasting as long as the video.
        pan: window motion per field in display pixels (default (4, 2)).
        image: source picture (default ``assets/archive_clip_source.png``).
        bitrate: video bit rate in bit/s (default 8 Mbit/s, broadcast contribution quality).
        flagged: field order written in the stream, "tff" (default, true), or a wrongly
            flagged transfer, a classic archive defect: "bff", or "progressive" (frame coding,
            flagged progressive); the pictures stay top field first.
        leader: what precedes the programme, as on most tapes and transfers: None (default),
            "black" or "bars" (EBU colour bars), a still for ``leader_frames`` frames; the
            ``fields`` returned are the programme's only (frame ``leader_frames`` onwards).
        colour: AVCOL_* (matrix, primaries, transfer) tags written (default ``BT601_625``,
            (5, 5, 6)); the pictures are always coded with the BT.601 matrix, so only the tags
            change: (5, 5, 5) is PAL as usually tagged (gamma28), (6, 6, 6) NTSC.
        fps: frame rate (default 25; 30000/1001 for 480i).

    Returns:
        ``ArchiveClip`` with the true progressive picture of every field instant.
    """
    import av
    path = Path(path)
    muxer = {".mpg": "vob", ".mpeg": "vob", ".ts": "mpegts"}.get(path.suffix.lower())
    if muxer is None:
        raise ValueError(f"{path}: an archive clip is .mpg (MPEG-PS) or .ts (MPEG-TS)")
    if flagged not in ("tff", "bff", "progressive"):
        raise ValueError(f"{path}: flagged must be tff, bff or progressive, not {flagged!r}")
    if leader_frames < 0 or (leader_frames and leader is None):
        raise ValueError(f"{path}: leader_frames={leader_frames} needs leader='black' or 'bars'")
    still = leader_picture(leader, width, height) if leader is not None else None
    if audio not in ("mp2", "ac3"):
        raise ValueError(f"{path}: audio must be mp2 or ac3, not {audio!r}")
    pictures = field_pictures(frames, width, height, pan, image)
    with av.open(str(path), "w", format=muxer) as container:
        video = _video_stream(container, width, height, fps, bitrate, flagged, colour)
        _, packets = _write_audio(container, audio, float((frames + leader_frames) / Fraction(fps)),
                                  440.0, language="eng")
        _write_video(container, video, pictures, fps, flagged, still, leader_frames, colour)
        for packet in packets:
            container.mux(packet)
    return ArchiveClip(path, pictures, fps=fps, audio=[audio])


def make_archive_mkv(path: str | Path, frames: int = 8, width: int = 720, height: int = 576,
                     pan: tuple[int, int] = (4, 2), image: str | Path | None = None,
                     bitrate: int = 8_000_000) -> ArchiveClip:
    """Write the archive clip as Matroska with every kind of stream a remux must keep.

    Streams: MPEG-2 576i video (as ``make_archive_clip``), MP2 audio (language "eng", title
    "Main"), AC-3 audio ("fra", "Audio description"), SRT subtitles ("eng", two cues); two
    chapters; container title and a TIMECODE tag.

    Args: as ``make_archive_clip`` (``path`` ends in .mkv).
    """
    import av
    path = Path(path)
    if path.suffix.lower() != ".mkv":
        raise ValueError(f"{path}: make_archive_mkv writes Matroska (.mkv)")
    pictures = field_pictures(frames, width, height, pan, image)
    srt = path.with_name(path.stem + ".srt")
    srt.write_text(SRT, encoding="utf-8")
    seconds = frames / 25
    with av.open(str(srt)) as subtitles, av.open(str(path), "w") as container:
        container.metadata["title"] = "srkit archive clip"
        container.metadata["TIMECODE"] = TIMECODE
        video = _video_stream(container, width, height, 25, bitrate)
        _, main = _write_audio(container, "mp2", seconds, 440.0, "eng", "Main")
        _, described = _write_audio(container, "ac3", seconds, 660.0, "fra", "Audio description")
        text = container.add_stream_from_template(subtitles.streams[0])
        text.metadata["language"] = "eng"
        container.set_chapters([
            {"id": 1, "start": 0, "end": 160, "time_base": Fraction(1, 1000),
             "metadata": {"title": "Opening"}},
            {"id": 2, "start": 160, "end": int(seconds * 1000), "time_base": Fraction(1, 1000),
             "metadata": {"title": "Main part"}}])
        _write_video(container, video, pictures, 25)
        for packet in main + described:
            container.mux(packet)
        for packet in subtitles.demux():
            if packet.dts is None:
                continue
            packet.stream = text
            container.mux(packet)
    srt.unlink()
    return ArchiveClip(path, pictures, audio=["mp2", "ac3"])
