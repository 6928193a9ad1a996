"""Recipes (``srkit train recipe``): the shipped recipe files parse and name real fields, a recipe
runs end to end at smoke size and bundles a loadable pipeline, and a rerun keeps finished stages."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from srkit.train import get_trainer
from srkit.train.recipe import load_recipe, run_recipe

RECIPES = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.toml"))


def test_every_bundle_has_a_recipe():
    assert {p.stem for p in RECIPES} == {"x2", "x4", "x2_noise", "x2_archive", "x4_archive", "ablation_x2", "ablation_x2_seed1", "ablation_x2_gan"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_fields_are_trainer_fields(path):
    from dataclasses import fields
    recipe = load_recipe(path)
    assert recipe.bundles, "a recipe that bundles nothing"
    for st in recipe.stages:
        if st.trainer:
            known = {f.name for f in fields(get_trainer(st.trainer)[0])}
            assert set(st.config) <= known, f"{path.name} {st.name}: unknown {set(st.config) - known}"
    weights = path.parents[1] / "assets" / "weights"
    # a set of bundles (the ablation) has one card in its folder; a single bundle its own card
    card = weights / "ablation" / "README.md" if path.stem.startswith("ablation") else \
        weights / f"{recipe.bundles[0].name}.md"
    assert f"recipes/{path.name}" in card.read_text(), f"{card.name} does not name its recipe"


def test_bad_recipes_are_refused_by_name(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\nscale = 2\n[[stage]]\nname = "c"\ntrainer = "ikc"\ninit_from = "@nowhere"\n')
    with pytest.raises(ValueError, match="@nowhere names no earlier stage"):
        load_recipe(bad)
    bad.write_text('name = "b"\nscale = 2\n[[stage]]\nname = "c"\ntrainer = "gan"\n')
    with pytest.raises(ValueError, match="unknown trainer 'gan'"):
        load_recipe(bad)
    with pytest.raises(FileNotFoundError, match="recipe not found"):
        load_recipe(tmp_path / "missing.toml")


def test_x2_recipe_at_smoke_size_bundles_and_resumes(tmp_path):
    import srkit
    recipe = load_recipe(RECIPES[[p.stem for p in RECIPES].index("x2")])
    lines: list[str] = []
    written = run_recipe(recipe, out=tmp_path / "run", smoke=True, steps=2, progress=False, log=lines.append)
    assert set(written) == {"x2", "x2_gan"}
    pipe = srkit.load(written["x2"])
    assert pipe.meta["recipe"].endswith("x2.toml") and pipe.meta["smoke"] is True
    lr = torch.rand(1, 3, 24, 24)
    assert torch.isfinite(pipe(lr)).all()
    gan = srkit.load(written["x2_gan"])
    assert not torch.equal(next(gan.generator.parameters()), next(pipe.generator.parameters()))
    lines.clear()
    run_recipe(recipe, out=tmp_path / "run", smoke=True, steps=2, progress=False, log=lines.append)
    assert sum("finished earlier, kept" in ln for ln in lines) == 8  # every trainer stage kept


def test_ablation_recipe_bundles_generator_only_variants(tmp_path):
    """The ablation recipe at smoke size: the kernel variants bundle G + P + C, the others G alone
    (with the frozen segmenter for SFT-GAN), and every bundle upscales to finite values."""
    from srkit.checkpoint import load_checkpoint
    from srkit.inference.pipeline import Pipeline
    recipe = load_recipe(RECIPES[[p.stem for p in RECIPES].index("ablation_x2")])
    written = run_recipe(recipe, out=tmp_path / "run", smoke=True, steps=2, progress=False, log=lambda *_: None)
    assert set(written) == {"srresnet", "sftmd", "sftgan", "sftconcat"}
    lr = torch.rand(1, 3, 24, 24)
    for name, path in written.items():
        pipe = Pipeline.from_checkpoint(load_checkpoint(path))
        flags = (pipe.generator.cfg.use_kernel, pipe.generator.cfg.use_seg)
        assert flags == {"srresnet": (False, False), "sftmd": (True, False), "sftgan": (False, True),
                         "sftconcat": (True, True)}[name]
        assert (pipe.predictor is not None) == flags[0] and (pipe.segnet is not None) == flags[1], name
        assert torch.isfinite(pipe(lr)).all(), name


def test_a_bundle_needs_ikc_or_a_generator(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\nscale = 2\n[[stage]]\nname = "g"\ntrainer = "sftmd"\n'
                   '[[bundle]]\nname = "x"\ngan = "@g"\n')
    with pytest.raises(ValueError, match="bundle x: give ikc"):
        load_recipe(bad)
    bad.write_text('name = "b"\nscale = 2\n[[stage]]\nname = "s"\ntrainer = "seg"\n'
                   '[[bundle]]\nname = "x"\nsegmenter = "@s"\ngenerator = "@s"\n')
    with pytest.raises(ValueError, match="stands alone"):
        load_recipe(bad)


def test_a_segmenter_bundles_alone(tmp_path):
    from srkit.checkpoint import load_checkpoint
    recipe = tmp_path / "seg.toml"
    recipe.write_text('name = "s"\nscale = 2\n[[stage]]\nname = "seg"\ntrainer = "seg"\nsteps = 2\n'
                      'config = { pretrained = false }\n[[bundle]]\nname = "segmenter"\nsegmenter = "@seg"\n')
    written = run_recipe(load_recipe(recipe), out=tmp_path / "run", smoke=True, steps=2, progress=False,
                         log=lambda *_: None)
    seg = load_checkpoint(written["segmenter"])
    assert set(seg.modules) == {"segnet"} and seg.header["dtype"] == "float16"
    assert seg.meta["stages"]["segmenter"]["checkpoint"].endswith("model.safetensors")


def test_a_bundle_takes_its_maps_from_another_segmenter(tmp_path):
    """maps = ...: the assembled bundle carries that SegNet (here the shipped lite0_x2), not the
    IKC run's, and says so in its metadata; maps without ikc is refused by name."""
    import srkit
    from srkit.paths import WEIGHTS_DIR
    recipe = load_recipe(RECIPES[[p.stem for p in RECIPES].index("x2")])
    recipe.bundles = [type(recipe.bundles[0])(name="x2_maps", ikc=recipe.bundles[0].ikc,
                                              maps="bundled:segmenters/lite0_x2")]
    written = run_recipe(recipe, out=tmp_path / "run", smoke=True, steps=1, progress=False, log=lambda *_: None)
    pipe = srkit.load(written["x2_maps"])
    shipped = srkit.load_network(WEIGHTS_DIR / "segmenters" / "lite0_x2.safetensors")
    assert pipe.segnet.cfg.encoder == "efficientnet_lite0" and pipe.meta["segmenter"]["file"] == "lite0_x2.safetensors"
    assert torch.equal(pipe.segnet.head[-1].bias, shipped.head[-1].bias)
    assert torch.isfinite(pipe(torch.rand(1, 3, 24, 24))).all()
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\nscale = 2\n[[stage]]\nname = "g"\ntrainer = "sftmd"\n'
                   '[[bundle]]\nname = "x"\ngenerator = "@g"\nmaps = "bundled:segmenters/lite0_x2"\n')
    with pytest.raises(ValueError, match="bundle x: maps = ... goes with ikc"):
        load_recipe(bad)
