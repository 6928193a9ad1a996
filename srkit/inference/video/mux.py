"""The output container: the video stream's settings, copied streams, tags and chapters, subtitle
conversion, encoder packets."""
from __future__ import annotations

from srkit.inference.video.codecs import CODECS, INTERLACED_ENCODERS
from srkit.inference.video.graphs import _is_rgb
from srkit.inference.video.plan import VideoPlan
from srkit.inference.video.source import _tag


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
    tag_video_stream(stream, plan, source_stream)
    return stream


def tag_video_stream(stream, plan: VideoPlan, source_stream) -> None:
    """What the output video stream says about its pictures beside the codec: SAR, colour tags,
    field order, display rotation, the source stream's language and title, the start timecode
    (for a new stream, and for the one the stitch copies from the chunks)."""
    context = stream.codec_context
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


# Tags the muxer writes itself or that describe the old encoding, not the programme.
_MUXER_TAGS = frozenset({"encoder", "major_brand", "minor_version", "compatible_brands",
                         "duration", "handler_name", "vendor_id", "bps", "number_of_frames",
                         "number_of_bytes", "timecode"})


def _copy_tags(source, target) -> None:
    for key, value in source.items():
        if key.lower() not in _MUXER_TAGS and not key.startswith("_STATISTICS"):
            target[key] = value


def _copy_container(src, dst, plan: VideoPlan) -> dict:
    """Container metadata, chapters and the copied streams; returns source index → output
    stream."""
    _copy_tags(src.metadata, dst.metadata)
    if plan.timecode:
        dst.metadata["timecode"] = plan.timecode
    if plan.chapters:
        dst.set_chapters([_shifted_chapter(chapter, plan) for chapter in src.chapters()])
    for index in plan.attach:  # written with the header: fonts for the subtitles, cover art
        stream = src.streams[index]
        dst.add_attachment(stream.name or f"attachment{index}",
                           stream.mimetype or "application/octet-stream", bytes(stream.data))
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


def output_pts(picture, plan: VideoPlan) -> int:
    """A picture's output timestamp in the plan's time base: its source time less
    ``plan.origin`` (bwdif counts in half the input's time base even at the frame rate)."""
    pts = round(picture.pts * picture.time_base / plan.time_base) if picture.time_base \
        else picture.pts
    return pts - round(plan.origin / plan.time_base)


def _shift(time_base, plan: VideoPlan) -> int:
    """``plan.origin`` in ticks of ``time_base`` (0 when there is none)."""
    return round(plan.origin / time_base) if plan.origin and time_base else 0


def _shifted_chapter(chapter: dict, plan: VideoPlan) -> dict:
    shift = _shift(chapter["time_base"], plan)
    return {**chapter, "start": chapter["start"] - shift, "end": chapter["end"] - shift}


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


def copy_packet(packet, plan, others: dict, dst, packets: dict) -> None:
    """A packet of a copied stream (audio, subtitles, data) into ``dst``: text subtitles converted
    where ``plan.convert`` says the muxer needs it, moved by ``plan.origin``, and counted in
    ``packets`` by source index."""
    index = packet.stream.index
    if index in plan.convert:
        packet = _convert_subtitle(packet, others[index])
        if packet is None:
            return
    shift = _shift(packet.time_base, plan)
    if shift:  # the output starts at plan.origin: every stream moves alike
        packet.pts = None if packet.pts is None else packet.pts - shift
        packet.dts = None if packet.dts is None else packet.dts - shift
    packet.stream = others[index]
    dst.mux(packet)
    packets[index] += 1


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
