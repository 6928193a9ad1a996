"""srkit: blind, semantics-aware image and video super-resolution for film and TV archives.

The package root imports nothing heavy; ``srkit.load`` and ``srkit.upscale`` are resolved on first
use so that one optional dependency that fails to import never breaks the rest.
"""
__version__ = "0.1.0"

_LAZY = {
    "load": ("srkit.checkpoint", "load_pipeline"),
    "load_network": ("srkit.checkpoint", "load_network"),
    "upscale": ("srkit.inference.tiling", "upscale"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'srkit' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
