"""HR image sources for training, the minimum-size filter and the 8:1:1 split manifest.

A source is a list of image *references*: short strings that say where an image comes from and
that a JSON manifest can store::

    file:/abs/path/img.png          an image file (from ``folder_refs``)
    skimage:astronaut               an image shipped inside scikit-image (``skimage_refs``)
    hf:<name or dir>:<split>:<i>    row i of a HuggingFace ``datasets`` split (``hf_refs``)

``load_ref(ref)`` decodes any of them to uint8 H×W×3 (gray/RGBA converted, docs/DESIGN.md §2).
``build_manifest`` filters by size, splits train/val/test 8:1:1 with a seed, and writes JSON.
"""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np

from srkit.imageio import IMAGE_SUFFIXES, atomic_path, read_image_uint8, to_float_rgb, to_uint8

# scikit-image's colour and gray photographs large enough to crop training patches from.
SKIMAGE_IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "text", "page", "immunohistochemistry",
                  "grass", "brick", "gravel", "moon", "hubble_deep_field", "motorcycle_left", "retina", "cat")
SPLIT_RATIOS = (8, 1, 1)
DEFAULT_TRAIN_SETS = ("T91", "BSD200")


# -- references --------------------------------------------------------------------------------
def folder_refs(folder: str | Path, recursive: bool = True) -> list[str]:
    """Every image file under ``folder`` (recursive by default), sorted, as ``file:`` references."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"training image folder not found: {folder}")
    paths = folder.rglob("*") if recursive else folder.iterdir()
    refs = sorted(f"file:{p.resolve()}" for p in paths if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not refs:
        raise FileNotFoundError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) under {folder}")
    return refs


def skimage_refs(names: tuple[str, ...] = SKIMAGE_IMAGES) -> list[str]:
    """scikit-image's bundled photographs that exist in the installed version."""
    import skimage.data
    return [f"skimage:{n}" for n in names if hasattr(skimage.data, n)]


def _hf_offline_hint() -> str:
    flags = [k for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if os.environ.get(k) == "1"]
    return (f" ({' and '.join(flags)}=1 is set)" if flags else "") + \
        ("; without internet access, download the images once elsewhere and pass a local folder "
         "(e.g. --data DIR or folder_refs(DIR)) or a local imagefolder directory instead")


@functools.lru_cache(maxsize=8)
def hf_dataset(name_or_dir: str, split: str = "train"):
    """Open a HuggingFace ``datasets`` split: a local directory (``imagefolder``) or a hub name.

    Raises:
        ImportError: ``datasets`` is not installed.
        FileNotFoundError / ConnectionError: the data is neither local nor downloadable; the message
            says what is missing.
    """
    try:
        import datasets
    except ImportError as e:
        raise ImportError("HuggingFace sources need the 'datasets' package: pip install datasets") from e
    if Path(name_or_dir).is_dir():
        return datasets.load_dataset("imagefolder", data_dir=str(name_or_dir), split=split)
    try:
        return datasets.load_dataset(name_or_dir, split=split)
    except Exception as e:  # offline hub, unknown name, missing cache: all mean "not available here"
        raise ConnectionError(f"HuggingFace dataset {name_or_dir!r} (split {split!r}) is not available: "
                              f"{type(e).__name__}: {str(e)[:200]}" + _hf_offline_hint()) from e


def _image_column(ds) -> str:
    for name, feature in ds.features.items():
        if type(feature).__name__ == "Image":
            return name
    raise ValueError(f"dataset has no image column (columns: {list(ds.features)})")


def hf_refs(name_or_dir: str, split: str = "train", limit: int | None = None) -> list[str]:
    """``hf:`` references to the rows of a HuggingFace dataset split (see ``hf_dataset``)."""
    if ":" in name_or_dir:
        raise ValueError(f"HuggingFace dataset name must not contain ':', got {name_or_dir!r}")
    n = len(hf_dataset(name_or_dir, split))
    return [f"hf:{name_or_dir}:{split}:{i}" for i in range(n if limit is None else min(n, limit))]


def load_ref(ref: str) -> np.ndarray:
    """Decode a reference to uint8 H×W×3."""
    kind, _, rest = ref.partition(":")
    if kind == "file":
        return read_image_uint8(rest)
    if kind == "skimage":
        import skimage.data
        return to_uint8(to_float_rgb(getattr(skimage.data, rest)(), ref))
    if kind == "hf":
        name, split, idx = rest.rsplit(":", 2)
        ds = hf_dataset(name, split)
        return to_uint8(to_float_rgb(np.asarray(ds[int(idx)][_image_column(ds)].convert("RGB")), ref))
    raise ValueError(f"unknown image reference {ref!r} (expected file:, skimage: or hf:)")


def image_size(ref: str) -> tuple[int, int]:
    """(height, width) of a reference; files are measured from their header without decoding."""
    if ref.startswith("file:"):
        from PIL import Image
        with Image.open(ref[5:]) as im:
            return im.height, im.width
    h, w = load_ref(ref).shape[:2]
    return h, w


def default_train_refs(data_dir: str | Path | None = None, log=print) -> list[str]:
    """``DATA/T91`` + ``DATA/BSD200`` (DATA = ``data_dir`` or ``$SRKIT_DATA``) when present, else
    scikit-image's images (``log`` says which was used)."""
    from srkit.paths import default_data_dir
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    refs = []
    for name in DEFAULT_TRAIN_SETS:
        if root is not None and (root / name).is_dir():
            refs += folder_refs(root / name)
    if refs:
        log(f"training images: {len(refs)} from {', '.join(DEFAULT_TRAIN_SETS)} under {root}")
        return refs
    log(f"training images: {', '.join(DEFAULT_TRAIN_SETS)} not found (data dir: {root}); using the "
        "scikit-image sample images (few: fine for smoke runs, not for real training; pass --data DIR)")
    return skimage_refs()


# -- filter, split, manifest -------------------------------------------------------------------
def split_refs(refs: list[str], seed: int = 0, ratios: tuple[int, int, int] = SPLIT_RATIOS) -> dict[str, list[str]]:
    """Shuffle with ``seed`` and cut into train/val/test by ``ratios`` (8:1:1).

    Every split with a non-zero ratio gets at least one image when there are enough images
    (the train split keeps the remainder).
    """
    order = np.random.default_rng(seed).permutation(len(refs))
    refs = [refs[i] for i in order]
    n, total = len(refs), sum(ratios)
    n_val = max(1, round(n * ratios[1] / total)) if ratios[1] and n >= 3 else 0
    n_test = max(1, round(n * ratios[2] / total)) if ratios[2] and n >= 3 else 0
    return {"train": refs[n_val + n_test:], "val": refs[:n_val], "test": refs[n_val:n_val + n_test]}


def build_manifest(refs: list[str], path: str | Path | None = None, *, min_size: int = 96, seed: int = 0,
                   ratios: tuple[int, int, int] = SPLIT_RATIOS) -> dict:
    """Filter by size, split 8:1:1 and (optionally) write the manifest JSON atomically.

    Args:
        refs: image references (``folder_refs``, ``skimage_refs``, ``hf_refs``).
        path: where to write the JSON (None = do not write).
        min_size: images whose shorter side is below this (pixels, HR) are dropped; use at least the
            HR patch size.
        seed: split seed.

    Returns:
        {"version", "seed", "min_size", "ratios", "sizes": {ref: [h, w]}, "dropped": [...],
        "train": [...], "val": [...], "test": [...]}.
    """
    sizes = {r: image_size(r) for r in refs}
    kept = [r for r in refs if min(sizes[r]) >= min_size]
    if not kept:
        raise ValueError(f"no image has a shorter side >= min_size={min_size} (of {len(refs)} images)")
    manifest = {"version": 1, "seed": seed, "min_size": min_size, "ratios": list(ratios),
                "sizes": {r: list(sizes[r]) for r in kept},
                "dropped": [r for r in refs if r not in set(kept)], **split_refs(kept, seed, ratios)}
    if path is not None:
        write_json(path, manifest)
    return manifest


def write_json(path: str | Path, obj) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=1))


