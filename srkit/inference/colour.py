"""Colour of a video job: what the source is read as, and what the output holds and is tagged.

SD video is BT.601 (matrix BT.470BG at 625 lines, SMPTE 170M at 525; EBU or SMPTE-C primaries), HD
video BT.709. For an HD output (``HD_HEIGHT`` lines or more) of a BT.601 source, ``plan_colour``
has FFmpeg's ``colorspace`` filter convert the matrix and the primaries (the primaries in linear
light) before the model; the transfer curve is not converted.

Why the curve is kept: BT.601 and BT.709 cameras share one OETF (SMPTE 170M's curve is BT.709's),
and the BT.470 tags ``gamma22`` (System M) and ``gamma28`` (System B/G, what PAL MPEG-2 usually
carries) name nominal *display* gammas that PAL and NTSC material was never graded for. Taking the
tag at its word linearises with gamma 2.8 and re-encodes with the BT.709 curve: a 0.6 signal becomes
0.48. Measured on a 576i clip of a real picture tagged gamma28: mean R 131 against 152 and 20.2 dB
against the true pictures that way; 39.9 dB and within 2 levels with the curve kept (FFmpeg alone,
bwdif then colorspace, 2026-12-07). Broadcast SD→HD conversion changes the matrix and the
primaries and keeps the signal, so players that ignore the tag (most) show the output as the source
looked. Every curve of that family (``CAMERA_CURVES``: bt709, gamma22, gamma28, smpte170m,
bt2020-10/12, or none tagged) passes through unchanged and is tagged bt709.

A curve that really differs (linear, log, sRGB, SMPTE 240M, PQ, HLG, …) is never remapped: it is
kept with its tag, the primaries too (converting them needs linear light, so the curve), and only
the matrix becomes BT.709 — free, since the model works in RGB: frames are read with the source
matrix and written with BT.709. One warning line says so. PQ and HLG input gets one more line: the
model was trained on SDR pictures and mastering-display / content-light metadata are not carried.
A YUV matrix swscale cannot turn into RGB (YCgCo, ICtCp, …) is refused with the file's name rather
than decoded as BT.601.

The ``colorspace`` filter refuses odd picture sizes (FFmpeg's "patches welcome" error):
``colour_chain`` takes the picture to 4:4:4, pads it by one black row or column, converts, and
crops it back. The conversion is per pixel, so the picture itself is unchanged by the padding.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from srkit.inference.video.source import SourceInfo

# AVCOL_* codes → FFmpeg's names (those the colorspace filter and ffprobe use)
MATRICES = {0: "rgb", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
            8: "ycgco", 9: "bt2020nc", 10: "bt2020c", 11: "smpte2085", 12: "chroma-derived-nc",
            13: "chroma-derived-c", 14: "ictcp"}
PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film",
             9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}
TRANSFERS = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
             9: "log100", 10: "log316", 11: "iec61966-2-4", 12: "bt1361e", 13: "srgb",
             14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 17: "smpte428", 18: "arib-std-b67"}
RANGES = {1: "tv", 2: "pc"}
BT601_MATRICES = (5, 6)
HD_HEIGHT = 720  # from here up, BT.709 is the colour of the output
# swscale's name for each matrix (``to_ndarray`` / ``reformat``); a YUV matrix not here cannot be
# read into RGB by srkit
SWS_MATRICES = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "SMPTE170M", 7: "SMPTE240M", 9: "BT2020",
                10: "BT2020"}
# Transfers that name the BT.601/BT.709 camera curve (BT.2020's is the same curve): kept as they
# are on an SD → HD conversion and tagged bt709. In words, for the plan.
CAMERA_CURVES = {1: "BT.709", 4: "BT.470 gamma 2.2", 5: "BT.470 gamma 2.8",
                 6: "SMPTE 170M (BT.601)", 14: "BT.2020 (10-bit)", 15: "BT.2020 (12-bit)"}
HDR_TRANSFERS = {16: "PQ, SMPTE ST 2084", 18: "HLG, ARIB STD-B67"}


@dataclass
class ColourPlan:
    """What ``plan_colour`` decided.

    Attributes:
        matrix, primaries, transfer, colour_range: AVCOL_* codes the source is read with (its tags,
            or the convention for its height where it has none).
        colour_filter: ``colorspace`` filter arguments converting matrix and primaries to BT.709
            before the model; "" when no filter runs.
        out_matrix, out_primaries, out_transfer: AVCOL_* codes of the output.
        notes, warnings: lines for ``VideoPlan.notes`` / ``VideoPlan.warnings``.
    """
    matrix: int
    primaries: int
    transfer: int
    colour_range: int
    colour_filter: str
    out_matrix: int
    out_primaries: int
    out_transfer: int
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def colour_defaults(height: int, lines_625: bool) -> tuple[int, int, int]:
    """(matrix, primaries, transfer) players assume for untagged video: BT.709 from 720 lines up;
    below, BT.601 with EBU (625-line) or SMPTE-C (525-line) primaries."""
    if height >= HD_HEIGHT:
        return 1, 1, 1
    return (5, 5, 6) if lines_625 else (6, 6, 6)


def _name(table: dict[int, str], code) -> str:
    return table.get(code, f"code {code}")


def plan_colour(info: "SourceInfo", out_height: int, keep_colour: bool = False) -> ColourPlan:
    """The colour decisions for ``info``'s file written ``out_height`` lines high.

    Raises ValueError (naming the file) for a YUV source whose matrix swscale cannot convert.
    """
    import av
    name = info.path.name
    guess = colour_defaults(info.height, lines_625(info.height, info.rate))
    fmt = av.VideoFormat(info.pix_fmt)
    chroma = not fmt.is_rgb and len(fmt.components) >= 3
    if chroma and info.matrix not in (*SWS_MATRICES, 0, 2, None):
        raise ValueError(f"{name}: colour matrix {_name(MATRICES, info.matrix)} cannot be turned "
                         f"into RGB by srkit (swscale knows "
                         f"{', '.join(MATRICES[c] for c in (1, 5, 6, 7, 4, 9))}); convert the "
                         "file to one of those first")
    matrix = info.matrix if info.matrix in SWS_MATRICES else guess[0]
    primaries = info.primaries if info.primaries in PRIMARIES else guess[1]
    transfer = info.transfer if info.transfer in TRANSFERS else guess[2]
    colour_range = info.colour_range if info.colour_range in (1, 2) else 1
    tagged = info.matrix in SWS_MATRICES
    notes = [f"colour: matrix {MATRICES.get(matrix)}, primaries {PRIMARIES.get(primaries)}, "
             f"transfer {TRANSFERS.get(transfer)}, range {RANGES[colour_range]}"
             + ("" if tagged else f" (untagged: the convention for {info.height} lines)")]
    warned = []
    out, colour_filter = (matrix, primaries, transfer), ""
    convert = out_height >= HD_HEIGHT and matrix in BT601_MATRICES
    if convert and keep_colour:
        notes.append("colour: kept BT.601 on HD output (--keep-colour); tagged as such")
    elif convert and transfer in CAMERA_CURVES:
        out = (1, 1, 1)
        colour_filter = (f"all=bt709:range=tv:format=yuv444p12:ispace={MATRICES[matrix]}:"
                         f"iprimaries={PRIMARIES[primaries]}:itrc=bt709:"
                         f"irange={RANGES[colour_range]}")
        notes.append("colour: BT.601 → BT.709 (FFmpeg colorspace filter: matrix and primaries) "
                     "for the HD output; --keep-colour keeps BT.601")
        what = CAMERA_CURVES[transfer] if info.transfer in TRANSFERS else "untagged"
        notes.append(f"transfer: kept, {what} treated as the BT.601/709 curve (not converted); "
                     "tagged bt709")
    elif convert:
        out = (1, primaries, transfer)
        line = (f"transfer {TRANSFERS[transfer]} is not the BT.601/709 camera curve: it is kept "
                f"and tagged as it is, and so are the primaries ({PRIMARIES[primaries]}: converting "
                "them needs the curve); only the matrix becomes BT.709 for the HD output "
                "(--keep-colour keeps BT.601)")
        notes.append(f"colour: {line}")
        warned.append(f"{name}: {line}")
    if transfer in HDR_TRANSFERS:
        warned.append(f"{name}: HDR input (transfer {TRANSFERS[transfer]}, "
                      f"{HDR_TRANSFERS[transfer]}): the model was trained on SDR pictures and "
                      "runs on the code values as they are; the colour tags are kept, but "
                      "mastering-display and content-light metadata are not written to the output")
    if colour_filter and (info.width % 2 or info.height % 2):
        notes.append(f"colour: the colorspace filter needs even sizes: each {info.width}x"
                     f"{info.height} picture is padded by a black row/column and cropped back "
                     "after it (the conversion is per pixel: the picture is unchanged)")
    notes.append(f"colour: output tagged matrix {MATRICES[out[0]]}, primaries "
                 f"{PRIMARIES[out[1]]}, transfer {TRANSFERS[out[2]]}, range tv")
    return ColourPlan(matrix, primaries, transfer, colour_range, colour_filter, *out, notes, warned)


def colour_chain(colour_filter: str, width: int, height: int) -> list[tuple[str, str]]:
    """The filters that apply ``colour_filter`` to ``width``×``height`` pictures: the
    ``colorspace`` filter alone, or, for odd sizes (which it refuses), after a conversion to
    12-bit 4:4:4 and a pad to even sizes and before a crop back to the picture. Empty when
    ``colour_filter`` is ""."""
    if not colour_filter:
        return []
    if not (width % 2 or height % 2):
        return [("colorspace", colour_filter)]
    # pad drops the last odd row/column of a subsampled picture (measured on 161×361 yuv420p),
    # so the chroma goes to 4:4:4 first (12 bits: 8- and 10-bit samples fit)
    return [("scale", "flags=accurate_rnd+full_chroma_int"), ("format", "yuv444p12"),
            ("pad", f"{width + width % 2}:{height + height % 2}:0:0:black"),
            ("colorspace", colour_filter), ("crop", f"{width}:{height}:0:0")]


def lines_625(height: int, rate: Fraction) -> bool:
    """Whether SD video of ``height`` lines at ``rate`` is 625-line (PAL/SECAM) material."""
    return height in (288, 576, 608) or (rate == 25 and height < HD_HEIGHT)
