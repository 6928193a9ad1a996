"""ONNX export (srkit/export/onnx.py, ``srkit export onnx``): the bundled x2 networks run in ONNX
Runtime (CPU) as in PyTorch fp32, at two LR sizes and two batch sizes from one file each."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

pytest.importorskip("onnx", reason="onnx is not installed (pip install -e '.[onnx]')")
pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e '.[onnx]')")

import srkit  # noqa: E402
from srkit.cli import main  # noqa: E402
from srkit.export import onnx as ox  # noqa: E402
from srkit.resize import imresize  # noqa: E402

TOL = 1e-4
SIZES = ((24, 20, 1), (13, 31, 2))  # (H, W, N): a second size and batch from the same file


@pytest.fixture(scope="module")
def pipeline():
    torch.set_num_threads(1)
    return srkit.load("x2")


@pytest.fixture(scope="module")
def exported(pipeline, tmp_path_factory):
    files = ox.export_pipeline(pipeline, tmp_path_factory.mktemp("onnx") / "x2.onnx")
    return {f.role: f for f in files}


def _lr(h, w, n, seed):
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_export_writes_the_three_files_with_their_inputs(exported):
    assert set(exported) == {"generator", "predictor", "segmenter"}
    gen = exported["generator"]
    assert gen.path.name == "x2.onnx"
    assert exported["predictor"].path.name == "x2.predictor.onnx"
    assert exported["segmenter"].path.name == "x2.segmenter.onnx"
    assert gen.inputs == {"lr": ("N", 3, "H", "W"), "code": ("N", 10), "seg": ("N", 10, "H", "W")}
    session = ox.onnxruntime_session(gen.path)
    assert [i.name for i in session.get_inputs()] == ["lr", "code", "seg"]
    assert [o.name for o in session.get_outputs()] == ["sr"]
    assert session.get_inputs()[0].shape == ["N", 3, "H", "W"]
    assert not list(gen.path.parent.glob("*.part*")), "temporary files left behind"


@torch.no_grad()
def test_generator_matches_pytorch_at_two_sizes(pipeline, exported):
    session = ox.onnxruntime_session(exported["generator"].path)
    for i, (h, w, n) in enumerate(SIZES):
        lr = _lr(h, w, n, seed=i)
        code = 0.3 * torch.randn(n, 10, generator=torch.Generator().manual_seed(10 + i))
        seg = pipeline.segnet(lr)
        want = pipeline.generator(lr, code, seg).clamp(0, 1).numpy()
        got = session.run(["sr"], {"lr": lr.numpy(), "code": code.numpy(), "seg": seg.numpy()})[0]
        assert got.shape == (n, 3, 2 * h, 2 * w)
        assert np.abs(got - want).max() <= TOL


@torch.no_grad()
def test_predictor_and_segmenter_match_pytorch_at_two_sizes(pipeline, exported):
    predictor = ox.onnxruntime_session(exported["predictor"].path)
    segmenter = ox.onnxruntime_session(exported["segmenter"].path)
    for i, (h, w, n) in enumerate(SIZES):
        lr = _lr(h, w, n, seed=20 + i)
        code = predictor.run(["code"], {"lr": lr.numpy()})[0]
        assert code.shape == (n, 10)
        assert np.abs(code - pipeline.predictor(lr).numpy()).max() <= TOL
        seg = segmenter.run(["seg"], {"lr": lr.numpy()})[0]
        assert seg.shape == (n, 10, h, w)
        assert np.abs(seg - pipeline.segnet(lr).numpy()).max() <= TOL


@torch.no_grad()
def test_single_input_generator_with_built_in_code_and_segmenter(pipeline, tmp_path):
    code = torch.tensor([0.4, -0.2, 0.1, 0.0, 0.05, -0.1, 0.2, 0.0, -0.05, 0.1])
    f = ox.export_generator(pipeline, tmp_path / "one.onnx", code=code, embed_segmenter=True)
    assert list(f.inputs) == ["lr"]
    lr = _lr(17, 22, 1, seed=30)
    got = ox.onnxruntime_session(f.path).run(None, {"lr": lr.numpy()})[0]
    want = pipeline.generator(lr, code[None], pipeline.segnet(lr)).clamp(0, 1).numpy()
    assert np.abs(got - want).max() <= TOL


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_upsample_is_imresize(scale):
    up = ox.BicubicUpsample(scale)
    for h, w in ((1, 1), (2, 5), (9, 7)):
        x = _lr(h, w, 2, seed=h * w)
        assert (up(x) - imresize(x, scale=scale)).abs().max() <= 1e-6


def test_bad_arguments_are_named(pipeline, tmp_path):
    with pytest.raises(ValueError, match="end in .onnx"):
        ox.export_generator(pipeline, tmp_path / "x2.txt")
    with pytest.raises(ValueError, match="opset"):
        ox.export_predictor(pipeline, tmp_path / "p.onnx", opset=11)
    with pytest.raises(ValueError, match="10 numbers"):
        ox.export_generator(pipeline, tmp_path / "g.onnx", code=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="srkit Pipeline"):
        ox.export_generator(object(), tmp_path / "g.onnx")
    assert not list(tmp_path.iterdir())


def test_failed_export_keeps_the_previous_file(pipeline, tmp_path, monkeypatch):
    target = tmp_path / "x2.predictor.onnx"
    target.write_bytes(b"the good file")

    def broken_export(module, args, f, **kwargs):
        with open(f, "wb") as handle:
            handle.write(b"half")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(torch.onnx, "export", broken_export)
    with pytest.raises(RuntimeError, match="exporter crashed"):
        ox.export_predictor(pipeline, target)
    assert target.read_bytes() == b"the good file"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_cli_writes_and_reports_each_file(tmp_path, capsys):
    assert main(["export", "onnx", "--weights", "x2", "-o", str(tmp_path / "x2.onnx")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{tmp_path / 'x2.onnx'}: generator, inputs lr N×3×H×W, code N×10, seg N×10×H×W")
    assert lines[1].startswith(f"{tmp_path / 'x2.predictor.onnx'}: predictor, inputs lr N×3×H×W -> code N×10")
    assert lines[2].startswith(f"{tmp_path / 'x2.segmenter.onnx'}: segmenter, inputs lr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x2.onnx", "x2.predictor.onnx", "x2.segmenter.onnx"]


def test_cli_bad_weights_is_a_clear_error(tmp_path, capsys):
    assert main(["export", "onnx", "--weights", "nope", "-o", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert "no bundled model named 'nope'" in err and "x2" in err
    assert not list(tmp_path.iterdir())


def test_cli_without_onnxruntime_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    assert main(["export", "onnx", "--weights", "x2", "-o", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "onnxruntime" in err[0] and "pip install" in err[0]
    assert not list(tmp_path.iterdir())
