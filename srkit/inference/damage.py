"""What damage an input carries, and which bundled model it should get (``--weights auto``).

No single small bundle is best everywhere on the degraded grid (``srkit bench degraded``): the
clean-trained ``x<s>`` leads on clean pictures, ``x2_noise`` on noisy ones, the archive bundles on
JPEG and MPEG-2 blocking, and each loses 1–3 dB where another leads. Two cheap measurements on the
LR image separate those cases:

- **noise**: scikit-image's wavelet estimate of the Gaussian noise σ on the luma, in 8-bit levels
  (``skimage.restoration.estimate_sigma``; the median absolute finest-scale diagonal coefficient,
  Donoho's estimator).
- **blockiness**: how much larger the luma steps are across one column (and one row) phase of an
  8-pixel grid than across the others: max over the 8 phases of the mean |step| divided by their
  median, averaged over the two axes. Clean and noisy pictures give about 1.0; 8×8-DCT codecs (JPEG,
  MPEG-2 intra and inter) leave their block edges on one phase. Taking the strongest phase, not
  phase 0, keeps it working on frames cropped by a few pixels. No library offers this measure
  (scikit-image has none), so it is written here; it is tested on Pillow's JPEG.

The thresholds of :data:`THRESHOLDS` were chosen on validation crops of the training data
(``bench/auto_weights.py``, which writes ``bench/results/auto_weights.json``), never on a benchmark.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from srkit.inference.bars import find_bars

BLOCK = 8  # the DCT block of JPEG and MPEG-2
MIN_SIDE = 4 * BLOCK  # smaller pictures hold too few blocks (and wavelet coefficients) to judge
BLANK_STD = 2.0  # luma spread (8-bit levels) below which a picture is blank: nothing to measure


@dataclass(frozen=True)
class Damage:
    """Measured damage of one uint8 image. noise: σ in 8-bit levels (≥ 0); blockiness: ≥ ~1.0."""
    noise: float
    blockiness: float

    def __str__(self) -> str:
        return f"noise σ ≈ {self.noise:.1f}, blockiness {self.blockiness:.2f}"


def _luma(image: np.ndarray) -> np.ndarray:
    """H×W float64 BT.601 luma in [16, 235] of an H×W×3 (or H×W) uint8 image."""
    from srkit.metrics import rgb_to_y
    if image.ndim == 2:
        return image.astype(np.float64)
    return rgb_to_y(image, rounded=False)


def blockiness(luma: np.ndarray, block: int = BLOCK, axes=(0, 1)) -> float:
    """How much a block grid stands out in the luma steps: 0 for none, about 0.1–3 for JPEG/MPEG-2.

    For each column boundary k, s_k is the mean |luma step| across it and e_k = s_k − (s_{k−1} +
    s_{k+1}) / 2 its excess over its two neighbours (a block edge is a step the neighbouring
    boundaries do not have; smooth gradients and textures give e ≈ 0). The excess is averaged per
    phase k mod ``block``, divided by the mean step, and the strongest phase minus the median phase
    is kept; the same over rows, and the axes are averaged.

    Args:
        luma: H×W float array (any range); a side shorter than 4·block contributes 0.
        axes: 0 (steps between rows), 1 (between columns) or both (default).
    """
    values = []
    for axis in axes:
        steps = np.abs(np.diff(luma, axis=axis)).mean(axis=1 - axis)  # one per boundary
        if steps.size < 4 * block:
            values.append(0.0)
            continue
        excess = steps[1:-1] - (steps[:-2] + steps[2:]) / 2  # excess[j] belongs to boundary j + 1
        phases = np.array([excess[(p - 1) % block::block].mean() for p in range(block)])
        phases /= max(float(steps.mean()), 1e-6)
        values.append(float(phases.max() - np.median(phases)))
    return float(np.mean(values))


def measure_damage(image: np.ndarray, field: bool = False) -> Damage:
    """Noise σ and blockiness of an H×W×3 (or H×W) uint8 image (see the module docstring), measured
    on its active picture: letterbox and pillarbox bars are left out (``srkit.inference.bars``).

    Args:
        field: the image may be two woven fields (interlaced video): noise is measured on one field
            (every other line) and blockiness across columns only, so combing in motion is not read
            as noise or as a block grid.
    """
    from skimage.restoration import estimate_sigma
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or min(image.shape[:2]) < 2:
        raise ValueError(f"measure_damage needs an H×W(×3) uint8 image, got {image.dtype} {image.shape}")
    image = image[..., :3] if image.ndim == 3 else image  # an alpha channel is not picture
    image = find_bars(image).crop(image)  # letterbox edges are not a block grid (srkit.inference.bars)
    rgb = image if image.ndim == 3 else image[..., None]
    with warnings.catch_warnings():
        # estimate_sigma drops zero wavelet coefficients: a flat picture (black, one colour) leaves
        # none, and numpy warns about the empty median; such a picture has no measurable noise
        warnings.simplefilter("ignore", RuntimeWarning)
        noise = float(estimate_sigma((rgb[::2] if field else rgb).astype(np.float64), channel_axis=-1,
                                     average_sigmas=True))
    return Damage(noise=noise if np.isfinite(noise) else 0.0,
                  blockiness=blockiness(_luma(image), axes=(1,) if field else (0, 1)))


def median_damage(measures: list[Damage]) -> Damage:
    """One verdict for several pictures (e.g. pictures across a video): the per-field median."""
    if not measures:
        raise ValueError("median_damage needs at least one measure")
    return Damage(float(np.median([d.noise for d in measures])),
                  float(np.median([d.blockiness for d in measures])))


@dataclass(frozen=True)
class Thresholds:
    """The rule of :func:`choose_weights`: blockiness ≥ ``block`` → archive bundle; else noise ≥
    ``noise`` → the noise-trained bundle (the archive one where a scale has none); else ``x<s>``."""
    block: float
    noise: float


# Chosen on validation crops by bench/auto_weights.py (bench/results/auto_weights.json).
THRESHOLDS = {2: Thresholds(block=0.20, noise=4.0), 4: Thresholds(block=0.26, noise=4.5)}


def choose_weights(damage: Damage, scale: int, available=None,
                   rule: Thresholds | None = None) -> tuple[str, str]:
    """The bundled model for an input of this damage at ``scale``, and why (one line).

    Args:
        available: callable name → bool telling whether a bundle exists (default: it resolves).
        rule: thresholds (default ``THRESHOLDS`` of the scale, the ×2 ones for other scales).
    """
    if available is None:
        from srkit.checkpoint import resolve

        def available(name: str) -> bool:
            try:
                resolve(name)
                return True
            except FileNotFoundError:
                return False
    rule = rule or THRESHOLDS.get(scale) or THRESHOLDS[2]
    archive, noisy, clean = f"x{scale}_archive", f"x{scale}_noise", f"x{scale}"
    if damage.blockiness >= rule.block and available(archive):
        return archive, f"{damage}: blockiness ≥ {rule.block:.2f}, compressed"
    if damage.noise >= rule.noise:
        for name in (noisy, archive):
            if available(name):
                return name, f"{damage}: noise σ ≥ {rule.noise:.1f}, noisy"
        return clean, f"{damage}: noisy, but no {noisy} or {archive} bundle"
    return clean, f"{damage}: below blockiness {rule.block:.2f} and noise σ {rule.noise:.1f}, clean"


class AutoWeights:
    """``--weights auto``: for each input, the bundle :func:`choose_weights` names, loaded once.

    Args:
        scale: the factor (2 or 4; 3 has only ``x3`` where that exists).
        load: name → model (default ``srkit.load``; the CLI passes one that builds a runner).
        available: as for :func:`choose_weights`.
    """

    def __init__(self, scale: int, load=None, available=None):
        if load is None:
            from srkit.checkpoint import load_pipeline as load
        self.scale, self._load, self._available, self._models = scale, load, available, {}

    def choose(self, image: np.ndarray, field: bool = False) -> tuple[str, str]:
        """(bundle name, why) for one uint8 LR image; ``x<s>`` for one too small to measure."""
        if min(image.shape[:2]) < MIN_SIDE:
            return f"x{self.scale}", f"{image.shape[1]}x{image.shape[0]}: too small to measure noise and blocking"
        if float(_luma(image[..., :3] if image.ndim == 3 else image).std()) < BLANK_STD:
            return f"x{self.scale}", "a blank picture (one flat colour): no noise or blocking to measure"
        return choose_weights(measure_damage(image, field), self.scale, self._available)

    def model(self, name: str):
        """The loaded bundle ``name`` (loaded on first use, then kept)."""
        if name not in self._models:
            self._models[name] = self._load(name)
        return self._models[name]
