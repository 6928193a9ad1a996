"""Models for the notebooks and widgets: bundled weights when present, else a stand-in from ``srkit.train``.

``get_pipeline(scale)`` returns ``srkit.load("x<scale>")`` when the bundled weights exist. Until
they do (and for the ablation variants, which are not bundled), it returns a stand-in trained by the
real trainers (``srkit.train``, through :func:`srkit.artifacts.trained_stage`) with the preset of the
mode ('smoke' under ``SRKIT_SMOKE=1``: a few seconds on scikit-image's photos), cached under
``<cache_dir>/runs/`` so the next notebook reuses it, and prints a note saying so. Smoke stand-ins show
the mechanics (shapes, controls, the direction of effects), not the paper's quality: say so wherever
their numbers appear.
"""
from __future__ import annotations

import numpy as np
import torch

from srkit.kernels import KernelPCA
from srkit.notebook.env import default_device, smoke_mode
from srkit.train.loop import run_finished

VARIANTS = ("srresnet", "sftmd", "sftgan", "sftconcat")
# variant -> (trainer stage of its stand-in, use_kernel, use_seg). Kernel variants train G, P and C
# together with the IKC trainer; the others train G alone with the SFTMD trainer.
_STAGES = {"srresnet": ("sftmd", False, False), "sftmd": ("ikc", True, False),
           "sftgan": ("sftmd", False, True), "sftconcat": ("ikc", True, True)}
_FLAGS = {v: (k, s) for v, (_, k, s) in _STAGES.items()}




def build_pipeline(scale: int, variant: str = "sftconcat", size: str = "tiny", pretrained_seg: bool = False):
    """A freshly initialised Pipeline of the given generator variant and preset size ('tiny', 'small')."""
    from srkit.models.ikc import Corrector, CorrectorConfig, Predictor, PredictorConfig
    from srkit.models.sft import GeneratorConfig, SFTGenerator
    from srkit.inference.pipeline import Pipeline
    if variant not in _FLAGS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
    use_kernel, use_seg = _FLAGS[variant]
    gen = SFTGenerator(GeneratorConfig.preset(size, scale=scale, use_kernel=use_kernel, use_seg=use_seg))
    parts = {"generator": gen, "pca": KernelPCA.fit(scale, n=5000, seed=0)}
    if use_kernel:
        parts["predictor"] = Predictor(PredictorConfig.preset(size))
        parts["corrector"] = Corrector(CorrectorConfig.preset(size, scale=scale))
    if use_seg:
        from srkit.models.seg import SegConfig, SegNet
        parts["segnet"] = SegNet(SegConfig.preset(size, pretrained=pretrained_seg))
    return Pipeline(**parts, meta={"variant": variant, "size": size})


def get_pipeline(scale: int = 2, variant: str = "sftconcat", *, preset: str | None = None,
                 steps: int | None = None, device: str | torch.device | None = None, use_bundled: bool = True,
                 use_cache: bool = True, verbose: bool = True, max_minutes: float = 0.0):
    """The model the notebooks use: bundled ``x<scale>`` weights when present, else a stand-in trained
    by ``srkit.train`` (the same trainers as ``srkit train ... --preset``).

    Stand-ins are run folders ``<cache>/runs/standin-<variant>-x<scale>-<preset>`` made (or reused, or
    resumed) by :func:`srkit.artifacts.trained_stage`: the kernel variants ('sftmd', 'sftconcat') with
    the ``ikc`` trainer (G, P and C together), the others ('srresnet', 'sftgan') with the ``sftmd``
    trainer. The seg-conditioned ones ('sftgan', 'sftconcat') use the bundled ``x<scale>`` segmenter
    when there is one, else they first train (or reuse) the ``seg`` stage. In smoke mode the runs use
    the smoke presets on scikit-image's photos (seconds each).

    Args:
        scale: 2 or 4 for the bundled weights (2, 3 or 4 for stand-ins).
        variant: 'sftconcat' (the paper; the bundled model) or an ablation variant ('srresnet',
            'sftmd', 'sftgan'), which is always a stand-in.
        preset: training preset of stand-ins (default: 'smoke' in smoke mode, 'gpu' with CUDA, else 'cpu').
        steps: override the preset's number of steps; 0 gives a freshly initialised (untrained) model.
        device: default CUDA when available.
        use_bundled: look for bundled weights first. use_cache: reuse a finished stand-in run (False
            retrains it).
        verbose: print where the model came from.
        max_minutes: training budget of each stand-in stage in wall minutes (0 = the preset's steps);
            a run stopped by it is kept as finished (the notebooks' ``TRAIN_MINUTES``).

    Returns:
        A ``Pipeline`` in eval mode; ``pipe.meta["source"]`` is 'bundled', 'cache' (a finished run
        reused), 'trained' or 'initialised'.
    """
    from srkit.notebook import artifacts
    if variant not in _STAGES:
        raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
    device = torch.device(device) if device is not None else default_device()
    if use_bundled and variant == "sftconcat":
        pipe = load_bundled(scale, device)
        if pipe is not None:
            _say(verbose, f"srkit: using the bundled weights 'x{scale}' ({pipe.meta.get('description', 'trained by srkit')}).")
            return pipe
    if steps == 0:
        pipe = build_pipeline(scale, variant, "tiny").to(device).eval()
        pipe.meta["source"] = "initialised"
        _say(verbose, f"srkit: NOTE no bundled weights; using a freshly INITIALISED {variant} model (untrained).")
        return pipe
    stage, use_kernel, use_seg = _STAGES[variant]
    preset = preset or artifacts.default_preset()
    overrides = {"scale": scale, "use_kernel": use_kernel, "use_seg": use_seg, "steps": steps,
                 "max_minutes": max_minutes}
    if smoke_mode():
        overrides["data"] = "skimage"  # small and independent of $SRKIT_DATA
    if use_seg:
        overrides["seg_checkpoint"] = _bundled_segmenter(scale) or artifacts.model_path(
            artifacts.trained_stage("seg", preset=preset, verbose=verbose, scale=scale, max_minutes=max_minutes))
    name = f"standin-{variant}-x{scale}" + (f"-{steps}steps" if steps else "") + (f"-{max_minutes:g}min" if max_minutes else "")
    run = artifacts.run_dir(name, preset)
    reused = use_cache and run_finished(run, schedule=True)
    if not reused:
        _say(verbose, f"srkit: NOTE no bundled weights for {variant} x{scale}; training a stand-in with "
                      f"`srkit train {stage} --preset {preset}` on {device} "
                      f"({'demo quality only' if preset == 'smoke' else 'this takes a while'}).")
    run = artifacts.trained_stage(stage, name=name, preset=preset, retrain=not use_cache, verbose=verbose,
                                  device=str(device), **overrides)
    pipe = artifacts.load_pipeline(run, device).eval()
    pipe.meta.update(source="cache" if reused else "trained", variant=variant, run=str(run))
    if reused:
        _say(verbose, f"srkit: NOTE no bundled weights; using the {variant} stand-in trained by `srkit train "
                      f"{stage} --preset {preset}` in {run} (step {pipe.meta.get('step', '?')}).")
    return pipe


def _bundled_segmenter(scale: int):
    """The bundled x<scale> file (it holds a trained SegNet), or None."""
    from srkit.checkpoint import resolve
    try:
        return resolve(f"x{scale}")
    except FileNotFoundError:
        return None


def load_segmenter(scale: int, device: str | torch.device | None = None):
    """The shipped segmenter fine-tuned from ImageNet features for ×``scale`` LR
    (``assets/weights/segmenters/lite0_x<scale>.safetensors``, a SegNet in eval mode), or None when
    this checkout has none for that scale."""
    import srkit
    from srkit.paths import WEIGHTS_DIR
    path = WEIGHTS_DIR / "segmenters" / f"lite0_x{scale}.safetensors"
    if not path.is_file():
        return None
    return srkit.load_network(path, device=device if device is not None else default_device())


def load_bundled(scale: int, device: str | torch.device | None = None, variant: str = ""):
    """The bundled ``x<scale><variant>`` pipeline (``srkit.load``; variant '' or e.g. '_noise'), or
    None when the checkout has none."""
    import srkit
    try:
        pipe = srkit.load(f"x{scale}{variant}", device=device if device is not None else default_device())
    except FileNotFoundError:
        return None
    pipe.meta["source"] = "bundled"
    return pipe


def load_ablation(variants=VARIANTS, device: str | torch.device | None = None) -> dict:
    """The bundled ×2 ablation set (``assets/weights/ablation``: the four variants trained at equal
    budget by ``recipes/ablation_x2.toml``) as {variant: Pipeline}; {} when the checkout has none."""
    from srkit.evaluation.ablation import load_variants
    try:
        pipes = load_variants(None, variants, device=str(device if device is not None else default_device()))
    except FileNotFoundError:
        return {}
    for p in pipes.values():
        p.meta["source"] = "bundled ablation"
    return pipes


def get_variants(scale: int = 2, variants=VARIANTS, **kwargs) -> dict:
    """One pipeline per generator variant (``get_pipeline(scale, v)``), for the ablations."""
    return {v: get_pipeline(scale, v, **kwargs) for v in variants}


def _say(verbose: bool, msg: str) -> None:
    if verbose:
        print(msg)
