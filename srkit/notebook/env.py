"""The notebooks' environment: smoke mode, the cache folder and the default device."""
from __future__ import annotations

import os
from pathlib import Path

import torch


def smoke_mode() -> bool:
    """True when ``SRKIT_SMOKE=1``: notebooks and stand-in models shrink to a CPU smoke run."""
    return os.environ.get("SRKIT_SMOKE") == "1"


def cache_dir() -> Path:
    """Where notebook artifacts live: ``$SRKIT_CACHE``, else ``cache/`` in a source checkout, else ~/.cache/srkit."""
    if os.environ.get("SRKIT_CACHE"):
        d = Path(os.environ["SRKIT_CACHE"])
    else:
        root = Path(__file__).resolve().parents[2]
        d = root / "cache" if (root / "pyproject.toml").is_file() else Path.home() / ".cache" / "srkit"
    d.mkdir(parents=True, exist_ok=True)
    return d


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
