"""The notebooks' environment: smoke mode, the cache folder and the default device."""
from __future__ import annotations

import contextlib
import os
import warnings
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


@contextlib.contextmanager
def collected_warnings(label: str = "warnings"):
    """Collect the warnings raised inside the block and print them afterwards as one line per
    distinct message, with its count: no file path, no source line (what Python's default display
    adds to each). Nothing is printed when none were raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    counts: dict[str, int] = {}
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0] if str(w.message) else ''}"
        counts[text] = counts.get(text, 0) + 1
    if counts:
        print(f"{label}: {len(caught)} ({len(counts)} distinct)")
        for text, n in counts.items():
            print(f"  {text}" + (f" (×{n})" if n > 1 else ""))
