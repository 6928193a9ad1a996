"""Recipes: every stage that makes a bundle, in one visible TOML file, run by one command.

``srkit train recipe recipes/x2.toml [--out runs/x2] [--bundle-to assets/weights]`` runs the
recipe's stages in order and assembles its bundles. A stage whose run folder already holds a
finished model is skipped; an interrupted one resumes from its ``resume.safetensors``; so the same
command, run again, picks up where it stopped. ``SRKIT_SMOKE=1`` (or ``--smoke``) runs the same
stages on the smoke presets (tiny networks, scikit-image's photos, a few steps each): the code path
of the full recipe in about a minute.

A recipe file::

    name = "x2"                # default run folder runs/<name>
    scale = 2
    preset = "cpu"             # the trainers' preset the stages start from

    [[stage]]
    name = "sftmd"             # run folder <out>/sftmd; other stages refer to it as "@sftmd"
    trainer = "sftmd"          # seg | sftmd | ikc | sftgan
    steps = 2400
    init_from = "@seg"         # optional: "@stage", "bundled:NAME" or a path
    config = { use_seg = true, seg_checkpoint = "@seg", lr = 4e-4 }   # trainer config fields

    [[stage]]
    name = "c-init"
    assemble = { ikc = "@c", generator = "@gnoise" }   # an fp32 pipeline, <out>/c-init.safetensors

    [[stage]]
    name = "blend"             # the same, its generator blended with another's (network interpolation):
    assemble = { ikc = "@c", blend = "bundled:x2", blend_weight = 0.3 }   # 0.7·G(@c) + 0.3·G(x2)

    [[bundle]]
    name = "x2"                # <bundle-to>/x2.safetensors (fp16), default <out>/bundles
    ikc = "@c2"
    gan = "@gan"               # optional: the SFT-GAN generator (or generator = "@run")
    maps = "bundled:segmenters/lite0_x2"   # optional: the SegNet whose maps condition G

References: ``"@stage"`` is that stage's model (``<out>/<stage>/model.safetensors``, or the
assembled file), ``"bundled:NAME"`` a bundled model in ``assets/weights`` (``NAME`` may name a
subfolder: ``"bundled:segmenters/lite0_x2"``).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

TRAINERS = ("seg", "sftmd", "ikc", "sftgan")
# Fields a smoke run takes from the smoke preset instead of the recipe: sizes and schedule, not
# what the stage does (freezes, losses, noise ranges, t = 0 all stay as written).
SMOKE_FROM_PRESET = ("steps", "batch", "patch", "val_images", "val_patch", "max_images", "val_every",
                     "ckpt_every", "log_every", "data", "synthetic")
SMOKE_MAX_T = 2  # IKC steps in a smoke run (t = 7 of a corrector stage costs 4× as much and shows nothing new)


@dataclass
class Stage:
    """One step of a recipe: a trainer run, or an assembled (fp32) pipeline used as an init."""
    name: str
    trainer: str | None = None
    steps: int | None = None
    init_from: str | None = None
    config: dict = field(default_factory=dict)
    assemble: dict | None = None


@dataclass
class Bundle:
    """A bundled pipeline: an IKC run's networks (``ikc``), optionally with the generator of
    another run (``gan`` or ``generator``); or, without ``ikc``, a generator run's own networks
    (generator, its frozen segmenter and PCA: the variants that need no kernel estimate); or, with
    ``segmenter`` alone, a seg run's SegNet by itself (for ``srkit bench segmentation``). ``maps``
    (with ``ikc``): the SegNet whose probability maps condition the generator, in place of the one
    the IKC run carries (a segmenter file, ``"@stage"`` of a seg run or ``"bundled:segmenters/..."``)."""
    name: str
    ikc: str | None = None
    gan: str | None = None
    generator: str | None = None
    segmenter: str | None = None
    maps: str | None = None


@dataclass
class Recipe:
    name: str
    scale: int
    preset: str
    stages: list[Stage]
    bundles: list[Bundle]
    path: Path | None = None


def load_recipe(path: str | Path) -> Recipe:
    """Parse and check a recipe file; errors name the file and the stage."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recipe not found: {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML ({e})") from None
    for key in ("name", "scale"):
        if key not in raw:
            raise ValueError(f"{path}: the recipe needs a top-level {key!r}")
    stages, names = [], set()
    for i, s in enumerate(raw.get("stage", [])):
        where = f"{path}: stage {i + 1} ({s.get('name', '?')})"
        unknown = set(s) - {"name", "trainer", "steps", "init_from", "config", "assemble"}
        if unknown or "name" not in s:
            raise ValueError(f"{where}: needs a name; unknown keys {sorted(unknown)}")
        if (s.get("trainer") is None) == (s.get("assemble") is None):
            raise ValueError(f"{where}: give exactly one of trainer = {TRAINERS} or assemble = {{...}}")
        if s.get("trainer") is not None and s["trainer"] not in TRAINERS:
            raise ValueError(f"{where}: unknown trainer {s['trainer']!r}; choose one of {TRAINERS}")
        if s["name"] in names:
            raise ValueError(f"{where}: a stage of that name comes earlier")
        parts = s.get("assemble") or {}
        if s.get("assemble") is not None:
            unknown = set(parts) - {"ikc", "gan", "generator", "blend", "blend_weight"}
            if unknown or "ikc" not in parts:
                raise ValueError(f"{where}: assemble needs ikc = \"@stage\" and takes gan, generator, blend, "
                                 f"blend_weight; unknown keys {sorted(unknown)}")
            if ("blend" in parts) != ("blend_weight" in parts) or (
                    "blend" in parts and not 0.0 <= float(parts["blend_weight"]) <= 1.0):
                raise ValueError(f"{where}: blend = \"REF\" and blend_weight (in [0, 1]) go together, got "
                                 f"{ {k: parts[k] for k in ('blend', 'blend_weight') if k in parts} }")
        for ref in _refs(s):
            if ref.startswith("@") and ref[1:] not in names:
                raise ValueError(f"{where}: {ref} names no earlier stage")
        names.add(s["name"])
        stages.append(Stage(**s))
    bundles = []
    for b in raw.get("bundle", []):
        for ref in _refs(b):
            if ref.startswith("@") and ref[1:] not in names:
                raise ValueError(f"{path}: bundle {b.get('name')}: {ref} names no stage")
        if b.get("segmenter") and len(b) != 2:
            raise ValueError(f"{path}: bundle {b.get('name')}: segmenter = \"@stage\" stands alone")
        if b.get("maps") and not b.get("ikc"):
            raise ValueError(f"{path}: bundle {b.get('name')}: maps = ... goes with ikc = \"@stage\"")
        if not b.get("segmenter") and not b.get("ikc") and (b.get("gan") or not b.get("generator")):
            raise ValueError(f"{path}: bundle {b.get('name')}: give ikc = \"@stage\" (optionally with gan or "
                             "generator), generator alone or segmenter alone")
        bundles.append(Bundle(**b))
    return Recipe(raw["name"], int(raw["scale"]), raw.get("preset", "cpu"), stages, bundles, path)


def _refs(d: dict) -> list[str]:
    vals = [d.get("init_from"), d.get("ikc"), d.get("gan"), d.get("generator"), d.get("segmenter"), d.get("maps")]
    vals += list((d.get("config") or {}).values()) + list((d.get("assemble") or {}).values())
    return [v for v in vals if isinstance(v, str) and (v.startswith("@") or v.startswith("bundled:"))]


def stage_output(out: Path, stage: Stage) -> Path:
    """Where a stage's model is: ``<out>/<name>/model.safetensors`` or ``<out>/<name>.safetensors``."""
    return out / f"{stage.name}.safetensors" if stage.assemble else out / stage.name / "model.safetensors"


def run_recipe(recipe: Recipe, out: str | Path | None = None, bundle_to: str | Path | None = None,
               smoke: bool = False, device: str | None = None, data: str | None = None,
               progress: bool = True, steps: int | None = None, log=print) -> dict[str, Path]:
    """Run every stage (skipping finished ones, resuming interrupted ones), then write the bundles.

    Args:
        out: run folder (default ``runs/<recipe name>``, with ``-smoke`` in smoke mode).
        bundle_to: folder for the fp16 bundles (default ``<out>/bundles``); ``assets/weights``
            replaces the shipped ones (each file only once it is completely written).
        smoke: run on the smoke presets (also when ``SRKIT_SMOKE=1``).
        device / data: passed to every trainer stage (None: the trainers' defaults).
        steps: every trainer stage runs this many steps instead (quick checks of the code path).

    Returns:
        {bundle name: path}.
    """
    import os

    from srkit.checkpoint import load_checkpoint, resolve, save_pipeline
    from srkit.inference.pipeline import Pipeline
    from srkit.paths import WEIGHTS_DIR
    from srkit.train import get_trainer
    from srkit.train.average import blend_into
    from srkit.train.bundle import _run_provenance, assemble, save_segmenter
    from srkit.train.loop import run_finished

    smoke = smoke or os.environ.get("SRKIT_SMOKE") == "1"
    out = Path(out or f"runs/{recipe.name}{'-smoke' if smoke else ''}")
    outputs: dict[str, Path] = {}

    def ref(value):
        if not isinstance(value, str):
            return value
        if value.startswith("@"):
            return str(outputs[value[1:]])
        if value.startswith("bundled:"):
            name = value.split(":", 1)[1]
            return str(resolve(name if "/" not in name else WEIGHTS_DIR / f"{name}.safetensors"))
        return value

    for i, st in enumerate(recipe.stages, 1):
        target = stage_output(out, st)
        head = f"recipe {recipe.name}: stage {i}/{len(recipe.stages)} {st.name}"
        if st.assemble:
            if not target.is_file():
                parts = {k: ref(v) for k, v in st.assemble.items()}
                pipe = assemble(parts["ikc"], parts.get("gan") or parts.get("generator"),
                                "sftgan" if parts.get("gan") else "generator")
                if parts.get("blend"):
                    blend_into(pipe.generator, load_checkpoint(parts["blend"]).modules["generator"],
                               parts["blend_weight"], name=f"generator of stage {st.name}")
                    pipe.meta["blend"] = {"with": st.assemble["blend"], "weight": parts["blend_weight"]}
                save_pipeline(pipe, target, meta={"recipe": str(recipe.path), "stage": st.name}, half=False)
            log(f"{head}: assembled {target}")
            outputs[st.name] = target
            continue
        if run_finished(target.parent):
            log(f"{head}: finished earlier, kept ({target})")
            outputs[st.name] = target
            continue
        cfg_cls, trainer_cls = get_trainer(st.trainer)
        overrides = {k: ref(v) for k, v in st.config.items()}
        overrides.update(out=str(target.parent), scale=recipe.scale, steps=st.steps,
                         init_from=ref(st.init_from), device=device, data=data, progress=progress)
        preset = recipe.preset
        if smoke:
            preset = "smoke"
            for k in SMOKE_FROM_PRESET:
                overrides.pop(k, None)
            overrides["data"] = "skimage"
            if isinstance(overrides.get("t"), int):
                overrides["t"] = min(overrides["t"], SMOKE_MAX_T)
        resume = (target.parent / "resume.safetensors").is_file()
        log(f"{head}: {'resuming' if resume else 'training'} `srkit train {st.trainer}` → {target.parent}")
        if steps is not None:
            overrides["steps"] = steps
        trainer_cls(cfg_cls.from_preset(preset, **overrides), resume=resume).fit()
        outputs[st.name] = target

    bundle_dir = Path(bundle_to) if bundle_to else out / "bundles"
    written = {}
    for b in recipe.bundles:
        meta = {"name": b.name, "recipe": str(recipe.path), "smoke": smoke}
        if b.segmenter is not None:  # a segmenter alone: its SegNet, fp16, with the run's provenance
            written[b.name] = save_segmenter(ref(b.segmenter), bundle_dir / f"{b.name}.safetensors", meta)
            log(f"recipe {recipe.name}: segmenter {b.name} → {written[b.name]}")
            continue
        if b.ikc is None:  # a generator run alone: its own pipeline (G, frozen S, PCA)
            pipe = Pipeline.from_checkpoint(load_checkpoint(ref(b.generator)))
            pipe.meta = {"stages": {"generator": _run_provenance(Path(ref(b.generator)))}}
        else:
            pipe = assemble(ref(b.ikc), ref(b.gan or b.generator) if (b.gan or b.generator) else None,
                            "sftgan" if b.gan else "generator", ref(b.maps))
        written[b.name] = save_pipeline(pipe, bundle_dir / f"{b.name}.safetensors", meta=meta, half=True)
        log(f"recipe {recipe.name}: bundle {b.name} → {written[b.name]}")
    return written
