"""Multi-frame inference: windows of frames that stay inside a shot, through a multi-frame pipeline.

A ``Pipeline`` whose generator is ``srkit.models.edvr.MultiFrameGenerator`` super-resolves frame t
from the window (t − k … t + k). ``shot_windows`` picks the frames: a window never crosses a shot cut
or the ends of the frames at hand; where it would, the nearest frame of the same shot is repeated
(edge padding within the shot, as EDVR pads at a sequence's ends). ``WindowRunner`` then estimates one
kernel code per shot (guarded IKC on the single-frame body, as the frame-by-frame path does) and runs
each window untiled, replacing implausible pixels by the bicubic upscale of the centre frame
(``srkit.inference.guard.sanitize_sr``).
"""
from __future__ import annotations

from dataclasses import replace

import torch

from srkit.inference.guard import replaced_message, sanitize_sr
from srkit.inference.pipeline import Pipeline, estimate_kernel
from srkit.models.edvr import MultiFrameGenerator


def shot_windows(count: int, frames: int, cuts: list[int] | tuple[int, ...] = ()) -> list[list[int]]:
    """For each of ``count`` frames, the indices of its window of ``frames`` (odd) frames.

    Args:
        count: frames at hand (≥ 1).
        frames: window length T, odd.
        cuts: indices where a new shot starts (frame i is the first of its shot); 0 and out-of-range
            values are ignored.

    Returns:
        ``count`` lists of T indices, each inside the centre frame's shot, padded by repeating the
        shot's first or last frame.
    """
    if count < 1 or frames < 1 or frames % 2 == 0:
        raise ValueError(f"shot_windows needs count >= 1 and an odd window, got count={count}, frames={frames}")
    starts = sorted({c for c in cuts if 0 < c < count} | {0})
    ends = starts[1:] + [count]
    out, k = [], frames // 2
    for start, end in zip(starts, ends):
        for t in range(start, end):
            out.append([min(max(t + d, start), end - 1) for d in range(-k, k + 1)])
    return out


class WindowRunner:
    """A multi-frame pipeline on one device: ``estimate(frame)`` once per shot, ``upscale(window, code)``.

    Args:
        pipeline: a Pipeline whose generator is a MultiFrameGenerator.
        steps: IKC steps of the per-shot kernel estimate (default 7).
        device: where it runs (default the pipeline's).
        repeat_centre: the control: every window is the centre frame T times (the model then cannot
            use time; comparing against it shows what the neighbours bring).
    """

    def __init__(self, pipeline: Pipeline, steps: int = 7, device=None, repeat_centre: bool = False):
        if not isinstance(pipeline.generator, MultiFrameGenerator):
            raise ValueError(f"WindowRunner needs a multi-frame pipeline, got a {type(pipeline.generator).__name__}")
        self.device = torch.device(device) if device is not None else pipeline.device
        self.pipeline = pipeline.to(self.device).eval()
        self.net: MultiFrameGenerator = pipeline.generator
        # the kernel estimate runs the single-frame body (IKC's steps need one frame in, one SR out)
        self.single = replace(pipeline, generator=self.net.generator)
        self.steps, self.repeat_centre = steps, repeat_centre
        self.replaced = self.pixels = 0

    @property
    def frames(self) -> int:
        return self.net.cfg.frames

    @property
    def scale(self) -> int:
        return self.net.cfg.scale

    @torch.no_grad()
    def estimate(self, lr: torch.Tensor, name: str | None = None) -> torch.Tensor | None:
        """1×b kernel code of an LR frame (1×3×h×w float [0, 1]); None if the generator needs none."""
        if not self.net.cfg.use_kernel:
            return None
        return estimate_kernel(self.single, lr, steps=self.steps, name=name, device=self.device).code

    @torch.no_grad()
    def upscale(self, window: torch.Tensor, code: torch.Tensor | None) -> torch.Tensor:
        """window T×3×h×w float [0, 1] (centre = frame to upscale) → 1×3×sh×sw SR in [0, 1]."""
        if window.dim() != 4 or window.shape[0] != self.frames:
            raise ValueError(f"a window of {self.frames} frames T×3×h×w is needed, got {tuple(window.shape)}")
        window = window.to(self.device).float()
        centre = window[self.frames // 2][None]
        if self.repeat_centre:
            window = centre.expand(self.frames, -1, -1, -1)
        seg = self.pipeline.segment(centre)
        sr = self.net(window[None], None if code is None else code.to(self.device), seg)
        sr, counts = sanitize_sr(sr, centre, self.scale)
        self.replaced += int(counts.sum())
        self.pixels += sr.shape[-2] * sr.shape[-1]
        return sr.clamp(0, 1)

    def message(self, name: str) -> str:
        """The guard's warning text for the pixels replaced so far ("" when none)."""
        return replaced_message(name, self.replaced, self.pixels)
