"""Benchmark runs: the bicubic table and Gaussian8, keyed as docs/DESIGN.md §6 says.

``results[method][set][scale] = {"psnr": float, "ssim": float, "n": int}`` with the scale as a
string, plus a ``protocol`` object. Averages are over images (and, for Gaussian8, over the 8
kernel widths of every image).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from srkit.data.benchmarks import bicubic_lr, gaussian8_lr, load_benchmark
from srkit.kernels import gaussian8_sigmas
from srkit.metrics import PROTOCOL, evaluate_pair
from srkit.resize import imresize_np

# An SR method: (uint8 LR H×W×3, scale, context) → {method name: uint8 SR}; context carries the
# true kernel for methods that may use it (only the true_kernel upper bound does).
Method = Callable[[np.ndarray, int, dict], dict[str, np.ndarray]]


def bicubic_method(lr: np.ndarray, scale: int, context: dict) -> dict[str, np.ndarray]:
    """The bicubic baseline: MATLAB bicubic ↑s of the uint8 LR, rounded to uint8."""
    return {"bicubic": imresize_np(lr, scale)}


class _Accumulator:
    def __init__(self):
        self.values = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))

    def add(self, method: str, set_name: str, scale: int, metrics: dict[str, float]) -> None:
        self.values[method][set_name][str(scale)].append(metrics)

    def results(self) -> dict:
        out: dict = {}
        for method, sets in self.values.items():
            for set_name, scales in sets.items():
                for scale, items in scales.items():
                    out.setdefault(method, {}).setdefault(set_name, {})[scale] = {
                        k: float(np.mean([m[k] for m in items])) for k in items[0]} | {"n": len(items)}
        return out


def run_bicubic_bench(data, sets=("Set5", "Set14", "B100"), scales=(2, 3, 4), progress: bool = True) -> dict:
    """The no-blur bicubic table (docs/DESIGN.md §3): HR → bicubic ↓s → uint8 → bicubic ↑s."""
    acc = _Accumulator()
    for set_name in sets:
        for s in scales:
            for im in tqdm(load_benchmark(data, set_name, s), desc=f"{set_name} x{s}", disable=not progress,
                           leave=False):
                sr = imresize_np(bicubic_lr(im.hr, s), s)
                acc.add("bicubic", set_name, s, evaluate_pair(sr, im.hr, s, gray=im.gray))
    return {"results": acc.results(), "protocol": dict(PROTOCOL, degradation="bicubic down, no blur")}


def run_gaussian8_bench(data, sets=("Set5", "Set14", "B100"), scales=(2, 3, 4),
                        methods: dict[int, Method] | None = None, progress: bool = True,
                        limit: int | None = None, workers: int = 1) -> dict:
    """Gaussian8: each HR image blurred with each of the 8 widths, bicubic ↓s, then every method.

    Args:
        methods: per scale, a Method returning {name: SR}; bicubic only when None.
        limit: evaluate only the first ``limit`` images of each set (quick runs; say so when reporting).
        workers: processes that share the images (default 1: this process). On a CPU, N processes
            of one thread each get more out of N cores than one process of N threads (small convs
            scale poorly across threads); the methods must pickle (``PipelineMethod`` does). Every
            image is measured alone and merged in image order, so the figures move only by the float
            rounding of a different thread count (about 1e-5 dB).
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    acc = _Accumulator()
    extra: dict = {}
    tasks = [(s, set_name, im.hr, im.gray) for s in scales for set_name in sets
             for im in load_benchmark(data, set_name, s)[:limit]]
    methods = {s: (methods or {}).get(s, bicubic_method) for s in scales}
    bar = tqdm(total=len(tasks), desc="Gaussian8 " + ",".join(sets) + " x" + ",".join(map(str, scales)),
               disable=not progress, leave=False, unit="image")
    if workers == 1:
        _init_worker(methods, None)
        results = map(_gaussian8_image, tasks)
    else:
        import concurrent.futures
        import multiprocessing
        threads = max(1, torch.get_num_threads() // workers)
        pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                      initializer=_init_worker, initargs=(methods, threads))
        results = pool.map(_gaussian8_image, tasks)
    try:
        for (s, set_name, _, _), (metrics, part) in zip(tasks, results):
            for name, m in metrics:
                acc.add(name, set_name, s, m)
            _merge_extra(extra, part)
            bar.update()
    finally:
        bar.close()
        if workers > 1:
            pool.shutdown(cancel_futures=True)
        else:
            _init_worker({}, None)  # this process holds no reference to the networks after the run
    protocol = dict(PROTOCOL, degradation="Gaussian8: 21x21 isotropic Gaussian (reflect padding), widths "
                    + "; ".join(f"x{s}: {gaussian8_sigmas(s)[0]:.2f}..{gaussian8_sigmas(s)[-1]:.2f}" for s in scales)
                    + " (8 equally spaced), then bicubic down, LR rounded to uint8")
    out = {"results": acc.results(), "protocol": protocol}
    if extra:
        out["extra"] = _finish_extra(extra)
    return out


_WORKER_METHODS: dict[int, Method] = {}


def _init_worker(methods: dict[int, Method], threads: int | None) -> None:
    global _WORKER_METHODS
    _WORKER_METHODS = methods
    if threads is not None:
        torch.set_num_threads(threads)


def _gaussian8_image(task) -> tuple[list[tuple[str, dict]], dict]:
    """One HR image's 8 LR versions through its scale's method: ([(method, metrics)], extras)."""
    s, set_name, hr, gray = task
    method, extra, metrics = _WORKER_METHODS[s], {}, []
    for sigma in gaussian8_sigmas(s):
        lr = gaussian8_lr(hr, s, sigma)
        outputs = method(lr, s, {"sigma": sigma, "extra": extra, "set": set_name})
        metrics += [(name, evaluate_pair(sr, hr, s, gray=gray)) for name, sr in outputs.items()]
    return metrics, extra


def _merge_extra(into: dict, part: dict) -> None:
    """Add one image's extras to the run's: lists are extended, counts added, anything else set."""
    for key, value in part.items():
        if isinstance(value, dict):
            _merge_extra(into.setdefault(key, {}), value)
        elif isinstance(value, list):
            into.setdefault(key, []).extend(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key in into:
            into[key] += value
        else:
            into[key] = value


def _finish_extra(extra: dict) -> dict:
    """Average list-valued extras (e.g. per-step code errors) collected by methods."""
    done: dict = {}
    for key, value in extra.items():
        if isinstance(value, dict):
            done[key] = _finish_extra(value)
        elif isinstance(value, list) and value and isinstance(value[0], (list, tuple, np.ndarray, torch.Tensor)):
            done[key] = np.mean(np.asarray([np.asarray(v, dtype=float) for v in value]), axis=0).tolist()
        elif isinstance(value, list):
            done[key] = float(np.mean(value))
        else:
            done[key] = value
    return done


def format_table(results: dict, metric_digits: int = 2) -> str:
    """Markdown table: one row per method, one column per set×scale, cells 'PSNR / SSIM'."""
    cols = []
    for sets in results.values():
        for set_name, scales in sets.items():
            for scale in scales:
                if (set_name, scale) not in cols:
                    cols.append((set_name, scale))
    cols.sort(key=lambda c: (int(c[1]), c[0]))
    lines = ["| method | " + " | ".join(f"{s} ×{k}" for s, k in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for method, sets in results.items():
        cells = []
        for set_name, scale in cols:
            r = sets.get(set_name, {}).get(scale)
            cells.append(f"{r['psnr']:.{metric_digits}f} / {r['ssim']:.4f}" if r else "–")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def merge_gaussian8_runs(runs: list[dict], note: str = "") -> dict:
    """One Gaussian8 JSON from runs of the same weights on different sets (e.g. Set5+Set14, then B100).

    ``results`` are joined (a set×scale may appear in one run only: a repeat is an error, since
    two measurements of one cell cannot both be the figure). Extras: counts are added; per-step
    lists (code and width errors) are averaged weighted by each run's LR images of that scale
    (``guard_events[scale]['images']``); the precision must agree.
    """
    if not runs:
        raise ValueError("merge_gaussian8_runs needs at least one run")
    precisions = {r.get("extra", {}).get("precision") for r in runs}
    if len(precisions) > 1:
        raise ValueError(f"cannot merge Gaussian8 runs of different precisions: {sorted(map(str, precisions))}")
    results: dict = {}
    for r in runs:
        for method, sets in r["results"].items():
            for set_name, scales in sets.items():
                for scale, cell in scales.items():
                    dest = results.setdefault(method, {}).setdefault(set_name, {})
                    if scale in dest:
                        raise ValueError(f"{method} {set_name} ×{scale} is in more than one run")
                    dest[scale] = cell
    weights = [{s: g.get("images", 0) for s, g in r.get("extra", {}).get("guard_events", {}).items()} for r in runs]
    extra: dict = {"precision": precisions.pop()}
    for r, w in zip(runs, weights):
        for key, per_scale in r.get("extra", {}).items():
            if key == "precision":
                continue
            dest = extra.setdefault(key, {})
            for scale, value in per_scale.items():
                if isinstance(value, dict):  # counts
                    into = dest.setdefault(scale, {})
                    for k, v in value.items():
                        into[k] = into.get(k, 0) + v
                elif isinstance(value, list):  # per-step means: sum weighted, divided below
                    acc = dest.setdefault(scale, [0.0] * len(value))
                    dest[scale] = [a + w.get(scale, 0) * v for a, v in zip(acc, value)]
                else:
                    dest[scale] = value
    total = {s: sum(w.get(s, 0) for w in weights) for w in weights for s in w}
    for key, per_scale in extra.items():
        if isinstance(per_scale, dict):
            for scale, value in per_scale.items():
                if isinstance(value, list):
                    if not total.get(scale):
                        raise ValueError(f"cannot weight {key} ×{scale}: no guard_events images counts")
                    per_scale[scale] = [v / total[scale] for v in value]
    out = {"results": results, "protocol": runs[0].get("protocol", {}), "extra": extra}
    if note:
        out["merged_from"] = note
    return out
