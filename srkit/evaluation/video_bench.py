"""The video benchmark (``srkit bench video``): per-frame fidelity and temporal consistency of clips.

Clips: camera motion over held-out stills (``srkit.data.sequences``: Set14, B100) and any folder of
real HR sequences (one sub-folder of frames per sequence). Each clip is degraded frame by frame under
one **protocol** (``srkit.degrade.protocol_lr``):

* ``srkit``: clip i blurred by Gaussian8 width i mod 8 (one kernel for the whole clip, 21×21
  isotropic), MATLAB bicubic ↓s; centre phase;
* ``bi``: MATLAB bicubic ↓s, no blur (the "BI" columns of published video tables); centre phase;
* ``bd``: the DUF downsampler (13×13 Gaussian σ = 0.4·s, every s-th pixel; the "BD" columns of
  Vid4, Vimeo-90K-T, UDM10); **corner** phase;

then each cell's damage (``srkit.evaluation.degraded.GRID``: Gaussian noise seeded per frame, JPEG or
MPEG-2 intra coding per frame; the published protocols are the 'clean' cell), LR stored as uint8.

Methods: ``bicubic`` (MATLAB bicubic ↑s) and any bundle, frame by frame with one kernel estimate per
clip on its first frame (as ``srkit upscale`` does once per shot); a multi-frame bundle
(``srkit.models.edvr``) takes each frame's window of neighbours instead, and is also run as the control
that repeats the centre frame. Every method is aligned for the
LR's sampling **phase** (``srkit.phase``): 'centre' leaves outputs as they are; 'corner' (the default
of 'bd') moves them by −(s − 1)/2 HR pixels (``align='output'``) or moves the LR before the network
(``align='lr'``). ``phases=('centre', 'corner')`` runs both and suffixes the method names, which shows
what an unhandled phase costs.

Scores: PSNR/SSIM per frame on the published protocol (``srkit.metrics``: Y, shave = scale), averaged
over each clip's frames and then over clips; warping error and its excess over the ground truth's
own (``srkit.evaluation.temporal``). x-t slices of each clip can be written as PNGs.
"""
from __future__ import annotations

import numpy as np
import torch

from srkit.data.sequences import Clip
from srkit.degrade import PROTOCOLS, protocol_lr
from srkit.evaluation.degraded import GRID, Cell, damage
from srkit.evaluation.temporal import clip_motion, warping_error, xt_panel, xt_slice
from srkit.kernels import gaussian8_sigmas
from srkit.metrics import PROTOCOL, evaluate_pair
from srkit.phase import DEFAULT_WAY, WAYS, align_lr, align_output, check_phase
from srkit.resize import imresize_np

PROTOCOL_PHASE = {"srkit": "centre", "bi": "centre", "bd": "corner"}


def clip_lr(clip: Clip, scale: int, protocol: str, cell: Cell, index: int, seed: int = 0) -> list[np.ndarray]:
    """The uint8 LR frames of clip ``index`` of a set: ``protocol`` (the 'srkit' blur is Gaussian8 width
    ``index mod 8``, one for the whole clip), then ``cell``'s damage (noise seeded per frame)."""
    sigma = gaussian8_sigmas(scale)[index % 8] if protocol == "srkit" else None
    return [damage(protocol_lr(frame, scale, protocol, sigma=sigma), cell, seed + 1000 * index + t)
            for t, frame in enumerate(clip.frames)]


def bicubic(lrs: list[np.ndarray], scale: int, name: str) -> list[np.ndarray]:
    """The bicubic baseline: MATLAB bicubic ↑s of each frame (uint8 or float [0, 1]) → uint8."""
    from srkit.imageio import to_uint8
    return [to_uint8(imresize_np(lr, scale)) if lr.dtype != np.uint8 else imresize_np(lr, scale) for lr in lrs]


class BundleMethod:
    """A bundle (``srkit.inference.pipeline.Pipeline``) frame by frame: one guarded IKC kernel estimate
    on the clip's first frame (``ModelRunner.estimate``, as video does once per shot), then one
    untiled generator pass per frame with that code; implausible pixels replaced as ``srkit upscale``
    does. Pickles (for ``workers``): the runner is built in the process that runs it."""

    def __init__(self, pipeline, steps: int = 7, device: str = "cpu"):
        self.pipeline, self.steps, self.device, self._runner = pipeline, steps, device, None

    def __getstate__(self):
        return {**self.__dict__, "_runner": None}

    @property
    def scale(self) -> int:
        return self.pipeline.scale

    @torch.no_grad()
    def __call__(self, lrs: list[np.ndarray], scale: int, name: str) -> list[np.ndarray]:
        from srkit.imageio import to_uint8
        from srkit.inference.runner import ModelRunner
        from srkit.inference.tiling import tiled_upscale
        if scale != self.scale:
            raise ValueError(f"{name}: the bundle upscales ×{self.scale}, the bench asks ×{scale}")
        if self._runner is None:
            self._runner = ModelRunner(self.pipeline, steps=self.steps, device=self.device)
        runner = self._runner

        def tensor(lr):
            t = torch.from_numpy(np.ascontiguousarray(lr)).permute(2, 0, 1)[None]
            return t.float() / 255 if t.dtype == torch.uint8 else t.float()
        code = runner.estimate(tensor(lrs[0]), f"{name} (frame 0)").code
        tile_fn = runner.tile_fn(code)
        outs = [to_uint8(tiled_upscale(tensor(lr), tile_fn, scale, tile=0, device=runner.device)[0].clamp(0, 1))
                for lr in lrs]
        if tile_fn.replaced:  # the guard's count over the clip, one line naming it
            from srkit.inference.guard import warn
            warn([tile_fn.message(name)])
        return outs


class WindowMethod(BundleMethod):
    """A multi-frame bundle (``srkit.inference.windows``): one guarded kernel estimate on the clip's
    first frame, then each frame from its window (a clip is one shot: windows are padded at its ends
    by repeating the first or last frame). ``repeat_centre``: the control that feeds every window the
    centre frame T times. Pickles (for ``workers``): the runner is built in the process that runs it."""

    def __init__(self, pipeline, steps: int = 7, device: str = "cpu", repeat_centre: bool = False):
        super().__init__(pipeline, steps, device)
        self.repeat_centre = repeat_centre

    @torch.no_grad()
    def __call__(self, lrs: list[np.ndarray], scale: int, name: str) -> list[np.ndarray]:
        from srkit.imageio import to_uint8
        from srkit.inference.windows import WindowRunner, shot_windows
        if scale != self.scale:
            raise ValueError(f"{name}: the bundle upscales ×{self.scale}, the bench asks ×{scale}")
        if self._runner is None:
            self._runner = WindowRunner(self.pipeline, self.steps, self.device, self.repeat_centre)
        runner = self._runner
        runner.replaced = runner.pixels = 0
        frames = torch.stack([torch.from_numpy(np.ascontiguousarray(lr)).permute(2, 0, 1) for lr in lrs])
        frames = frames.float() / 255 if frames.dtype == torch.uint8 else frames.float()
        code = runner.estimate(frames[:1], f"{name} (frame 0)")
        outs = [to_uint8(runner.upscale(frames[idx], code)[0]) for idx in shot_windows(len(lrs), runner.frames)]
        if runner.replaced:
            from srkit.inference.guard import warn
            warn([runner.message(name)])
        return outs


def bundle_methods(weights: list[str], scale: int, steps: int = 7, device: str = "cpu") -> dict:
    """{name: method} for bundled names or checkpoint paths, each of ``scale``: a ``BundleMethod``
    per single-frame bundle; a multi-frame one gives two rows, its ``WindowMethod`` and the control
    'NAME, centre ×T' (the centre frame repeated: what the model does without time)."""
    from srkit.checkpoint import load_checkpoint, resolve
    from srkit.inference.pipeline import Pipeline
    from srkit.models.edvr import MultiFrameGenerator
    methods = {}
    for w in weights:
        ckpt = load_checkpoint(resolve(w), device)
        if "generator" not in ckpt.modules:
            raise ValueError(f"{w}: the video bench needs a pipeline checkpoint, got {sorted(ckpt.modules)}")
        pipeline = Pipeline.from_checkpoint(ckpt)
        if pipeline.scale != scale:
            raise ValueError(f"{w} is a ×{pipeline.scale} model, --scale is {scale}")
        if isinstance(pipeline.generator, MultiFrameGenerator):
            methods[w] = WindowMethod(pipeline, steps, device)
            methods[f"{w}, centre ×{pipeline.generator.cfg.frames}"] = WindowMethod(pipeline, steps, device, True)
        else:
            methods[w] = BundleMethod(pipeline, steps, device)
    return methods


def method_names(methods, phases) -> list[str]:
    """Row names: the method's own with one phase, 'name [phase]' with several."""
    return [m if len(phases) == 1 else f"{m} [{p}]" for m in methods for p in phases]


_WORKER: dict = {}


def _init_worker(settings: dict, threads: int | None) -> None:
    _WORKER.clear()
    _WORKER.update(settings)
    if threads is not None:
        torch.set_num_threads(threads)


def _clip_task(task) -> dict:
    """One clip through every cell, method and phase: {"gt_warp", "kept", "cells": {cell: {row:
    {"psnr", "ssim", "warp"}}}, "slices": {cell: x-t panel}}."""
    set_name, index, clip = task
    w = _WORKER
    scale = w["scale"]
    motion = clip_motion(clip.frames)
    out = {"gt_warp": warping_error(clip.frames, motion, shave=scale), "kept": motion.kept,
           "cells": {}, "slices": {}}
    for cell in w["cells"]:
        lrs = clip_lr(clip, scale, w["protocol"], cell, index, w["seed"])
        label = f"{set_name} clip {clip.name} ({cell.name})"
        rows, slices = {}, {"ground truth": xt_slice(clip.frames)}
        for name, method in w["methods"].items():
            for phase in w["phases"]:
                row = name if len(w["phases"]) == 1 else f"{name} [{phase}]"
                srs = upscale_clip(method, lrs, scale, phase, w["align"], label)
                scores = [evaluate_pair(sr, hr, scale, gray=clip.gray) for sr, hr in zip(srs, clip.frames)]
                stack = np.stack(srs)
                rows[row] = {"psnr": float(np.mean([f["psnr"] for f in scores])),
                             "ssim": float(np.mean([f["ssim"] for f in scores])),
                             "warp": warping_error(stack, motion, shave=scale)}
                slices[row] = xt_slice(stack)
        out["cells"][cell.name] = rows
        out["slices"][cell.name] = xt_panel(slices)
    return out


def upscale_clip(method, lrs: list[np.ndarray], scale: int, phase: str, align: str, name: str) -> list[np.ndarray]:
    """Every uint8 LR frame through ``method`` ((frames, scale, name) → uint8 SR frames), aligned for
    ``phase`` LR the ``align`` way ('output': the SR moved after; 'lr': the LR moved before, as
    float [0, 1] with no rounding added, so the kernel estimate sees the moved frame too)."""
    if align not in WAYS:
        raise ValueError(f"align must be one of {WAYS}, got {align!r}")
    if check_phase(phase) == "centre":
        return method(lrs, scale, name)
    if align == "output":
        return [align_output(sr, scale, phase) for sr in method(lrs, scale, name)]
    moved = [np.clip(align_lr(lr.astype(np.float32) / 255, scale, phase), 0, 1) for lr in lrs]
    return method(moved, scale, name)


def run_video_bench(clip_sets: dict[str, list[Clip]], scale: int, methods: dict | None = None,
                    protocol: str = "srkit", cells=(GRID[0],), phases: tuple[str, ...] | None = None,
                    align: str = DEFAULT_WAY, seed: int = 0, workers: int = 1, progress: bool = True,
                    slices_dir=None) -> dict:
    """Every clip of every set under ``protocol`` and each cell, through bicubic and ``methods``.

    Args:
        clip_sets: {set name: [Clip]} (``srkit.data.sequences``).
        methods: {name: method} besides bicubic (``bundle_methods``); each maps (uint8 or float LR
            frames, scale, name) to uint8 SR frames.
        protocol: 'srkit' (default), 'bi' or 'bd' (module docstring).
        cells: damage cells (default: clean only).
        phases: the phases to align for (default: the protocol's own, 'corner' for 'bd').
        align: 'output' (default, ``srkit.phase.DEFAULT_WAY``) or 'lr'.
        workers: processes sharing the clips, one thread each (default 1: this process).
        slices_dir: when given, one x-t panel PNG per clip and cell is written there.

    Returns:
        {"results": {set: {cell: {method: {"psnr", "ssim", "warp", "warp_excess", "clips", "frames"}}}},
        "clips": {set: {clip: {"motion", "frames", "size", "gt_warp", "kept", ...}}},
        "per_clip": {set: {cell: {clip: {method: {"psnr", "ssim", "warp"}}}}}, "cells", "settings"}.
    """
    from tqdm.auto import tqdm
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    phases = tuple(check_phase(p) for p in (phases or (PROTOCOL_PHASE[protocol],)))
    settings = {"scale": scale, "protocol": protocol, "cells": tuple(cells), "phases": phases,
                "align": align, "seed": seed, "methods": {"bicubic": bicubic, **(methods or {})}}
    tasks = [(s, i, c) for s, clips in clip_sets.items() for i, c in enumerate(clips)]
    if not tasks:
        raise ValueError("no clips to run")
    bar = tqdm(total=len(tasks), desc=f"video x{scale} {protocol}", unit="clip", disable=not progress, leave=False)
    if workers == 1:
        _init_worker(settings, None)
        results = map(_clip_task, tasks)
    else:
        import concurrent.futures
        import multiprocessing
        pool = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
            initargs=(settings, max(1, torch.get_num_threads() // workers)))
        results = pool.map(_clip_task, tasks)
    per_clip: dict = {}
    clips_info: dict = {}
    try:
        for (set_name, _, clip), part in zip(tasks, results):
            clips_info.setdefault(set_name, {})[clip.name] = {
                "motion": clip.motion, "frames": len(clip.frames), "size": list(clip.frames.shape[1:3]),
                "gt_warp": part["gt_warp"], "kept": part["kept"], **clip.info}
            for cell, rows in part["cells"].items():
                per_clip.setdefault(set_name, {}).setdefault(cell, {})[clip.name] = rows
            if slices_dir is not None:
                _write_slices(slices_dir, set_name, clip.name, part["slices"])
            bar.update()
    finally:
        bar.close()
        if workers > 1:
            pool.shutdown(cancel_futures=True)
        else:
            _init_worker({}, None)
    return {"results": summarise(per_clip, clips_info), "clips": clips_info, "per_clip": per_clip,
            "cells": [c.__dict__ for c in cells],
            "settings": {"scale": scale, "protocol": protocol, "phases": list(phases), "align": align,
                         "seed": seed, "slice_rows": ["ground truth"] + method_names(settings["methods"], phases)}}


def summarise(per_clip: dict, clips_info: dict) -> dict:
    """Means over clips of the per-clip figures; warp_excess = warp − the ground truth's own."""
    out: dict = {}
    for set_name, by_cell in per_clip.items():
        for cell, by_clip in by_cell.items():
            rows = list(dict.fromkeys(r for c in by_clip.values() for r in c))
            dest = out.setdefault(set_name, {}).setdefault(cell, {})
            for row in rows:
                items = [(clip, v[row]) for clip, v in by_clip.items() if row in v]
                dest[row] = {k: float(np.mean([v[k] for _, v in items])) for k in ("psnr", "ssim", "warp")}
                dest[row]["warp_excess"] = float(np.mean([v["warp"] - clips_info[set_name][c]["gt_warp"]
                                                          for c, v in items]))
                dest[row]["clips"] = len(items)
                dest[row]["frames"] = int(sum(clips_info[set_name][c]["frames"] for c, _ in items))
    return out


def _write_slices(folder, set_name: str, clip: str, panels: dict) -> None:
    from pathlib import Path

    from srkit.imageio import write_image
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for cell, panel in panels.items():
        write_image(folder / f"{set_name.replace(' ', '_')}_{clip}_{cell.replace(' ', '')}_xt.png", panel)


def format_video(out: dict) -> str:
    """Markdown: per set and cell, a row per method: PSNR / SSIM, warping error and its excess."""
    lines = []
    for set_name, by_cell in out["results"].items():
        for cell, rows in by_cell.items():
            first = next(iter(rows.values()))
            gt = np.mean([c["gt_warp"] for c in out["clips"][set_name].values()])
            lines += [f"{set_name}, {cell} ({first['clips']} clips, {first['frames']} frames; ground truth's "
                      f"own warping error {gt:.2f}):", "",
                      "| method | PSNR / SSIM (Y) | warping error | excess over ground truth |", "|---|---|---|---|"]
            best = max(r["psnr"] for r in rows.values())
            for row, r in rows.items():
                fid = f"{r['psnr']:.2f} / {r['ssim']:.4f}"
                lines.append(f"| {row} | {'**' + fid + '**' if r['psnr'] == best else fid} | "
                             f"{r['warp']:.2f} | {r['warp_excess']:+.2f} |")
            lines.append("")
    return "\n".join(lines)


def describe_protocol(protocol: str, scale: int, cells, phases, align: str, steps: int) -> dict:
    """The JSON's ``protocol`` object: the metrics' protocol plus how the LR was made and aligned."""
    made = {"srkit": f"x{scale}: clip i blurred by Gaussian8 width i mod 8 (isotropic 21x21, reflect), MATLAB "
                     "bicubic down (centre phase)",
            "bi": f"x{scale}: MATLAB bicubic down, no blur (BI; centre phase)",
            "bd": f"x{scale}: DUF downsampler, 13x13 Gaussian sigma={0.4 * scale:.1f}, reflect padding, every "
                  f"{scale}th pixel (BD; corner phase: LR pixel i = blurred HR pixel {scale}i)"}[protocol]
    damage_text = ", ".join(c.name for c in cells)
    return dict(PROTOCOL, degradation=f"{made}; cells: {damage_text} (noise seeded per frame, JPEG / MPEG-2 "
                                      "intra per frame); uint8 LR",
                phase=", ".join(phases) + (f" (corner aligned by moving the {'SR by -(s-1)/2 HR' if align == 'output' else 'LR by -(s-1)/(2s) LR'} "
                                          "pixels, cubic B-spline)" if "corner" in phases else ""),
                methods=f"bicubic; bundles frame by frame, one IKC kernel estimate per clip on its first frame (t={steps}); "
                        "multi-frame bundles on each frame's window, padded at the clip's ends by repetition",
                averaging="per-frame PSNR/SSIM averaged over each clip, then over clips",
                temporal="warping error: output t-1 warped to t by the ground truth's TV-L1 flow (scikit-image), "
                         "forward-backward occlusion check, MSE on Y (0-255 levels), shave = scale; excess = "
                         "minus the ground truth's own")
