"""bench/archive_validation.py: the degraded grid on the trainers' held-out split, never on a test set."""
import json

import numpy as np
import pytest

from _benchscripts import load_script

pytest.importorskip("av")


def test_crops_come_from_the_trainers_validation_split(data_dir, monkeypatch):
    av = load_script("archive_validation", monkeypatch)
    monkeypatch.setenv("SRKIT_DATA", str(data_dir))
    manifest = av.trainers_manifest(str(data_dir))
    # the same split the SR trainers write to <run>/manifest.json when given no data (their default)
    assert manifest["val"] == av.trainers_manifest(None)["val"]
    assert not set(manifest["val"]) & set(manifest["train"]) and not set(manifest["val"]) & set(manifest["test"])
    assert all("/T91/" in r or "/BSD200/" in r for r in manifest["val"])   # never a benchmark set
    crops = av.validation_crops(str(data_dir), 2, 90)
    assert len(crops) == len(manifest["val"]) > 10
    assert all(c.dtype == np.uint8 and c.shape == (88, 88, 3) and c.flags.c_contiguous for c in crops)


def test_main_writes_the_grid_json(data_dir, monkeypatch, tmp_path, capsys):
    av = load_script("archive_validation", monkeypatch)
    out = tmp_path / "av.json"
    assert av.main(["--data", str(data_dir), "--weights", "x2", "--crop", "48", "--images", "2",
                    "--cells", "clean", "JPEG 30", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    cells = res["results"]["T91+BSD200 val crops"]
    assert list(cells) == ["clean", "JPEG 30"] and cells["clean"]["x2"]["n"] == 2
    assert cells["clean"]["x2"]["psnr"] > cells["JPEG 30"]["x2"]["psnr"]
    assert res["split"] == "val" and "mean of the grid" in capsys.readouterr().out
    with pytest.raises(ValueError, match="x2 model"):
        av.main(["--data", str(data_dir), "--scale", "4", "--weights", "x2", "--images", "1"])

