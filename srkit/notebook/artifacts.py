"""Cached training runs for the notebooks: each notebook runs on its own, reusing what an earlier one made.

``trained_stage("seg")`` returns the run folder ``<cache>/runs/seg-<preset>`` after making sure it
holds a finished model: it reuses a finished run, resumes an interrupted one, or trains it with
``srkit.train`` (the same code as ``srkit train seg --preset ...``). The preset is 'smoke' under
``SRKIT_SMOKE=1`` (CI), else 'gpu' when CUDA is available, else 'cpu'.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from srkit.notebook.env import cache_dir, collected_warnings, smoke_mode
from srkit.train.loop import run_finished


def default_preset() -> str:
    """'smoke' in smoke mode, 'gpu' with CUDA, else 'cpu'."""
    if smoke_mode():
        return "smoke"
    return "gpu" if torch.cuda.is_available() else "cpu"


def run_dir(name: str, preset: str | None = None) -> Path:
    """``<cache>/runs/<name>-<preset>``."""
    return cache_dir() / "runs" / f"{name}-{preset or default_preset()}"


def trained_stage(stage: str, name: str | None = None, preset: str | None = None, retrain: bool = False,
                  verbose: bool = True, live=None, **overrides) -> Path:
    """Run folder of a finished training stage, training (or resuming) it when needed.

    A run that ``max_minutes`` stopped before its schedule ended is resumed for another
    ``max_minutes`` on the next call, never reused as if it were finished.

    Args:
        stage: 'seg', 'sftmd', 'ikc' or 'sftgan' (``srkit.train.STAGES``).
        name: cache name of the run (default: the stage; e.g. 'sftconcat' for a seg-conditioned sftmd run).
        preset: 'smoke', 'cpu' or 'gpu' (default: :func:`default_preset`).
        retrain: train from scratch even when a finished run exists.
        verbose: print what was reused or trained.
        live: a ``srkit.notebook.live.LiveCurves`` redrawn in place while the run trains (it starts
            from the steps an interrupted run already logged); a reused run draws it from its log.
        **overrides: config fields (scale, use_seg, seg_checkpoint, init_from, steps, ...).

    Returns:
        The run folder: ``model.safetensors`` (``srkit.load``), ``log.json``/``log.csv``, ``manifest.json``,
        ``data_report.json``.
    """
    from srkit.train import train
    preset = preset or default_preset()
    run = run_dir(name or stage, preset)
    # a run its wall-time budget stopped is not the finished schedule: it resumes (another budget)
    if run_finished(run, schedule=True) and not retrain:
        if verbose:
            print(f"srkit: reusing the finished {stage} run {_shown(run)}")
        if live is not None:
            live.add_log(read_log(run))
            live.close()
        return run
    resume = (run / "resume.safetensors").is_file() and not retrain
    if live is not None and resume and any((run / f).is_file() for f in ("log.json", "log.csv")):
        live.add_log(read_log(run))  # the steps trained before: the curve continues from them
    overrides = {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}
    run.mkdir(parents=True, exist_ok=True)
    # The trainer's messages (data report, validation lines) go to <run>/console.log; the notebook
    # gets one line per run.
    # Warnings (e.g. random VGG features in a smoke run) as one line per message after the run, without
    # the file path and source line Python's display adds to each.
    with open(run / "console.log", "a") as console, collected_warnings(f"warnings while training {stage}"):
        trainer = train(stage, preset, resume=resume, out=str(run), progress=not smoke_mode(),
                        log=lambda *a: print(*a, file=console), on_step=live, **overrides)
    if live is not None:
        live.close()
    if verbose:
        last = trainer.records[-1] if trainer.records else {}
        val = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k.startswith("val_") and isinstance(v, float))
        budget = f", stopped at the {trainer.cfg.max_minutes:g}-minute budget" if trainer.stopped_at_budget else ""
        print(f"srkit: {'resumed' if resume else 'trained'} {stage} (preset {preset}) to step {trainer.step} "
              f"of {trainer.cfg.steps}{budget}: {val or 'no validation'} ({_shown(run)}; log: console.log)")
    return run


def _shown(run: Path) -> str:
    """A run folder as the notebooks name it: relative to the cache folder (``runs/<name>-<preset>``),
    not an absolute path."""
    try:
        return str(Path(run).relative_to(cache_dir()))
    except ValueError:
        return Path(run).name


def model_path(run: Path) -> Path:
    """The model file of a run folder."""
    return Path(run) / "model.safetensors"


def load_pipeline(run: Path, device: str | torch.device | None = None):
    """A run's networks and PCA as a ``Pipeline`` (also when the file holds a generator alone)."""
    from srkit.checkpoint import load_checkpoint
    from srkit.notebook.env import default_device
    from srkit.inference.pipeline import Pipeline
    return Pipeline.from_checkpoint(load_checkpoint(model_path(run), device or default_device()))


def read_log(path: str | Path) -> dict[str, list]:
    """A training run's log.json / log.csv (srkit.train) → {column: values}."""
    path = Path(path)
    if path.is_dir():
        path = path / "log.json" if (path / "log.json").is_file() else path / "log.csv"
    if path.suffix == ".json":
        rows = json.loads(path.read_text())
        rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
    else:
        import csv
        with open(path) as f:
            rows = list(csv.DictReader(f))
    cols: dict[str, list] = {}
    for r in rows:
        for k, v in r.items():
            try:
                cols.setdefault(k, []).append(float(v) if v not in ("", None) else np.nan)
            except (TypeError, ValueError):
                cols.setdefault(k, []).append(v)
    return cols


def categories_result(path: str | Path | None = None) -> dict | None:
    """The JSON of ``srkit bench categories --json FILE`` when present: ``path``, else
    ``$SRKIT_CATEGORIES_JSON``, else ``<cache>/categories.json``; None when there is none."""
    for p in (path, os.environ.get("SRKIT_CATEGORIES_JSON"), cache_dir() / "categories.json"):
        if p and Path(p).is_file():
            return json.loads(Path(p).read_text())
    return None


def measured_result(name: str) -> dict | None:
    """A measured result shipped with the checkout, ``bench/results/<name>.json`` (written by the
    ``srkit bench ... --json`` command its README section names); None when absent (e.g. an
    installed package without the repository)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "results" / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None
