"""The machinery every trainer shares: config, seeding, DDP, the step loop, logging, validation,
checkpoints, exact resume and the NaN/inf guard.

A trainer subclasses ``Trainer`` and fills in ``build`` (networks, optimizers, data),
``train_step(batch) -> {loss name: value}`` (calling ``self.optimize(name, loss)`` for each update)
and ``validate() -> {metric: value}``. ``fit()`` does the rest:

- batches are a pure function of (seed, step, rank), so resume needs no data-order state;
- every ``ckpt_every`` steps (and at the end) rank 0 writes ``model.safetensors`` (``srkit.load``
  rebuilds the networks from it) and ``resume.safetensors`` (optimizers, step, RNG states);
- ``log.csv`` / ``log.json`` hold one row per logged step (losses, lr, val PSNR, seconds).
"""
from __future__ import annotations

import csv
import json
import math
import os
import random
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from srkit import precision
from srkit.data.pairs import DegradationConfig
from srkit.precision import PRECISIONS
from srkit.train import dist


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or inf; the message says at which step and which loss."""


@dataclass
class TrainConfig:
    """Fields every trainer has. Sizes are HR pixels; ``steps`` counts optimizer iterations.

    Attributes:
        out: run folder (model.safetensors, resume.safetensors, log.csv/json, manifest.json).
        steps: total iterations (≥ 1).
        batch: images per iteration per process (DDP: each process draws its own batch).
        patch: HR patch side, a multiple of ``scale`` (IKC/BasicSR: 96–192).
        scale: 2, 3 or 4.
        lr: Adam learning rate (paper: 1e-4); halved at each fraction of ``steps`` in ``lr_decay_at``.
        betas: Adam betas (paper: (0.9, 0.999)).
        seed: seeds weights, data order, kernels and noise.
        device: 'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1' …
        data: training images: None (= $SRKIT_DATA/T91 + BSD200, else scikit-image's), a folder
            (recursive; a data root holding T91/BSD200 uses those), 'skimage', a .npz from
            ``PatchDataset.pack``, or 'hf:NAME' (HuggingFace datasets).
        max_images: use at most this many training images (0 = all).
        degradation: how LR patches are made: a ``srkit.data.pairs.DegradationConfig`` or a dict
            of its fields (kernel ``sigma_range``, ``aniso_prob``, ``noise``, ``noise_share``,
            ``jpeg``, ``mpeg2``, ``compression_share``, ``hr_soften``, ``hr_soften_range``; a
            recipe's ``degradation = { noise = [0, 20] }``); its scale is this config's ``scale``.
            Default: none of them, the scale's kernel widths (the paper's noise-free setting).
        init_from: a srkit checkpoint to start the networks from (e.g. the sftmd stage).
        log_every / val_every / ckpt_every: intervals in steps (0 = only at the end).
        val_images / val_patch: size of the fixed validation set (cached LR, seed-determined).
        nan_policy: 'stop' (raise) or 'rollback' (reload the last checkpoint, halve the lr, draw
            different batches; at most ``max_rollbacks`` times).
        grad_clip: clip gradient norm per update (0 = off).
        threads: torch CPU threads (0 = torch's default).
        progress: show a progress bar (``TrainingBar``: the budget's seconds when ``max_minutes`` is set).
        max_minutes: wall-time budget (0 = none): training stops at the first step past it and saves
            that model as the run's final one (the lr schedule still follows ``steps``). The
            notebooks' ``TRAIN_MINUTES``.
        precision: 'fp32' (default), 'bf16' (autocast, networks and batches channels-last; fp32
            master weights, optimizer state, checkpoints and validation) or 'auto' (bf16 on
            AMX / AVX-512 BF16 CPUs and bf16 CUDA devices, else fp32). See ``srkit.precision``.
            An exact resume holds within one precision.
    """
    out: str = "runs/train"
    steps: int = 1000
    batch: int = 16
    patch: int = 96
    scale: int = 4
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    lr_decay_at: tuple[float, ...] = (0.5, 0.75)
    seed: int = 0
    device: str = "auto"
    data: str | None = None
    max_images: int = 0
    degradation: DegradationConfig | dict | None = None
    init_from: str | None = None
    log_every: int = 10
    val_every: int = 500
    ckpt_every: int = 1000
    val_images: int = 8
    val_patch: int = 128
    nan_policy: str = "stop"
    max_rollbacks: int = 3
    grad_clip: float = 0.0
    threads: int = 0
    progress: bool = True
    max_minutes: float = 0.0
    precision: str = "fp32"

    def __post_init__(self):
        if self.steps < 1 or self.batch < 1:
            raise ValueError(f"steps and batch must be >= 1, got steps={self.steps}, batch={self.batch}")
        if self.scale not in (2, 3, 4) or self.patch % self.scale or self.val_patch % self.scale:
            raise ValueError(f"scale must be 2/3/4 and patch/val_patch multiples of it: {self.scale}, "
                             f"{self.patch}, {self.val_patch}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.nan_policy not in ("stop", "rollback"):
            raise ValueError(f"nan_policy must be 'stop' or 'rollback', got {self.nan_policy!r}")
        for f in fields(self):  # JSON gives lists where the dataclass wants tuples
            if isinstance(getattr(self, f.name), list):
                setattr(self, f.name, tuple(getattr(self, f.name)))
        self.degradation = _degradation(self.degradation, self.scale)  # a bad setting fails now

    @classmethod
    def from_preset(cls, name: str, **overrides):
        """The named preset ('smoke', 'cpu', 'gpu') with any field overridden. ``SRKIT_SMOKE=1`` turns
        every preset into 'smoke' (CI)."""
        presets = getattr(cls, "PRESETS", {})
        if name not in presets:
            raise ValueError(f"unknown preset {name!r} for {cls.__name__}; choose one of {sorted(presets)}")
        if os.environ.get("SRKIT_SMOKE") == "1":
            name = "smoke"
        known = {f.name for f in fields(cls)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise ValueError(f"unknown {cls.__name__} field(s) {bad}; known: {sorted(known)}")
        return cls(**{**presets[name], **{k: v for k, v in overrides.items() if v is not None}})


def _degradation(value: DegradationConfig | dict | None, scale: int) -> DegradationConfig:
    """``TrainConfig.degradation`` as a DegradationConfig of ``scale`` (dict keys as its fields)."""
    if isinstance(value, DegradationConfig):
        if value.scale != scale:
            raise ValueError(f"degradation.scale {value.scale} differs from the training scale {scale}")
        return value
    given = dict(value or {})
    if given.pop("scale", scale) != scale:  # a saved run's config holds it; it must agree
        raise ValueError(f"degradation scale {value['scale']} differs from the training scale {scale}")
    known = {f.name for f in fields(DegradationConfig)} - {"scale"}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ValueError(f"unknown degradation field(s) {unknown}; known: {sorted(known)}")
    return DegradationConfig(scale=scale, **{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(name)
    if dev.type == "cuda" and dev.index is None and dist.world_size() > 1:
        dev = torch.device("cuda", dist.local_rank())  # one GPU per process under torchrun
    return dev


def backward_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                  grad_clip: float = 0.0) -> bool:
    """Backward ``loss`` and step ``optimizer`` through ``scaler`` (``srkit.precision.loss_scaler``).

    With an enabled scaler (fp16 autocast) the loss is scaled before backward, the gradients are
    unscaled before clipping to ``grad_clip`` (0 = no clipping; the norm of the true gradients), and
    a step whose gradients hold inf/NaN is skipped while the scale halves. A disabled scaler is the
    plain backward → clip → step. The scale is not saved in ``resume.safetensors``: an fp16 run
    resumes from the default scale (2**16), which settles again within a few steps.

    Returns:
        True when the optimizer stepped, False when the scaler skipped the step.
    """
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(loss.device.type, enabled=False):  # backward outside autocast, as torch advises
        scaler.scale(loss).backward()
    if grad_clip:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], grad_clip)
    if not scaler.is_enabled():
        optimizer.step()
        return True
    scale = scaler.get_scale()
    scaler.step(optimizer)
    scaler.update()
    return scaler.get_scale() >= scale  # update() halves the scale exactly when it skipped the step


class Trainer:
    """Base trainer (see module docstring). Subclasses set ``name`` and implement the hooks."""
    name = "base"

    def __init__(self, cfg: TrainConfig, resume: bool = False, log=print):
        self.cfg, self.resume = cfg, resume
        self.is_main = dist.is_main()
        self.print = log if self.is_main else (lambda *a, **k: None)
        self.stopped_at_budget = False  # set when cfg.max_minutes ended the run
        # called on rank 0 after every step as on_step(step, {loss or val metric: value}), e.g. a
        # notebook's live loss figure; None: nothing is called
        self.on_step = None
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        dist.init(cfg.device)
        self.device = resolve_device(cfg.device)
        self.out = Path(cfg.out)
        seed_everything(cfg.seed)  # identical initial weights on every rank
        self.modules: dict[str, nn.Module] = {}     # everything saved (trained and frozen)
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.scalers: dict[str, torch.amp.GradScaler] = {}  # loss scaling, enabled for fp16 autocast only
        self.step, self.salt, self.rollbacks, self.lr_factor = 0, 0, 0, 1.0
        self.records: list[dict] = []
        self.precision = precision.resolve(cfg.precision, self.device)
        self.build()
        if self.precision == "bf16":  # after build: the trainers create (and DDP-wrap) the networks
            for m in self.modules.values():
                precision.channels_last(m)

    # -- hooks ---------------------------------------------------------------------------------
    def build(self) -> None:
        raise NotImplementedError

    def train_step(self, batch: dict) -> dict[str, float]:
        raise NotImplementedError

    def validate(self) -> dict[str, float]:
        return {}

    def export(self) -> tuple[dict[str, nn.Module], object]:
        """(modules, pca) written to model.safetensors; default: every module and self.pca."""
        return self.modules, getattr(self, "pca", None)

    def batch_at(self, step: int) -> dict:
        return self.sampler.batch_at(step)

    # -- helpers for subclasses ----------------------------------------------------------------
    def adam(self, name: str, params, lr: float | None = None) -> torch.optim.Optimizer:
        opt = torch.optim.Adam(params, lr=lr or self.cfg.lr, betas=tuple(self.cfg.betas))
        for g in opt.param_groups:
            g["base_lr"] = g["lr"]
        self.optimizers[name] = opt
        return opt

    def optimize(self, name: str, loss: torch.Tensor, opt: str | None = None) -> float:
        """Check loss ``name`` is finite on every process, then backward and step optimizer ``opt``
        (default: the optimizer called ``name``). Returns the loss value."""
        value = float(loss.detach())
        if not dist.all_finite(value, self.device):
            raise NonFiniteLossError(f"non-finite loss at step {self.step}: {name} = {value} (optimizer {opt or name}; "
                                     f"trainer {self.name}, out {self.out})")
        key = opt or name
        if key not in self.scalers:  # one per optimizer: each tracks the scale its own gradients allow
            self.scalers[key] = precision.loss_scaler(self.device, self.precision)
        backward_step(loss, self.optimizers[key], self.scalers[key], self.cfg.grad_clip)
        return value

    def step_generator(self) -> torch.Generator:
        """A CPU generator seeded by (seed, step): per-step randomness that an exact resume repeats."""
        return torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + self.step)

    def lr_at(self, step: int) -> float:
        """Multiplier of the base lr: halved at each decay fraction, and after each rollback."""
        passed = sum(step >= f * self.cfg.steps for f in self.cfg.lr_decay_at)
        return 0.5 ** passed * self.lr_factor

    # -- checkpoints -----------------------------------------------------------------------------
    def save(self, final: bool = False, metrics: dict | None = None) -> None:
        if not self.is_main:
            return
        from srkit.checkpoint import save_checkpoint
        from srkit.train.state import save_state
        modules, pca = self.export()
        meta = {"trainer": self.name, "step": self.step, "final": final, "config": _jsonable(asdict(self.cfg)),
                "metrics": metrics or {}, "budget_stopped": bool(final and self.stopped_at_budget)}
        save_checkpoint(self.out / "model.safetensors", {k: dist.unwrap(m) for k, m in modules.items()}, meta, pca,
                        scale=self.cfg.scale)
        save_state(self.out / "resume.safetensors", {k: dist.unwrap(m) for k, m in self.modules.items()},
                   self.optimizers, {"step": self.step, "salt": self.salt, "rollbacks": self.rollbacks,
                                     "lr_factor": self.lr_factor, "trainer": self.name,
                                     "config": _jsonable(asdict(self.cfg))})

    def load_resume(self, restore_rng: bool = True) -> None:
        from srkit.train.state import load_state
        meta = load_state(self.out / "resume.safetensors", {k: dist.unwrap(m) for k, m in self.modules.items()},
                          self.optimizers, restore_rng)
        if meta.get("trainer") != self.name:
            raise ValueError(f"{self.out / 'resume.safetensors'} was written by trainer {meta.get('trainer')!r}, "
                             f"not {self.name!r}")
        self.step, self.salt = int(meta["step"]), int(meta["salt"])
        self.rollbacks, self.lr_factor = int(meta["rollbacks"]), float(meta["lr_factor"])
        self.sampler.salt = self.salt
        log = self.out / "log.json"
        self.records = [r for r in json.loads(log.read_text()) if r["step"] <= self.step] if log.is_file() else []

    def write_logs(self) -> None:
        if not self.is_main or not self.records:
            return
        from srkit.imageio import atomic_path
        keys = list(dict.fromkeys(k for r in self.records for k in r))
        with atomic_path(self.out / "log.csv") as tmp:
            with open(tmp, "w", newline="") as f:
                w = csv.DictWriter(f, keys)
                w.writeheader()
                w.writerows(self.records)
        with atomic_path(self.out / "log.json") as tmp:
            Path(tmp).write_text(json.dumps(self.records))

    # -- the loop ------------------------------------------------------------------------------
    def fit(self, stop_after: int | None = None) -> dict:
        """Train until ``cfg.steps`` (or for ``stop_after`` more steps, then checkpoint and return,
        as a pre-empted job would). Returns the last log record."""
        cfg = self.cfg
        if self.resume and self.step == 0:
            self.load_resume()
            self.print(f"resumed {self.name} from {self.out / 'resume.safetensors'} at step {self.step}")
        end = cfg.steps if stop_after is None else min(cfg.steps, self.step + stop_after)
        bar = TrainingBar(cfg.steps, cfg.max_minutes, self.step, f"train {self.name}",
                          disable=not (cfg.progress and self.is_main))
        t0, last = time.time(), {}
        while self.step < end:
            for o in self.optimizers.values():
                for g in o.param_groups:
                    g["lr"] = g["base_lr"] * self.lr_at(self.step)
            batch = self.batch_at(self.step)
            if self.precision == "bf16":
                batch = {k: precision.channels_last(v) for k, v in batch.items()}
            for m in self.modules.values():
                m.train(getattr(m, "_srkit_trainable", True))
            try:
                with precision.autocast(self.device, self.precision):
                    losses = self.train_step(batch)
            except NonFiniteLossError as e:
                self._handle_nan(e)
                continue
            self.step += 1
            bar.advance(self.step, time.time() - t0, losses)
            # every process stops at the same step: the first one past the budget decides (DDP)
            if cfg.max_minutes and self.step < end and \
                    dist.mean(float(time.time() - t0 > cfg.max_minutes * 60), self.device) > 0:
                end = self.step  # budget spent: this step is the last, and its model the final one
                self.stopped_at_budget = True
            done = self.step == cfg.steps or self.stopped_at_budget
            val = self._eval() if (cfg.val_every and self.step % cfg.val_every == 0) or done else {}
            if (cfg.log_every and self.step % cfg.log_every == 0) or val or done:
                last = {"step": self.step, "time_s": round(time.time() - t0, 3),
                        "lr": self.optimizers and next(iter(self.optimizers.values())).param_groups[0]["lr"],
                        **losses, **val}
                self.records.append(last)
                if val:
                    self.print(f"step {self.step}: " + ", ".join(f"{k} {v:.4g}" for k, v in val.items()))
            if self.on_step is not None and self.is_main:
                self.on_step(self.step, {**losses, **val})
            if (cfg.ckpt_every and self.step % cfg.ckpt_every == 0) or self.step == end:
                self.write_logs()
                self.save(final=done, metrics=val or {k: v for k, v in last.items() if k.startswith("val_")})
                dist.barrier()
        bar.close(finished=self.step == cfg.steps or self.stopped_at_budget)
        return last

    def _eval(self) -> dict:
        for m in self.modules.values():
            m.eval()
        with torch.no_grad():
            return {k: float(v) for k, v in self.validate().items()}

    def _handle_nan(self, e: NonFiniteLossError) -> None:
        resume = self.out / "resume.safetensors"
        if self.cfg.nan_policy == "rollback" and self.rollbacks < self.cfg.max_rollbacks and resume.is_file():
            bad = self.step
            rollbacks, factor = self.rollbacks + 1, self.lr_factor * 0.5
            self.load_resume(restore_rng=False)
            self.rollbacks, self.lr_factor, self.salt = rollbacks, factor, self.salt + 1
            self.sampler.salt = self.salt
            self.print(f"{e}; rolled back to step {self.step} ({resume}), lr ×{factor:g}, new batches")
            self.records.append({"step": self.step, "rollback_from": bad})
            return
        why = ("nan_policy='stop'" if self.cfg.nan_policy == "stop" else
               f"no checkpoint to roll back to ({resume})" if not resume.is_file() else
               f"{self.rollbacks} rollbacks already")
        self.write_logs()
        raise NonFiniteLossError(f"{e}; stopped ({why}). Last checkpoint: "
                                 f"{resume if resume.is_file() else 'none'}") from None


class TrainingBar:
    """The training progress bar, sized to what will run: the steps of the schedule, or, with a
    time budget (``max_minutes``), the budget's seconds (the step count and losses in the postfix),
    so the ETA is the budget's end and not that of a schedule the budget will cut. A run that ends
    as planned (schedule done, or budget spent) closes the bar full, which a notebook shows green;
    only an interrupted run leaves it short.

    Args:
        steps: the schedule's steps; minutes: the budget (0 = none); initial: the step resumed at;
        desc: the label; disable: no output (other DDP ranks, ``progress=False``).
    """

    def __init__(self, steps: int, minutes: float, initial: int, desc: str, disable: bool = False, file=None):
        from tqdm.auto import tqdm
        self.steps, self.budget_s = steps, minutes * 60
        if self.budget_s:
            self.bar = tqdm(total=round(self.budget_s), desc=f"{desc} ({minutes:g} min budget)", unit="s",
                            bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s{postfix}", disable=disable,
                            dynamic_ncols=True, file=file)
        else:
            self.bar = tqdm(total=steps, initial=initial, desc=desc, disable=disable, dynamic_ncols=True, file=file)

    def advance(self, step: int, elapsed_s: float, losses: dict[str, float]) -> None:
        """After ``step`` (1-based), ``elapsed_s`` seconds into the run."""
        post = {k: f"{v:.4g}" for k, v in losses.items()}
        if self.budget_s:
            self.bar.n = min(self.bar.total, round(elapsed_s))
            post = {"step": f"{step}/{self.steps}", **post}
        else:
            self.bar.n = step
        self.bar.set_postfix(post)  # refreshes

    def close(self, finished: bool) -> None:
        """``finished``: the run ended as planned, so the bar is filled (green in a notebook)."""
        if finished:
            if self.budget_s and self.bar.n < self.bar.total:  # the schedule ended before the budget
                self.bar.total = self.bar.n
            self.bar.n = self.bar.total
            self.bar.refresh()
        self.bar.close()


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj if isinstance(obj, (str, int, float, bool, type(None))) else str(obj)


def batch_psnr(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> float:
    """Mean PSNR over a batch under the evaluation protocol: uint8, Y channel, ``scale`` px shaved."""
    from srkit.imageio import to_uint8
    from srkit.metrics import psnr
    return float(np.mean([psnr(to_uint8(x.float()), to_uint8(y.float()), shave=scale) for x, y in zip(sr, hr)]))


def run_finished(run: str | Path, schedule: bool = False) -> bool:
    """True when ``run/model.safetensors`` exists and was written at the end of training (not an
    intermediate checkpoint of an interrupted run). ``schedule=True``: only when training ran its
    whole schedule (a run that ``max_minutes`` stopped early is not finished in that sense)."""
    from srkit.checkpoint import read_header
    model = Path(run) / "model.safetensors"
    if not model.is_file():
        return False
    try:
        meta = read_header(model).get("meta", {})
    except (ValueError, FileNotFoundError):
        return False
    return bool(meta.get("final")) and not (schedule and meta.get("budget_stopped"))


def load_init(path: str | None, device, scale: int | None = None) -> "object | None":
    """The Checkpoint a stage starts from (``init_from``), or None.

    ``scale``: the run's SR factor; a checkpoint trained for another one is loaded with one warning
    that names both (a segmenter fine-tuned on ×4 LR from a ×2 one runs, but rarely on purpose:
    ``srkit train`` defaults to ×4 without ``--scale``).
    """
    if not path:
        return None
    from srkit.checkpoint import load_checkpoint
    ckpt = load_checkpoint(path, device)
    if scale is not None and ckpt.trained_scale not in (None, scale):
        warnings.warn(f"srkit train: init_from {path} was trained for x{ckpt.trained_scale}, this run trains "
                      f"for x{scale} (--scale); pass --scale {ckpt.trained_scale} to keep its scale",
                      RuntimeWarning, stacklevel=2)
    return ckpt


def frozen(module: nn.Module) -> nn.Module:
    """Mark a module as not trained: eval mode during training, no gradients."""
    module.requires_grad_(False).eval()
    module._srkit_trainable = False
    return module
