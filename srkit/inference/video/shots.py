"""Shots: the cut detector (``ShotDetector``) and the guards' per-shot report (``_Shot``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srkit.inference.guard import join_messages, warn


@dataclass
class ShotDetector:
    """Flags the first frame of each shot.

    Args:
        threshold: half the L1 distance between consecutive 32-bin luma histograms, in [0, 1]; a
            cut is declared above it (default 0.35: fades and motion stay below, hard cuts exceed it).
        max_shot_frames: declare a new shot at least this often (default 250 = 10 s at 25 fps), so a
            slow change of lens or focus is followed.
        thumb: thumbnail size (width, height) the histogram is computed on (default 64×36).
    """
    threshold: float = 0.35
    max_shot_frames: int = 250
    thumb: tuple[int, int] = (64, 36)

    def __post_init__(self):
        self._previous: np.ndarray | None = None
        self._since_cut = 0

    def histogram(self, frame) -> np.ndarray:
        """Normalised 32-bin histogram of the frame's luma thumbnail (an ``av.VideoFrame``)."""
        luma = frame.to_ndarray(format="gray", width=self.thumb[0], height=self.thumb[1])
        counts = np.bincount(luma.ravel() >> 3, minlength=32).astype(np.float64)
        return counts / counts.sum()

    def is_cut(self, frame) -> bool:
        """True for the first frame, after a hard cut, and every ``max_shot_frames`` frames."""
        hist = self.histogram(frame)
        distance = 1.0 if self._previous is None else 0.5 * np.abs(hist - self._previous).sum()
        self._previous = hist
        self._since_cut += 1
        if distance > self.threshold or self._since_cut >= self.max_shot_frames:
            self._since_cut = 0
            return True
        return False


class _Shot:
    """The guards' findings for one shot, reported as one warning line when the shot ends."""

    def __init__(self, name: str):
        self.name, self.estimate_message = name, ""
        self.frames, self.fixed, self.first = 0, 0, ""

    def add(self, line: str) -> None:
        """Record one frame's output check (``srkit.inference.guard.check_output``; "" when clean)."""
        self.frames += 1
        if line:
            self.fixed += 1
            self.first = self.first or line.split(": ", 1)[1]

    def report(self) -> int:
        """Warn once for the shot if a guard acted; returns 1 if one did (a guard event), else 0."""
        frames = (f"{self.name}: in {self.fixed} of {self.frames} frames, {self.first}"
                  if self.fixed else "")
        line = join_messages(self.estimate_message, frames)
        warn([line])
        return int(bool(line))
