"""Synthetic text cards, face composites and segmentation samples: exact masks, determinism."""
import numpy as np
import pytest

from srkit.data.fonts import FontNotFoundError, find_fonts, fonts_available
from srkit.data.synth import (composite_face, draw_text, elliptical_alpha, make_segmentation_sample,
                              render_text_card)

needs_latin = pytest.mark.skipif(not fonts_available("latin"),
                                 reason="DejaVu fonts missing: sudo apt-get install fonts-dejavu-core")
needs_cjk = pytest.mark.skipif(not fonts_available("chinese"),
                               reason="Noto CJK fonts missing: sudo apt-get install fonts-noto-cjk")


@needs_latin
@pytest.mark.parametrize("outline", [0, 2])
def test_mask_is_exactly_the_drawn_pixels(outline):
    from srkit.data.fonts import load_font
    font = load_font(find_fonts("latin")[0], 24)
    black = np.zeros((60, 300, 3), np.float32)
    image, mask = draw_text(black, "Score 3:1", font, (10, 10), (1.0, 1.0, 1.0), outline, (0.2, 0.9, 0.4))
    assert mask.any()
    np.testing.assert_array_equal(image.any(axis=-1), mask)   # every touched pixel, and only those


@needs_latin
def test_card_pixels_outside_mask_equal_the_background():
    card = render_text_card("Live coverage", "latin", 32, rng=3, style="plain")
    outside = card.image[~card.mask]
    assert np.all(outside == outside[0])          # plain style: one flat colour outside the glyphs
    assert card.image.dtype == np.float32 and card.mask.dtype == bool
    assert card.image.shape[:2] == card.mask.shape and card.script == "latin" and card.size == 32


@needs_latin
def test_cards_are_seeded_and_sized():
    a = render_text_card(script="digits", size=16, rng=7, multiple_of=4)
    b = render_text_card(script="digits", size=16, rng=np.random.default_rng(7), multiple_of=4)
    c = render_text_card(script="digits", size=16, rng=8, multiple_of=4)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.text == b.text and (a.text != c.text or not np.array_equal(a.image, c.image))
    assert a.image.shape[0] % 4 == 0 and a.image.shape[1] % 4 == 0
    assert 0.0 <= a.image.min() and a.image.max() <= 1.0


@needs_cjk
def test_chinese_card_renders_glyphs():
    card = render_text_card("新闻联播", "chinese", 32, rng=0)
    assert card.mask.sum() > 200 and "CJK" in card.font


def test_unknown_script_and_missing_font_errors(monkeypatch):
    with pytest.raises(ValueError, match="script"):
        render_text_card("x", "klingon", 20)
    import srkit.data.fonts as fonts
    monkeypatch.setattr(fonts, "find_font_file", lambda name: None)
    with pytest.raises(FontNotFoundError, match="fonts-noto-cjk"):
        fonts.find_fonts("chinese")


def test_face_composite_mask_and_blend():
    rng = np.random.default_rng(0)
    scene = rng.random((120, 160, 3)).astype(np.float32)
    face = np.full((64, 64, 3), 0.5, np.float32)
    fc = composite_face(scene, face, size=64, center=(60, 80))
    assert fc.box == (28, 48, 64, 64)
    np.testing.assert_array_equal(fc.image[fc.alpha == 0], scene[fc.alpha == 0])
    np.testing.assert_allclose(fc.image[fc.alpha == 1], 0.5, atol=1e-6)
    assert fc.mask.sum() == (fc.alpha >= 0.5).sum() > 0.3 * 64 * 64
    alpha = elliptical_alpha(64, 64)
    assert alpha[34, 32] == 1.0 and alpha[0, 0] == 0.0


@needs_latin
def test_segmentation_sample_labels():
    scene = np.random.default_rng(1).random((160, 200, 3)).astype(np.float32)
    labels = np.full((160, 200), 1, np.int64)            # all sky
    face = np.full((48, 48, 3), 0.3, np.float32)
    kw = dict(labels=labels, faces=[face], n_text=(2, 2), n_faces=(1, 1), crop=128, scripts=("latin", "digits"))
    image, label = make_segmentation_sample(scene, 5, **kw)
    image2, label2 = make_segmentation_sample(scene, 5, **kw)
    np.testing.assert_array_equal(image, image2)
    np.testing.assert_array_equal(label, label2)
    assert image.shape == (128, 128, 3) and label.shape == (128, 128) and label.dtype == np.int64
    assert set(np.unique(label)) <= {1, 8, 9} and (label == 9).any() and (label == 8).any()


@needs_latin
def test_text_box_label_is_the_rectangle_around_the_glyphs():
    scene = np.random.default_rng(2).random((160, 200, 3)).astype(np.float32)
    kw = dict(n_text=(1, 1), n_faces=(0, 0), crop=128, scripts=("latin",))
    img_g, lab_g = make_segmentation_sample(scene, 7, text_label="glyphs", **kw)
    img_b, lab_b = make_segmentation_sample(scene, 7, text_label="box", **kw)
    np.testing.assert_array_equal(img_g, img_b)  # the label changes, never the image
    glyphs = lab_g == 9
    rows, cols = np.flatnonzero(glyphs.any(1)), np.flatnonzero(glyphs.any(0))
    box = np.zeros_like(glyphs)
    box[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
    np.testing.assert_array_equal(lab_b == 9, box)
    assert (lab_b == 9).sum() > glyphs.sum()
    with pytest.raises(ValueError, match="text_label must be one of"):
        make_segmentation_sample(scene, 7, text_label="strokes", **kw)
