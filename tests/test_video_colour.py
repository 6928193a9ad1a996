"""Colour through the video path keeps the picture's level: RGB ↔ YUV conversions through PyAV
(no darkening on decode or in MPEG-2), and the SD → HD step (BT.601 → BT.709 matrix and primaries,
the camera curve kept whatever BT.470 gamma it is tagged with; a curve that really differs kept
with its tag)."""
import re
from fractions import Fraction

import numpy as np
import pytest
import torch

av = pytest.importorskip("av", reason="PyAV missing: pip install av")


def _picture():
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[:128, :128])


def test_yuv420p_round_trip_is_unbiased():
    from srkit.imageio import sws_exact
    img = _picture()
    yuv = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p", interpolation=sws_exact())
    back = yuv.to_ndarray(format="rgb24", interpolation=sws_exact()).astype(np.float64)
    assert abs((back - img).mean()) < 0.05
    default = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p").to_ndarray(format="rgb24")
    assert (default.astype(np.float64) - img).mean() < -0.8  # the bias the flags remove


@pytest.mark.parametrize("y, rgb", [(16, 0), (100, 98), (235, 255)])  # (Y − 16)·255/219, rounded
def test_flat_grey_decodes_to_the_rounded_level(y, rgb):
    from srkit.imageio import sws_exact
    plane = np.full((96, 64), 128, np.uint8)
    plane[:64] = y
    frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
    assert (frame.to_ndarray(format="rgb24", interpolation=sws_exact()) == rgb).all()


def test_mpeg2_degradation_keeps_the_mean_level():
    from srkit.degrade import mpeg2
    x = torch.from_numpy(_picture()).permute(2, 0, 1)[None].float() / 255
    y = mpeg2(x, torch.tensor([2]))
    assert abs(float((y - x).mean()) * 255) < 0.2


# --- SD → HD: matrix and primaries converted, the camera curve kept -----------------------------

def _sd_frames_of(path) -> list[np.ndarray]:
    """Every frame of an output, decoded with its BT.709 matrix to 0-255 RGB (float, through 16-bit
    RGB) and scaled back ×2 by 2×2 averaging: the inverse of NearestSR(2)."""
    from srkit.imageio import sws_exact
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb48le", src_colorspace="ITU709",
                                   interpolation=sws_exact()) / 257.0
            h, w = rgb.shape[0] // 2, rgb.shape[1] // 2
            frames.append(rgb[:2 * h, :2 * w].reshape(h, 2, w, 2, 3).mean(axis=(1, 3)))
    return frames


def _psnr(a: np.ndarray, b: np.ndarray, border: int = 8) -> float:
    a = a[border:-border, border:-border].astype(np.float64)
    b = b[border:-border, border:-border].astype(np.float64)
    return float(10 * np.log10(255.0 ** 2 / np.mean((a - b) ** 2)))


# (label, AVCOL_* matrix / primaries / transfer, lines, frame rate): PAL as usually tagged, a 576i
# clip tagged with NTSC System M's gamma 2.2, and 480i NTSC tagged as FFmpeg's SD encoders do
SD_TAGS = [("gamma28", (5, 5, 5), 576, 25), ("gamma22", (6, 6, 4), 576, 25),
           ("smpte170m", (6, 6, 6), 480, Fraction(30000, 1001))]


@pytest.mark.parametrize("label, colour, height, fps", SD_TAGS, ids=[t[0] for t in SD_TAGS])
def test_sd_curves_pass_through_the_hd_conversion_from_the_command_line(
        tmp_path, monkeypatch, label, colour, height, fps):
    """``srkit upscale clip.ts -o out.mov --weights x2_noise --codec prores`` (NearestSR loaded in
    place of the bundle) on a 576i/480i clip of a real picture panning one pixel a field: the
    output is as bright as the source and, scaled back, at least 34 dB against the true pictures.

    Measured (4 frames, 2026-12-07), frames 2-4 / mean level (R, G, B): gamma28 37.7-38.4 dB /
    −0.6 −0.8 −0.7; gamma22 37.3-37.9 dB / −1.7 −0.7 −1.0 (SMPTE-C primaries: a larger primaries
    step); 480i smpte170m 35.1-35.4 dB / −1.8 −0.7 −1.0. Converting the tagged curve instead made
    gamma28 18.6 dB and −22 to −25 levels, gamma22 25.0 dB and −9 (the 480i clip is unchanged:
    FFmpeg's smpte170m is the BT.709 curve). The first frame is 26.7-28.0 dB with any curve: bwdif
    has no field before it and interpolates from its own."""
    import srkit.checkpoint
    from srkit.cli import main
    from srkit.data.archive_clip import make_archive_clip
    from _standins import NearestSR
    clip = make_archive_clip(tmp_path / f"{label}.ts", frames=4, height=height, colour=colour,
                             fps=fps, pan=(1, 0))
    monkeypatch.setattr(srkit.checkpoint, "load_pipeline", lambda name: NearestSR(2))
    target = tmp_path / "out.mov"
    assert main(["upscale", str(clip.path), "-o", str(target), "--weights", "x2_noise",
                 "--codec", "prores", "--device", "cpu", "--quiet"]) == 0
    with av.open(str(target)) as container:
        context = container.streams.video[0].codec_context
        tags = (context.colorspace, context.color_primaries, context.color_trc)
    assert tags == (1, 1, 1)                                          # tagged BT.709 throughout
    frames = _sd_frames_of(target)
    assert len(frames) == 4
    truth = [clip.fields[2 * i] for i in range(4)]
    levels = np.mean([f.mean(axis=(0, 1)) - t.mean(axis=(0, 1)) for f, t in zip(frames, truth)],
                     axis=0)
    assert np.abs(levels).max() <= 3, levels                           # measured: at most 1.9
    scores = [_psnr(f, t) for f, t in zip(frames, truth)]
    assert min(scores[1:]) >= 34 and scores[0] > 26, scores


def _info(tmp_path, colour=(5, 5, 5), pix_fmt="yuv420p", width=480, height=360):
    """What ``inspect_video`` reads from a one-frame SD clip, its tags replaced by ``colour``."""
    import dataclasses
    from srkit.inference.video import inspect_video
    path = tmp_path / "sd.mkv"
    if not path.exists():
        with av.open(str(path), "w") as container:
            stream = container.add_stream("ffv1", rate=25)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), 100, np.uint8),
                                               format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = 0, Fraction(1, 25)
            container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    info = inspect_video(path, frames=0)
    return dataclasses.replace(info, matrix=colour[0], primaries=colour[1], transfer=colour[2],
                               pix_fmt=pix_fmt)


@pytest.mark.parametrize("transfer, said", [
    (5, "transfer: kept, BT.470 gamma 2.8 treated as the BT.601/709 curve (not converted); tagged bt709"),
    (4, "transfer: kept, BT.470 gamma 2.2 treated as the BT.601/709 curve (not converted); tagged bt709"),
    (6, "transfer: kept, SMPTE 170M (BT.601) treated as the BT.601/709 curve (not converted); tagged bt709"),
    (2, "transfer: kept, untagged treated as the BT.601/709 curve (not converted); tagged bt709")])
def test_bt601_family_curves_convert_matrix_and_primaries_only(tmp_path, transfer, said):
    from srkit.inference.video import plan_video
    plan = plan_video(_info(tmp_path, (5, 5, transfer)), tmp_path / "o.mov", "prores", 2)
    assert (plan.out_matrix, plan.out_primaries, plan.out_transfer) == (1, 1, 1)
    assert plan.colour_filter == ("all=bt709:range=tv:format=yuv444p12:ispace=bt470bg:"
                                  "iprimaries=bt470bg:itrc=bt709:irange=tv")
    assert said in plan.notes and plan.warnings == []


@pytest.mark.parametrize("transfer, name", [(8, "linear"), (9, "log100"), (7, "smpte240m"),
                                            (13, "srgb")])
def test_a_really_different_curve_is_kept_with_its_tag_and_said(tmp_path, transfer, name):
    """Linear, log, SMPTE 240M or sRGB with a BT.601 matrix: only the matrix becomes BT.709 (no
    filter: frames are read with BT.601 and written with BT.709), curve and primaries keep their
    tags, and one line says so. A log curve used to be replaced by smpte170m unannounced."""
    from srkit.inference.video import plan_video
    plan = plan_video(_info(tmp_path, (5, 5, transfer)), tmp_path / "o.mov", "prores", 2)
    assert (plan.out_matrix, plan.out_primaries, plan.out_transfer) == (1, 5, transfer)
    assert plan.colour_filter == "" and plan.transfer == transfer
    assert plan.warnings == [
        f"sd.mkv: transfer {name} is not the BT.601/709 camera curve: it is kept and tagged as it "
        "is, and so are the primaries (bt470bg: converting them needs the curve); only the matrix "
        "becomes BT.709 for the HD output (--keep-colour keeps BT.601)"]


def test_keep_colour_keeps_bt601_and_its_curve_tag(tmp_path):
    from srkit.inference.video import plan_video
    plan = plan_video(_info(tmp_path, (5, 5, 5)), tmp_path / "o.mov", "prores", 2, keep_colour=True)
    assert (plan.out_matrix, plan.out_primaries, plan.out_transfer, plan.colour_filter) == (5, 5, 5, "")


@pytest.mark.parametrize("transfer, words", [(16, "smpte2084, PQ, SMPTE ST 2084"),
                                             (18, "arib-std-b67, HLG, ARIB STD-B67")])
def test_hdr_input_is_said_in_one_line(tmp_path, transfer, words):
    from srkit.inference.video import plan_video
    plan = plan_video(_info(tmp_path, (9, 9, transfer), pix_fmt="yuv420p10le"), tmp_path / "o.mkv",
                      "hevc", 2)
    assert (plan.out_matrix, plan.out_primaries, plan.out_transfer) == (9, 9, transfer)
    assert plan.warnings == [
        f"sd.mkv: HDR input (transfer {words}): the model was trained on SDR pictures and runs on "
        "the code values as they are; the colour tags are kept, but mastering-display and "
        "content-light metadata are not written to the output"]


def test_a_matrix_swscale_cannot_convert_is_refused(tmp_path):
    from srkit.inference.video import plan_video
    with pytest.raises(ValueError, match=r"^sd\.mkv: colour matrix ycgco cannot be turned into RGB"):
        plan_video(_info(tmp_path, (8, 1, 1)), tmp_path / "o.mp4", "h264", 2)


def test_linear_curve_job_converts_the_matrix_only(tmp_path):
    """A 480×360 BT.601 clip tagged linear, ×2: the HD output holds the same RGB (read with
    BT.709, the matrix it is tagged with) as the source read with BT.601, within 2 levels, and
    keeps the curve and primaries tags."""
    from srkit.imageio import sws_exact
    from srkit.inference.video import upscale_video
    from _standins import NearestSR
    y, x = np.mgrid[0:360, 0:480]
    picture = np.stack([x * 255 // 479, y * 255 // 359, np.full_like(x, 128)], -1).astype(np.uint8)
    source = tmp_path / "linear.mkv"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 480, 360, "yuv444p"
        context = stream.codec_context
        context.colorspace, context.color_primaries, context.color_trc = 5, 5, 8
        context.color_range = 1
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(
            format="yuv444p", dst_colorspace="ITU601", dst_color_range="MPEG",
            interpolation=sws_exact())
        frame.pts, frame.time_base = 0, Fraction(1, 25)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.warns(UserWarning, match="transfer linear is not the BT.601/709 camera curve"):
        upscale_video(source, tmp_path / "out.mov", NearestSR(2), device="cpu", progress=False,
                      codec="prores")
    with av.open(str(tmp_path / "out.mov")) as container:
        context = container.streams.video[0].codec_context
        assert (context.colorspace, context.color_primaries, context.color_trc) == (1, 5, 8)
    seen = _sd_frames_of(tmp_path / "out.mov")[0]
    assert np.abs(seen - picture).mean() < 1 and np.abs(seen - picture)[8:-8, 8:-8].max() <= 4


def test_probe_says_the_curve_is_kept(tmp_path, capsys):
    from srkit.cli import main
    from srkit.data.archive_clip import make_archive_clip
    clip = make_archive_clip(tmp_path / "pal.mpg", frames=2, colour=(5, 5, 5))
    assert main(["probe", str(clip.path), "--codec", "prores", "-o", str(tmp_path / "o.mov")]) == 0
    table = capsys.readouterr().out
    assert re.search(r"\n  transfer +kept, BT\.470 gamma 2\.8 treated as the BT\.601/709 curve "
                     r"\(not converted\); tagged bt709\n", table), table
    assert re.search(r"colour +output tagged matrix bt709, primaries bt709, transfer bt709", table)
