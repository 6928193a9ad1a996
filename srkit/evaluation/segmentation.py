"""How well a segmenter finds the 10 categories on held-out images, as the pipeline sees them.

The pipeline segments the LR image (docs/DESIGN.md §1), so the test images are degraded first:
HR modcropped to the scale, the middle Gaussian8 blur of the scale, MATLAB bicubic ↓s, optional
noise, uint8 LR; the label of an LR pixel is the label at the centre of its s×s HR block (as in
training, ``srkit.data.pairs``). Held-out sets, none of them used in training:

- ``Stanford val``: the 143 images of Stanford Background's own val split;
- ``SIFT Flow test``: the 269 test images of the SIFT Flow subset;
- ``composites``: faces and captions pasted on SIFT Flow test scenes (their labels kept under the
  pastes), with a seed training never draws (``HELDOUT_SEED``); the text category is each
  caption's box (``text_label='box'``, ``srkit.data.synth.make_segmentation_sample``). Without
  SIFT Flow they go on scikit-image's photos, whose own pixels are then unscored;
- ``composites (glyphs)``: the same images with the text category on the glyph pixels only (a
  stricter label: at LR the strokes of small captions are under a pixel wide).

``srkit bench segmentation --data $SRKIT_DATA --weights x2`` runs it.
"""
from __future__ import annotations

import numpy as np
import torch

from srkit.degrade import degrade_uint8
from srkit.imageio import as_tensor
from srkit.kernels import gaussian8_middle
from srkit.metrics import confusion, iou_from_confusion

HELDOUT_SEED = 10_000  # composites of this seed are never drawn by the trainers (seed 0, 1, ...)
SETS = ("Stanford val", "SIFT Flow test", "composites")
ALL_SETS = SETS + ("composites (glyphs)",)


def heldout_sets(data_dir, sets=SETS, composites: int = 40, limit: int | None = None) -> dict[str, list]:
    """{set name: [SegSample]} of the held-out sets found under ``data_dir`` (a set that is absent is
    left out). The composites go on all SIFT Flow test scenes whatever ``limit`` (so the first N
    are the same composites), or on scikit-image's photos without them; faces from ``data_dir/faces``."""
    from srkit.data.label_maps import IGNORE
    from srkit.data.segmentation import load_faces, load_siftflow, load_stanford, synthetic_samples
    out = {}
    scenes = None
    for name in sets:
        try:
            if name == "Stanford val":
                out[name] = load_stanford(data_dir, "val", limit)
            elif name == "SIFT Flow test":
                out[name] = load_siftflow(data_dir, "test", limit)
            elif name in ("composites", "composites (glyphs)"):
                if scenes is None:
                    try:
                        scenes = load_siftflow(data_dir, "test") if data_dir is not None else []
                    except FileNotFoundError:
                        scenes = []
                out[name] = synthetic_samples(composites if limit is None else min(limit, composites), size=256,
                                              seed=HELDOUT_SEED, faces=load_faces(data_dir, 8),
                                              backgrounds=None if not scenes else [], base=scenes,
                                              plain_label=IGNORE,
                                              text_label="box" if name == "composites" else "glyphs")
            else:
                raise ValueError(f"unknown held-out set {name!r}; choose from {ALL_SETS}")
        except FileNotFoundError:
            continue
    return out


def modcrop_sample(sample, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 HR, int64 HR labels) of a SegSample, cropped to a multiple of ``scale``."""
    h, w = (np.array(sample.labels.shape) // scale) * scale
    return sample.image[:h, :w], sample.labels[:h, :w].astype(np.int64)


def lr_label_map(labels: np.ndarray, scale: int) -> np.ndarray:
    """The label of each LR pixel: the HR label at the centre of its s×s block (as in training)."""
    return labels[scale // 2::scale, scale // 2::scale]


def lr_and_labels(sample, scale: int, sigma: float | None = None, noise: float = 0.0, seed: int = 0):
    """(uint8 LR, int64 LR label map) of a SegSample, degraded as the pipeline sees it."""
    hr, labels = modcrop_sample(sample, scale)
    lr = degrade_uint8(hr, scale, sigma=gaussian8_middle(scale) if sigma is None else sigma, noise=noise, seed=seed)
    return lr, lr_label_map(labels, scale)


def false_face_text(cm) -> float:
    """Share of the labelled pixels called face or text whose truth is neither (rows: truth,
    columns: prediction of a K×K confusion matrix); the floor for scenes without faces or captions."""
    from srkit.categories import CATEGORY_INDEX
    cm = np.asarray(cm, np.float64)
    ft = [CATEGORY_INDEX["face"], CATEGORY_INDEX["text"]]
    other = [k for k in range(cm.shape[0]) if k not in ft]
    return float(cm[np.ix_(other, ft)].sum() / max(cm.sum(), 1))


@torch.no_grad()
def evaluate_segmenter(segnet, sets: dict[str, list], scale: int, sigma: float | None = None,
                       noise: float = 0.0, device: str = "cpu", priors=None) -> dict:
    """Per-category IoU, mIoU, pixel accuracy and false face/text share of ``segnet`` (a SegNet) on
    each set; with ``priors`` (``srkit.models.priors.SegPriors``) ψ is fused with them first.

    Returns:
        {set: {"iou_<category>", "miou", "pixel_acc", "false_face_text", "images", "categories"}}:
        IoU is NaN for a category absent from a set's truth and predictions, 0 for one predicted but
        absent from the truth; mIoU averages the ``categories`` present in the truth.
    """
    from srkit.categories import CATEGORIES
    segnet = segnet.to(device).eval()
    out = {}
    for name, samples in sets.items():
        cm = 0
        for i, s in enumerate(samples):
            lr, labels = lr_and_labels(s, scale, sigma, noise, seed=i)
            x = as_tensor(lr, device)
            if priors is None:
                pred = segnet.logits(x).argmax(1)[0].cpu()
            else:
                pred = priors(lr, segnet(x).cpu()).argmax(1)[0]
            cm = cm + confusion(pred, torch.from_numpy(labels))
        r = iou_from_confusion(cm)
        present = [c for c, n in zip(CATEGORIES, np.asarray(cm).sum(1)) if n > 0]
        # mIoU over the categories in the set's truth: a set without faces is not scored on them
        r["miou"] = float(np.mean([r[f"iou_{c}"] for c in present])) if present else float("nan")
        out[name] = {**r, "false_face_text": false_face_text(cm), "images": len(samples), "categories": present}
    return out


def format_segmentation(results: dict[str, dict]) -> str:
    """Markdown: a row per (segmenter, set), per-category IoU, mIoU, pixel accuracy and the share of
    pixels falsely called face or text."""
    from srkit.categories import CATEGORIES
    lines = ["| segmenter | set | " + " | ".join(CATEGORIES) + " | mIoU | pixel acc | false face/text |",
             "|---|---|" + "---|" * (len(CATEGORIES) + 3)]
    for model, by_set in results.items():
        for name, r in by_set.items():
            cells = ["–" if not np.isfinite(r[f"iou_{c}"]) else f"{r[f'iou_{c}']:.3f}" for c in CATEGORIES]
            lines.append(f"| {model} | {name} ({r['images']}) | " + " | ".join(cells)
                         + f" | {r['miou']:.3f} | {r['pixel_acc']:.3f} | {100 * r.get('false_face_text', float('nan')):.2f} % |")
    return "\n".join(lines)
