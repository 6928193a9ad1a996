"""The degraded benchmark: its fixed grid, its LR images, per-cell and grid-mean figures, merging."""
import json

import numpy as np
import pytest

from srkit.evaluation.degraded import GRID, cells_named, degraded_lr, format_degraded, merge, run_degraded

pytest.importorskip("av")


def _hr(seed=0, size=48):
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[100 + seed * 8:100 + seed * 8 + size, 150:150 + size])


def _nearest(scale):
    return lambda lr: np.repeat(np.repeat(lr, scale, 0), scale, 1)


def test_grid_has_the_published_settings_and_marks_the_hard_cells():
    assert [c.noise for c in GRID if c.noise] == [5, 15]
    assert [c.jpeg for c in GRID if c.jpeg] == [90, 50, 30]
    assert len([c for c in GRID if c.mpeg2]) == 2
    hard = {c.name for c in GRID if c.hard}
    assert hard == {"noise 5", "noise 15", "JPEG 50", "JPEG 30", "MPEG-2 q8", "MPEG-2 q16"}
    assert cells_named(["jpeg 50", "MPEG-2 q8"]) == (GRID[4], GRID[6])
    with pytest.raises(ValueError, match="unknown cell"):
        cells_named(["JPEG 70"])


def test_lr_is_seeded_and_each_cell_damages_differently():
    hr = _hr()
    lrs = {c.name: degraded_lr(hr, 2, 3, c) for c in GRID}
    assert all(v.shape == (24, 24, 3) and v.dtype == np.uint8 for v in lrs.values())
    assert np.array_equal(lrs["noise 5"], degraded_lr(hr, 2, 3, GRID[1]))
    assert len({v.tobytes() for v in lrs.values()}) == len(GRID)
    err = {n: np.abs(v.astype(int) - lrs["clean"]).mean() for n, v in lrs.items()}
    assert err["noise 5"] < err["noise 15"] and err["JPEG 90"] < err["JPEG 30"] and err["MPEG-2 q8"] < err["MPEG-2 q16"]


def test_run_per_cell_mean_and_merge(tmp_path):
    images = {"tiny": [_hr(0), _hr(1)]}
    a = run_degraded({"nearest": _nearest(2)}, images, 2, cells_named(["clean", "noise 15"]), progress=False)
    b = run_degraded({"nearest": _nearest(2)}, images, 2, cells_named(["JPEG 30"]), progress=False)
    res = a["results"]["tiny"]
    assert list(res) == ["clean", "noise 15"] and list(res["clean"]) == ["bicubic", "nearest"]
    assert res["clean"]["bicubic"]["n"] == 2
    assert res["clean"]["bicubic"]["psnr"] > res["noise 15"]["bicubic"]["psnr"]
    mean = a["mean"]["tiny"]["bicubic"]["psnr"]
    assert mean == pytest.approx((res["clean"]["bicubic"]["psnr"] + res["noise 15"]["bicubic"]["psnr"]) / 2)
    both = merge([json.loads(json.dumps(b)), a])
    assert list(both["results"]["tiny"]) == ["clean", "noise 15", "JPEG 30"]  # the grid's order
    assert both["mean"]["tiny"]["nearest"]["cells"] == 3
    table = format_degraded(both)
    assert "| JPEG 30 |" in table and "mean of the grid" in table


def test_cli_refuses_a_model_of_another_scale(tmp_path, capsys):
    from srkit.cli import main
    assert main(["bench", "degraded", "--data", str(tmp_path), "--scale", "2", "--weights", "x4"]) != 0
    assert "x4 is a x4 model, --scale is 2" in capsys.readouterr().err
