"""Training data as the trainers use it: HR pairs for the SR stages, labelled samples for S.

Both write ``manifest.json`` (which image is in which split) and ``data_report.json`` to the run
folder on rank 0, and return a ``PairSampler`` plus a fixed validation batch.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from srkit.data.pairs import PairSampler, PatchDataset, build_report, fixed_batch, format_report
from srkit.data.sources import (build_manifest, default_train_refs, folder_refs, hf_refs, skimage_refs,
                                split_refs, write_json)
from srkit.kernels import KernelPCA, KernelSpec
from srkit.train import dist


def fit_pca(spec: KernelSpec, n: int = 30000, seed: int = 0) -> KernelPCA:
    """The kernel PCA of the training kernels ``spec`` (``DegradationConfig.kernel_spec()``; fixed
    seed, so every stage fits the same one; cached per spec, n and seed)."""
    return _fit_pca(spec.scale, tuple(spec.sigma_range), spec.aniso_prob, spec.size, n, seed)


@functools.lru_cache(maxsize=8)
def _fit_pca(scale: int, sigma_range: tuple[float, float], aniso_prob: float, size: int, n: int,
             seed: int) -> KernelPCA:
    spec = KernelSpec(scale=scale, sigma_range=sigma_range, aniso_prob=aniso_prob, size=size)
    return KernelPCA.fit(spec, n=n, seed=seed)


def resolve_refs(data: str | None, log=print) -> list[str]:
    """Image references for ``TrainConfig.data`` (see its docstring)."""
    if data is None:
        return default_train_refs(log=log)
    if data == "skimage":
        return skimage_refs()
    if data.startswith("hf:"):
        return hf_refs(data[3:])
    root = Path(data)
    subsets = [root / n for n in ("T91", "BSD200") if (root / n).is_dir()]
    if subsets:  # a data root (docs/DESIGN.md §4): never train on its benchmark sets
        return [r for s in subsets for r in folder_refs(s)]
    return folder_refs(root)


def sr_data(cfg, pca: KernelPCA | None, device, out: Path, log=print):
    """(PairSampler for training, fixed validation batch) for the SR trainers."""
    main = dist.is_main()
    deg = cfg.degradation
    if cfg.data and str(cfg.data).endswith(".npz"):
        packed = PatchDataset.from_npz(cfg.data)
        split = split_refs(packed.names, cfg.seed)
        pick = lambda names: PatchDataset([packed.images[packed.names.index(n)] for n in names], names=names)  # noqa
        manifest = {"source": str(cfg.data), **split}
        train, val = pick(split["train"]), pick(split["val"] or split["train"])
    else:
        refs = resolve_refs(cfg.data, log if main else (lambda *a: None))
        manifest = build_manifest(refs, out / "manifest.json" if main else None,
                                  min_size=max(cfg.patch, cfg.val_patch), seed=cfg.seed)
        train_refs = manifest["train"][:cfg.max_images or None]
        train = PatchDataset.from_refs(train_refs)
        # Tiny sources (scikit-image) may leave no validation image: validate on training images then.
        val = PatchDataset.from_refs(manifest["val"] or train_refs[:1])
    sampler = PairSampler(train, deg, cfg.patch, cfg.batch, pca, cfg.seed, rank=dist.rank(), device=device)
    val_batch = fixed_batch(val, deg, cfg.val_images, cfg.val_patch, pca, seed=cfg.seed + 1, device=device)
    if main:
        rep = build_report(manifest if "dropped" in manifest else None, train, sampler)
        write_json(out / "data_report.json", rep)
        log(format_report(rep))
    return sampler, val_batch


def pad_to(image: np.ndarray, labels: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(image, labels) padded at the bottom and right to at least side×side: the image mirrored
    (np.pad 'symmetric', natural statistics for the degradation's blur), the labels IGNORE (the
    padding is scored nowhere). Unchanged (the same arrays) when already large enough."""
    from srkit.data.label_maps import IGNORE
    h, w = labels.shape
    ph, pw = max(0, side - h), max(0, side - w)
    if not ph and not pw:
        return image, labels
    if ph > h or pw > w:
        raise ValueError(f"image of {h}×{w} px is less than half the patch size {side}; lower the patch size")
    return (np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="symmetric"),
            np.pad(labels, ((0, ph), (0, pw)), constant_values=IGNORE))


def seg_data(cfg, device, out: Path, log=print):
    """(PairSampler with labels, fixed validation batch with labels) for the segmentation trainer.

    Sources: ``cfg.sources`` under ``cfg.data`` or $SRKIT_DATA (when present): 'camvid', 'ade20k',
    'stanford' (its train split only), 'siftflow' (its train split only), 'msrc'; plus
    ``cfg.synthetic`` face/text composites, and ``cfg.hf_dataset`` when set. Real images are split
    8:1:1; synthetic samples are split the same way so faces and text are validated too. Stanford
    val and SIFT Flow test never enter (they are ``srkit bench segmentation``'s held-out sets).
    """
    from srkit.paths import default_data_dir
    from srkit.data.segmentation import (class_counts, hf_segmentation, load_ade20k, load_camvid, load_faces,
                                         load_msrc, load_siftflow, load_stanford, split_samples, synthetic_samples)
    root = Path(cfg.data) if cfg.data else default_data_dir()
    loaders = {"camvid": lambda: load_camvid(root, cfg.camvid_limit or None), "ade20k": lambda: load_ade20k(root),
               "stanford": lambda: load_stanford(root, "train"), "siftflow": lambda: load_siftflow(root, "train"),
               "msrc": lambda: load_msrc(root)}
    unknown = sorted(set(cfg.sources) - set(loaders))
    if unknown:
        raise ValueError(f"unknown segmentation sources {unknown}; choose from {sorted(loaders)}")
    real = []
    if root is not None and (root / "segmentation").is_dir():
        real = [s for name in cfg.sources for s in loaders[name]()]
    if cfg.hf_dataset:
        real += hf_segmentation(cfg.hf_dataset, limit=cfg.max_images or None)
    real_parts = split_samples(real, cfg.seed) if real else None
    # 'scenes': composites only on the real training split, so none is built on a validation scene
    on_scenes = cfg.composite_base == "scenes" and real
    base = real_parts["train"] if on_scenes else real[:4]
    synth = synthetic_samples(cfg.synthetic, size=cfg.synth_size, seed=cfg.seed, faces=load_faces(root, 8),
                              backgrounds=[] if on_scenes else None, base=base,
                              text_label=cfg.text_label) if cfg.synthetic else []
    if not real and not synth:
        raise FileNotFoundError(f"no segmentation data: no {root}/segmentation (CamVid_val_sub, ADE20K_samples), "
                                "synthetic=0 and no hf_dataset; set SRKIT_DATA or --data, or synthetic > 0")
    parts = [p for p in (real_parts, split_samples(synth, cfg.seed) if synth else None) if p]
    train = [s for p in parts for s in p["train"]]
    val = [s for p in parts for s in p["val"]] or train[:2]
    side = max(cfg.patch, cfg.val_patch)

    def mk(samples):
        pairs = [pad_to(s.image, s.labels, side) for s in samples]
        n_padded = sum(p[0] is not s.image for p, s in zip(pairs, samples))
        if n_padded and dist.is_main():
            log(f"padded {n_padded} of {len(samples)} images smaller than {side} px (mirrored, padding ignored)")
        return PatchDataset([p[0] for p in pairs], [p[1] for p in pairs], [s.name for s in samples])

    deg = cfg.degradation
    sampler = PairSampler(mk(train), deg, cfg.patch, cfg.batch, None, cfg.seed, rank=dist.rank(), device=device)
    val_batch = fixed_batch(mk(val), deg, cfg.val_images, cfg.val_patch, None, seed=cfg.seed + 1, device=device)
    if dist.is_main():
        manifest = {"train": [s.name for s in train], "val": [s.name for s in val], "test": [
            s.name for p in parts for s in p["test"]]}
        write_json(out / "manifest.json", manifest)
        rep = {**build_report(None, sampler.data, sampler), "real": len(real), "synthetic": len(synth),
               "splits": {k: len(v) for k, v in manifest.items()}, "train_pixels_per_class": class_counts(train)}
        write_json(out / "data_report.json", rep)
        log(format_report(rep))
    return sampler, val_batch
