"""A loss figure that a training run redraws in place while it trains (notebooks 02–04).

``LiveCurves`` is the ``on_step`` callback of ``srkit.train.train`` (``artifacts.trained_stage(...,
live=...)`` passes it): it keeps every step's value of the losses it was asked for, and every
``every`` steps (at most once per ``min_interval_s``, and at least once per ``max_interval_s`` when
steps are slow) redraws one figure in the cell's output, so the curve grows while the progress bar runs. Validation metrics among ``keys`` are drawn as markers on
the steps that validated. A run reused from the cache draws the same figure from its log.
"""
from __future__ import annotations

import time

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

MAX_POINTS = 2000  # longer series are drawn as this many bin means (a 300k-step GPU run stays quick to draw)


class LiveCurves:
    """Curves of ``keys`` over training steps, redrawn in place while a run trains.

    Args:
        keys: loss (or ``val_*`` metric) names as the trainer reports them, e.g. ('ce', 'val_ce').
        title: figure title; the last step drawn is appended.
        ylabel: y-axis label (the x axis is 'step').
        labels: {key: legend label} (default: the key).
        every: redraw every this many steps (≥ 1; default 5: several redraws even in a 40-step smoke run).
        min_interval_s: never redraw sooner than this after the last redraw (default 2 s), so a fast
            GPU run does not spend its time drawing.
        max_interval_s: redraw after a new step once this long has passed even if fewer than ``every``
            steps have (default 30 s: a CPU IKC step can take ten seconds).
        logy: log-scale y axis (losses spanning decades, e.g. IKC's code errors).
        show: display the figure in the notebook and update it there (False: only keep the data and
            the figure, e.g. in tests).
    """

    def __init__(self, keys, title: str = "training losses", ylabel: str = "loss", labels: dict | None = None,
                 every: int = 5, min_interval_s: float = 2.0, max_interval_s: float = 30.0, logy: bool = False,
                 show: bool = True,
                 size=(5.5, 3)):
        if every < 1:
            raise ValueError(f"every must be >= 1 step, got {every}")
        self.keys = tuple(keys)
        if not self.keys:
            raise ValueError("LiveCurves needs at least one key to draw")
        self.title, self.ylabel, self.logy, self.show = title, ylabel, logy, show
        self.labels = {k: (labels or {}).get(k, k) for k in self.keys}
        self.every, self.min_interval_s, self.max_interval_s = int(every), float(min_interval_s), float(max_interval_s)
        self.points: dict[str, tuple[list, list]] = {k: ([], []) for k in self.keys}
        self.figure = Figure(figsize=size, dpi=80, layout="constrained")
        self.redraws = 0
        self._handle = None
        self._drawn_step, self._drawn_at, self._last_step = 0, time.monotonic(), 0

    # -- data ------------------------------------------------------------------------------------
    def add(self, step: int, values: dict) -> None:
        """Record ``values`` (name → number) at ``step``; names not in ``keys`` and non-finite values
        are ignored."""
        for k in self.keys:
            v = values.get(k)
            if isinstance(v, (int, float)) and np.isfinite(v):
                self.points[k][0].append(int(step))
                self.points[k][1].append(float(v))
        self._last_step = max(self._last_step, int(step))

    def add_log(self, log: dict[str, list]) -> None:
        """Record the rows of a run's log (``artifacts.read_log``): what an earlier, resumed or reused
        run already trained."""
        steps = log.get("step", [])
        for i, step in enumerate(steps):
            if np.isfinite(step):
                self.add(int(step), {k: log[k][i] for k in self.keys if k in log and i < len(log[k])})

    def n_points(self, key: str | None = None) -> int:
        """Points recorded for ``key`` (default: the fewest of any key that has some)."""
        if key is not None:
            return len(self.points[key][0])
        counts = [len(x) for x, _ in self.points.values() if x]
        return min(counts) if counts else 0

    # -- the trainer's callback ------------------------------------------------------------------
    def __call__(self, step: int, values: dict) -> None:
        """``on_step``: record, and redraw when ``every`` steps and ``min_interval_s`` have passed, or
        any new step and ``max_interval_s``."""
        self.add(step, values)
        new, waited = step - self._drawn_step, time.monotonic() - self._drawn_at
        if (new >= self.every and waited >= self.min_interval_s) or (new >= 1 and waited >= self.max_interval_s):
            self.redraw()

    # -- drawing ---------------------------------------------------------------------------------
    def draw(self) -> Figure:
        """Draw the recorded curves into ``self.figure`` (legend, axis labels, the last step) and return it."""
        self.figure.clear()
        ax = self.figure.subplots()
        for k in self.keys:
            x, y = (np.asarray(a, float) for a in self.points[k])
            if not len(x):
                continue
            if k.startswith("val_"):  # validated on a few steps: markers joined by a thin line
                ax.plot(x, y, "o-", ms=4, lw=1, label=self.labels[k])
                continue
            if len(x) > MAX_POINTS:
                bins = np.array_split(np.arange(len(x)), MAX_POINTS)
                x, y = np.array([x[b].mean() for b in bins]), np.array([y[b].mean() for b in bins])
            ax.plot(x, y, "o-" if len(x) < 20 else "-", ms=3, lw=1.2, label=self.labels[k])
        ax.set(title=f"{self.title} (step {self._last_step})", xlabel="step", ylabel=self.ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
        if self.logy:
            ax.set_yscale("log")
        if ax.lines:
            ax.legend(fontsize=8)
        return self.figure

    def redraw(self) -> None:
        """Draw now and, with ``show``, replace the figure in the cell's output (shown on the first call)."""
        self.draw()
        self.redraws += 1
        self._drawn_step, self._drawn_at = self._last_step, time.monotonic()
        if not self.show:
            return
        from IPython.display import display
        if self._handle is None:
            self._handle = display(self.figure, display_id=True)
        else:
            self._handle.update(self.figure)

    def close(self) -> None:
        """The final redraw, after the run ended (its last steps drawn too)."""
        self.redraw()
