"""Adapt any srkit model to the tile functions that ``srkit.inference.tiling.tiled_upscale`` runs.

Three kinds of model are accepted:

* a ``Pipeline`` (segmentation net + generator + IKC predictor/corrector): the guarded IKC loop
  (``srkit.inference.guard``) runs on a native-resolution crop of each image to get that image's kernel code
  (one per image of a batch; video calls it once per shot), and every tile is then a single
  generator pass with that fixed code and its own segmentation;
* an ``SFTGenerator`` (``srkit.load_network``): a kernel code must be given when it uses one, since
  a generator alone cannot estimate it;
* any other module or callable mapping N×3×h×w LR → N×3×sh×sw SR (e.g. a bicubic function).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from srkit.inference.guard import replaced_message, sanitize_sr
from srkit.inference.pipeline import KernelEstimate, Pipeline, estimate_kernel
from srkit.models.sft import SFTGenerator
from srkit.precision import resolve as resolve_precision

def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def receptive_radius(module: nn.Module) -> int:
    """Upper bound of a conv net's receptive-field radius in input pixels: Σ dilation·(k−1)/2.

    Exact for a plain stack of stride-1 convs at one resolution; an over-estimate for layers after an
    upsampler. Use it as the ``overlap`` for tiled output identical to untiled output.
    """
    radius = 0
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            kh, kw = layer.kernel_size
            radius += layer.dilation[0] * (max(kh, kw) - 1) // 2
    return radius


class ModelRunner:
    """One model on one device, turned into ``code = estimate_code(lr)`` + ``tile_fn(code)``.

    Args:
        model: Pipeline, generator, module or callable (see the module docstring).
        steps: IKC correction steps for a pipeline (default 7, the paper's t).
        device: where the network runs (default: CUDA when available, else CPU).
        precision: 'fp32' (default), 'bf16' or 'auto' (``srkit.precision``), resolved here for the
            device; ``tiled_upscale`` runs the tiles in it. The kernel estimate stays fp32.
        compile: wrap the generator in ``torch.compile`` (fixed tile shapes make this pay off on GPU).
        channels_last: convert weights to channels-last (default: on CUDA, and with bf16 anywhere).
        scale: the factor of a plain callable that has no ``scale`` attribute (ignored when the
            model states its own; ``check_scale`` reports a mismatch).
    """

    def __init__(self, model, steps: int = 7, device=None, precision: str = "fp32", compile: bool = False,
                 channels_last: bool | None = None, scale: int | None = None):
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        self.device = torch.device(device) if device is not None else default_device()
        self.precision = resolve_precision(precision, self.device)
        if channels_last is None:  # oneDNN's bf16 convolutions want channels-last on the CPU too
            channels_last = self.device.type == "cuda" or self.precision == "bf16"
        self.channels_last, self.steps = channels_last, steps
        self.model = self._prepare(model)
        # the network itself (an SFTGenerator, or a plain module or callable) and what runs it
        self.generator = self.model.generator if isinstance(self.model, Pipeline) else self.model
        self.forward = torch.compile(self.generator, dynamic=False) if compile else self.generator
        self.scale = int(_model_scale(self.model) or scale or 0)  # the model's own factor wins
        if self.scale < 1:
            raise ValueError("cannot tell the model's scale; pass scale=")

    @classmethod
    def wrap(cls, model, **kwargs) -> "ModelRunner":
        """Build a runner from a model, a runner (returned as is), or a name/path for ``srkit.load``."""
        if isinstance(model, ModelRunner):
            return model
        if isinstance(model, (str, Path)):
            from srkit.checkpoint import load_pipeline
            model = load_pipeline(model)
        return cls(model, **kwargs)

    def _prepare(self, model):
        """Move to the device in eval mode; a Pipeline (not a Module) moves all its networks."""
        if isinstance(model, (nn.Module, Pipeline)):
            model = model.to(self.device).eval()
        if self.channels_last:
            networks = [model] if isinstance(model, nn.Module) else model.modules().values()
            for network in networks:
                if isinstance(network, nn.Module):
                    network.to(memory_format=torch.channels_last)
        return model

    def check_scale(self, scale: int | None) -> None:
        """Raise ValueError when an explicitly asked ``scale`` is not the model's."""
        if scale is not None and int(scale) != self.scale:
            raise ValueError(f"the model upscales ×{self.scale}, but ×{scale} was asked; "
                             f"use a ×{scale} checkpoint")

    @property
    def uses_kernel(self) -> bool:
        return isinstance(self.generator, SFTGenerator) and self.generator.cfg.use_kernel

    @property
    def uses_seg(self) -> bool:
        return isinstance(self.generator, SFTGenerator) and self.generator.cfg.use_seg

    @torch.no_grad()
    def estimate(self, lr: torch.Tensor, name: str | None = None, emit: bool = True) -> KernelEstimate:
        """Each image's kernel code: ``srkit.inference.pipeline.estimate_kernel`` (guarded IKC, crop rule).

        Args:
            lr: N×3×H×W uint8 or float [0, 1] on the CPU; each image gets its own code.
            name: what to call the image(s) in warnings (a file name, "clip.mkv shot 3 (frame
                120)"); default "image".
            emit: warn now when the guard acted (False: the caller reports ``messages``).
        """
        if not (isinstance(self.model, Pipeline) and self.uses_kernel):
            return KernelEstimate(None, messages=[""] * lr.shape[0])
        return estimate_kernel(self.model, lr, steps=self.steps, name=name, device=self.device,
                               emit=emit)

    def estimate_code(self, lr: torch.Tensor, name: str | None = None) -> torch.Tensor | None:
        """``estimate(lr, name).code``: N×b codes, or None when the model needs none."""
        return self.estimate(lr, name).code

    def tile_fn(self, code: torch.Tensor | None = None) -> "TileFunction":
        """LR tile → SR tile, with ``code`` (1×b or N×b) fixed for every tile; implausible SR pixels
        are replaced by the bicubic upscale and counted (``TileFunction.replaced``)."""
        if self.uses_kernel and code is None:
            raise ValueError("this generator is conditioned on the kernel code; use a Pipeline "
                             "(which estimates it) or pass a code")
        code = code.to(self.device) if code is not None else None
        if not isinstance(self.generator, SFTGenerator):
            return TileFunction(self.forward, None, self.scale)  # a plain module or callable: LR → SR

        def run(tile: torch.Tensor) -> torch.Tensor:
            tile_code = code.expand(tile.shape[0], -1) if code is not None and code.shape[0] == 1 else code
            seg = self._segment(tile) if self.uses_seg else None
            return self.forward(tile, tile_code, seg)
        return TileFunction(run, self.scale, self.scale)

    def _segment(self, tile: torch.Tensor) -> torch.Tensor:
        """N×K×h×w class probabilities of an LR tile, from the pipeline's segmentation net."""
        if not isinstance(self.model, Pipeline):
            raise ValueError("this generator is conditioned on segmentation; use a Pipeline "
                             "(which holds the segmentation net)")
        return self.model.segment(tile)


def _model_scale(model) -> int | None:
    """``model.scale`` or ``model.cfg.scale`` or ``model.generator.scale``, if any."""
    for owner in (model, getattr(model, "cfg", None), getattr(model, "generator", None)):
        value = getattr(owner, "scale", None)
        if isinstance(value, int):
            return value
    return None


class TileFunction:
    """A tile function for ``tiled_upscale`` that checks what the network returns.

    Args:
        fn: LR tile (N×3×h×w float) → SR tile.
        guard_scale: the factor to sanitize with (``srkit.inference.guard.sanitize_sr``); None passes the
            output through unchecked (plain callables such as a bicubic baseline).
        scale: the factor of ``fn``.

    Attributes:
        replaced: SR pixels replaced so far, summed over tiles and images.
        pixels: SR pixels produced so far.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], guard_scale: int | None, scale: int):
        self.fn, self.guard_scale, self.scale = fn, guard_scale, scale
        self.replaced = self.pixels = 0

    def __call__(self, tile: torch.Tensor) -> torch.Tensor:
        sr = self.fn(tile)
        if self.guard_scale is not None:
            sr, counts = sanitize_sr(sr, tile, self.guard_scale)
            self.replaced += int(counts.sum())
        self.pixels += sr.shape[0] * sr.shape[-2] * sr.shape[-1]
        return sr

    def message(self, name: str) -> str:
        """The warning text when pixels were replaced ("" otherwise)."""
        return replaced_message(name, self.replaced, self.pixels)
