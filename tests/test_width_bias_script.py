"""bench/width_bias.py with the bundled x2 pipeline on a 96×96 crop of a Set5 image: one table row per
Gaussian8 width and both predictor errors."""
import importlib.util
import re
from pathlib import Path

import pytest

import srkit.data.benchmarks as benchmarks

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "width_bias.py"


def test_width_bias_prints_a_row_per_width_and_both_predictor_errors(data_dir, capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("width_bias", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    real = benchmarks.load_benchmark

    def one_crop(data, name, scale):
        im = real(data, name, scale)[0]
        im.hr = im.hr[:96, :96]
        return [im]

    monkeypatch.setattr(benchmarks, "load_benchmark", one_crop)
    assert mod.main(["--data", str(data_dir), "--weights", "x2", "--sets", "Set5", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\| (\d\.\d\d) \| (\d\.\d{3}) \| (\d\.\d{3}) \|$", out, re.M)
    assert [float(r[0]) for r in rows] == pytest.approx([0.8 + i * 0.8 / 7 for i in range(8)], abs=0.006)
    assert all(0.2 < float(w) < 3.0 for r in rows for w in r[1:])
    m = re.search(r"HR as is ([+-]\d\.\d{3}), HR reduced x0.5 ([+-]\d\.\d{3})", out)
    assert m and all(abs(float(v)) < 1.0 for v in m.groups())
