"""bench/upper_bound_gap.py with the bundled x2 pipeline on 96×96 crops of two Set5 images: a row per
image and a mean row that agrees with the rows."""
import re

import pytest

from tests._benchscripts import crop_benchmarks, load_script


def test_upper_bound_gap_prints_a_row_per_image_and_their_mean(data_dir, capsys, monkeypatch):
    mod = load_script("upper_bound_gap", monkeypatch)
    crop_benchmarks(monkeypatch, images=2)
    assert mod.main(["--data", str(data_dir), "--weights", "x2", "--sets", "Set5", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    num = r"([+-]\d+\.\d+)"
    rows = re.findall(rf"^\| (\S+) \| (\d+\.\d\d) \| {num} \| {num} \| {num} / {num} \| {num} / {num} \|$", out, re.M)
    assert [r[0] for r in rows][-1] == "mean" and len(rows) == 3
    for col in range(1, 8):
        vals = [float(r[col]) for r in rows]
        assert vals[2] == pytest.approx((vals[0] + vals[1]) / 2, abs=0.011)
    assert all(20 < float(r[1]) < 50 and abs(float(r[4])) < 1.5 for r in rows)
