"""``srkit data fetch``: offline it fails in one sentence that names the set and the way out; an
archive is unpacked into the layout --data expects (images only, by file name), and a set already
present is kept. No network: the download is replaced by a local archive."""
from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from srkit.data import fetch as fetch_mod
from srkit.data.benchmarks import load_benchmark


def _archive(path, names):
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            buf = io.BytesIO()
            if name.endswith(".png"):
                Image.fromarray(np.full((24, 30, 3), 100, np.uint8)).save(buf, format="PNG")
            else:
                buf.write(b"not an image")
            info = tarfile.TarInfo(name)
            info.size = len(buf.getvalue())
            tar.addfile(info, io.BytesIO(buf.getvalue()))
    return path


def test_offline_fetch_names_the_set_and_the_way_out(tmp_path, monkeypatch, capsys):
    from srkit.commands import data as data_cmd
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(fetch_mod, "download_archive", lambda repo, fn: (_ for _ in ()).throw(
        fetch_mod.FetchError(f"cannot download {fn} from the HuggingFace dataset {repo}: offline")))
    args = type("A", (), {"to": tmp_path / "data", "sets": "Set5"})()
    assert data_cmd.run(args) == 1
    out = capsys.readouterr().out
    assert "Set5" in out and "eugenesiow/Set5" in out and str(tmp_path / "data" / "Set5" / "HR") in out
    assert not (tmp_path / "data" / "Set5" / "HR").exists()


def test_archive_unpacked_into_the_benchmark_layout(tmp_path, monkeypatch):
    arc = _archive(tmp_path / "set5.tar.gz", ["Set5_HR/baby.png", "Set5_HR/bird.png", "../escape.png",
                                              "Set5_HR/readme.txt", "Set5_HR/._baby.png"])
    calls = []
    monkeypatch.setattr(fetch_mod, "download_archive", lambda repo, fn: calls.append(repo) or arc)
    done = fetch_mod.fetch(tmp_path / "data", ["Set5"], log=lambda m: None)
    hr = tmp_path / "data" / "Set5" / "HR"
    assert done == {"Set5": hr}
    assert sorted(p.name for p in hr.iterdir()) == ["baby.png", "bird.png", "escape.png"]
    assert not (tmp_path / "escape.png").exists()
    assert [im.name for im in load_benchmark(tmp_path / "data", "Set5", 2)] == ["baby", "bird", "escape"]
    fetch_mod.fetch(tmp_path / "data", ["Set5"], log=lambda m: None)  # present: kept, not downloaded again
    assert calls == ["eugenesiow/Set5"]


def test_unknown_set_is_refused():
    with pytest.raises(ValueError, match="unknown benchmark"):
        fetch_mod.fetch("/tmp/nowhere", ["Set6"])
