"""Broadcast and archive video (srkit.inference.video): interlace, geometry, colour, bit depth, mezzanine
codecs, every stream kept, ``srkit probe``.

The clips are built here: the 576i25 archive clip of ``srkit.data.archive_clip`` (a panning crop of
``assets/archive_clip_source.png``, two pictures per frame woven top field first, MPEG-2 with MP2,
SAR 64:45, BT.601) and small synthetic ones where only geometry or colour matters. Models are the
stand-ins of ``tests/_standins.py``: ``NearestSR`` is exact, so an output scaled back to SD by 2×2
averaging is the picture the model was given, and the picture tests measure the path around it.
Six frames of 720×576 per clip; the whole file runs in about a minute on 2 CPU cores.
"""
from __future__ import annotations

import re
import warnings
from fractions import Fraction

import numpy as np
import pytest

av = pytest.importorskip("av")

import srkit.inference.video as video
from srkit.data.archive_clip import make_archive_clip, make_archive_mkv
from srkit.imageio import sws_exact, temporary_files
from srkit.inference.video import CODECS, inspect_video, plan_video, upscale_video

from _standins import FakePipeline, NearestSR

FRAMES = 6


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return make_archive_clip(tmp_path_factory.mktemp("archive") / "archive_576i.mpg",
                             frames=FRAMES)


@pytest.fixture(scope="module")
def archive_mkv(tmp_path_factory):
    return make_archive_mkv(tmp_path_factory.mktemp("archive") / "archive.mkv", frames=FRAMES)


def _upscale(source, target, model=None, **kwargs):
    """``upscale_video`` with NearestSR(2) on the CPU; returns (result, warning lines)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = upscale_video(source, target, model or NearestSR(2), device="cpu",
                               progress=False, **kwargs)
    return result, [str(w.message) for w in caught]


def _rgb_frames(path, matrix: str | None = None) -> list[np.ndarray]:
    """Every frame of ``path`` as RGB on the 0-255 scale (float; YUV decoded with ``matrix``,
    else the stream's tag). YUV goes through 16-bit RGB: swscale's 10-bit → rgb24 path alone is
    a level low; RGB (FFV1 bgr0) is read as it is."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        matrix = matrix or video.colorspace_for(stream.height, stream.codec_context.colorspace)
        if stream.codec_context.format.is_rgb:
            return [f.to_ndarray(format="rgb24").astype(np.float64)
                    for f in container.decode(video=0)]
        return [f.to_ndarray(format="rgb48le", src_colorspace=matrix) / 257.0
                for f in container.decode(video=0)]


def _down2(image: np.ndarray) -> np.ndarray:
    """2×2 average: the inverse of NearestSR(2)."""
    h, w = image.shape[0] // 2, image.shape[1] // 2
    return image[:2 * h, :2 * w].reshape(h, 2, w, 2, 3).mean(axis=(1, 3))


def _psnr(a: np.ndarray, b: np.ndarray, border: int = 8) -> float:
    """RGB PSNR in dB (peak 255) without an 8-pixel border (bwdif's and the scaler's edges)."""
    a = a[border:-border, border:-border].astype(np.float64)
    b = b[border:-border, border:-border].astype(np.float64)
    return float(10 * np.log10(255.0 ** 2 / np.mean((a - b) ** 2)))


def _bwdif_alone(path, mode: str) -> list[np.ndarray]:
    """FFmpeg's bwdif (tff) on the decoded clip, nothing else: the reference."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        graph = av.filter.Graph()
        source = graph.add_buffer(template=stream)
        bwdif = graph.add("bwdif", f"mode={mode}:parity=tff:deint=all")
        sink = graph.add("buffersink")
        source.link_to(bwdif)
        bwdif.link_to(sink)
        graph.configure()
        pictures = []
        for frame in [*container.decode(video=0), None]:
            graph.push(frame)
            pictures += [p.to_ndarray(format="rgb24", src_colorspace="ITU601", interpolation=sws_exact())
                         for p in _drain(graph)]
    return pictures


def _drain(graph) -> list:
    ready = []
    while True:
        try:
            ready.append(graph.pull())
        except (av.BlockingIOError, av.EOFError):
            return ready


def _facts(path) -> dict:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        return dict(width=stream.width, height=stream.height, sar=stream.sample_aspect_ratio,
                    field_order=context.field_order, pix_fmt=context.format.name,
                    colour=(context.colorspace, context.color_primaries, context.color_trc,
                            context.color_range),
                    rate=stream.average_rate, codec=context.name, profile=context.profile,
                    duration=float(container.duration or 0) / 1e6,
                    times=[float(f.time) for f in container.decode(video=0)])


def _packets(path, kind: str) -> dict[int, list[bytes]]:
    """Payloads of every ``kind`` stream, by position among the streams of that kind."""
    with av.open(str(path)) as container:
        streams = [s for s in container.streams if s.type == kind]
        found = {i: [] for i in range(len(streams))}
        position = {s.index: i for i, s in enumerate(streams)}
        for packet in container.demux(*streams):
            if packet.dts is not None and packet.size:
                found[position[packet.stream.index]].append(bytes(packet))
    return found


def _small_clip(path, width, height, sar: Fraction = Fraction(1), frames: int = 2,
                colour=(5, 5, 6), rotation: float = 0, picture=None, codec="libx264",
                pix_fmt="yuv420p"):
    """A short progressive clip with the given geometry and tags; ``picture`` (RGB uint8, or a
    function of the frame index) defaults to a smooth gradient."""
    if picture is None:
        y, x = np.mgrid[0:height, 0:width]
        picture = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                            np.full_like(x, 128)], axis=-1).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        context = stream.codec_context
        context.sample_aspect_ratio = sar
        context.colorspace, context.color_primaries, context.color_trc = colour
        context.color_range = 1
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "10"}
        if rotation:
            stream.set_display_rotation(rotation)
        for i in range(frames):
            rgb = picture(i) if callable(picture) else picture
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format=pix_fmt, dst_colorspace=video.SWS_MATRICES.get(colour[0], "ITU601"),
                dst_color_range="MPEG")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


# --- the archive clip -----------------------------------------------------------------------------

def test_archive_clip_is_interlaced_anamorphic_bt601_with_motion_between_fields(archive):
    info = inspect_video(archive.path)
    assert info.container == "mpeg" and info.codec == "mpeg2video" and info.frames == FRAMES
    assert (info.width, info.height, info.sar, info.dar) == (720, 576, Fraction(64, 45),
                                                             Fraction(16, 9))
    assert info.field_order == "tff" and info.picture_order == "tff"
    assert info.idet["tff"] >= FRAMES - 1 and info.idet["progressive"] == 0
    assert (info.matrix, info.primaries, info.transfer, info.colour_range) == (5, 5, 6, 1)
    assert [s.codec for s in info.streams if s.type == "audio"] == ["mp2"]
    # two instants per frame: the fields really differ, and the pictures are not flat
    assert len(archive.fields) == 2 * FRAMES
    assert _psnr(archive.fields[0], archive.fields[1]) < 30
    assert archive.fields[0].std() > 40


# --- 1. interlace ---------------------------------------------------------------------------------

def test_auto_deinterlaces_before_the_model_as_well_as_bwdif_alone(archive, tmp_path):
    """Each output frame, scaled back to SD, against the true picture of its instant (the top
    field's), beside FFmpeg's bwdif alone and beside upscaling the woven frames (off).

    Measured (6 frames, FFV1 output, NearestSR, --keep-colour so the RGB compares directly):
    srkit 30.13 30.14 30.24 30.21 30.21 28.30 dB, bwdif alone the same to 0.01 dB (the path adds
    nothing of its own), woven frames upscaled as they are 18.1-18.3 dB."""
    result, messages = _upscale(archive.path, tmp_path / "out.mkv", codec="ffv1",
                                keep_colour=True)
    assert result.plan.deinterlace == "frame" and result.plan.field_order == "tff"
    assert result.frames == FRAMES
    ours = [_psnr(_down2(f), archive.fields[2 * i])
            for i, f in enumerate(_rgb_frames(tmp_path / "out.mkv", "ITU601"))]
    alone = [_psnr(f, archive.fields[2 * i]) for i, f in enumerate(_bwdif_alone(archive.path,
                                                                                 "send_frame"))]
    assert len(ours) == len(alone) == FRAMES
    assert np.allclose(ours, alone, atol=0.05), (ours, alone)
    assert np.mean(ours) > 29.5 and min(ours) > 27.5
    _upscale(archive.path, tmp_path / "woven.mkv", codec="ffv1", keep_colour=True,
             deinterlace="off")
    woven = [_psnr(_down2(f), archive.fields[2 * i])
             for i, f in enumerate(_rgb_frames(tmp_path / "woven.mkv", "ITU601"))]
    assert np.mean(woven) < 19.5 < np.mean(ours) - 10


def test_field_mode_doubles_the_rate_one_frame_per_field(archive, tmp_path):
    """Measured: 12 frames at 50 fps, 28.5-31.3 dB against each field's own instant, equal to
    bwdif send_field alone."""
    result, _ = _upscale(archive.path, tmp_path / "out.mkv", codec="ffv1", keep_colour=True,
                         deinterlace="field")
    facts = _facts(tmp_path / "out.mkv")
    assert result.frames == 2 * FRAMES == len(facts["times"]) and facts["rate"] == 50
    steps = np.diff(facts["times"])
    assert np.allclose(steps, 0.02, atol=1e-3)
    ours = [_psnr(_down2(f), archive.fields[i])
            for i, f in enumerate(_rgb_frames(tmp_path / "out.mkv", "ITU601"))]
    alone = [_psnr(f, archive.fields[i]) for i, f in enumerate(_bwdif_alone(archive.path,
                                                                             "send_field"))]
    assert np.allclose(ours, alone, atol=0.05) and np.mean(ours) > 29


def test_off_on_interlaced_input_says_so_in_one_line_and_is_not_flagged_progressive(archive,
                                                                                    tmp_path):
    result, messages = _upscale(archive.path, tmp_path / "out.mov", codec="prores",
                                deinterlace="off")
    assert result.plan.deinterlace is None and not result.plan.progressive
    assert messages == ["archive_576i.mpg: the input is interlaced (tff) and --deinterlace off "
                        "upscales its woven frames as they are (combing included); the output is "
                        "flagged interlaced (tff), not progressive"]
    assert _facts(tmp_path / "out.mov")["field_order"] == 2                  # AV_FIELD_TT
    with av.open(str(tmp_path / "out.mov")) as container:
        assert all(f.interlaced_frame for f in container.decode(video=0))


def test_field_order_from_the_stream_is_checked_against_the_pictures(tmp_path):
    """A transfer flagged bottom field first whose pictures are top field first (a classic
    archive defect): idet's verdict wins, and the job says so."""
    clip = make_archive_clip(tmp_path / "flagged_bff.ts", frames=4, flagged="bff")
    info = inspect_video(clip.path)
    assert info.field_order == "bff" and info.picture_order == "tff"
    plan = plan_video(info, tmp_path / "out.mov", "prores", 2)
    assert plan.deinterlace == "frame" and plan.field_order == "tff"
    assert plan.warnings == ["flagged_bff.ts: the stream says bff but the pictures are tff "
                             "(idet on 4 frames: 4 tff, 0 bff, 0 progressive); deinterlacing "
                             "as tff"]


def test_progressive_input_is_left_alone(archive, tmp_path):
    """Progressive 576-line pictures (the even instants of the archive clip, coded as frames):
    idet says progressive, nothing is deinterlaced, the output is flagged progressive."""
    pictures = archive.fields[0::2][:4]
    clip = _small_clip(tmp_path / "p576.mp4", 720, 576, Fraction(64, 45), frames=4,
                       picture=lambda i: pictures[i])
    info = inspect_video(clip)
    assert info.picture_order == "progressive"
    plan = plan_video(info, tmp_path / "out.mov", "prores", 2)
    assert plan.deinterlace is None and plan.progressive and plan.warnings == []


# --- 2. geometry ----------------------------------------------------------------------------------

def test_square_pixels_cut_the_704_active_width_of_analogue_sars(tmp_path):
    """625-line 16:9 with the analogue SAR 16:11: 704 of the 720 samples carry 16:9, so the 8
    columns each side go and 704 × 16/11 = 1024 square pixels per SD line (2048 at ×2)."""
    picture = np.full((576, 720, 3), 100, np.uint8)
    picture[:, :8] = picture[:, -8:] = (255, 0, 0)      # outside the active width
    clip = _small_clip(tmp_path / "pal169.mp4", 720, 576, Fraction(16, 11), picture=picture)
    result, messages = _upscale(clip, tmp_path / "out.mp4", square_pixels=True, preset="ultrafast")
    facts = _facts(tmp_path / "out.mp4")
    assert (facts["width"], facts["height"]) == (2048, 1152) and facts["sar"] in (None, 1)
    frame = _rgb_frames(tmp_path / "out.mp4")[0]
    assert frame[:, :4, 0].mean() < 150                  # the red edge columns were cut
    assert any("704 of 720 samples carry the display aspect" in n for n in result.plan.notes)


@pytest.mark.parametrize("sar, square", [
    (Fraction(64, 45), (2048, 1152)),   # "digital" 16:9 (DVB/DVD): all 720 samples carry it
    (Fraction(16, 15), (1536, 1152)),   # "digital" 4:3
    (Fraction(12, 11), (1536, 1152)),   # analogue 4:3: 704 × 12/11 = 768
])
def test_sar_is_kept_or_resampled(tmp_path, sar, square):
    info = video.SourceInfo(tmp_path / "x.mpg", "mpeg", 720, 576, sar, Fraction(25),
                            Fraction(1, 90000), "mpeg2video", "yuv420p", 8, "progressive", {},
                            5, 5, 6, 1, 0.0, 1.0, 25, None, [video.StreamInfo(0, "video",
                                                                           "mpeg2video")], 0)
    kept = plan_video(info, tmp_path / "o.mov", "prores", 2)
    assert (kept.width, kept.height, kept.sar) == (1440, 1152, sar) and kept.dar == info.dar
    squared = plan_video(info, tmp_path / "o.mov", "prores", 2, square_pixels=True)
    assert (squared.width, squared.height, squared.sar) == (*square, 1)
    # Matroska keeps the SAR of H.264 (in its bitstream) but not of FFV1: that is said, once
    assert plan_video(info, tmp_path / "o.mkv", "h264", 2).warnings == []
    lost = plan_video(info, tmp_path / "o.mkv", "ffv1-422", 2).warnings
    assert len(lost) == 1 and f"o.mkv will lose SAR {sar.numerator}:{sar.denominator}" in lost[0]
    assert plan_video(info, tmp_path / "o.mkv", "ffv1-422", 2, square_pixels=True).warnings == []


def test_ntsc_analogue_sar_to_square_pixels(tmp_path):
    info = inspect_video(_small_clip(tmp_path / "ntsc.mp4", 720, 480, Fraction(10, 11),
                                     colour=(6, 6, 6), frames=1))
    plan = plan_video(info, tmp_path / "o.mov", "prores", 2, square_pixels=True)
    assert (plan.width, plan.height, plan.dar) == (1280, 960, Fraction(4, 3))    # 704 → 640


def test_fit_pillarboxes_4_3_into_1920x1080(tmp_path):
    clip = _small_clip(tmp_path / "pal43.mp4", 720, 576, Fraction(16, 15))
    result, _ = _upscale(clip, tmp_path / "out.mov", codec="prores", fit="1920x1080")
    facts = _facts(tmp_path / "out.mov")
    assert (facts["width"], facts["height"], facts["sar"]) == (1920, 1080, 1)
    frame = _rgb_frames(tmp_path / "out.mov")[0]
    assert frame[:, :236].max() < 20 and frame[:, -236:].max() < 20       # 240 black each side
    assert frame[:, 300:1620].mean() > 60
    assert "pad=1920:1080:240:0" in result.plan.geometry


def test_rotation_is_kept(tmp_path):
    clip = _small_clip(tmp_path / "phone.mp4", 64, 48, rotation=90, frames=2)
    _upscale(clip, tmp_path / "out.mp4", preset="ultrafast")
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert next(container.decode(video=0)).rotation == 90


# --- 3. colour ------------------------------------------------------------------------------------

# 75 % EBU bars: white, yellow, cyan, green, magenta, red, blue, black
BARS = [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0),
        (0, 0, 191), (0, 0, 0)]


def _ebu_to_bt709(rgb) -> np.ndarray:
    """What BT.601 625-line RGB (EBU primaries) is in BT.709 primaries, 0-255: through linear
    light (the BT.709/601 transfer) and XYZ, as the standards define it; clipped to the gamut."""
    def to_xyz(primaries):
        white = np.array([0.3127 / 0.3290, 1.0, (1 - 0.3127 - 0.3290) / 0.3290])  # D65
        columns = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in primaries]).T
        return columns * np.linalg.solve(columns, white)
    ebu = to_xyz([(0.64, 0.33), (0.29, 0.60), (0.15, 0.06)])
    bt709 = to_xyz([(0.64, 0.33), (0.30, 0.60), (0.15, 0.06)])
    signal = np.asarray(rgb, np.float64) / 255.0
    linear = np.where(signal < 0.081, signal / 4.5, ((signal + 0.099) / 1.099) ** (1 / 0.45))
    linear = np.clip(linear @ np.linalg.solve(bt709, ebu).T, 0, 1)
    return 255.0 * np.where(linear < 0.018, 4.5 * linear, 1.099 * linear ** 0.45 - 0.099)


def _bars(width: int, height: int) -> np.ndarray:
    picture = np.zeros((height, width, 3), np.uint8)
    for i, colour in enumerate(BARS):
        picture[:, i * width // 8:(i + 1) * width // 8] = colour
    return picture


def _bar_colours(frame: np.ndarray) -> np.ndarray:
    """The mean RGB of the middle half of each bar."""
    width = frame.shape[1]
    return np.array([frame[frame.shape[0] // 4:-frame.shape[0] // 4,
                           i * width // 8 + width // 32:(i + 1) * width // 8 - width // 32]
                     .reshape(-1, 3).mean(axis=0) for i in range(8)])


@pytest.fixture(scope="module")
def bars_clip(tmp_path_factory):
    """75 % colour bars, 480×360 BT.601 (625-line primaries), lossless 4:4:4 FFV1: ×2 is HD."""
    return _small_clip(tmp_path_factory.mktemp("bars") / "bars.mkv", 480, 360,
                       picture=_bars(480, 360), codec="ffv1", pix_fmt="yuv444p", frames=1)


def test_bt601_becomes_bt709_on_hd_output_and_the_bars_keep_their_colours(bars_clip, tmp_path):
    """Decoded with the BT.709 tags it carries, the 10-bit ProRes output shows each bar within 2
    levels (of 255) of its colour re-expressed in BT.709 primaries (``_ebu_to_bt709``: 75 %
    yellow becomes 191, 191, 7.6). Measured: at most 1.5 (the blue of 75 % green: 6.1 for 7.6).
    Both wrong conversions miss by more: the RGB values kept as they are (matrix only, no
    primaries) by 7.6, the same file decoded as BT.601 by 23."""
    result, _ = _upscale(bars_clip, tmp_path / "out.mov", codec="prores")
    facts = _facts(tmp_path / "out.mov")
    assert facts["colour"] == (1, 1, 1, 1) and facts["pix_fmt"] == "yuv422p10le"
    assert result.plan.colour_filter.startswith("all=bt709")
    seen = _bar_colours(_rgb_frames(tmp_path / "out.mov")[0])
    expected = _ebu_to_bt709(BARS)
    assert np.abs(seen - expected).max() <= 2, (seen.round(1), expected.round(1))
    assert np.abs(expected - np.array(BARS)).max() > 7               # the test can tell them apart
    wrong = _bar_colours(_rgb_frames(tmp_path / "out.mov", "ITU601")[0])
    assert np.abs(wrong - expected).max() > 10


def test_keep_colour_writes_bt601_and_the_bars_match(bars_clip, tmp_path):
    result, _ = _upscale(bars_clip, tmp_path / "out.mov", codec="prores", keep_colour=True)
    assert _facts(tmp_path / "out.mov")["colour"] == (5, 5, 6, 1)
    assert result.plan.colour_filter == ""
    seen = _bar_colours(_rgb_frames(tmp_path / "out.mov")[0])
    assert np.abs(seen - np.array(BARS)).max() <= 2                   # measured: at most 1.1


def test_sd_output_keeps_bt601(tmp_path):
    info = inspect_video(_small_clip(tmp_path / "cif.mp4", 176, 144, frames=1))
    plan = plan_video(info, tmp_path / "o.mp4", "h264", 2)               # 288 lines: SD
    assert (plan.out_matrix, plan.colour_filter) == (5, "")


# --- 4. bit depth and codecs ----------------------------------------------------------------------

def test_10_bit_input_keeps_10_bits_through_the_model(tmp_path):
    """A 10-bit luma ramp (FFV1 4:2:2 10-bit): the FFV1 4:2:2 10-bit output holds the same codes
    within 2 of 1023 (the RGB round trip) and most are not multiples of 4, as an 8-bit round
    trip would leave them."""
    width, height = 64, 48
    source = tmp_path / "ramp10.mkv"
    ramp = (64 + np.arange(width * height).reshape(height, width) * 876 // (width * height))
    with av.open(str(source), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv422p10le"
        for i in range(2):
            frame = av.VideoFrame(width, height, "yuv422p10le")
            frame.planes[0].update(ramp.astype("<u2").tobytes())
            for plane in frame.planes[1:]:
                plane.update(np.full(plane.width * plane.height, 512, "<u2").tobytes())
            frame.pts, frame.time_base = i, Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    info = inspect_video(source)
    assert info.bits == 10
    result, _ = _upscale(source, tmp_path / "out.mkv", codec="ffv1-422")
    assert result.plan.float_input and result.plan.pix_fmt == "yuv422p10le"
    with av.open(str(tmp_path / "out.mkv")) as container:
        frame = next(container.decode(video=0))
        assert frame.format.name == "yuv422p10le"
        plane = frame.planes[0]
        luma = np.frombuffer(bytes(plane), "<u2").reshape(-1, plane.line_size // 2)
        luma = luma[:height * 2, :width * 2]
    expected = ramp.repeat(2, 0).repeat(2, 1)
    assert np.abs(luma.astype(int) - expected).max() <= 2
    assert np.mean(luma % 4 != 0) > 0.5


def test_deeper_input_picks_the_10_bit_format_of_each_codec():
    for name, deep in [("h264", "yuv420p10le"), ("hevc", "yuv420p10le"), ("prores", "yuv422p10le"),
                       ("dnxhr", "yuv422p10le"), ("ffv1", "gbrp10le"), ("ffv1-422", "yuv422p10le")]:
        assert CODECS[name].pixel_format(10) == deep
    assert CODECS["h264"].pixel_format(8) == "yuv420p"


def test_a_build_without_10_bit_x264_still_writes_8_bit_and_refuses_10_bit(tmp_path,
                                                                          monkeypatch):
    missing = "libx264 in this FFmpeg cannot write yuv420p10le"
    def support(name):
        return ("", missing) if name == "h264" else ("", "")
    for module in (video.codecs, video.plan):  # the table and the plan each ask
        monkeypatch.setattr(module, "codec_support", support)
    assert f"h264      {CODECS['h264'].description}" in video.codec_table()
    assert f"available for 8-bit input only ({missing})" in video.codec_table()
    info = video.SourceInfo(tmp_path / "x.mkv", "matroska", 64, 48, Fraction(1), Fraction(25),
                            Fraction(1, 1000), "ffv1", "yuv422p10le", 10, "progressive", {},
                            1, 1, 1, 1, 0.0, 1.0, 25, None,
                            [video.StreamInfo(0, "video", "ffv1")], 0)
    with pytest.raises(ValueError, match=rf"x.mkv: --codec h264 cannot write this 10-bit input: "
                                         rf"{missing}"):
        plan_video(info, tmp_path / "o.mp4", "h264", 2)
    assert plan_video(info, tmp_path / "o.mov", "prores", 2).pix_fmt == "yuv422p10le"


def test_codec_table_names_every_codec_and_whether_it_is_there():
    table = video.codec_table()
    for name in CODECS:
        assert re.search(rf"^{re.escape(name)} ", table, re.M)
    assert "prores" in table and "available" in table


@pytest.mark.parametrize("codec, suffix", [("prores", ".mp4"), ("dnxhr", ".mkv"),
                                           ("ffv1-422", ".mov"), ("hevc", ".avi")])
def test_impossible_codec_container_pairs_are_named(archive, tmp_path, codec, suffix):
    target = tmp_path / f"out{suffix}"
    with pytest.raises(ValueError, match=rf"codec {codec} cannot be written to a \{suffix} file; "
                                         rf"use one of {re.escape(CODECS[codec].containers[0])}"):
        upscale_video(archive.path, target, NearestSR(2), codec=codec, progress=False)
    assert not target.exists()


def test_dnxhr_refuses_frames_it_cannot_open(tmp_path):
    info = inspect_video(_small_clip(tmp_path / "tiny.mp4", 64, 48, frames=1))
    with pytest.raises(ValueError, match="out.mov: DNxHR needs frames of at least 256×120, not "
                                         "128×96"):
        plan_video(info, tmp_path / "out.mov", "dnxhr", 2)


def test_dnxhr_and_hevc_write_10_bit(tmp_path):
    clip = _small_clip(tmp_path / "small.mp4", 160, 72, frames=2)
    _upscale(clip, tmp_path / "dnx.mov", codec="dnxhr")
    facts = _facts(tmp_path / "dnx.mov")
    assert (facts["codec"], facts["pix_fmt"], facts["profile"]) == ("dnxhd", "yuv422p10le",
                                                                    "DNXHR HQX")
    _upscale(clip, tmp_path / "hevc.mkv", codec="hevc", preset="ultrafast")
    facts = _facts(tmp_path / "hevc.mkv")
    assert (facts["codec"], facts["pix_fmt"]) == ("hevc", "yuv420p10le")
    assert len(facts["times"]) == 2


@pytest.mark.parametrize("frames", [1, 2])
def test_hevc_of_one_or_two_frames_has_sound_decode_times(tmp_path, frames):
    # libx265 leaves the DTS of such short streams uninitialised; in one process the heap of
    # earlier encoders makes it garbage (once in a while a mux failure, else nonsense times).
    clip = _small_clip(tmp_path / "short.mp4", 64, 48, frames=frames)
    for attempt in range(8):
        target = tmp_path / f"hevc{attempt}.mp4"  # MP4 stores decode times; Matroska does not
        _upscale(clip, target, codec="hevc", preset="ultrafast")
        with av.open(str(target)) as container:
            times = [(p.pts, p.dts) for p in container.demux(video=0) if p.pts is not None]
        assert len(times) == frames
        assert all(dts is not None and 0 <= dts <= pts < 100_000 for pts, dts in times), times
        _upscale(clip, tmp_path / f"hevc{attempt}.mkv", codec="hevc", preset="ultrafast")


# --- 5. every stream ------------------------------------------------------------------------------

def test_audio_subtitles_chapters_and_tags_are_copied(archive_mkv, tmp_path):
    target = tmp_path / "out.mkv"
    result, messages = _upscale(archive_mkv.path, target, preset="ultrafast")
    assert messages == []
    assert _packets(target, "audio") == _packets(archive_mkv.path, "audio")
    assert _packets(target, "subtitle") == _packets(archive_mkv.path, "subtitle")
    assert len(_packets(target, "subtitle")[0]) == 2
    with av.open(str(target)) as out, av.open(str(archive_mkv.path)) as src:
        tags = [(s.type, s.metadata.get("language"), s.metadata.get("title")) for s in out.streams]
        assert tags == [("video", None, None), ("audio", "eng", "Main"),
                        ("audio", "fra", "Audio description"), ("subtitle", "eng", None)]
        assert [c["metadata"]["title"] for c in out.chapters()] == ["Opening", "Main part"]
        assert [c["start"] * c["time_base"] for c in out.chapters()] == \
               [c["start"] * c["time_base"] for c in src.chapters()]
        assert out.metadata["title"] == "srkit archive clip"
        assert video._tag(out.streams.video[0].metadata, "timecode") == "10:00:00:00"
    facts = _facts(target)
    assert len(facts["times"]) == FRAMES and facts["field_order"] == 1
    assert result.copied_packets == {1: len(_packets(target, "audio")[0]),
                                     2: len(_packets(target, "audio")[1]), 3: 2}


def test_srt_becomes_mov_text_in_mov_with_its_cues(archive_mkv, tmp_path):
    """MOV holds no SRT: the cues are re-encoded as mov_text (3GPP timed text) with their times;
    audio packets, languages and chapters as in Matroska."""
    result, messages = _upscale(archive_mkv.path, tmp_path / "out.mov", codec="prores")
    assert messages == [] and result.plan.convert == {3: "mov_text"}
    assert _packets(tmp_path / "out.mov", "audio") == _packets(archive_mkv.path, "audio")
    with av.open(str(tmp_path / "out.mov")) as out:
        assert [s.metadata.get("language") for s in out.streams.audio] == ["eng", "fra"]
        assert len(out.chapters()) == 2
        text = out.streams.subtitles[0]
        assert text.codec_context.name == "mov_text" and text.metadata["language"] == "eng"
        cues = [(round(float(p.pts * p.time_base), 2), bytes(p)[2:].decode())
                for p in out.demux(text) if p.size > 2]
    assert cues == [(0.04, "Archive subtitle one"), (0.2, "Archive subtitle two")]


def test_what_the_container_cannot_hold_is_named_one_line_each(archive_mkv, tmp_path):
    info = inspect_video(archive_mkv.path)
    plan = plan_video(info, tmp_path / "out.mxf", "dnxhr", 2)
    assert plan.copy == [] and plan.convert == {}
    assert sorted(plan.warnings) == sorted([
        "archive.mkv: stream #1 (audio, mp2, eng) is not copied to out.mxf: .mxf cannot hold mp2",
        "archive.mkv: stream #2 (audio, ac3, fra) is not copied to out.mxf: .mxf cannot hold ac3",
        "archive.mkv: stream #3 (subtitle, srt, eng) is not copied to out.mxf: .mxf cannot hold "
        "srt",
        "archive.mkv: 2 chapters are not copied: .mxf files cannot hold chapters",
        "archive.mkv: .mxf takes the sample aspect ratio from the stream header, which PyAV cannot "
        "set, and dnxhr does not carry it in its bitstream: out.mxf will lose SAR 64:45 (DAR "
        "16:9); write .mov, or resample with square_pixels / fit"])


# --- the whole job, from the command line ---------------------------------------------------------

def test_upscale_archive_clip_to_prores_from_the_command_line(archive, tmp_path, monkeypatch):
    """``srkit upscale archive_576i.mpg -o out.mov --weights x2_noise --codec prores`` with the
    Pipeline-shaped stand-in loaded in place of the bundle: a progressive, BT.709-tagged, 10-bit
    ProRes 422 HQ file, 1440×1152 at SAR 64:45 (16:9), six frames at 25 fps at the clip's times
    less its first stream's start (the output starts at 0), the MP2 packets unchanged."""
    import srkit.checkpoint
    from srkit.cli import main
    pipeline = FakePipeline(2)
    monkeypatch.setattr(srkit.checkpoint, "load_pipeline", lambda name: pipeline)
    target = tmp_path / "out.mov"
    assert main(["upscale", str(archive.path), "-o", str(target), "--weights", "x2_noise",
                 "--codec", "prores", "--device", "cpu", "--quiet"]) == 0
    facts, source = _facts(target), _facts(archive.path)
    assert (facts["codec"], facts["profile"], facts["pix_fmt"]) == ("prores", "HQ", "yuv422p10le")
    assert facts["field_order"] == 1 and facts["colour"] == (1, 1, 1, 1)
    assert (facts["width"], facts["height"], facts["sar"]) == (1440, 1152, Fraction(64, 45))
    assert Fraction(facts["width"]) * facts["sar"] / facts["height"] == Fraction(16, 9)
    with av.open(str(archive.path)) as container:  # the MPEG-PS clock starts at 0.5 s
        origin = min(float(s.start_time * s.time_base) for s in container.streams)
    assert origin > 0.4 and facts["rate"] == 25
    assert facts["times"] == pytest.approx([t - origin for t in source["times"]], abs=1e-3)
    assert _packets(target, "audio") == _packets(archive.path, "audio")
    assert pipeline.ikc_calls == 1                                        # one shot


def test_probe_prints_what_it_sees_and_will_do(archive, tmp_path, capsys):
    from srkit.cli import main
    assert main(["probe", str(archive.path), "--codec", "prores",
                 "-o", str(tmp_path / "out.mov")]) == 0
    table = capsys.readouterr().out
    for expected in ["mpeg2video yuv420p (8-bit) 720x576 SAR 64:45 DAR 16:9",
                     "stream flag tff; idet on 6 frames: 6 tff",
                     "bwdif, tff, frame rate; output progressive at 25 fps",
                     "→ 1440x1152 SAR 64:45 (DAR 16:9)", "BT.601 → BT.709",
                     "→ yuv422p10le (10-bit)", "#1 (audio, mp2) copied", "cuts in the first",
                     "(median of up to 5 of those, per field)", "with --weights auto: x2",
                     "phase", "srkit upscale --phase corner"]:
        assert expected in table, (expected, table)
    from srkit.commands.upscaling.models import default_weights
    name, why = default_weights("video", 2)
    assert any(line.split()[:2] == ["model", name] and line.endswith(f"({why})") for line in table.splitlines()), table
    assert main(["probe", "--codecs"]) == 0
    assert "ffv1-422" in capsys.readouterr().out
    assert main(["probe", str(tmp_path / "missing.mpg")]) == 2
    assert "missing.mpg" in capsys.readouterr().err


# --- interlace details ----------------------------------------------------------------------------

def test_interlaced_pictures_in_a_stream_flagged_progressive_are_found(archive, tmp_path):
    """Woven fields coded as progressive frames (combing baked into a later transfer): the flag
    says progressive, idet sees top field first; auto deinterlaces and says why."""
    from srkit.data.archive_clip import weave
    path = tmp_path / "baked.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 720, 576, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "10"}
        for i in range(4):
            frame = weave(archive.fields[2 * i], archive.fields[2 * i + 1])
            frame.pts, frame.time_base = i, Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    info = inspect_video(path)
    assert info.field_order == "progressive" and info.picture_order == "tff"
    plan = plan_video(info, tmp_path / "out.mp4", "h264", 2)
    assert plan.deinterlace == "frame" and plan.field_order == "tff"
    assert len(plan.warnings) == 1 and plan.warnings[0].startswith(
        "baked.mp4: the stream is flagged progressive but its pictures are interlaced, tff")


def test_damage_in_an_interlaced_stream_still_reaches_the_output(archive, tmp_path):
    """Garbage over two video packets of the archive clip in MPEG-TS: the damage is warned about
    as for any input, bwdif gets every frame that decodes, and each of them is written."""
    clip = make_archive_clip(tmp_path / "clip.ts", frames=FRAMES)
    with av.open(str(clip.path)) as container:
        spots = sorted((p.pos, p.size) for p in container.demux(video=0) if p.size)[2:4]
    data = bytearray(clip.path.read_bytes())
    rng = np.random.default_rng(0)
    for pos, size in spots:
        data[pos + 200:pos + 600] = rng.integers(0, 256, 400, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.ts"
    bad.write_bytes(bytes(data))
    result, messages = _upscale(bad, tmp_path / "out.mov", codec="prores", allow_partial=True)
    assert result.corrupt_packets >= 1 and any(m.startswith("bad.ts: ") for m in messages)
    assert result.plan.deinterlace == "frame"
    assert len(_facts(tmp_path / "out.mov")["times"]) == result.frames >= FRAMES - 2
    assert not temporary_files(tmp_path / "out.mov")
