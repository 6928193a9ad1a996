"""bench/width_bias.py with the bundled x2 pipeline on a 96×96 crop of a Set5 image: one table row per
Gaussian8 width and both predictor errors."""
import re

import pytest

from tests._benchscripts import crop_benchmarks, load_script


def test_width_bias_prints_a_row_per_width_and_both_predictor_errors(data_dir, capsys, monkeypatch):
    mod = load_script("width_bias", monkeypatch)
    crop_benchmarks(monkeypatch, images=1)
    assert mod.main(["--data", str(data_dir), "--weights", "x2", "--sets", "Set5", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\| (\d\.\d\d) \| (\d\.\d{3}) \| (\d\.\d{3}) \|$", out, re.M)
    assert [float(r[0]) for r in rows] == pytest.approx([0.8 + i * 0.8 / 7 for i in range(8)], abs=0.006)
    assert all(0.2 < float(w) < 3.0 for r in rows for w in r[1:])
    m = re.search(r"HR as is ([+-]\d\.\d{3}), HR reduced x0.5 ([+-]\d\.\d{3})", out)
    assert m and all(abs(float(v)) < 1.0 for v in m.groups())
