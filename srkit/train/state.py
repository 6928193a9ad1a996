"""Resume files: everything needed to continue a run bit-exactly, without pickle.

One safetensors file: module weights (``model.<name>.<key>``), optimizer state tensors
(``optim.<name>.<param>.<key>``) and the torch RNG states (``rng.*``); everything else (step,
optimizer param groups, numpy and Python RNG states, trainer extras) is JSON in the header's
``__metadata__['srkit_resume']``. One file means one atomic write: a crash never leaves weights
from one step with optimizer state from another.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

FORMAT = "srkit-resume"


def _rng_json() -> dict:
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {"numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
            "python": [py_state[0], list(py_state[1]), py_state[2]]}


def _set_rng_json(s: dict) -> None:
    n = s["numpy"]
    np.random.set_state((n[0], np.array(n[1], dtype=np.uint32), int(n[2]), int(n[3]), float(n[4])))
    p = s["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))


def save_state(path: str | Path, modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
               extra: dict) -> Path:
    """Write a resume file atomically (see module docstring)."""
    from safetensors.torch import save_file

    from srkit.imageio import atomic_path
    tensors: dict[str, torch.Tensor] = {}
    for name, m in modules.items():
        for k, v in m.state_dict().items():
            tensors[f"model.{name}.{k}"] = v.detach().cpu().clone().contiguous()
    optim_json = {}
    for name, opt in optimizers.items():
        sd = opt.state_dict()
        plain = {}
        for pid, st in sd["state"].items():
            for k, v in st.items():
                if torch.is_tensor(v):
                    tensors[f"optim.{name}.{pid}.{k}"] = v.detach().cpu().clone().contiguous()
                else:
                    plain.setdefault(str(pid), {})[k] = v
        optim_json[name] = {"param_groups": sd["param_groups"], "plain": plain,
                            "ids": [str(p) for p in sd["state"]]}
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    meta = {"format": FORMAT, "version": 1, "optimizers": optim_json, "rng": _rng_json(), **extra}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"srkit_resume": json.dumps(meta)})
    return Path(path)


def read_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, JSON metadata) of a resume file; clear errors for missing or foreign files."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"resume file not found: {path} (nothing to resume; run without --resume)")
    with safe_open(str(path), "pt") as f:
        raw = (f.metadata() or {}).get("srkit_resume")
    if raw is None:
        raise ValueError(f"{path}: not a srkit resume file (no 'srkit_resume' metadata)")
    return load_file(str(path)), json.loads(raw)


def load_state(path: str | Path, modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
               restore_rng: bool = True) -> dict:
    """Load weights, optimizer state and RNG states in place; returns the JSON metadata (extras)."""
    tensors, meta = read_state(path)
    for name, m in modules.items():
        prefix = f"model.{name}."
        sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        if not sd:
            raise ValueError(f"{path}: holds no weights for module {name!r}")
        m.load_state_dict(sd)
    for name, opt in optimizers.items():
        oj = meta["optimizers"].get(name)
        if oj is None:
            raise ValueError(f"{path}: holds no state for optimizer {name!r}")
        state = {}
        for pid in oj["ids"]:
            prefix = f"optim.{name}.{pid}."
            st = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            st.update(oj["plain"].get(pid, {}))
            state[int(pid)] = st
        opt.load_state_dict({"state": state, "param_groups": oj["param_groups"]})
    if restore_rng:
        torch.set_rng_state(tensors["rng.torch"])
        cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
        if cuda and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda[:torch.cuda.device_count()])
        _set_rng_json(meta["rng"])
    return meta
