"""Averaging one network over several checkpoints (srkit.train.average)."""
import pytest
import torch

import srkit
from srkit.checkpoint import save_checkpoint
from srkit.kernels import KernelPCA
from srkit.models.ikc import Corrector, CorrectorConfig, Predictor, PredictorConfig
from srkit.models.sft import GeneratorConfig, SFTGenerator
from srkit.train.average import average_module, main


def _run(path, seed, pca, corrector_nf=16):
    torch.manual_seed(seed)
    mods = {"generator": SFTGenerator(GeneratorConfig.preset("tiny", scale=2, use_seg=False)),
            "predictor": Predictor(PredictorConfig.preset("tiny")),
            "corrector": Corrector(CorrectorConfig.preset("tiny", scale=2, nf=corrector_nf))}
    save_checkpoint(path, mods, {"run": seed}, pca)
    return mods


def test_average_is_the_mean_of_one_network_and_keeps_the_rest(tmp_path):
    pca = KernelPCA.fit(2, n=500)
    runs = [_run(tmp_path / f"r{i}.safetensors", i, pca) for i in range(3)]
    out = tmp_path / "avg.safetensors"
    assert main([str(tmp_path / f"r{i}.safetensors") for i in range(3)] + ["--out", str(out)]) == 0
    pipe = srkit.load(out)
    states = [r["corrector"].state_dict() for r in runs]
    for k, v in pipe.corrector.state_dict().items():
        torch.testing.assert_close(v, (states[0][k] + states[1][k] + states[2][k]) / 3)
    for name in ("generator", "predictor"):  # from the first run, untouched
        for k, v in getattr(pipe, name).state_dict().items():
            torch.testing.assert_close(v, runs[0][name].state_dict()[k])
    assert pipe.meta["run"] == 0 and len(pipe.meta["averaged"]["checkpoints"]) == 3
    assert pipe(torch.rand(1, 3, 16, 16), steps=1).shape == (1, 3, 32, 32)


def test_average_refuses_mismatched_or_missing_networks(tmp_path):
    pca = KernelPCA.fit(2, n=500)
    _run(tmp_path / "a.safetensors", 0, pca)
    _run(tmp_path / "b.safetensors", 1, pca, corrector_nf=8)
    with pytest.raises(ValueError, match="architecture"):
        average_module([tmp_path / "a.safetensors", tmp_path / "b.safetensors"])
    with pytest.raises(ValueError, match="no 'segnet'"):
        average_module([tmp_path / "a.safetensors", tmp_path / "a.safetensors"], module="segnet")
    with pytest.raises(ValueError, match="two or more"):
        average_module([tmp_path / "a.safetensors"])
