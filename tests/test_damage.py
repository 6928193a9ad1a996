"""srkit.inference.damage: noise and blocking measured on the LR image, and ``--weights auto``."""
from __future__ import annotations

import io

import numpy as np
import pytest

from srkit.data.samples import sample_image
from srkit.inference.damage import (THRESHOLDS, AutoWeights, Damage, blockiness, choose_weights,
                                    measure_damage, median_damage)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


@pytest.fixture(scope="module")
def scene():
    return sample_image("scene", multiple=8)  # 256×256 photograph (scikit-image)


def test_clean_photo_has_no_block_grid_and_little_noise(scene):
    d = measure_damage(scene)
    assert d.blockiness < THRESHOLDS[2].block / 2 and d.noise < 3


@pytest.mark.parametrize("quality", [50, 30])
def test_jpeg_blocking_is_found_also_after_a_crop(scene, quality):
    compressed = _jpeg(scene, quality)
    assert measure_damage(compressed).blockiness > THRESHOLDS[2].block
    # a few pixels cropped off the top-left move the grid to another phase: still found
    assert measure_damage(compressed[3:, 5:]).blockiness > THRESHOLDS[2].block


@pytest.mark.parametrize("sigma", [5.0, 15.0])
def test_noise_sigma_is_measured_in_8_bit_levels(scene, sigma):
    rng = np.random.default_rng(0)
    noisy = np.clip(scene + rng.normal(0, sigma, scene.shape), 0, 255).round().astype(np.uint8)
    assert measure_damage(noisy).noise == pytest.approx(sigma, abs=0.15 * sigma + 0.8)


def test_field_mode_ignores_what_lies_between_lines(scene):
    """Woven fields that differ (combing) are neither noise nor a row block grid in field mode."""
    combed = scene.copy()
    combed[1::2] = np.roll(scene, 3, axis=1)[1::2]
    assert measure_damage(combed, field=True).noise < measure_damage(combed).noise
    rows = np.zeros((64, 64), np.float64)
    rows[8::8] = 50.0  # a grid across rows only
    assert blockiness(rows, axes=(1,)) == 0.0 and blockiness(rows, axes=(0,)) > 1


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="uint8 image, got float32"):
        measure_damage(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="at least one"):
        median_damage([])


def test_rule_picks_by_blocking_then_noise():
    rule = THRESHOLDS[2]
    everything = lambda name: True  # noqa: E731
    assert choose_weights(Damage(0.5, rule.block + 0.1), 2, everything)[0] == "x2_archive"
    assert choose_weights(Damage(rule.noise + 1, 0.0), 2, everything)[0] == "x2_noise"
    assert choose_weights(Damage(rule.noise - 0.5, 0.0), 2, everything)[0] == "x2"
    # a scale without a noise bundle sends noisy input to its archive bundle; without either, x<s>
    no_noise = lambda name: name != "x4_noise"  # noqa: E731
    assert choose_weights(Damage(THRESHOLDS[4].noise + 1, 0.0), 4, no_noise)[0] == "x4_archive"
    name, why = choose_weights(Damage(50.0, 5.0), 3, lambda name: False)
    assert name == "x3" and "no x3_noise or x3_archive bundle" in why
    name, why = choose_weights(Damage(0.5, rule.block + 0.1), 2, everything)
    assert "blockiness" in why and "compressed" in why


def test_auto_weights_loads_each_bundle_once(scene):
    loaded = []
    auto = AutoWeights(2, load=lambda name: loaded.append(name) or name, available=lambda name: True)
    for image in (scene, _jpeg(scene, 30), scene):
        auto.model(auto.choose(image)[0])
    assert loaded == ["x2", "x2_archive"]


def test_upscale_auto_names_the_bundle_per_file(scene, tmp_path, capsys):
    """``srkit upscale --weights auto`` on a folder: each file's pick on stderr, outputs written."""
    from srkit.cli import main
    from srkit.imageio import read_image, write_image
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "clean.png", scene[:96, :96])
    write_image(folder / "blocky.png", _jpeg(scene, 25)[:96, :96])
    assert main(["upscale", str(folder), "-o", str(tmp_path / "out"), "--weights", "auto",
                 "--scale", "2", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "clean.png: model x2 (auto:" in err and "blocky.png: model x2_archive (auto:" in err
    assert read_image(tmp_path / "out" / "blocky.png").shape == (192, 192, 3)


def test_video_auto_is_chosen_from_the_first_frames(tmp_path, capsys):
    """A video gets one pick, from the damage of its first frames, named on stderr before the job."""
    av = pytest.importorskip("av")
    from _standins import make_video
    from srkit.cli import main
    from srkit.inference.video import inspect_video
    clip = tmp_path / "clip.mpg"
    make_video(clip, frames=4, width=96, height=64, audio=None, codec="mpeg2video")
    damage = inspect_video(clip).damage
    assert damage is not None and damage.noise >= 0
    out = tmp_path / "clip_x2.mkv"
    assert main(["upscale", str(clip), "-o", str(out), "--weights", "auto", "--scale", "2",
                 "--codec", "ffv1", "--device", "cpu"]) == 0
    expected, _ = choose_weights(damage, 2)
    assert f"clip.mpg: model {expected} (auto: {damage}" in capsys.readouterr().err
    with av.open(str(out)) as container:
        assert container.streams.video[0].width == 192


def test_tiny_and_rgba_images():
    auto = AutoWeights(2, load=lambda name: name, available=lambda name: True)
    name, why = auto.choose(np.zeros((8, 12, 3), np.uint8))
    assert name == "x2" and "12x8: too small" in why
    rgba = np.dstack([sample_image("scene", multiple=8), np.full((256, 256), 255, np.uint8)])
    assert measure_damage(rgba) == measure_damage(rgba[..., :3])


def test_flat_pictures_are_blank_not_nan():
    """A black or one-colour picture has no noise to measure: σ 0 (not NaN), no numpy warning,
    and ``auto`` says it is blank."""
    import warnings
    for value in (0, 128, 235):
        flat = np.full((64, 96, 3), value, np.uint8)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            damage = measure_damage(flat)
        assert damage.noise < 1e-9 and damage.blockiness == 0.0
    auto = AutoWeights(2, load=lambda name: name, available=lambda name: True)
    name, why = auto.choose(np.zeros((64, 96, 3), np.uint8))
    assert name == "x2" and "blank picture" in why
