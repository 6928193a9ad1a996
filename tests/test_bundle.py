"""Assembling a shipped pipeline from training-run checkpoints (srkit.train.bundle)."""
import pytest
import torch

import srkit
from srkit.checkpoint import save_checkpoint
from srkit.kernels import KernelPCA
from srkit.models.ikc import Corrector, CorrectorConfig, Predictor, PredictorConfig
from srkit.models.seg import SegConfig, SegNet
from srkit.models.sft import GeneratorConfig, SFTGenerator
from srkit.train.bundle import assemble, main


def _modules(seed):
    torch.manual_seed(seed)
    return {"segnet": SegNet(SegConfig.preset("tiny", pretrained=False)),
            "generator": SFTGenerator(GeneratorConfig.preset("tiny", scale=2)),
            "predictor": Predictor(PredictorConfig.preset("tiny")),
            "corrector": Corrector(CorrectorConfig.preset("tiny", scale=2))}


def _two_runs(tmp_path, seed_other):
    """An IKC run and another run holding only a generator; returns (ikc modules, other modules, paths)."""
    pca = KernelPCA.fit(2, n=500)
    ikc, other = _modules(0), _modules(seed_other)
    paths = tmp_path / "ikc" / "model.safetensors", tmp_path / "other" / "model.safetensors"
    save_checkpoint(paths[0], ikc, {}, pca)
    save_checkpoint(paths[1], {"generator": other["generator"]}, {}, pca)
    return ikc, other, [str(p) for p in paths]


def test_assemble_swaps_in_the_gan_generator(tmp_path):
    ikc, gan, (ikc_path, gan_path) = _two_runs(tmp_path, 1)
    assert main(["--ikc", ikc_path, "--gan", gan_path, "--name", "t_gan", "--out", str(tmp_path / "w")]) == 0
    pipe = srkit.load(tmp_path / "w" / "t_gan.safetensors")
    g_ref = gan["generator"].state_dict()
    for k, v in pipe.generator.state_dict().items():
        assert torch.allclose(v, g_ref[k].half().float())  # stored as fp16
    p_ref = ikc["predictor"].state_dict()
    for k, v in pipe.predictor.state_dict().items():  # P, C and S come from the IKC run
        assert torch.allclose(v, p_ref[k].half().float())
    assert pipe.meta["name"] == "t_gan" and "sftgan" in pipe.meta["stages"]
    sr = pipe(torch.rand(1, 3, 16, 16), steps=1)
    assert sr.shape == (1, 3, 32, 32)


def test_assemble_refuses_incomplete_runs(tmp_path):
    mods = _modules(0)
    del mods["corrector"]
    save_checkpoint(tmp_path / "m.safetensors", mods, {}, KernelPCA.fit(2, n=500))
    with pytest.raises(ValueError, match="corrector"):
        assemble(tmp_path / "m.safetensors")


def test_generator_swap_in_full_precision_is_an_init_for_training(tmp_path):
    _, other, (ikc_path, g_path) = _two_runs(tmp_path, 2)
    assert main(["--ikc", ikc_path, "--generator", g_path, "--fp32", "--name", "init", "--out", str(tmp_path)]) == 0
    pipe = srkit.load(tmp_path / "init.safetensors")
    g_ref = other["generator"].state_dict()
    assert all(torch.equal(v, g_ref[k]) for k, v in pipe.generator.state_dict().items())  # exact: fp32 kept
    assert "generator" in pipe.meta["stages"] and "sftgan" not in pipe.meta["stages"]
    with pytest.raises(SystemExit):  # one generator source at a time
        main(["--ikc", "a", "--gan", "b", "--generator", "c", "--name", "x"])


def test_a_bundle_is_re_made_on_another_segmenter(tmp_path):
    ikc, _, (ikc_path, _) = _two_runs(tmp_path, 1)
    assert main(["--ikc", ikc_path, "--name", "t", "--out", str(tmp_path / "w")]) == 0
    torch.manual_seed(5)
    seg = SegNet(SegConfig.preset("tiny", pretrained=False))
    seg_path = save_checkpoint(tmp_path / "seg.safetensors", {"segnet": seg}, {"stages": {"segmenter": {"steps": 9}}},
                               half=True, scale=2)
    bundle = tmp_path / "w" / "t.safetensors"
    assert main(["--ikc", str(bundle), "--segmenter", str(seg_path), "--name", "t_seg", "--out", str(tmp_path / "w")]) == 0
    pipe = srkit.load(tmp_path / "w" / "t_seg.safetensors")
    ref = seg.state_dict()
    for k, v in pipe.segnet.state_dict().items():                  # S from the segmenter file
        assert torch.equal(v, ref[k].half().float()), k
    g_ref = ikc["generator"].state_dict()
    for k, v in pipe.generator.state_dict().items():                # G, P, C kept from the bundle
        assert torch.allclose(v, g_ref[k].half().float())
    assert "ikc" in pipe.meta["stages"] and pipe.meta["segmenter"]["file"] == "seg.safetensors"
    assert pipe.meta["segmenter"]["stages"]["segmenter"]["steps"] == 9
    x4_seg = save_checkpoint(tmp_path / "seg4.safetensors", {"segnet": seg}, {}, scale=4)
    with pytest.raises(ValueError, match="x4 LR"):
        assemble(bundle, segmenter=x4_seg)
    g_only = save_checkpoint(tmp_path / "g.safetensors", {"generator": ikc["generator"]}, {})
    with pytest.raises(ValueError, match="needs a file holding a segnet"):
        assemble(bundle, segmenter=g_only)
