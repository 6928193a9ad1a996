"""srkit.inference.bars: letterbox and pillarbox bars are found, and the measures leave them out."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from srkit.data.samples import sample_image
from srkit.inference.bars import MARGIN, Bars, find_bars
from srkit.inference.damage import THRESHOLDS, measure_damage


@pytest.fixture(scope="module")
def scene():
    return sample_image("scene", multiple=8)  # 256×256 photograph (scikit-image)


def _boxed(picture: np.ndarray, top: int = 0, left: int = 0, level: int = 16, noise: float = 0.0, seed: int = 0):
    """``picture`` inside bars of ``level`` (plus Gaussian noise): ``top`` lines above and below,
    ``left`` columns on either side."""
    h, w = picture.shape[:2]
    rng = np.random.default_rng(seed)
    frame = level + rng.normal(0, noise, (h + 2 * top, w + 2 * left, 3))
    frame = np.clip(frame, 0, 255).round().astype(np.uint8)
    frame[top:top + h, left:left + w] = picture
    return frame


@pytest.mark.parametrize("noise", [0.0, 10.0])
def test_letterbox_and_pillarbox_bars_are_found_with_their_edge_line(scene, noise):
    assert find_bars(_boxed(scene, top=64, noise=noise)) == Bars(64 + MARGIN, 64 + MARGIN, 0, 0)
    assert find_bars(_boxed(scene, left=40, level=128, noise=noise)) == Bars(0, 0, 40 + MARGIN, 40 + MARGIN)
    boxed = find_bars(_boxed(scene, top=24, left=32, noise=noise))  # windowboxed: all four sides
    assert boxed == Bars(24 + MARGIN, 24 + MARGIN, 32 + MARGIN, 32 + MARGIN)
    assert boxed.crop(_boxed(scene, top=24, left=32)).shape == (256 - 2 * MARGIN, 256 - 2 * MARGIN, 3)


def test_pictures_without_bars_and_flat_pictures_are_left_whole(scene):
    assert not find_bars(scene)
    assert not find_bars(np.zeros((96, 128, 3), np.uint8))  # a black frame is not all bars
    dark = _boxed(scene, top=140)  # bars taller than the picture between them: not taken for bars
    assert find_bars(dark) == Bars()
    assert not find_bars(scene[:8])  # a strip shorter than the smoothing box


def test_bars_do_not_read_as_a_block_grid_or_move_the_noise(scene):
    """8-aligned bar edges looked like an MPEG block grid (docs/ROBUSTNESS.md: 0.48–0.68 against the
    ×2 threshold 0.20); the noise σ must be the picture's with bars of any level."""
    plain = measure_damage(scene)
    for frame in (_boxed(scene, top=64), _boxed(scene, left=64, level=0), _boxed(scene, top=16, left=48)):
        d = measure_damage(frame)
        assert d.blockiness < THRESHOLDS[2].block / 2, d
        assert d.noise == pytest.approx(plain.noise, abs=0.3)


def test_common_bars_of_a_batch_and_crop_of_a_tensor(scene):
    bars = Bars.common([Bars(10, 10, 0, 0), Bars(6, 12, 4, 0)])
    assert bars == Bars(6, 10, 0, 0) and Bars.common([]) == Bars()
    t = torch.zeros(2, 3, 50, 40)
    assert bars.crop(t).shape == (2, 3, 34, 40)
