"""Segmentation training data: CamVid, ADE20K, Stanford Background, SIFT Flow and MSRC-v2 label maps
mapped to the 10 categories, and synthetic face/text composites for the broadcast classes
(srkit.data.synth).

Every loader returns ``SegSample``s: uint8 H×W×3 images with int16 H×W category maps (docs/DESIGN.md §2
order; -1 = ignore). The mapping tables live in ``srkit.data.label_maps`` (documented there).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from srkit.data.label_maps import IGNORE, map_ade20k, map_camvid, map_msrc, map_siftflow, map_stanford
from srkit.imageio import list_images, read_image_uint8, to_float_rgb, to_uint8


@dataclass
class SegSample:
    name: str
    image: np.ndarray   # uint8 H×W×3
    labels: np.ndarray  # int16 H×W, categories 0..9, -1 ignore


def _load_pairs(root: Path, label_dir: str, mapper: Callable, limit: int | None,
                stems: set[str] | None = None, prefix: str | None = None) -> list[SegSample]:
    from PIL import Image
    if not (root / "images").is_dir():
        raise FileNotFoundError(f"no images folder {root / 'images'}")
    images = [p for p in list_images(root / "images") if stems is None or p.stem in stems][:limit]
    out = []
    for p in images:
        lp = root / label_dir / (p.stem + ".png")
        if not lp.is_file():
            raise FileNotFoundError(f"no label file {lp} for image {p}")
        img, lab = read_image_uint8(p), mapper(np.asarray(Image.open(lp)))
        if lab.shape != img.shape[:2]:
            raise ValueError(f"{lp}: label map {lab.shape} does not match image {img.shape[:2]}")
        out.append(SegSample(f"{prefix or root.name}/{p.stem}", img, lab.astype(np.int16)))
    return out


def load_camvid(data_dir: str | Path, limit: int | None = None) -> list[SegSample]:
    """``DATA/segmentation/CamVid_val_sub`` (12-class label PNGs) mapped by ``label_maps.map_camvid``."""
    return _load_pairs(Path(data_dir) / "segmentation" / "CamVid_val_sub", "labels", map_camvid, limit)


def load_ade20k(data_dir: str | Path, limit: int | None = None) -> list[SegSample]:
    """``DATA/segmentation/ADE20K_samples`` (150-class annotations) mapped by ``label_maps.map_ade20k``."""
    return _load_pairs(Path(data_dir) / "segmentation" / "ADE20K_samples", "annotations", map_ade20k, limit)


def load_stanford(data_dir: str | Path, split: str | None = None, limit: int | None = None) -> list[SegSample]:
    """``DATA/segmentation/StanfordBackground`` mapped by ``label_maps.map_stanford``.

    ``split``: 'train' (572) or 'val' (143), the dataset's own ``splits/*.txt``; None = all 715.
    """
    root = Path(data_dir) / "segmentation" / "StanfordBackground"
    stems = None
    if split is not None:
        if split not in ("train", "val"):
            raise ValueError(f"Stanford Background splits are 'train' and 'val', got {split!r}")
        stems = set((root / "splits" / f"{split}.txt").read_text().split())
    return _load_pairs(root, "labels", map_stanford, limit, stems, prefix=f"StanfordBackground/{split or 'all'}")


def load_siftflow(data_dir: str | Path, split: str = "train", limit: int | None = None) -> list[SegSample]:
    """``DATA/segmentation/SIFTFlow_sub/<split>`` ('train' or 'test') mapped by ``label_maps.map_siftflow``."""
    if split not in ("train", "test"):
        raise ValueError(f"SIFT Flow splits are 'train' and 'test', got {split!r}")
    root = Path(data_dir) / "segmentation" / "SIFTFlow_sub" / split
    return _load_pairs(root, "labels", map_siftflow, limit, prefix=f"SIFTFlow/{split}")


def load_msrc(data_dir: str | Path, limit: int | None = None) -> list[SegSample]:
    """``DATA/segmentation/MSRC_v2_sub`` (animals and faces) mapped by ``label_maps.map_msrc``; no split of
    its own (``split_samples`` makes one)."""
    return _load_pairs(Path(data_dir) / "segmentation" / "MSRC_v2_sub", "labels", map_msrc, limit, prefix="MSRC_v2")


def load_faces(data_dir: str | Path | None, limit: int | None = None) -> list[np.ndarray]:
    """Aligned face crops (``DATA/faces/kair_real_faces``) for the face composites; [] when absent."""
    d = Path(data_dir) / "faces" / "kair_real_faces" if data_dir is not None else None
    if d is None or not d.is_dir():
        return []
    return [read_image_uint8(p) for p in list_images(d)[:limit]]


def synthetic_samples(n: int, size: int = 192, seed: int = 0, faces: list[np.ndarray] = (),
                      backgrounds: list[np.ndarray] | None = None, base: list[SegSample] = (),
                      text_label: str = "glyphs", plain_label: int = 0) -> list[SegSample]:
    """n composites with exact face (8) and text (9) masks from ``srkit.data.synth``.

    Args:
        n: number of samples.
        size: side of each square sample (HR pixels).
        seed: sample i uses the seed (seed, i), so the set is reproducible and extendable.
        faces: face crops to paste (none = text only).
        backgrounds: plain photos (labelled background); default scikit-image's.
        base: labelled samples to draw backgrounds from too (their labels are kept under the pastes).
        text_label: 'glyphs' (the text category is the glyph pixels) or 'box' (the caption's box);
            the images are the same either way (``srkit.data.synth.make_segmentation_sample``).
        plain_label: the label of a plain photo's own pixels: 0 (background, default) or IGNORE
            (-1: unscored). Plain photos are not labelled scenes: scikit-image's grass is grass and
            its coffee cup stands on a table, so calling them background teaches the segmenter
            the opposite of the real sets.
    """
    from srkit.data.scenes import default_backgrounds
    from srkit.data.synth import make_segmentation_sample
    plain = [(b, np.full(b.shape[:2], plain_label, np.int64))
             for b in (backgrounds if backgrounds is not None else default_backgrounds())]
    pool = plain + [(s.image, s.labels) for s in base]
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        bg, lab = pool[int(rng.integers(len(pool)))]
        img, labels = make_segmentation_sample(bg, rng, labels=lab, faces=[to_float_rgb(f) for f in faces],
                                               crop=size, n_text=(1, 3), n_faces=(0, 2),
                                               text_label=text_label)
        out.append(SegSample(f"synth/{i}", to_uint8(img), labels.astype(np.int16)))
    return out


def hf_segmentation(name: str = "scene_parse_150", split: str = "train", mapper: str | Callable = "ade20k",
                    image_column: str = "image", label_column: str = "annotation",
                    limit: int | None = None) -> list[SegSample]:
    """Segmentation data through HuggingFace ``datasets`` (for users online, or with a local cache).

    Args:
        name: hub name or local directory, e.g. 'scene_parse_150' (ADE20K).
        mapper: 'ade20k', 'camvid', or a function from the dataset's label map to srkit categories
            (for COCO-Stuff or COCO panoptic, pass your own table as a function).
        image_column / label_column: column names of the image and the label map.
        limit: first N rows only.
    """
    from srkit.data.sources import hf_dataset
    fn = {"ade20k": map_ade20k, "camvid": map_camvid}.get(mapper, mapper) if isinstance(mapper, str) else mapper
    if not callable(fn):
        raise ValueError(f"mapper must be 'ade20k', 'camvid' or a function, got {mapper!r}")
    ds = hf_dataset(name, split)
    missing = [c for c in (image_column, label_column) if c not in ds.features]
    if missing:
        raise ValueError(f"dataset {name!r} has no column(s) {missing}; columns: {list(ds.features)}")
    out = []
    for i in range(len(ds) if limit is None else min(limit, len(ds))):
        row = ds[i]
        img = to_uint8(to_float_rgb(np.asarray(row[image_column].convert("RGB"))))
        out.append(SegSample(f"{name}/{i}", img, fn(np.asarray(row[label_column])).astype(np.int16)))
    return out


def split_samples(samples: list[SegSample], seed: int = 0) -> dict[str, list[SegSample]]:
    """8:1:1 train/val/test split of samples (seeded; the same rule as ``sources.split_refs``)."""
    from srkit.data.sources import split_refs
    by_name = {s.name: s for s in samples}
    return {k: [by_name[n] for n in v] for k, v in split_refs([s.name for s in samples], seed).items()}


def class_counts(samples: list[SegSample], num_classes: int = 10) -> list[int]:
    """Labelled pixels per category (ignore excluded), e.g. for a report or class weights."""
    total = np.zeros(num_classes, np.int64)
    for s in samples:
        lab = s.labels[s.labels != IGNORE]
        total += np.bincount(lab.ravel(), minlength=num_classes)[:num_classes]
    return total.tolist()
