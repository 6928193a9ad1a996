"""Average the weights of one network over several checkpoints (a "model soup" of runs).

Every other network, the PCA and the metadata come from the first checkpoint. The networks
must have the same architecture; the average is taken in fp32. ``bench/RESULTS.md`` uses it for
the corrector averages of the ×2 bundle experiments.

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
