"""What a job will do with one input (``plan_video`` → ``VideoPlan``): interlace, geometry, colour, bit
depth and streams; the table ``srkit probe`` prints."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from srkit.inference.colour import plan_colour
from srkit.inference.video.codecs import (ATTACHMENT_MUXERS, BITSTREAM_SAR_ENCODERS, CHAPTER_MUXERS, CODECS, DNXHR_MIN,
                                          MUXERS, STREAM_SAR_MUXERS, TEXT_SUBTITLES, _muxer_codecs,
                                          codec_support)
from srkit.inference.video.source import COMB_PROGRESSIVE_SHARE, IDET_MIN_HEIGHT, SourceInfo


# The factor a video job uses without --scale, for ``srkit probe`` and ``srkit upscale`` alike
# (with x2_archive: SD archive material doubled is HD-sized; ×4 of 576 lines is 2304).
DEFAULT_SCALE = 2
DEINTERLACE_MODES = ("auto", "off", "frame", "field", "ivtc")


# bwdif (and the fieldmatch chain of ivtc) refuse planes under 3 samples wide or 4 lines high:
# measured, a 4:2:0 picture needs 5×7 (4×8 and 8×6 fail to configure)
BWDIF_MIN = (3, 4)


# ITU-R BT.601 "analogue" SARs: the 52 µs active line is 702 samples at 13.5 MHz, taken as 704
# (MPEG's convention), and those 704 carry 4:3 or 16:9; a 720-sample line is slightly wider.
ANALOGUE_SARS = {Fraction(12, 11), Fraction(16, 11), Fraction(10, 11), Fraction(40, 33)}


SD_WIDTH, ACTIVE_WIDTH = 720, 704


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
        attach: indexes of the source's attachment streams (fonts) written into the output
            (Matroska holds them; ``ATTACHMENT_MUXERS``).
        origin: the source time (s) that becomes 0 in the output: the earliest declared start of
            the streams carried (``_plan_origin``); every stream and chapter moves by it alike.
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
    attach: list[int] = field(default_factory=list)
    origin: Fraction = Fraction(0)
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


def _plan_interlace(info: SourceInfo, deinterlace: str, notes: list, warned: list):
    """(mode, field order, progressive output, rate, time base): the stream's flag checked against
    what idet saw, the ``deinterlace`` option, and what they make of the frame rate."""
    import av
    name = info.path.name
    seen = info.picture_order
    idet = (f"idet on {info.idet.get('frames', 0)} frames: {info.idet.get('tff', 0)} tff, "
            f"{info.idet.get('bff', 0)} bff, {info.idet.get('progressive', 0)} progressive"
            if info.idet else "idet not run (pictures under "
            f"{IDET_MIN_HEIGHT} lines are judged by the stream flag)")
    notes.append(f"interlace: stream flag {info.field_order}; {idet}")
    seen = _second_opinion(info, seen, notes)
    interlaced = info.stream_interlaced or seen in ("tff", "bff")
    order = info.field_order if info.stream_interlaced else None
    if seen in ("tff", "bff") and order is not None and seen != order:
        warned.append(f"{name}: the stream says {order} but the pictures are {seen} ({idet}); "
                      f"deinterlacing as {seen}")
        order = seen
    elif seen in ("tff", "bff") and order is None:
        if info.field_order == "progressive" and deinterlace == "auto":
            comb = "" if info.comb_share is None else \
                f", combing in {info.comb_share:.1%} of the textured blocks"
            warned.append(f"{name}: the stream is flagged progressive but its pictures are "
                          f"interlaced, {seen} ({idet}{comb}); deinterlacing (--deinterlace off "
                          "keeps the frames as they are)")
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

    return mode, order, progressive, rate, time_base


def _second_opinion(info: SourceInfo, seen: str | None, notes: list) -> str | None:
    """idet's verdict, unless it calls interlaced a stream flagged progressive whose pictures show
    no combing (``srkit.inference.video.source.COMB_PROGRESSIVE_SHARE``): then "progressive". Adds
    one note saying which evidence decided."""
    flag, share = info.field_order, info.comb_share
    comb = "no comb measure" if share is None else \
        f"combing in {share:.1%} of the textured blocks (field against frame curvature)"
    verdict = "no verdict" if seen is None else seen
    if not info.idet:
        why = f"the stream flag ({flag})"
    elif flag not in ("progressive", "tff", "bff"):
        why = f"idet ({verdict}; the stream declares no field order); {comb}"
    elif flag != "progressive" or seen not in ("tff", "bff"):
        why = f"the stream flag ({flag}); idet: {verdict}; {comb}"
    elif share is not None and share < COMB_PROGRESSIVE_SHARE:
        notes.append(f"interlace: decided by the stream flag and the comb measure against idet "
                     f"({seen}): {comb}, under {COMB_PROGRESSIVE_SHARE:.0%} (progressive detail "
                     "moving vertically, such as credits, misleads idet); kept progressive "
                     "(--deinterlace frame deinterlaces anyway)")
        return "progressive"
    else:
        why = f"idet ({seen}) and the comb measure against the stream flag: {comb}"
    notes.append(f"interlace: decided by {why}")
    return seen


@dataclass
class _Shape:
    """The picture the encoder gets: pixel format, model output size, encoded size, SAR and the
    filter chain after the model."""
    pix_fmt: str
    model_size: tuple[int, int]
    width: int
    height: int
    sar: Fraction
    geometry: str


def _plan_geometry(info: SourceInfo, target: Path, codec: str, scale: int, square_pixels: bool,
                   fit, progressive: bool, order: str | None, notes: list, warned: list) -> _Shape:
    """Sizes, SAR and the crop/scale/pad/setsar/setfield chain after the model."""
    import av
    name = info.path.name
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

    return _Shape(pix_fmt, (model_w, model_h), width, height, sar, geometry)


def _plan_streams(info: SourceInfo, target: Path, notes: list, warned: list):
    """(streams copied, text subtitles converted, attachments written, chapters kept) for the output
    container."""
    name = info.path.name
    supported = _muxer_codecs(target.suffix.lower())
    copy, convert, attach = [], {}, []
    for s in info.streams:
        if s.type == "video":
            if s.index != _first_video(info):
                warned.append(f"{name}: stream #{s.index} (video, {s.codec}) is not carried: only "
                              "the first video stream is upscaled")
            continue
        what = f"{s.detail}, {s.codec}" if s.type == "attachment" and s.detail else s.codec
        label = f"#{s.index} ({s.type}, {what}{', ' + s.language if s.language else ''})"
        if s.type in ("audio", "subtitle") and s.codec in supported:
            copy.append(s.index)
            notes.append(f"streams: {label} copied")
        elif s.type == "subtitle" and s.codec in TEXT_SUBTITLES and \
                next((c for c in TEXT_SUBTITLES if c in supported), None):
            convert[s.index] = next(c for c in TEXT_SUBTITLES if c in supported)
            notes.append(f"streams: {label} converted to {convert[s.index]} ({target.suffix} "
                         f"cannot hold {s.codec}; text and timing kept)")
        elif s.type == "attachment" and MUXERS.get(target.suffix.lower()) in ATTACHMENT_MUXERS:
            attach.append(s.index)
            notes.append(f"streams: {label} attached")
        elif s.type == "data" and s.codec in ("none", "timecode", "bin_data") and info.timecode:
            notes.append(f"streams: {label} timecode track: its start {info.timecode} is written "
                         "anew")
        else:
            why = (f"{target.suffix} cannot hold {s.codec}" if s.type in ("audio", "subtitle")
                   else f"{target.suffix} files cannot hold attachments (.mkv can)"
                   if s.type == "attachment" else f"{s.type} streams are not carried")
            warned.append(f"{name}: stream {label} is not copied to {target.name}: {why}")
    chapters = info.chapters > 0 and MUXERS.get(target.suffix.lower()) in CHAPTER_MUXERS
    if info.chapters and not chapters:
        warned.append(f"{name}: {info.chapters} chapters are not copied: {target.suffix} files "
                      "cannot hold chapters")
    elif info.chapters:
        notes.append(f"streams: {info.chapters} chapters copied")
    if info.timecode:
        notes.append(f"streams: start timecode {info.timecode} kept")
    return copy, convert, attach, chapters


def plan_video(info: SourceInfo, target: str | Path, codec: str = "h264", scale: int = 2,
               deinterlace: str = "auto", square_pixels: bool = False, fit=None,
               keep_colour: bool = False) -> VideoPlan:
    """Decide what to do with ``info``'s file for an output ``target`` (its suffix picks the
    container). See ``upscale_video`` for the options; raises ValueError for bad ones. In parts:
    interlace (``_plan_interlace``), geometry (``_plan_geometry``), colour
    (``srkit.inference.colour.plan_colour``) and bit depth, streams (``_plan_streams``); each adds
    its lines to ``notes`` and ``warnings``."""
    import av
    target = Path(target)
    if deinterlace not in DEINTERLACE_MODES:
        raise ValueError(f"deinterlace {deinterlace!r}: choose one of "
                         f"{', '.join(DEINTERLACE_MODES)}")
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    fit = _parse_fit(fit)
    if fit and square_pixels:
        raise ValueError("fit already gives square pixels; use square_pixels or fit, not both")
    notes, warned = [], []

    mode, order, progressive, rate, time_base = _plan_interlace(info, deinterlace, notes, warned)
    shape = _plan_geometry(info, target, codec, scale, square_pixels, fit, progressive, order,
                           notes, warned)
    colour = plan_colour(info, shape.height, keep_colour)
    notes += colour.notes
    warned += colour.warnings
    colour_filter = colour.colour_filter
    bits_out = max(c.bits for c in av.VideoFormat(shape.pix_fmt).components)
    float_input = info.bits > 8 or bool(colour_filter)
    float_output = float_input or bits_out > 8 or bool(shape.geometry)
    notes.append(f"bit depth: {info.pix_fmt} ({info.bits}-bit) → model as "
                 f"{'float (16-bit RGB)' if float_input else 'RGB 8-bit'} → {shape.pix_fmt} "
                 f"({bits_out}-bit), {codec}: {CODECS[codec].description}")

    copy, convert, attach, chapters = _plan_streams(info, target, notes, warned)
    origin = _plan_origin(info, [_first_video(info), *copy, *convert], notes)
    return VideoPlan(mode, order if mode or not progressive else None, progressive, rate,
                     time_base, shape.model_size, shape.width, shape.height, shape.sar,
                     shape.geometry, colour.matrix, colour.primaries, colour.transfer,
                     colour.colour_range, colour_filter, colour.out_matrix, colour.out_primaries,
                     colour.out_transfer, codec, shape.pix_fmt, float_input, float_output,
                     info.rotation, info.timecode, copy, chapters, convert, attach, origin,
                     notes, warned)


def _plan_origin(info: SourceInfo, carried: list[int], notes: list) -> Fraction:
    """The source time that becomes 0 in the output: the earliest declared start among the
    ``carried`` streams. An MPEG-TS starts where its clock stood (1.44 s, 10 h, …), and one whose
    33-bit PTS wrapped just after the start begins at a negative time; kept as they are, an MP4
    plays the lead-in as a still first frame, or its edit list cuts the frames before 0. Moving
    every stream by the same amount keeps their offsets to each other (A/V sync)."""
    starts = [s.start for s in info.streams if s.index in carried and s.start is not None]
    origin = min(starts) if starts else Fraction(0)
    if origin:
        notes.append(f"timing: the streams start at {float(origin):.3f} s in the source; the output "
                     "starts at 0 (each stream keeps its offset to the others)")
    return origin


def _first_video(info: SourceInfo) -> int:
    return next(s.index for s in info.streams if s.type == "video")


def _ratio(value: Fraction) -> str:
    """16:9, 4:3, … or a decimal for anything else."""
    value = value.limit_denominator(1000)
    if value.denominator <= 100:
        return f"{value.numerator}:{value.denominator}"
    return f"{float(value):.4f}"
