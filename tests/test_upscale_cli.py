"""``srkit upscale`` (srkit/commands/upscale.py, its parts in srkit/commands/upscaling/): images,
folders, videos and clear errors."""
from __future__ import annotations

import errno
import os

import numpy as np
import pytest
import torch

from srkit.cli import main
from srkit.imageio import read_image, write_image

from _standins import make_video


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A tiny ×2 SRResNet-variant checkpoint (no kernel or segmentation condition)."""
    from srkit.checkpoint import save_checkpoint
    from srkit.models.sft import GeneratorConfig, SFTGenerator
    torch.manual_seed(0)
    generator = SFTGenerator(GeneratorConfig.preset("tiny", scale=2, use_kernel=False, use_seg=False))
    path = tmp_path_factory.mktemp("weights") / "tiny_x2.safetensors"
    return save_checkpoint(path, {"generator": generator})


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.png"
    write_image(path, np.random.default_rng(0).integers(0, 256, (16, 20, 3), dtype=np.uint8))
    return path


def _run(*args) -> int:
    return main(["upscale", *map(str, args), "--device", "cpu", "--quiet"])


def test_image(image, weights, tmp_path):
    out = tmp_path / "out" / "big.png"
    assert _run(image, "-o", out, "--weights", weights, "--tile", 16) == 0  # 20 wide: 2 tiles
    assert read_image(out).shape == (32, 40, 3)


@pytest.mark.parametrize("flag", [["--precision", "bf16"], ["--precision", "auto"], ["--half"]])
def test_precision(image, weights, tmp_path, flag):
    ref, out = tmp_path / "fp32.png", tmp_path / "other.png"
    assert _run(image, "-o", ref, "--weights", weights) == 0
    assert _run(image, "-o", out, "--weights", weights, *flag) == 0
    diff = np.abs(read_image(out).astype(int) - read_image(ref).astype(int))
    assert diff.max() <= 6


def test_unknown_precision_is_a_usage_error(image, weights, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _run(image, "-o", tmp_path / "x.png", "--weights", weights, "--precision", "fp16")
    assert exit_info.value.code == 2 and "invalid choice: 'fp16'" in capsys.readouterr().err


def test_folder(image, weights, tmp_path):
    write_image(tmp_path / "second.png", np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / "up"
    assert _run(tmp_path, "-o", out, "--weights", weights) == 0
    assert sorted(p.name for p in out.iterdir()) == ["in.png", "second.png"]
    assert read_image(out / "second.png").shape == (16, 16, 3)


def test_video(weights, tmp_path):
    av = pytest.importorskip("av")
    clip = tmp_path / "clip.mkv"
    make_video(clip, frames=5, width=32, height=24, audio="mp2")
    out = tmp_path / "clip_x2.mkv"
    assert _run(clip, "-o", out, "--weights", weights, "--codec", "ffv1") == 0
    with av.open(str(out)) as container:
        assert container.streams.video[0].width == 64 and len(list(container.decode(video=0))) == 5


@pytest.mark.parametrize("problem,message", [("missing", "input not found"),
                                             ("garbage", "cannot read image"),
                                             ("same", "never overwrites")])
def test_bad_inputs_exit_2_naming_the_file(problem, message, image, weights, tmp_path, capsys):
    source = {"missing": tmp_path / "nope.png", "garbage": tmp_path / "bad.png", "same": image}[problem]
    if problem == "garbage":
        source.write_bytes(b"\x89PNG but not really")
    assert _run(source, "-o", image if problem == "same" else tmp_path / "o.png", "--weights", weights) == 2
    err = capsys.readouterr().err
    assert message in err and source.name in err


def test_checkpoint_of_another_scale(image, weights, tmp_path, capsys):
    assert _run(image, "-o", tmp_path / "o.png", "--weights", weights, "--scale", 4) == 2
    assert "×2" in capsys.readouterr().err


def test_unsupported_scale_is_a_usage_error(image, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        _run(image, "-o", tmp_path / "o.png", "--scale", 5)
    assert exit_info.value.code == 2


def test_missing_weights(image, tmp_path, capsys):
    assert _run(image, "-o", tmp_path / "o.png", "--weights", tmp_path / "none.safetensors") == 2
    assert "none.safetensors" in capsys.readouterr().err


def test_disk_full_leaves_nothing(image, weights, tmp_path, monkeypatch, capsys):
    from PIL import Image

    def fill_disk(self, fp, *args, **kwargs):
        with open(fp, "wb") as handle:
            handle.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(fp))
    monkeypatch.setattr(Image.Image, "save", fill_disk)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert _run(image, "-o", out_dir / "o.png", "--weights", weights) == 2
    assert "disk full" in capsys.readouterr().err
    assert list(out_dir.iterdir()) == []


def test_output_dir_not_writable(image, weights, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert _run(image, "-o", blocker / "o.png", "--weights", weights) == 2   # parent is a file
    assert "not writable" in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    real_access = os.access
    # root may write anywhere: simulate the permission check a normal user would fail
    monkeypatch.setattr(os, "access",
                        lambda p, mode: False if str(p) == str(locked) else real_access(p, mode))
    assert _run(image, "-o", locked / "o.png", "--weights", weights) == 2
    assert "locked is not writable" in capsys.readouterr().err


def test_video_disk_full_leaves_nothing(weights, tmp_path, monkeypatch, capsys):
    pytest.importorskip("av")
    import srkit.inference.video.stitch
    clip = tmp_path / "clip.mp4"
    make_video(clip, frames=4, width=32, height=24, audio=None)

    def no_space(*args):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(srkit.inference.video.stitch, "_tensor_to_frame", no_space)
    assert _run(clip, "-o", tmp_path / "big.mp4", "--weights", weights) == 2
    assert "disk full" in capsys.readouterr().err
    # no output and no partial chunk: the job's work folder keeps only its plan, for a rerun
    work = tmp_path / "big.mp4.srkit-work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.mp4.srkit-work", "clip.mp4"]
    assert sorted(p.name for p in work.rglob("*") if p.is_file()) == ["manifest.json"]


def test_default_weights_follow_the_input_kind(monkeypatch, tmp_path):
    """Video gets the archive bundle of its scale (when bundled), images the measured choice."""
    import srkit.checkpoint as checkpoint
    from srkit.commands.upscaling.models import default_weights
    for scale in (2, 4):
        name, why = default_weights("image", scale)
        assert name == "auto" and f"x{scale}_archive" in why and "measured" in why
    bundled = {p.stem for p in checkpoint.WEIGHTS_DIR.glob("*.safetensors")}
    for scale in (2, 4):
        name, why = default_weights("video", scale)
        expected = f"x{scale}_archive" if f"x{scale}_archive" in bundled else f"x{scale}"
        assert name == expected and "video" in why
    monkeypatch.setattr(checkpoint, "WEIGHTS_DIR", tmp_path / "no_weights")
    assert default_weights("video", 2) == ("x2", "default for video at x2 (no x2_archive bundle)")
    assert default_weights("video", 3)[0] == "x3"
