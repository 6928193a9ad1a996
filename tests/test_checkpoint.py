"""Checkpoints: bit-exact round trips, clear errors for bad files, the Pipeline rebuilt by srkit.load."""
import json
import os

import pytest
import torch

import srkit
from srkit.checkpoint import load_checkpoint, read_header, resolve, save_checkpoint
from srkit.kernels import KernelPCA
from srkit.models.disc import Discriminator, DiscriminatorConfig
from srkit.models.ikc import Corrector, CorrectorConfig, IKCResult, Predictor, PredictorConfig
from srkit.models.sft import GeneratorConfig, SFTGenerator
from srkit.inference.pipeline import Pipeline


@pytest.fixture(scope="module")
def pca():
    return KernelPCA.fit(2, n=500, seed=0)


def networks(scale=2, use_seg=False, segnet=False):
    torch.manual_seed(0)
    mods = {"generator": SFTGenerator(GeneratorConfig.preset("tiny", scale=scale, use_seg=use_seg)),
            "predictor": Predictor(PredictorConfig.preset("tiny")),
            "corrector": Corrector(CorrectorConfig.preset("tiny", scale=scale))}
    if segnet:
        from srkit.models.seg import SegConfig, SegNet
        mods["segnet"] = SegNet(SegConfig.preset("tiny", pretrained=False))
    return mods


def same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) and sa[k].dtype == sb[k].dtype for k in sa)


def test_round_trip_bit_exact(tmp_path, pca):
    mods = networks()
    mods["discriminator"] = Discriminator(DiscriminatorConfig.preset("tiny"))
    path = save_checkpoint(tmp_path / "m.safetensors", mods, {"iters": 5, "psnr": {"Set5": 30.1}}, pca)
    ck = load_checkpoint(path)
    assert set(ck.modules) == set(mods) and ck.scale == 2 and ck.categories[1] == "sky"
    for k in mods:
        assert type(ck.modules[k]) is type(mods[k]) and ck.modules[k].cfg == mods[k].cfg
        assert same_state(ck.modules[k], mods[k]) and not ck.modules[k].training
    assert torch.equal(ck.pca.matrix, pca.matrix) and torch.equal(ck.pca.mean, pca.mean)
    assert ck.pca.meta == pca.meta
    assert ck.meta == {"iters": 5, "psnr": {"Set5": 30.1}}
    assert read_header(path)["modules"]["generator"]["class"] == "SFTGenerator"


def test_half_storage_loads_as_float32(tmp_path):
    mods = networks()
    path = save_checkpoint(tmp_path / "h.safetensors", mods, half=True)
    full = save_checkpoint(tmp_path / "f.safetensors", mods)
    assert path.stat().st_size < 0.6 * full.stat().st_size
    g = load_checkpoint(path).modules["generator"]
    w, w0 = g.head.weight, mods["generator"].head.weight
    assert w.dtype == torch.float32 and torch.allclose(w, w0, atol=1e-3) and not torch.equal(w, w0)


def test_each_loader_returns_one_type(tmp_path, pca):
    """srkit.load always gives a Pipeline (a lone generator too); srkit.load_network one network,
    and both refuse what they cannot give, naming what the file holds."""
    g = networks()["generator"]
    p = save_checkpoint(tmp_path / "g.safetensors", {"generator": g})
    loaded = srkit.load_network(p)
    assert isinstance(loaded, SFTGenerator) and same_state(loaded, g)
    alone = srkit.load(p)
    assert isinstance(alone, Pipeline) and same_state(alone.generator, g) and alone.predictor is None
    p_only = save_checkpoint(tmp_path / "p.safetensors", {"predictor": networks()["predictor"]})
    with pytest.raises(ValueError, match=r"holds predictor and no generator.*srkit.load_network"):
        srkit.load(p_only)
    assert isinstance(srkit.load_network(p_only), type(networks()["predictor"]))
    p = save_checkpoint(tmp_path / "all.safetensors", networks(), pca=pca)
    with pytest.raises(ValueError, match=r"holds 3 networks \(corrector, generator, predictor\); pass name="):
        srkit.load_network(p)
    assert same_state(srkit.load_network(p, name="corrector"), networks()["corrector"])
    with pytest.raises(ValueError, match="no network 'segnet'"):
        srkit.load_network(p, name="segnet")
    pipe = srkit.load(str(p), device="cpu")
    assert isinstance(pipe, Pipeline) and pipe.scale == 2 and pipe.pca is not None
    lr = torch.rand(1, 3, 8, 6)
    sr = pipe(lr, steps=2)
    assert sr.shape == (1, 3, 16, 12) and sr.min() >= 0 and sr.max() <= 1
    res = pipe.ikc(lr, steps=2)
    assert isinstance(res, IKCResult) and len(res.srs) == 3
    assert torch.allclose(sr, res.sr.clamp(0, 1))
    assert pipe.upscale(lr[0], code=res.code).shape == (3, 16, 12)  # 3-D in, 3-D out; code by hand
    assert pipe.to("cpu").eval() is pipe


def test_pipeline_with_segnet(tmp_path, pca):
    pytest.importorskip("timm")
    mods = networks(scale=3, use_seg=True, segnet=True)
    pipe = srkit.load(save_checkpoint(tmp_path / "s.safetensors", mods, pca=pca))
    assert same_state(pipe.segnet, mods["segnet"])
    sr = pipe.upscale(torch.rand(2, 3, 9, 7), steps=1)
    assert sr.shape == (2, 3, 27, 21)
    with pytest.raises(ValueError, match="segnet"):
        Pipeline(generator=pipe.generator, predictor=pipe.predictor).upscale(torch.rand(1, 3, 9, 7))


def test_missing_file_and_unknown_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load_checkpoint(tmp_path / "nope.safetensors")
    with pytest.raises(FileNotFoundError, match="bundled"):
        resolve("no_such_model_name")
    with pytest.raises(FileNotFoundError):
        srkit.load(str(tmp_path / "nope.safetensors"))


def test_truncated_and_corrupt(tmp_path):
    path = save_checkpoint(tmp_path / "t.safetensors", networks())
    data = path.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="trunc.safetensors"):
        load_checkpoint(tmp_path / "trunc.safetensors")
    flipped = bytearray(data)
    flipped[-5] ^= 0x10  # one bit in the tensor data: safetensors alone would not notice
    (tmp_path / "flip.safetensors").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="flip.safetensors.*checksum"):
        load_checkpoint(tmp_path / "flip.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ValueError, match="junk.safetensors.*not a readable"):
        load_checkpoint(tmp_path / "junk.safetensors")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.safetensors"):
        load_checkpoint(tmp_path / "empty.safetensors")


def test_foreign_safetensors(tmp_path):
    from safetensors.torch import save_file
    save_file({"w": torch.zeros(3)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(ValueError, match="foreign.safetensors.*not a srkit checkpoint"):
        load_checkpoint(tmp_path / "foreign.safetensors")
    save_file({"w": torch.zeros(3)}, str(tmp_path / "bad.safetensors"), metadata={"srkit": "{not json"})
    with pytest.raises(ValueError, match="not valid JSON"):
        load_checkpoint(tmp_path / "bad.safetensors")


def _rewrite(src, dst, edit_header=None, edit_tensors=None):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    with safe_open(str(src), "pt") as f:
        header = json.loads(f.metadata()["srkit"])
    tensors = load_file(str(src))
    if edit_header:
        edit_header(header)
    if edit_tensors:
        edit_tensors(tensors)
        header.pop("sha256")  # hand-edited tensors: test the structural check, not the checksum
    save_file(tensors, str(dst), metadata={"srkit": json.dumps(header)})
    return dst


def test_mismatched_and_unknown(tmp_path):
    src = save_checkpoint(tmp_path / "ok.safetensors", networks())
    bad = _rewrite(src, tmp_path / "nf.safetensors", lambda h: h["modules"]["generator"]["config"].update(nf=24))
    with pytest.raises(ValueError, match=r"nf.safetensors.*generator.*shape mismatches.*head.weight"):
        load_checkpoint(bad)
    bad = _rewrite(src, tmp_path / "miss.safetensors", edit_tensors=lambda t: t.pop("predictor.body.0.bias"))
    with pytest.raises(ValueError, match=r"miss.safetensors.*predictor.*missing \['body.0.bias'\]"):
        load_checkpoint(bad)
    bad = _rewrite(src, tmp_path / "cls.safetensors", lambda h: h["modules"]["corrector"].update({"class": "Evil"}))
    with pytest.raises(ValueError, match=r"cls.safetensors.*unknown class 'Evil'"):
        load_checkpoint(bad)
    bad = _rewrite(src, tmp_path / "field.safetensors",
                   lambda h: h["modules"]["generator"]["config"].update(warp=True))
    with pytest.raises(ValueError, match=r"unknown fields \['warp'\]"):
        load_checkpoint(bad)
    bad = _rewrite(src, tmp_path / "ver.safetensors", lambda h: h.update(version=99))
    with pytest.raises(ValueError, match="version 99"):
        load_checkpoint(bad)


def test_atomic_write_keeps_old_file(tmp_path):
    path = save_checkpoint(tmp_path / "keep.safetensors", networks())
    before = path.read_bytes()
    with pytest.raises(ValueError, match="JSON"):
        save_checkpoint(path, networks(), meta={"bad": object()})
    with pytest.raises(ValueError, match="not a srkit network"):
        save_checkpoint(path, {"generator": torch.nn.Linear(2, 2)})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.safetensors"]  # no temp files left behind


def test_never_unpickles(monkeypatch, tmp_path):
    path = save_checkpoint(tmp_path / "p.safetensors", networks())

    def forbidden(*a, **k):
        raise AssertionError("torch.load must not be used")
    monkeypatch.setattr(torch, "load", forbidden)
    load_checkpoint(path)
