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
