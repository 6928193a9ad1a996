"""Which pictures of a video ``inspect_video`` judges: across the programme, not its leader.

Tapes and transfers start with black, colour bars or a slate. Judged on its first frames, a
programme flagged progressive whose pictures are woven fields gets no interlace verdict behind a
black leader and "progressive" behind bars (so ``--deinterlace auto`` would leave the combing in),
and bars read as heavy blocking (so ``--weights auto`` would pick the archive bundle). The clips
here are the archive clip of ``srkit.data.archive_clip`` at 720×288 (the smallest raster idet
judges), 40 frames of leader before 80 of panning, top-field-first pictures, MPEG-2 flagged
progressive: about 3 s each to build.
"""
from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest

av = pytest.importorskip("av")

from srkit.data.archive_clip import leader_picture, make_archive_clip
from srkit.inference.video import (SPREAD_STRETCHES, SourceInfo, inspect_video, picture_kind, plan_video,
                                   stretch_starts)


@pytest.mark.parametrize("leader", ["black", "bars"])
def test_a_leader_does_not_decide_interlace_or_damage(tmp_path, leader):
    clip = make_archive_clip(tmp_path / f"{leader}.mpg", frames=80, height=288, leader=leader,
                             leader_frames=40, flagged="progressive")
    info = inspect_video(clip.path)
    assert info.frames == 120 and info.stretches == SPREAD_STRETCHES and info.looked_at >= 40
    assert info.field_order == "progressive" and info.picture_order == "tff", info.idet
    assert info.idet["tff"] >= 4 * info.idet["progressive"], info.idet
    # bars' edges read as a strong block grid (2.4 on the first frames); the programme's is mild
    assert info.damage is not None and np.isfinite(info.damage.noise) and info.damage.blockiness < 0.3
    plan = plan_video(info, tmp_path / "out.mov", "prores", 2)
    assert plan.deinterlace == "frame" and plan.field_order == "tff"
    with av.open(str(clip.path)) as container:  # tags and timecode still come from the first frame
        first = next(container.decode(video=0))
    assert info.timecode == first.metadata.get("timecode")


def test_where_the_stretches_are():
    def info(duration, rate=25):
        return SourceInfo(None, "mpeg", 720, 576, Fraction(1), Fraction(rate), Fraction(1, 90000),
                          "mpeg2video", "yuv420p", 8, "tff", {}, 5, 5, 6, 1, 0.0, duration,
                          None, None, [], 0)
    assert stretch_starts(info(None), 50) == [0.0]      # no declared length: from the start
    assert stretch_starts(info(3.9), 50) == [0.0]       # 97 frames: shorter than SPREAD_MIN_FRAMES
    assert stretch_starts(info(60.0), 50) == pytest.approx([6, 18, 30, 42, 54])
    assert stretch_starts(info(6.0), 100) == [0.0]      # 150 frames, asked to look at 100: the start


def test_picture_kinds():
    bars = leader_picture("bars", 64, 36).mean(axis=2).astype(np.float32)
    black = leader_picture("black", 64, 36).mean(axis=2).astype(np.float32)
    assert picture_kind(black, None) == "blank"
    assert picture_kind(black + 1.5 * (np.indices((36, 64)).sum(0) % 2), None) == "blank"
    assert picture_kind(bars, None) == "moving"          # nothing to compare with: judged
    assert picture_kind(bars + 0.2, bars) == "still"
    assert picture_kind(np.roll(bars, 4, axis=1), bars) == "moving"


def test_leader_options_are_checked(tmp_path):
    with pytest.raises(ValueError, match="leader_frames=5 needs leader"):
        make_archive_clip(tmp_path / "x.mpg", frames=2, leader_frames=5)
    with pytest.raises(ValueError, match="leader must be one of"):
        leader_picture("tone", 8, 8)
    with pytest.raises(ValueError, match="flagged must be tff, bff or progressive"):
        make_archive_clip(tmp_path / "x.mpg", frames=2, flagged="prog")


def test_a_black_video_is_read_without_warnings(tmp_path):
    """Nothing but black: no interlace verdict, no damage, and no numpy warning on the way."""
    clip = make_archive_clip(tmp_path / "black.mpg", frames=1, height=288, leader="black",
                             leader_frames=12, flagged="progressive")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        info = inspect_video(clip.path)
    # the one programme frame is the only picture with content
    assert info.looked_at == 1 and info.damage is not None and np.isfinite(info.damage.noise)
