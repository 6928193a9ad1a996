"""``srkit demo`` (quick start, step 1): the bundled x2 on the built-in images writes LR, bicubic and
SR files and beats bicubic on every image."""
import re

from srkit.cli import main


def test_demo_writes_images_and_beats_bicubic(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("face", "text", "scene"):
        for kind in ("lr", "bicubic", "srkit"):
            assert (tmp_path / f"{name}_{kind}.png").is_file()
    psnr = {(m.group(1), m.group(2)): float(m.group(3))
            for m in re.finditer(r"^(\w+)\s+(bicubic|srkit)\s+([\d.]+)\s+[\d.]+$", out, re.M)}
    assert len(psnr) == 6
    assert all(psnr[(n, "srkit")] > psnr[(n, "bicubic")] + 0.5 for n in ("face", "text", "scene")), psnr


def test_demo_without_weights_fails_naming_the_model(tmp_path, capsys, monkeypatch):
    """No bundled weights: exit 2, one stderr line naming the missing model, no images written."""
    import srkit.checkpoint as checkpoint
    monkeypatch.setattr(checkpoint, "WEIGHTS_DIR", tmp_path / "no_weights")
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "srkit demo: error: no bundled model named 'x2'" in err[0], err
    assert str(tmp_path / "no_weights") in err[0]
    assert not out.exists()


def test_help_names_every_bench_subcommand(capsys):
    """The top-level help lists exactly the subcommands ``srkit bench`` accepts."""
    import argparse

    from srkit.cli import COMMANDS
    from srkit.commands import bench
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    listed = COMMANDS["bench"][1].split(":", 1)[1].replace(" ", "").split(",")
    assert listed == list(sub.choices), (listed, list(sub.choices))
