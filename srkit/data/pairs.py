"""Training pairs: in-memory HR patches, augmentation and batched on-the-fly degradation (paper eq. 7–8).

``PatchDataset`` decodes every image once into uint8 arrays (decoding PNGs per step would dominate
on 2 CPU cores). ``PairSampler.batch(step)`` draws a batch as a pure function of (seed, step, rank):
random crops, flips and 90° rotations on the CPU, then ``srkit.degrade.degrade`` on the training
device. Because nothing depends on the previous step, a resumed run sees exactly the batches an
uninterrupted one would (no data-order state to save).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from srkit.degrade import blur, degrade, per_image
from srkit.kernels import KernelPCA, KernelSpec, gaussian_kernels


def augment(img: np.ndarray, k: int, flip: bool) -> np.ndarray:
    """Rotate by k·90° then optionally flip left-right (the 8 dihedral transforms)."""
    img = np.rot90(img, k)
    return img[:, ::-1] if flip else img


class PatchDataset:
    """HR images (uint8 H×W×3) and optional label maps (int16 H×W, -1 = ignore) held in memory.

    Args:
        images: uint8 H×W×3 arrays.
        labels: optional int label maps, one per image, same H×W.
        names: optional names (for reports).
    """

    def __init__(self, images: list[np.ndarray], labels: list[np.ndarray] | None = None,
                 names: list[str] | None = None):
        if not images:
            raise ValueError("PatchDataset needs at least one image")
        for i, im in enumerate(images):
            if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3:
                raise ValueError(f"image {i} must be uint8 H×W×3, got {im.dtype} {im.shape}")
            if labels is not None and labels[i].shape != im.shape[:2]:
                raise ValueError(f"label map {i} has shape {labels[i].shape}, image {im.shape[:2]}")
        self.images = images
        self.labels = None if labels is None else [np.asarray(lb, np.int16) for lb in labels]
        self.names = names or [f"image_{i}" for i in range(len(images))]

    @classmethod
    def from_refs(cls, refs: list[str]) -> "PatchDataset":
        from srkit.data.sources import load_ref
        return cls([load_ref(r) for r in refs], names=list(refs))

    def __len__(self) -> int:
        return len(self.images)

    @property
    def min_side(self) -> int:
        return min(min(im.shape[:2]) for im in self.images)

    def crops(self, n: int, size: int, rng: np.random.Generator, augment_: bool = True):
        """n random size×size crops (uint8 n×size×size×3, labels int16 n×size×size or None)."""
        if size > self.min_side:
            raise ValueError(f"patch size {size} exceeds the smallest image side {self.min_side}; "
                             "raise min_size when building the manifest or lower the patch size")
        idx = rng.integers(0, len(self.images), n)
        out = np.empty((n, size, size, 3), np.uint8)
        lab = None if self.labels is None else np.empty((n, size, size), np.int16)
        for j, i in enumerate(idx):
            h, w = self.images[i].shape[:2]
            y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            k, flip = (int(rng.integers(4)), bool(rng.integers(2))) if augment_ else (0, False)
            out[j] = augment(self.images[i][y:y + size, x:x + size], k, flip)
            if lab is not None:
                lab[j] = augment(self.labels[i][y:y + size, x:x + size], k, flip)
        return out, lab

    # -- carrying a training set to another machine: one lossless .npz --------------------------
    def pack(self, path: str | Path, crop: int | None = None, per_image: int = 1, seed: int = 0) -> Path:
        """Write the images (or ``per_image`` random crop×crop crops of each) to one .npz (uint8, lossless)."""
        from srkit.imageio import atomic_path
        rng = np.random.default_rng(seed)
        arrays = {}
        for i, im in enumerate(self.images):
            sub = PatchDataset([im], None if self.labels is None else [self.labels[i]])
            for j in range(per_image if crop else 1):
                img, lab = sub.crops(1, crop, rng, augment_=False) if crop else (im[None], None if self.labels
                                                                                  is None else self.labels[i][None])
                arrays[f"img_{i:06d}_{j:03d}"] = img[0]
                if lab is not None:
                    arrays[f"lab_{i:06d}_{j:03d}"] = lab[0]
        with atomic_path(Path(path).with_suffix(".npz")) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)
        return Path(path).with_suffix(".npz")

    @classmethod
    def from_npz(cls, path: str | Path) -> "PatchDataset":
        """Load a set written by ``pack`` (no pickle: ``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as z:
            keys = sorted(k for k in z.files if k.startswith("img_"))
            images = [z[k] for k in keys]
            labels = [z["lab_" + k[4:]] for k in keys] if keys and "lab_" + keys[0][4:] in z.files else None
        return cls(images, labels, names=keys)


@dataclass
class DegradationConfig:
    """How LR images are made from HR patches (paper eq. 7).

    Attributes:
        scale: 2, 3 or 4.
        sigma_range: kernel width range; None = the scale's range (×4: [0.2, 4.0]).
        aniso_prob: share of anisotropic kernels (0 = the paper's isotropic setting).
        noise: Gaussian noise level (0–255 scale): a number or a [low, high] range per image. The paper
            uses 15; IKC trains noise-free. Default 0.
        noise_share: share of the images that get ``noise`` (the rest none); 1 (default) = every
            image. Archive material comes noisy, coded, both or neither, and a model that has only
            seen noise reads fine texture as noise.
        jpeg: JPEG quality or [low, high] range (0 = none).
        mpeg2: MPEG-2 intra quantiser scale 1–31 or [low, high] range (0 = none).
        compression_share: (JPEG share, MPEG-2 share) of the images, the rest left uncompressed;
            None (default) applies ``jpeg`` and ``mpeg2`` to every image. The archive bundles train
            on a mix, since archive material comes both ways and clean.
        hr_soften: share of HR patches blurred by an isotropic Gaussian of σ ~ U(``hr_soften_range``)
            before eq. 7 (0 = none, the paper's setting). The softened patch is the HR target and the
            code is still that of eq. 7's kernel: archive masters and benchmark images such as Set5
            are softer than T91/BSD200, and a kernel estimator that has only seen crisp HR reads an
            image's own softness as kernel blur.
        hr_soften_range: [low, high] σ in HR pixels for ``hr_soften``.
    """
    scale: int = 4
    sigma_range: tuple[float, float] | None = None
    aniso_prob: float = 0.0
    noise: float | tuple[float, float] = 0.0
    noise_share: float = 1.0
    jpeg: int | tuple[int, int] = 0
    mpeg2: int | tuple[int, int] = 0
    compression_share: tuple[float, float] | None = None
    hr_soften: float = 0.0
    hr_soften_range: tuple[float, float] = (0.3, 1.0)

    def __post_init__(self):
        if not 0.0 <= self.noise_share <= 1.0:
            raise ValueError(f"noise_share must be in [0, 1], got {self.noise_share!r}")
        if self.compression_share is not None:
            pj, pm = self.compression_share
            if min(pj, pm) < 0 or pj + pm > 1:
                raise ValueError(f"compression_share must be two shares >= 0 summing to <= 1, got "
                                 f"{self.compression_share!r}")
        lo, hi = self.hr_soften_range
        if not 0.0 <= self.hr_soften <= 1.0 or not 0.0 < lo <= hi:
            raise ValueError(f"hr_soften must be in [0, 1] and hr_soften_range 0 < low <= high: "
                             f"{self.hr_soften!r}, {self.hr_soften_range!r}")

    def kernel_spec(self) -> KernelSpec:
        return KernelSpec(scale=self.scale, sigma_range=None if self.sigma_range is None else tuple(self.sigma_range),
                          aniso_prob=self.aniso_prob)


def _tuple(v):
    return tuple(v) if isinstance(v, list) else v


def soften_hr(hr: torch.Tensor, share: float, sigma_range: tuple[float, float],
              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Blur a random ``share`` of the images of hr (N×3×H×W) by isotropic Gaussians of σ ~ U(sigma_range).

    Returns:
        (the batch, N widths with 0 where an image was left as it was).
    """
    n = hr.shape[0]
    pick = torch.rand(n, generator=generator) < share
    lo, hi = sigma_range
    sigma = lo + (hi - lo) * torch.rand(n, generator=generator)
    if not pick.any():
        return hr, torch.zeros(n)
    size = 2 * math.ceil(3 * hi) + 1  # ±3σ of the widest blur
    soft = blur(hr[pick], gaussian_kernels(sigma[pick], sigma[pick], torch.zeros(int(pick.sum())), size=size))
    out = hr.clone()
    out[pick.to(hr.device)] = soft
    return out, torch.where(pick, sigma, torch.zeros(n))


def make_batch(hr_u8: np.ndarray, cfg: DegradationConfig, pca: KernelPCA | None, generator: torch.Generator,
               device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Degrade a uint8 batch n×H×W×3 → the mini-batch items of paper eq. 8 plus the noise level.

    Returns:
        {"hr": n×3×H×W, "lr": n×3×H/s×W/s (float [0, 1] on ``device``), "kernel": n×21×21,
        "code": n×b (only with a PCA), "noise": n (0–255), "sigma": n kernel widths (sigma_x),
        "hr_soften": n widths of the HR softening (only with ``cfg.hr_soften`` > 0; 0 = not softened),
        "compression": n codecs applied, 0 none, 1 JPEG, 2 MPEG-2 (only with ``cfg.compression_share``)}.
    """
    hr = torch.from_numpy(np.ascontiguousarray(hr_u8)).to(device).permute(0, 3, 1, 2).float() / 255
    soft = None
    if cfg.hr_soften > 0:  # draws only when on, so batches of runs without it are unchanged
        hr, soft = soften_hr(hr, cfg.hr_soften, cfg.hr_soften_range, generator)
    jpeg, mpeg2 = _tuple(cfg.jpeg), _tuple(cfg.mpeg2)
    if cfg.compression_share is not None:  # draws only when on, as above
        n, (pj, pm) = hr.shape[0], cfg.compression_share
        u = torch.rand(n, generator=generator)
        jpeg = torch.where(u < pj, per_image(jpeg, n, generator, "jpeg"), torch.zeros(n))
        mpeg2 = torch.where((u >= pj) & (u < pj + pm), per_image(mpeg2, n, generator, "mpeg2"), torch.zeros(n))
    noise = _tuple(cfg.noise)
    if cfg.noise_share < 1:  # draws only when on, as above
        n = hr.shape[0]
        u = torch.rand(n, generator=generator)
        noise = torch.where(u < cfg.noise_share, per_image(noise, n, generator, "noise"), torch.zeros(n))
    d = degrade(hr, cfg.scale, kernel_spec=cfg.kernel_spec(), noise_sigma=noise,
                jpeg_quality=jpeg, mpeg2_qscale=mpeg2, pca=pca, generator=generator)
    out = {"hr": hr, "lr": d.lr, "kernel": d.kernels, "noise": d.noise_sigma.to(device),
           "sigma": d.params["sigma_x"].to(device)}
    if d.codes is not None:
        out["code"] = d.codes
    if soft is not None:
        out["hr_soften"] = soft.to(device)
    if cfg.compression_share is not None:
        out["compression"] = ((d.jpeg_quality > 0).long() + 2 * (d.mpeg2_qscale > 0).long()).to(device)
    return out


@dataclass
class PairSampler:
    """Batches of (HR, LR, kernel, code, noise) as a pure function of the step.

    Attributes:
        data: the HR patches.
        degradation: eq. 7 settings.
        patch: HR patch size (a multiple of the scale).
        batch: images per batch (per process under DDP).
        pca: kernel PCA for the codes (None = no codes).
        seed: base seed; a batch is seeded by (seed, step, rank, salt).
        rank: process index under DDP (each process draws different images).
        salt: changed after a NaN rollback so the offending batch is not drawn again.
    """
    data: PatchDataset
    degradation: DegradationConfig
    patch: int = 96
    batch: int = 16
    pca: KernelPCA | None = None
    seed: int = 0
    rank: int = 0
    salt: int = 0
    device: str | torch.device = "cpu"
    augment: bool = True
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.patch % self.degradation.scale:
            raise ValueError(f"patch size {self.patch} is not a multiple of the scale {self.degradation.scale}")

    def batch_at(self, step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, step, self.rank, self.salt])
        hr, labels = self.data.crops(self.batch, self.patch, rng, self.augment)
        g = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
        out = make_batch(hr, self.degradation, self.pca, g, self.device)
        if labels is not None:
            s = self.degradation.scale
            # Label of the LR pixel = label at the centre of its s×s HR block (nearest neighbour).
            out["label"] = torch.from_numpy(labels[:, s // 2::s, s // 2::s].astype(np.int64)).to(self.device)
        return out


def fixed_batch(data: PatchDataset, degradation: DegradationConfig, n: int, patch: int,
                pca: KernelPCA | None = None, seed: int = 1234, device="cpu") -> dict[str, torch.Tensor]:
    """A deterministic cached LR set (validation): same seed → identical images, kernels and noise."""
    return PairSampler(data, degradation, patch, n, pca, seed, augment=False, device=device).batch_at(0)


# -- report -----------------------------------------------------------------------------------
def build_report(manifest: dict | None, data: PatchDataset, sampler: PairSampler | None = None,
                 n_kernels: int = 256) -> dict:
    """What was built: image counts per split, size range, and a histogram of sampled kernel widths."""
    sides = np.array([im.shape[:2] for im in data.images])
    rep = {"images_in_memory": len(data), "megapixels": round(float((sides[:, 0] * sides[:, 1]).sum()) / 1e6, 3),
           "height": [int(sides[:, 0].min()), int(sides[:, 0].max())],
           "width": [int(sides[:, 1].min()), int(sides[:, 1].max())]}
    if manifest is not None:
        rep["splits"] = {k: len(manifest[k]) for k in ("train", "val", "test")}
        rep["dropped_small"] = len(manifest.get("dropped", []))
        rep["min_size"] = manifest.get("min_size")
    if sampler is not None:
        from srkit.kernels import sample_kernels
        spec = sampler.degradation.kernel_spec()
        _, params = sample_kernels(n_kernels, spec, torch.Generator().manual_seed(sampler.seed))
        counts, edges = np.histogram(params["sigma_x"].numpy(), bins=8, range=spec.sigma_range)
        deg = sampler.degradation
        rep.update(scale=deg.scale, patch=sampler.patch, batch=sampler.batch, noise=deg.noise, jpeg=deg.jpeg)
        # the archive mixture's settings, only where they are not the defaults (older reports unchanged)
        if deg.noise_share != 1.0:
            rep["noise_share"] = deg.noise_share
        if deg.mpeg2:
            rep["mpeg2"] = deg.mpeg2
        if deg.compression_share is not None:
            rep["compression_share"] = list(deg.compression_share)
        rep["kernel_width_hist"] = {"edges": [round(float(e), 3) for e in edges], "counts": counts.tolist()}
    return rep


def format_report(rep: dict) -> str:
    """The report as readable text (one fact per line, a bar chart for the kernel widths)."""
    lines = [f"{k}: {v}" for k, v in rep.items() if k != "kernel_width_hist"]
    if "kernel_width_hist" in rep:
        h = rep["kernel_width_hist"]
        top = max(h["counts"]) or 1
        lines.append("kernel width (sigma) histogram:")
        for lo, hi, c in zip(h["edges"], h["edges"][1:], h["counts"]):
            lines.append(f"  {lo:5.2f}–{hi:5.2f} {'#' * round(30 * c / top)} {c}")
    return "\n".join(lines)
