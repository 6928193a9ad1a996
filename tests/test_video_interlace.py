"""A second opinion before idet overrules a stream flagged progressive (srkit.inference.video.source
``comb_blocks``): progressive detail moving vertically, which idet reads as interlaced, stays
progressive; woven fields flagged progressive are still found and deinterlaced. Clips are 576-line
(idet's minimum is 288), 12 frames, built here with PyAV.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from srkit.inference.video import inspect_video, plan_video
from srkit.inference.video.source import comb_blocks


def _scrolling_stripes(path: Path, frames: int = 12) -> Path:
    """Progressive 720×576 frames, flagged so (FFV1): horizontal stripes 8 lines apart (4 light, 4
    dark, with a soft diagonal texture) scrolling up 2 lines a frame, as rolling credits do."""
    y, x = np.mgrid[0:576, 0:720]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 720, 576, "yuv420p"
        stream.codec_context.field_order = 1  # AV_FIELD_PROGRESSIVE
        for i in range(frames):
            rows = y + 2 * i
            luma = np.where(rows // 4 % 2 == 0, 200, 40) + 30 * np.sin(x / 9.0 + rows / 13.0)
            picture = np.repeat(luma.clip(0, 255)[..., None], 3, axis=-1).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_comb_blocks_golden_counts():
    """One 32×32 luma of four 16×16 blocks: a flat one (not textured), one of noise (textured,
    curvature about equal 1 and 2 lines apart), a smooth vertical ramp of a sine (textured, curves
    4× less across neighbouring lines), one woven from two fields 40 levels apart (combed)."""
    rng = np.random.default_rng(0)
    luma = np.full((36, 32), 128.0)
    luma[:, 16:] = rng.normal(128, 20, (36, 16))
    rows = np.arange(36)[:, None]
    luma[18:, :16] = 128 + 60 * np.sin(rows[18:] / 3.0)
    luma[18:, 16:] = 100 + 40 * (rows[18:] % 2)
    assert comb_blocks(luma) == (1, 3)
    assert comb_blocks(luma[:4]) == (0, 0)  # too small for one block


def test_progressive_detail_idet_misjudges_stays_progressive(tmp_path, capsys):
    """idet calls the scrolling stripes bff on every frame; the stream flag and the comb measure
    (no block combed) keep them progressive, and ``srkit probe`` says which evidence decided."""
    from srkit.cli import main
    path = _scrolling_stripes(tmp_path / "credits.mkv")
    info = inspect_video(path)
    assert info.field_order == "progressive" and info.picture_order == "bff"   # idet misjudges
    assert info.idet["bff"] == 12 and info.comb_share == 0.0
    plan = plan_video(info, tmp_path / "out.mkv", "ffv1", 2)
    assert plan.deinterlace is None and plan.progressive and plan.warnings == []
    decided = ("interlace: decided by the stream flag and the comb measure against idet (bff): "
               "combing in 0.0% of the textured blocks (field against frame curvature), under 1% "
               "(progressive detail moving vertically, such as credits, misleads idet); kept "
               "progressive (--deinterlace frame deinterlaces anyway)")
    assert decided in plan.notes
    assert main(["probe", str(path), "-o", str(tmp_path / "out.mkv"), "--codec", "ffv1"]) == 0
    assert decided.split(": ", 1)[1] in capsys.readouterr().out


def test_woven_fields_flagged_progressive_are_still_deinterlaced(tmp_path):
    """The archive clip's fields woven into frames flagged progressive (a transfer that baked the
    combing in): idet and the comb measure (over half the textured blocks) both say interlaced."""
    from srkit.data.archive_clip import make_archive_clip
    clip = make_archive_clip(tmp_path / "baked.mpg", frames=12, flagged="progressive")
    info = inspect_video(clip.path)
    assert info.field_order == "progressive" and info.picture_order == "tff"
    assert info.comb_share > 0.4
    plan = plan_video(info, tmp_path / "out.mkv", "ffv1", 2)
    assert plan.deinterlace == "frame" and plan.field_order == "tff"
    assert f"interlace: decided by idet (tff) and the comb measure against the stream flag: " \
           f"combing in {info.comb_share:.1%} of the textured blocks (field against frame " \
           "curvature)" in plan.notes
    assert plan.warnings[0].startswith(
        "baked.mpg: the stream is flagged progressive but its pictures are interlaced, tff (idet on "
        f"12 frames: 12 tff, 0 bff, 0 progressive, combing in {info.comb_share:.1%} of the "
        "textured blocks); deinterlacing")
