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


def test_blend_is_the_weighted_mean_and_refuses_other_architectures(tmp_path):
    from srkit.train.average import blend_into
    torch.manual_seed(0)
    a = SFTGenerator(GeneratorConfig.preset("tiny", scale=2, use_seg=False))
    b = SFTGenerator(GeneratorConfig.preset("tiny", scale=2, use_seg=False))
    sa = {k: v.clone() for k, v in a.state_dict().items()}
    blend_into(a, b, 0.25)
    for k, v in a.state_dict().items():
        torch.testing.assert_close(v, 0.75 * sa[k] + 0.25 * b.state_dict()[k])
    blend_into(a, b, 1.0)
    for k, v in a.state_dict().items():
        torch.testing.assert_close(v, b.state_dict()[k])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        blend_into(a, b, 1.5)
    with pytest.raises(ValueError, match="differ in architecture"):
        blend_into(a, SFTGenerator(GeneratorConfig.preset("tiny", scale=2, use_seg=False, nb=1)), 0.5)


def test_recipe_assembles_a_blended_generator(tmp_path):
    from srkit.train.recipe import load_recipe, run_recipe
    pca = KernelPCA.fit(2, n=500)
    a, b = _run(tmp_path / "a.safetensors", 0, pca), _run(tmp_path / "b.safetensors", 1, pca)
    recipe = tmp_path / "blend.toml"
    recipe.write_text(f'name = "blend"\nscale = 2\n[[stage]]\nname = "mix"\n'
                      f'assemble = {{ ikc = "{tmp_path / "a.safetensors"}", blend = "{tmp_path / "b.safetensors"}", '
                      f'blend_weight = 0.4 }}\n[[bundle]]\nname = "mixed"\nikc = "@mix"\n')
    written = run_recipe(load_recipe(recipe), out=tmp_path / "run", log=lambda *_: None)
    pipe = srkit.load(written["mixed"])
    for k, v in pipe.generator.state_dict().items():  # the bundle is fp16
        torch.testing.assert_close(v, 0.6 * a["generator"].state_dict()[k] + 0.4 * b["generator"].state_dict()[k],
                                   atol=2e-3, rtol=2e-3)
    for k, v in pipe.predictor.state_dict().items():  # P and C come from the ikc run
        torch.testing.assert_close(v, a["predictor"].state_dict()[k], atol=2e-3, rtol=2e-3)
    mix = srkit.load(tmp_path / "run" / "mix.safetensors")
    assert mix.meta["blend"]["weight"] == 0.4
    recipe.write_text('name = "b"\nscale = 2\n[[stage]]\nname = "mix"\nassemble = { ikc = "x", blend = "y" }\n')
    with pytest.raises(ValueError, match="blend_weight"):
        load_recipe(recipe)
    recipe.write_text('name = "b"\nscale = 2\n[[stage]]\nname = "mix"\nassemble = { ikc = "x", mix = "y" }\n')
    with pytest.raises(ValueError, match=r"unknown keys \['mix'\]"):
        load_recipe(recipe)
