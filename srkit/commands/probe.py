"""``srkit probe FILE``: what srkit sees in a video and what ``srkit upscale`` will do with it.

One table, before a long job: the container and streams, interlace (the stream's field order and
FFmpeg's ``idet`` on the pictures looked at), SAR/DAR and the output geometry, colour (tags, and the
BT.601 → BT.709 conversion for HD output), bit depth through the model, which streams are copied
and which cannot be, the shot cuts and damage among the pictures looked at (across a long video,
blank and still ones skipped), and the warnings the job would print.
Give the same options as ``srkit upscale`` (``--scale``, ``--codec``, ``-o``, ``--deinterlace``,
``--square-pixels``, ``--fit``, ``--keep-colour``) to see what they change; ``--frames``
moving pictures are looked at (a few times that many decoded at most) and nothing is written.
``srkit probe --codecs`` lists the output codecs this FFmpeg build can write.

Exit codes: 0 done, 2 a problem with the file or the options (the message names it).
"""
from __future__ import annotations

import sys
from pathlib import Path

EXIT_OK, EXIT_USAGE = 0, 2


def add_arguments(parser) -> None:
    """Register the options of ``srkit probe`` on an argparse parser."""
    from srkit.inference.video import (CODECS, DEFAULT_SCALE, DEINTERLACE_MODES, IDET_FRAMES,
                                       SPREAD_MIN_FRAMES, SPREAD_STRETCHES)
    parser.add_argument("input", nargs="?", help="video file")
    parser.add_argument("-o", "--output", default=None,
                        help="the output you plan (its suffix decides which streams fit; default: "
                             "the codec's first container)")
    parser.add_argument("--scale", type=int, choices=(2, 3, 4), default=DEFAULT_SCALE,
                        help=f"the factor of the weights you will use (default {DEFAULT_SCALE}, as "
                             f"srkit upscale uses for video: x{DEFAULT_SCALE}_archive)")
    parser.add_argument("--codec", choices=tuple(CODECS), default="h264",
                        help="output codec, as for srkit upscale (default h264)")
    same = "as for srkit upscale"
    parser.add_argument("--deinterlace", choices=DEINTERLACE_MODES, default="auto",
                        help=f"{same} (default auto)")
    parser.add_argument("--square-pixels", action="store_true", help=same)
    parser.add_argument("--fit", default=None, metavar="WxH", help=same)
    parser.add_argument("--keep-colour", action="store_true", help=same)
    parser.add_argument("--frames", type=int, default=IDET_FRAMES,
                        help=f"pictures with content that idet, the cut detector and the damage measures look at "
                             f"(default {IDET_FRAMES}; in {SPREAD_STRETCHES} stretches across a video of "
                             f"{SPREAD_MIN_FRAMES} frames or more)")
    parser.add_argument("--codecs", action="store_true",
                        help="list the output codecs, their containers and whether this FFmpeg "
                             "has them, then exit")


def run(args) -> int:
    """Print the table; returns the exit code."""
    from srkit.inference.video import (CODECS, VIDEO_SUFFIXES, codec_table, inspect_video,
                                       plan_video, require_file)
    if args.codecs:
        print(codec_table())
        return EXIT_OK
    if args.input is None:
        return _fail("give a video file (or --codecs)")
    source = Path(args.input)
    try:
        require_file(source)
    except (FileNotFoundError, ValueError) as error:
        return _fail(str(error))
    suffix = source.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        from srkit.imageio import IMAGE_SUFFIXES
        if suffix in IMAGE_SUFFIXES:
            return _fail(f"{source} is an image ({suffix}): srkit probe looks at video files; "
                         "srkit upscale takes images directly")
        return _fail(f"{source}: {suffix or 'no suffix'} is not a video suffix srkit upscale "
                     f"reads ({' '.join(VIDEO_SUFFIXES)})")
    if args.frames < 0:
        return _fail(f"--frames {args.frames}: must be >= 0")
    target = Path(args.output) if args.output else \
        source.with_name(source.stem + "_x" + str(args.scale) + CODECS[args.codec].containers[0])
    if target.suffix.lower() not in CODECS[args.codec].containers:
        return _fail(f"output {target}: --codec {args.codec} cannot be written to a "
                     f"{target.suffix or 'suffix-less'} file; use one of "
                     f"{', '.join(CODECS[args.codec].containers)}")
    try:
        info = inspect_video(source, frames=args.frames)
        plan = plan_video(info, target, args.codec, args.scale, args.deinterlace,
                          args.square_pixels, args.fit, args.keep_colour)
    except (FileNotFoundError, ValueError) as error:
        return _fail(str(error))
    print(table(info, plan, target))
    return EXIT_OK


def _fail(message: str) -> int:
    print(f"srkit probe: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def table(info, plan, target: Path) -> str:
    """The probe table: one "what srkit sees" block, one "what it will do" block."""
    from srkit.inference.video import DAMAGE_FRAMES, MATRICES, PRIMARIES, RANGES, TRANSFERS, _ratio
    length = f"{info.duration:.2f} s" if info.duration is not None else "length unknown"
    frames = f", {info.frames} frames" if info.frames else ""
    rows = [("file", f"{info.path.name} ({info.container}, {length}{frames} at "
                     f"{float(info.rate):g} fps)"),
            ("video", f"{info.codec} {info.pix_fmt} ({info.bits}-bit) {info.width}x{info.height} "
                      f"SAR {_ratio(info.sar)} DAR {_ratio(info.dar)}"
                      + (f", rotation {info.rotation:g}°" if info.rotation else "")),
            ("colour", f"matrix {MATRICES.get(info.matrix, 'unspecified')}, primaries "
                       f"{PRIMARIES.get(info.primaries, 'unspecified')}, transfer "
                       f"{TRANSFERS.get(info.transfer, 'unspecified')}, range "
                       f"{RANGES.get(info.colour_range, 'unspecified')}")]
    for stream in info.streams:
        tags = ", ".join(t for t in (stream.language, stream.title, stream.detail) if t)
        rows.append((f"stream #{stream.index}", f"{stream.type} {stream.codec}"
                     + (f" ({tags})" if tags else "")))
    rows.append(("chapters", str(info.chapters)))
    rows.append(("timecode", info.timecode or "none"))
    where = f"{info.looked_where} (blank and still ones skipped)"
    rows.append(("shots", f"{info.cuts} cut{'s' * (info.cuts != 1)} in {where}"))
    rows.append(("damage", f"{info.damage} (median of up to {DAMAGE_FRAMES} of those, per field)" if info.damage
                 else "not measured (no picture with content decoded)"))
    width = max(len(key) for key, _ in rows) + 2
    lines = ["what srkit sees"] + [f"  {key:<{width}}{value}" for key, value in rows]
    scale = plan.model_size[1] // max(info.height, 1)
    lines.append(f"what srkit upscale will do (x{scale}, --codec {plan.codec}, {target.name})")
    from srkit.commands.upscaling.models import default_weights
    name, why = default_weights("video", scale)
    lines.append(f"  {'model':<{width}}{name} ({why})")
    if info.damage is not None:
        from srkit.inference.damage import choose_weights
        auto, why = choose_weights(info.damage, scale)
        lines.append(f"  {'auto':<{width}}with --weights auto: {auto} ({why})")
    for note in plan.notes:
        key, _, value = note.partition(": ")
        lines.append(f"  {key:<{width}}{value}")
    # docs/PROTOCOLS.md: a video's pictures are never corner phase; images made by the BD protocol are
    lines.append(f"  {'phase':<{width}}centre (video pictures are; images made by the BD protocol's DUF "
                 "downsampler or by plain subsampling are corner phase: srkit upscale --phase corner)")
    lines.append(f"  {'progress':<{width}}a bar with frames done, frames/s and time left "
                 "(--quiet hides it)")
    for warning in plan.warnings:
        lines.append(f"  {'warning':<{width}}{warning}")
    return "\n".join(lines)
