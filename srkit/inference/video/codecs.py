"""The output codecs (``CODECS``), the containers that hold them, and what this FFmpeg build can write."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path


VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".mts",
                  ".m2ts", ".mxf", ".nut", ".flv", ".wmv", ".y4m", ".dv", ".vob", ".ogv")


MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi",
          ".nut": "nut", ".mxf": "mxf"}


# Text subtitle codecs (FFmpeg names), in the order srkit converts to when the output container
# cannot hold a text subtitle as it is: MOV/MP4 take only mov_text.
TEXT_SUBTITLES = ("mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text")


# Muxers that store chapters (FFmpeg drops them silently elsewhere).
CHAPTER_MUXERS = frozenset({"mp4", "mov", "matroska", "nut"})


# Muxers that store attachment streams (fonts for ASS subtitles, cover art): of srkit's outputs,
# Matroska only (MP4/MOV, AVI, NUT and MXF have no place for them).
ATTACHMENT_MUXERS = frozenset({"matroska"})


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


DNXHR_MIN = (256, 120)  # the smallest frame FFmpeg's DNxHR profiles open for


# Encoders that code woven frames as two fields when asked (AV_CODEC_FLAG_INTERLACED_DCT).
INTERLACED_ENCODERS = frozenset({"libx264", "prores_ks"})  # DNxHR profiles cannot


# Matroska, MXF, AVI and NUT write the SAR from the stream (AVStream), which PyAV leaves unset
# (MOV/MP4 take it from the codec parameters); they keep it only when the encoder writes it into
# the bitstream the demuxer reads back (H.264/HEVC VUI).
STREAM_SAR_MUXERS = frozenset({"matroska", "mxf", "avi", "nut"})


BITSTREAM_SAR_ENCODERS = frozenset({"libx264", "libx265"})


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
