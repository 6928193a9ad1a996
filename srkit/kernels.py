"""Blur kernels of the degradation model (paper eq. 7) and their PCA codes (IKC).

All kernels are float32 torch tensors that sum to 1. Sizes are odd (21 by default) so that the
kernel centre is a pixel.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

KERNEL_SIZE = 21

# Isotropic width ranges per scale (docs/DESIGN.md §1; IKC's training ranges).
SIGMA_RANGES = {2: (0.2, 2.0), 3: (0.2, 3.0), 4: (0.2, 4.0)}

# docs/DESIGN.md §2: 8 widths equally spaced in these ranges (IKC / DAN's Gaussian8).
GAUSSIAN8_RANGES = {2: (0.80, 1.60), 3: (1.35, 2.40), 4: (1.80, 3.20)}


def gaussian8_sigmas(scale: int) -> list[float]:
    """The 8 kernel widths of Gaussian8 at ``scale`` (docs/DESIGN.md §2)."""
    if scale not in GAUSSIAN8_RANGES:
        raise ValueError(f"Gaussian8 is defined for scales {sorted(GAUSSIAN8_RANGES)}, got {scale}")
    lo, hi = GAUSSIAN8_RANGES[scale]
    return [float(v) for v in np.linspace(lo, hi, 8)]


def gaussian8_middle(scale: int) -> float:
    """The middle Gaussian8 width at ``scale`` (×2 1.2, ×3 1.875, ×4 2.5): the single blur width of the
    category bench, the demo and the notebook widgets."""
    if scale not in GAUSSIAN8_RANGES:
        raise ValueError(f"Gaussian8 is defined for scales {sorted(GAUSSIAN8_RANGES)}, got {scale}")
    lo, hi = GAUSSIAN8_RANGES[scale]
    return round((lo + hi) / 2, 6)  # 1.2, not 1.2000000000000002


def _check_size(size: int) -> None:
    if not isinstance(size, int) or size < 3 or size % 2 == 0:
        raise ValueError(f"kernel size must be an odd int >= 3, got {size!r}")


def _grid(size: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    r = torch.arange(size, dtype=torch.float64, device=device) - (size - 1) / 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    return xx, yy  # size×size each, x to the right, y down


def gaussian_kernels(sigma_x: torch.Tensor, sigma_y: torch.Tensor, theta: torch.Tensor,
                     size: int = KERNEL_SIZE) -> torch.Tensor:
    """Batched anisotropic Gaussian kernels.

    Args:
        sigma_x: N widths (pixels, > 0) along the rotated x axis.
        sigma_y: N widths (pixels, > 0) along the rotated y axis.
        theta: N angles in radians; the x axis of the Gaussian is rotated by theta
            counter-clockwise in image coordinates (y down), so theta = pi/2 puts sigma_x vertically.
        size: odd kernel size, default 21.

    Returns:
        N×size×size float32 kernels, each summing to 1.
    """
    _check_size(size)
    sx = torch.as_tensor(sigma_x, dtype=torch.float64).reshape(-1, 1, 1)
    sy = torch.as_tensor(sigma_y, dtype=torch.float64).reshape(-1, 1, 1)
    th = torch.as_tensor(theta, dtype=torch.float64).reshape(-1, 1, 1)
    if (sx <= 0).any() or (sy <= 0).any() or not torch.isfinite(sx).all() or not torch.isfinite(sy).all():
        raise ValueError(f"Gaussian widths must be finite and > 0, got sigma_x={sx.flatten().tolist()}, "
                         f"sigma_y={sy.flatten().tolist()}")
    xx, yy = _grid(size, sx.device)
    c, s = torch.cos(th), torch.sin(th)
    # Coordinates in the kernel's own frame; y points down, so a positive theta turns the
    # x axis towards -y (counter-clockwise as seen on screen).
    u = c * xx - s * yy
    v = s * xx + c * yy
    k = torch.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    k = k / k.sum(dim=(-2, -1), keepdim=True)
    return k.float()


def gaussian_kernel(sigma: float | None = None, *, sigma_x: float | None = None,
                    sigma_y: float | None = None, theta: float = 0.0,
                    size: int = KERNEL_SIZE) -> torch.Tensor:
    """One Gaussian kernel: isotropic (``sigma``) or anisotropic (``sigma_x``, ``sigma_y``, ``theta``).

    Returns:
        size×size float32 tensor summing to 1.
    """
    if sigma is not None:
        if sigma_x is not None or sigma_y is not None:
            raise ValueError("give either sigma or sigma_x/sigma_y, not both")
        sigma_x = sigma_y = sigma
    if sigma_x is None:
        raise ValueError("gaussian_kernel needs sigma or sigma_x")
    sigma_y = sigma_x if sigma_y is None else sigma_y
    return gaussian_kernels(torch.tensor([float(sigma_x)]), torch.tensor([float(sigma_y)]),
                            torch.tensor([float(theta)]), size)[0]


def kernel_width(kernels: torch.Tensor) -> torch.Tensor:
    """Isotropic width σ of kernels from their second moment: sqrt((var_x + var_y) / 2).

    Negative values (a decoded PCA code can hold a few) are clipped to 0 and the rest renormalised;
    moments are taken about the kernel's own centroid. For an isotropic Gaussian of σ in
    [0.8, 2.0] this returns σ to 1e-3; narrower ones read as sampled on the pixel grid (σ = 0.5
    reads 0.46, σ = 0.2 is a single pixel) and the 21×21 window cuts the tails of wide ones
    (σ = 3.2 reads 3.18). An anisotropic Gaussian reads sqrt((σx² + σy²) / 2).

    Args:
        kernels: N×k×k or k×k, k odd.

    Returns:
        N widths in pixels (float32).
    """
    k = kernels.reshape(-1, *kernels.shape[-2:]).double().clamp(min=0)
    if k.shape[-1] != k.shape[-2] or k.shape[-1] % 2 == 0:
        raise ValueError(f"kernel_width needs square kernels of odd size, got shape {tuple(kernels.shape)}")
    mass = k.sum(dim=(-2, -1))
    if (mass <= 0).any():
        raise ValueError("kernel_width: a kernel has no positive values")
    k = k / mass.reshape(-1, 1, 1)
    xx, yy = _grid(k.shape[-1], k.device)
    mx, my = (k * xx).sum(dim=(-2, -1)), (k * yy).sum(dim=(-2, -1))
    var = (k * ((xx - mx.reshape(-1, 1, 1)) ** 2 + (yy - my.reshape(-1, 1, 1)) ** 2)).sum(dim=(-2, -1)) / 2
    return var.sqrt().float()


def motion_kernel(length: float, angle: float, size: int = KERNEL_SIZE, supersample: int = 8) -> torch.Tensor:
    """Anti-aliased linear motion blur: a segment of ``length`` pixels through the centre.

    Args:
        length: segment length in pixels, in [1, size]; length <= 1 gives the identity kernel.
        angle: direction in radians, counter-clockwise from the x axis as seen on screen.
        size: odd kernel size.
        supersample: sub-pixel samples per pixel used for anti-aliasing.

    Returns:
        size×size float32 tensor summing to 1.
    """
    _check_size(size)
    if not math.isfinite(length) or length < 0 or length > size:
        raise ValueError(f"motion length must be in [0, {size}], got {length}")
    n = max(2, int(math.ceil(length * supersample)) + 1)
    t = torch.linspace(-length / 2, length / 2, n, dtype=torch.float64)
    xs = t * math.cos(angle) + (size - 1) / 2
    ys = -t * math.sin(angle) + (size - 1) / 2
    k = torch.zeros(size, size, dtype=torch.float64)
    # Bilinear splatting of points along the segment gives the anti-aliased line.
    x0, y0 = xs.floor(), ys.floor()
    for dx in (0, 1):
        for dy in (0, 1):
            w = (1 - (xs - x0 - dx).abs()) * (1 - (ys - y0 - dy).abs())
            xi, yi = (x0 + dx).long(), (y0 + dy).long()
            ok = (xi >= 0) & (xi < size) & (yi >= 0) & (yi < size)
            k.index_put_((yi[ok], xi[ok]), w[ok], accumulate=True)
    return (k / k.sum()).float()


@dataclass
class KernelSpec:
    """How random training kernels are drawn.

    Attributes:
        scale: SR scale; selects the width range from SIGMA_RANGES unless sigma_range is given.
        sigma_range: (min, max) Gaussian width in pixels.
        aniso_prob: probability of an anisotropic kernel (0 = the paper's isotropic-only setting).
        size: kernel size.
    """
    scale: int = 4
    sigma_range: tuple[float, float] | None = None
    aniso_prob: float = 0.0
    size: int = KERNEL_SIZE

    def __post_init__(self):
        if self.scale not in SIGMA_RANGES and self.sigma_range is None:
            raise ValueError(f"unsupported scale {self.scale}; choose one of {sorted(SIGMA_RANGES)}")
        if self.sigma_range is None:
            self.sigma_range = SIGMA_RANGES[self.scale]
        lo, hi = self.sigma_range
        if not 0 < lo <= hi:
            raise ValueError(f"sigma_range must satisfy 0 < min <= max, got {self.sigma_range}")
        self.sigma_range = (float(lo), float(hi))
        if not 0.0 <= self.aniso_prob <= 1.0:
            raise ValueError(f"aniso_prob must be in [0, 1], got {self.aniso_prob}")


def sample_kernels(n: int, spec: KernelSpec | int = 4, generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Draw n random Gaussian kernels, uniformly in width (and angle for anisotropic ones).

    Args:
        n: number of kernels.
        spec: a KernelSpec, or just the scale (isotropic, range from SIGMA_RANGES).
        generator: torch.Generator for reproducibility (CPU).

    Returns:
        (kernels n×size×size, params) with params sigma_x, sigma_y, theta (each n floats).
    """
    spec = KernelSpec(scale=spec) if isinstance(spec, int) else spec
    lo, hi = spec.sigma_range
    u = torch.rand(n, 4, generator=generator, dtype=torch.float64)
    sx = lo + (hi - lo) * u[:, 0]
    aniso = u[:, 3] < spec.aniso_prob
    sy = torch.where(aniso, lo + (hi - lo) * u[:, 1], sx)
    theta = torch.where(aniso, math.pi * u[:, 2], torch.zeros_like(sx))
    k = gaussian_kernels(sx, sy, theta, spec.size)
    return k, {"sigma_x": sx.float(), "sigma_y": sy.float(), "theta": theta.float()}


@dataclass
class PCAMeta:
    """Everything needed to know what a PCA code means (stored beside the matrix)."""
    b: int = 10
    kernel_size: int = KERNEL_SIZE
    scale: int = 4
    sigma_range: tuple[float, float] = SIGMA_RANGES[4]
    aniso_prob: float = 0.0
    n_fit: int = 0
    seed: int = 0
    centred: bool = True
    explained_variance: list[float] = field(default_factory=list)


class KernelPCA:
    """PCA of flattened kernels: code h = M (k − mean), k ≈ Mᵀ h + mean (IKC's kernel code).

    Convention: centred (the mean kernel is subtracted before projection). IKC's original code
    projects without centring; with centring the first components describe the width change
    rather than the mean blob, and b = 10 reconstructs isotropic kernels to < 1e-4 max error.
    """

    def __init__(self, matrix: torch.Tensor, mean: torch.Tensor, meta: PCAMeta):
        b, d = matrix.shape
        if d != meta.kernel_size ** 2 or mean.shape != (d,) or b != meta.b:
            raise ValueError(f"PCA matrix {tuple(matrix.shape)} / mean {tuple(mean.shape)} do not match "
                             f"b={meta.b}, kernel_size={meta.kernel_size}")
        self.matrix = matrix.float()  # b×d
        self.mean = mean.float()      # d
        self.meta = meta
        self._iso_grids: dict[float, tuple[torch.Tensor, torch.Tensor]] = {}  # step → (σ grid, codes)

    @property
    def b(self) -> int:
        return self.meta.b

    @classmethod
    def fit(cls, spec: KernelSpec | int = 4, b: int = 10, n: int = 30000, seed: int = 0) -> "KernelPCA":
        """Fit on n random kernels drawn from ``spec`` with a fixed seed."""
        spec = KernelSpec(scale=spec) if isinstance(spec, int) else spec
        g = torch.Generator().manual_seed(seed)
        k, _ = sample_kernels(n, spec, g)
        x = k.reshape(n, -1).double()
        mean = x.mean(0)
        _, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
        var = (s ** 2) / (n - 1)
        meta = PCAMeta(b=b, kernel_size=spec.size, scale=spec.scale, sigma_range=tuple(spec.sigma_range),
                       aniso_prob=spec.aniso_prob, n_fit=n, seed=seed, centred=True,
                       explained_variance=(var[:b] / var.sum()).tolist())
        return cls(vh[:b].float(), mean.float(), meta)

    def encode(self, kernels: torch.Tensor) -> torch.Tensor:
        """N×k×k kernels → N×b codes."""
        k = self.meta.kernel_size
        if kernels.shape[-2:] != (k, k):
            raise ValueError(f"expected kernels of size {k}×{k}, got shape {tuple(kernels.shape)}")
        x = kernels.reshape(-1, k * k).to(self.matrix)
        return (x - self.mean) @ self.matrix.T

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """N×b codes → N×k×k kernels (not renormalised: shows exactly what the code holds)."""
        if codes.shape[-1] != self.b:
            raise ValueError(f"expected codes with {self.b} entries, got shape {tuple(codes.shape)}")
        k = self.meta.kernel_size
        return (codes.to(self.matrix) @ self.matrix + self.mean).reshape(-1, k, k)

    def to(self, device) -> "KernelPCA":
        self.matrix, self.mean = self.matrix.to(device), self.mean.to(device)
        self._iso_grids = {}
        return self

    def isotropic_width(self, codes: torch.Tensor, step: float = 0.005) -> torch.Tensor:
        """σ of the isotropic Gaussian whose code is nearest (L2) to each code.

        A corrector can return a code whose kernel has a narrow core and wide, shallow tails: its
        second moment (``kernel_width``) can match the true σ while a generator, which answers
        mostly to the core, treats it as a sharper kernel. The nearest isotropic code is what such a
        code looks like to a network trained on Gaussian codes. Searched on a grid of ``step`` over
        [0.1, 1.25 × the fit range's top]; codes of isotropic Gaussians come back to within ``step``.

        Args:
            codes: N×b codes.
            step: grid spacing in pixels (default 0.005).

        Returns:
            N widths in pixels (float32).
        """
        if codes.dim() != 2 or codes.shape[-1] != self.b:
            raise ValueError(f"expected N×{self.b} codes, got shape {tuple(codes.shape)}")
        if step not in self._iso_grids:
            # Encoding the ~250-800 reference Gaussians costs more than the search; the bench asks
            # once per image and width, so the grid is built once per PCA, step and device.
            grid = torch.arange(0.1, 1.25 * self.meta.sigma_range[1] + step / 2, step)
            ref = self.encode(gaussian_kernels(grid, grid, torch.zeros_like(grid), self.meta.kernel_size))
            self._iso_grids[step] = (grid, ref)
        grid, ref = self._iso_grids[step]
        return grid[torch.cdist(codes.to(ref), ref).argmin(1).cpu()].float()

    def reconstruction_error(self, kernels: torch.Tensor) -> torch.Tensor:
        """Per-kernel max absolute error of decode(encode(k)) (kernel values sum to 1)."""
        rec = self.decode(self.encode(kernels))
        return (rec - kernels.to(rec)).abs().flatten(1).amax(1)

    # -- storage: tensors + JSON metadata, so checkpoints can embed it ------------------------------
    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """(tensors, metadata) for embedding in a safetensors checkpoint."""
        return {"pca.matrix": self.matrix.cpu().contiguous(), "pca.mean": self.mean.cpu().contiguous()}, asdict(self.meta)

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict) -> "KernelPCA":
        try:
            m = PCAMeta(**{**meta, "sigma_range": tuple(meta["sigma_range"])})
            return cls(tensors["pca.matrix"], tensors["pca.mean"], m)
        except (KeyError, TypeError) as e:
            raise ValueError(f"incomplete KernelPCA state: {e}") from e

    def save(self, path: str | Path) -> None:
        from safetensors.torch import save_file

        from srkit.imageio import atomic_path
        tensors, meta = self.state()
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata={"srkit_pca": json.dumps(meta)})

    @classmethod
    def load(cls, path: str | Path) -> "KernelPCA":
        from safetensors import safe_open
        from safetensors.torch import load_file
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"KernelPCA file not found: {path}")
        try:
            with safe_open(str(path), "pt") as f:
                meta = (f.metadata() or {}).get("srkit_pca")
            tensors = load_file(str(path))
        except Exception as e:  # safetensors raises several types for corrupt headers
            raise ValueError(f"{path}: not a readable safetensors file ({e})") from e
        if meta is None:
            raise ValueError(f"{path}: no 'srkit_pca' metadata; not a KernelPCA file")
        return cls.from_state(tensors, json.loads(meta))

    def __repr__(self) -> str:
        m = self.meta
        return (f"KernelPCA(b={m.b}, size={m.kernel_size}, scale={m.scale}, sigma_range={m.sigma_range}, "
                f"aniso_prob={m.aniso_prob}, centred={m.centred})")
