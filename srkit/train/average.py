"""Average the weights of one network over several checkpoints (a "model soup" of runs).

Every other network, the PCA and the metadata come from the first checkpoint. The networks
must have the same architecture; the average is taken in fp32. ``bench/RESULTS.md`` uses it for
the corrector averages of the ×2 bundle experiments.

:func:`blend_into` is the two-network, weighted case (network interpolation, as in ESRGAN's
"network interpolation" of a PSNR- and a GAN-trained model): a model fine-tuned from another sits
in the same basin, and a weight between them trades what each was trained for. Recipes use it
through ``assemble = { ..., blend = "bundled:NAME", blend_weight = w }``.

Usage::

    python -m srkit.train.average --module corrector --out runs/avg.safetensors \
        runs/c-a/model.safetensors runs/c-b/model.safetensors [...]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from srkit.checkpoint import Checkpoint, load_checkpoint, save_checkpoint


def average_module(paths: list[str | Path], module: str = "corrector") -> Checkpoint:
    """The first checkpoint with ``module``'s tensors replaced by their mean over all ``paths``.

    Args:
        paths: two or more srkit checkpoints holding ``module`` with the same architecture.
        module: the network to average (default 'corrector').

    Returns:
        A Checkpoint; its ``meta`` records the averaged files under ``"averaged"``.

    Raises:
        ValueError: fewer than two paths, a checkpoint without ``module``, or differing architectures.
    """
    if len(paths) < 2:
        raise ValueError(f"averaging needs two or more checkpoints, got {len(paths)}")
    ckpts = [load_checkpoint(p) for p in paths]
    for p, ck in zip(paths, ckpts):
        if module not in ck.modules:
            raise ValueError(f"{p}: no {module!r} network (it holds {sorted(ck.modules)})")
    first = ckpts[0].modules[module]
    states = [ck.modules[module].state_dict() for ck in ckpts]
    for p, ck, state in zip(paths, ckpts, states):
        if getattr(ck.modules[module], "cfg", None) != getattr(first, "cfg", None) or state.keys() != states[0].keys():
            raise ValueError(f"{p}: its {module!r} differs in architecture from {paths[0]}'s")
    mean = {k: torch.stack([s[k].float() for s in states]).mean(0).to(states[0][k].dtype) for k in states[0]}
    first.load_state_dict(mean)
    base = ckpts[0]
    base.meta = {**base.meta, "averaged": {"module": module, "checkpoints": [str(p) for p in paths]}}
    return base


def blend_into(module: torch.nn.Module, other: torch.nn.Module, weight: float, name: str = "network") -> None:
    """Replace, in place, ``module``'s floating-point tensors by (1 − weight)·module + weight·other.

    Args:
        module / other: the same architecture (``cfg`` and state keys equal).
        weight: share of ``other``, in [0, 1] (0 leaves ``module`` as it is, 1 makes it ``other``).
        name: what to call the pair in errors.

    Raises:
        ValueError: a weight outside [0, 1], or differing architectures.
    """
    if not 0.0 <= float(weight) <= 1.0:
        raise ValueError(f"blend weight of the {name} must be in [0, 1], got {weight!r}")
    mine, theirs = module.state_dict(), other.state_dict()
    if getattr(module, "cfg", None) != getattr(other, "cfg", None) or mine.keys() != theirs.keys():
        raise ValueError(f"cannot blend the {name}: the two differ in architecture")
    w = float(weight)
    module.load_state_dict({k: ((1 - w) * v.float() + w * theirs[k].float()).to(v.dtype) if v.is_floating_point()
                            else v for k, v in mine.items()})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--module", default="corrector", help="network to average (default corrector)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--half", action="store_true", help="store fp16 (default fp32)")
    args = ap.parse_args(argv)
    ck = average_module(args.checkpoints, args.module)
    path = save_checkpoint(args.out, ck.modules, ck.meta, ck.pca, half=args.half)
    print(f"wrote {path}: {args.module} averaged over {len(args.checkpoints)} checkpoints")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
