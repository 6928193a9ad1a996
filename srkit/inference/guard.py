"""Guards against silently wrong pictures: keep kernel codes where kernels live, catch exploding SR.

Why this exists. On content unlike the training data, above all fine periodic texture (1-pixel
stripes, checkerboards, halftone dots, 1-bit dither: the Nyquist frequency at full contrast), the
networks leave their operating range:

* the IKC corrector can send the kernel code to values no blur kernel has (norm ~40 after one step
  for the bundled ×2 model on 1-pixel stripes, against at most 0.74 for every kernel the PCA was fit
  on), and the generator fed such a code returns inf/NaN, which a uint8 clamp turns into black;
* the generator itself can blow up on such texture even with a valid code (its SFT layers compute γ
  from the features they modulate, so a large feature grows quadratically block after block).

The checks keep the output honest, each cheap and each inactive on ordinary images (with the
bundled ``x2`` and ``x4`` on Gaussian8 Set5, Set14 and B100, 1,904 LR images, no code left the
region and no SR pixel was replaced, so those figures are unchanged):

``CodeRegion``
    The region of code space the PCA was fit on: the bounding box of the codes of kernels drawn
    from the PCA's own fitting distribution (its width range and anisotropy, ``PCAMeta``), with a
    tolerance of ``REGION_MARGIN`` times the box's largest side. A code inside is used as it is.
    For a code outside, ``srkit.inference.guarded_ikc.run_ikc_guarded`` first re-estimates it with the median of the
    network's per-pixel estimates instead of their mean (a patch of texture then no longer drags
    the whole picture's estimate); still outside but within ``FAR_FACTOR`` tolerances, it is
    projected onto the nearest valid kernel (a Gaussian of the trained width range); further out,
    or non-finite, the corrector step is rejected: IKC stops and keeps the last good code.
``sanitize_sr``
    Pixels of an SR image that are non-finite or differ from the bicubic upscale of the LR by more
    than ``SR_RESIDUAL_LIMIT`` (the full intensity range: no correction of a bicubic estimate can be
    larger) are replaced by the bicubic upscale. On ordinary photos the bundled models stay below
    0.42.
``check_output`` / ``back_project``
    When an output's mean intensity moved by more than ``MEAN_SHIFT_LIMIT`` from the bicubic
    upscale's (a washed-out or darkened frame), a few steps of iterative back-projection (Irani &
    Peleg 1991: subtract the upscaled error of the re-downscaled SR) make the SR consistent with the
    LR again while keeping its detail; if that fails, the bicubic upscale is returned. On ordinary
    photos the bundled models move the mean by at most 2.2/255 (``x4_gan``; the others under 0.7,
    measured on 18 Set5/Set14/B100 images at two Gaussian8 widths each).
``grey_images`` (in ``check_output``)
    A black-and-white picture (its three LR channels identical) gets a black-and-white result: the
    networks, trained on colour, give grey input false colour (the bundled ×4 on a grey photo: up to
    12 levels between channels, more than 2 levels on 6 % of the pixels), so each SR channel is
    replaced by the SR's luma (BT.601 weights, as the published protocol compares gray images: Set14
    figures do not move). This is the expected result, not a failure, and is not warned about.
``reproduction_psnr``
    A self-check of a kernel estimate: the SR, blurred with the estimated kernel and bicubic-
    downscaled, should reproduce the LR. Its PSNR (dB, on [0, 1] RGB) is reported as the estimate's
    confidence (``KernelEstimate.confidence``).

Every guard that acts says so in one ``GuardWarning`` line naming the image.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import torch

from srkit.kernels import KernelPCA, KernelSpec, gaussian_kernels, sample_kernels
from srkit.resize import imresize

# |SR − bicubic(LR)| above this (in [0, 1] intensity units) cannot be a correction of the bicubic
# estimate: it is the whole intensity range. Ordinary photos stay below 0.42 with the bundled models.
SR_RESIDUAL_LIMIT = 1.0
# The region's margin, as a share of the box's largest side. Corrector codes of ordinary images
# leave the bare box by at most 0.03 (Set5/Set14, bundled models); diverging ones by 10 to 1e3.
REGION_MARGIN = 0.25
# An SR whose mean intensity moved by more than this (on [0, 1]) from its LR's is not faithful.
MEAN_SHIFT_LIMIT = 10 / 255
# A rejected code within this many tolerances of the box is projected onto the nearest valid kernel
# and IKC goes on; one further out (a diverging corrector: 10 to 1e3) stops the loop.
FAR_FACTOR = 4.0
# Kernels drawn to find the box (seeded: the region is a pure function of the PCA's metadata).
REGION_SAMPLES = 4000


class GuardWarning(UserWarning):
    """A guard acted on an image: its message names the image (file, shot) and what was done."""


# Status values, per image, in order of severity.
OK, ROBUST, PROJECTED, STOPPED, NONFINITE = "ok", "robust", "projected", "stopped", "nonfinite"


@dataclass
class CodeRegion:
    """An axis-aligned box of kernel codes with a tolerance around it, and a projection onto kernels.

    Attributes:
        low / high: b-vectors, the box's corners (the extreme codes of the fitting distribution).
        tolerance: how far (Euclidean, in code units) outside the box a code may be and still count
            as inside; default ``REGION_MARGIN`` × the box's largest side.
        kernel_codes: M×b codes of valid kernels to project onto (for an isotropic PCA: Gaussians
            every 0.005 px across the trained width range); None projects by clipping to the box.
    """
    low: torch.Tensor
    high: torch.Tensor
    tolerance: float
    kernel_codes: torch.Tensor | None = None

    @classmethod
    def from_pca(cls, pca: KernelPCA, margin: float = REGION_MARGIN,
                 samples: int = REGION_SAMPLES) -> "CodeRegion":
        """The region of the kernels ``pca`` was fit on (same width range and anisotropy)."""
        cached = getattr(pca, "_srkit_region", None)
        if cached is not None and cached[0] == (margin, samples, pca.matrix.device):
            return cached[1]
        m = pca.meta
        spec = KernelSpec(scale=m.scale, sigma_range=tuple(m.sigma_range), aniso_prob=m.aniso_prob,
                          size=m.kernel_size)
        kernels, _ = sample_kernels(samples, spec, torch.Generator().manual_seed(12345))
        codes = pca.encode(kernels.to(pca.matrix.device))
        low, high = codes.min(0).values, codes.max(0).values
        kernel_codes = None
        if m.aniso_prob == 0:  # isotropic fit: the valid kernels are a curve of Gaussians
            lo, hi = m.sigma_range
            widths = torch.arange(lo, hi + 0.0025, 0.005, dtype=torch.float64).clamp(max=hi)
            kernel_codes = pca.encode(gaussian_kernels(widths, widths, torch.zeros_like(widths),
                                                       m.kernel_size).to(pca.matrix.device))
        region = cls(low, high, margin * float((high - low).max()), kernel_codes)
        pca._srkit_region = ((margin, samples, pca.matrix.device), region)  # a PCA is fixed once fit
        return region

    def distance(self, codes: torch.Tensor) -> torch.Tensor:
        """N×b codes → N distances to the box (0 inside; inf for non-finite codes)."""
        low, high = self.low.to(codes), self.high.to(codes)
        outside = torch.maximum(low - codes, codes - high).clamp(min=0)
        dist = outside.norm(dim=1)
        return torch.where(torch.isfinite(codes).all(1), dist, torch.full_like(dist, float("inf")))

    def contains(self, codes: torch.Tensor) -> torch.Tensor:
        """N booleans: finite and within ``tolerance`` of the box."""
        return self.distance(codes) <= self.tolerance

    def near(self, codes: torch.Tensor) -> torch.Tensor:
        """N booleans: finite and within ``FAR_FACTOR`` tolerances of the box (worth projecting)."""
        return self.distance(codes) <= FAR_FACTOR * self.tolerance

    def project(self, codes: torch.Tensor) -> torch.Tensor:
        """N×b codes → the nearest valid kernel's code (nearest Gaussian in the trained width range
        for an isotropic PCA, else the box's nearest point); non-finite codes map from the box centre."""
        low, high = self.low.to(codes), self.high.to(codes)
        codes = torch.where(torch.isfinite(codes), codes, ((low + high) / 2).expand_as(codes))
        if self.kernel_codes is None:
            return torch.maximum(torch.minimum(codes, high), low)
        reference = self.kernel_codes.to(codes)
        return reference[torch.cdist(codes, reference).argmin(1)]


def sanitize_sr(sr: torch.Tensor, lr: torch.Tensor, scale: int,
                limit: float = SR_RESIDUAL_LIMIT) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace implausible SR pixels by the bicubic upscale of the LR.

    Args:
        sr: N×3×(s·h)×(s·w) generator output (not clamped).
        lr: N×3×h×w LR in [0, 1] it was made from.
        scale: s.
        limit: largest plausible |SR − bicubic| per channel (default ``SR_RESIDUAL_LIMIT``).

    Returns:
        (sr, replaced): ``sr`` itself when nothing was implausible (no copy), else a copy with the
        implausible pixels (all three channels) taken from the bicubic upscale; ``replaced`` holds
        the N counts of replaced SR pixels.
    """
    n = sr.shape[0]
    finite = torch.isfinite(sr).all(1)                                    # N×H×W
    bicubic = imresize(lr.to(sr.dtype), scale=scale)
    residual = (sr - bicubic).abs().amax(1)                               # N×H×W
    bad = ~finite | ~(residual <= limit)                                  # NaN compares False
    counts = bad.reshape(n, -1).sum(1)
    if not bool(counts.any()):
        return sr, counts
    return torch.where(bad[:, None], bicubic, sr), counts


def reproduction_psnr(sr: torch.Tensor, lr: torch.Tensor, kernels: torch.Tensor, scale: int) -> torch.Tensor:
    """PSNR (dB) between the LR and the SR re-degraded with the estimated kernels (eq. 7, no noise).

    Args:
        sr: N×3×(s·h)×(s·w) SR in [0, 1] (clamped here).
        lr: N×3×h×w LR in [0, 1].
        kernels: N×k×k estimated kernels (e.g. ``pca.decode(code)``); negative taps are dropped and
            each kernel is renormalised to sum 1 (what a physical blur is).
        scale: s.

    Returns:
        N PSNR values in dB (inf when the reproduction is exact); images smaller than the kernel's
        radius after upscaling are compared without the blur.
    """
    from srkit.degrade import blur
    k = kernels.clamp(min=0)
    k = k / k.sum(dim=(1, 2), keepdim=True).clamp(min=1e-12)
    x = sr.float().clamp(0, 1)
    try:
        x = blur(x, k.to(x))
    except ValueError:  # too small for the kernel: compare without it
        pass
    back = imresize(x, scale=1 / scale)
    h, w = min(back.shape[-2], lr.shape[-2]), min(back.shape[-1], lr.shape[-1])
    mse = (back[..., :h, :w] - lr[..., :h, :w].to(back)).pow(2).mean(dim=(1, 2, 3))
    return 10 * torch.log10(1 / mse.clamp(min=1e-12))


def replaced_message(name: str, replaced: int, pixels: int) -> str:
    """The warning text for SR pixels replaced by ``sanitize_sr`` ("" when none were)."""
    if not replaced:
        return ""
    share = 100.0 * replaced / max(pixels, 1)
    share = f"{share:.1f}" if share >= 0.1 else f"{share:.1g}"  # "100.0", "12.5", "0.003": never "1e+02"
    return (f"{name}: {share}% of the output pixels were implausible (non-finite, or further than "
            f"the full intensity range from the bicubic upscale) and are the bicubic upscale there")


def back_project(sr: torch.Tensor, lr: torch.Tensor, scale: int, steps: int = 5) -> torch.Tensor:
    """Make an SR consistent with its LR: x ← x − bicubic↑(bicubic↓(x) − LR), ``steps`` times.

    Args:
        sr: N×3×(s·h)×(s·w) float SR (clamped to [0, 1] here).
        lr: N×3×h×w float LR in [0, 1].
        scale: s.
        steps: back-projection steps (default 5).

    Returns:
        The float32 SR, clamped to [0, 1], whose bicubic downscale is close to the LR.
    """
    x = sr.float().clamp(0, 1)
    lr = lr.float()
    for _ in range(steps):
        error = imresize(x, scale=1 / scale)[..., :lr.shape[-2], :lr.shape[-1]] - lr
        x = (x - imresize(error, scale=scale)[..., :x.shape[-2], :x.shape[-1]]).clamp_(0, 1)
    return x


def brightness_message(name: str, lr_mean: float, sr_mean: float, limit: float = MEAN_SHIFT_LIMIT) -> str:
    """The warning text when the SR's mean intensity moved by more than ``limit`` (on [0, 1]) from
    the LR's: a faithful upscale keeps the mean, a black or washed-out output does not."""
    if abs(sr_mean - lr_mean) <= limit:
        return ""
    return (f"{name}: the output's mean intensity was {sr_mean * 255:.1f}/255 against the bicubic "
            f"upscale's {lr_mean * 255:.1f}/255; the result is probably wrong")


def join_messages(*messages: str) -> str:
    """One line from several per-image messages that each start with the same ``name: ``."""
    parts = [m for m in messages if m]
    if not parts:
        return ""
    name = parts[0].split(": ", 1)[0]
    return name + ": " + "; ".join(m.split(": ", 1)[1] if m.startswith(name + ": ") else m for m in parts)


@contextlib.contextmanager
def counting_warnings():
    """Count the ``GuardWarning`` lines emitted inside the block (benchmarks report them).

    Yields a dict whose ``"guard_warnings"`` is the count so far; every warning still reaches the
    user, each printed once as it comes (the "always" filter applies inside the block only).
    """
    counts = {"guard_warnings": 0}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield counts
        finally:
            counts["guard_warnings"] = sum(issubclass(w.category, GuardWarning) for w in caught)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def warn(messages) -> None:
    """Emit each non-empty message as one ``GuardWarning`` (the CLI prints each as one line)."""
    for message in messages:
        if message:
            warnings.warn(message, GuardWarning, stacklevel=3)


def image_labels(name: str, n: int) -> list[str]:
    """Names of the images of a batch in warnings: ``name`` for one image, ``name [i]`` for more."""
    return [name] if n == 1 else [f"{name} [{i}]" for i in range(n)]


LUMA_WEIGHTS = torch.tensor([0.299, 0.587, 0.114])  # BT.601, as srkit.metrics.rgb_to_gray


def grey_images(images: torch.Tensor) -> list[bool]:
    """Per image of an N×3×H×W batch (any dtype): whether its three channels are identical."""
    return [bool(torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])) for x in images]


def check_output(sr: torch.Tensor, lr: torch.Tensor, scale: int, name: str,
                 messages: list[str] | None = None, emit: bool = True) -> list[str]:
    """Check each SR image against its LR and warn: one ``GuardWarning`` line per image the guards
    acted on, nothing for a clean result.

    An SR whose mean intensity moved by more than ``MEAN_SHIFT_LIMIT`` from the bicubic upscale's is
    back-projected onto the LR (in place) and, if its mean is still off, replaced by the bicubic
    upscale: a black or washed-out frame is never returned as is. The SR of a grey LR (identical
    channels, ``grey_images``) is made grey: each channel set to its luma.

    Args:
        sr: N×3×(s·h)×(s·w) output (uint8 [0, 255] or float [0, 1]), modified in place when it
            fails the check.
        lr: N×3×h×w input (uint8 [0, 255] or float [0, 1]).
        scale: s.
        name: the image's name in warnings (``image_labels`` names the images of a batch).
        messages: per image, what the guards already found (kernel estimate, replaced pixels),
            each starting with the image's label; joined with this check's finding into one line.
        emit: warn now (default True); False leaves reporting the returned lines to the caller.

    Returns:
        The per-image warning lines ("" for clean images).
    """
    levels = 255.0 if lr.dtype == torch.uint8 else 1.0
    for i, grey in enumerate(grey_images(lr)):
        if grey:  # the luma (BT.601 weights): what the protocol compares for gray files (rgb_to_gray)
            luma = torch.tensordot(LUMA_WEIGHTS.to(sr.device), sr[i].float(), dims=1)[None]
            sr[i] = luma if sr.dtype.is_floating_point else luma.round()
    lines = []
    for i, label in enumerate(image_labels(name, lr.shape[0])):
        lr_i = lr[i:i + 1].float() / levels
        out_levels = 255.0 if sr.dtype == torch.uint8 else 1.0
        sr_mean = float(sr[i:i + 1].float().clamp(0, out_levels).mean()) / out_levels
        shift, bicubic = "", None
        # The LR's mean is within a few levels of the bicubic upscale's, so the full-size bicubic
        # (the reference: its overshoot on high-contrast texture moves the mean) is only computed
        # for an output that is anywhere near the limit: not once per ordinary video frame.
        if abs(sr_mean - float(lr_i.mean())) > MEAN_SHIFT_LIMIT / 2:
            bicubic = imresize(lr_i, scale=scale)[..., :sr.shape[-2], :sr.shape[-1]].clamp_(0, 1)
            reference = float(bicubic.mean())
            shift = brightness_message(label, reference, sr_mean)
        if shift:
            fixed = back_project(sr[i:i + 1].float() / out_levels, lr_i, scale)
            action = "back-projected it onto the input"
            if abs(float(fixed.mean()) - reference) > MEAN_SHIFT_LIMIT:
                fixed, action = bicubic, "replaced it by the bicubic upscale"
            sr[i:i + 1] = (fixed * 255).round().to(torch.uint8) if sr.dtype == torch.uint8 else fixed.to(sr.dtype)
            shift = shift.replace("the result is probably wrong", action)
        lines.append(join_messages(messages[i] if messages and i < len(messages) else "", shift))
    if emit:
        warn(lines)
    return lines
