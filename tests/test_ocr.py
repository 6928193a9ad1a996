"""OCR metric on known strings, and Tesseract on a clean rendered card."""
import numpy as np
import pytest

from srkit.evaluation.ocr import (INSTALL_HINT, TesseractNotAvailable, char_accuracy, character_error_rate, dark_on_light,
                       levenshtein, normalize_text, ocr_text, require_tesseract, tesseract_available)


def test_identical_text_has_accuracy_one():
    assert char_accuracy("Breaking news 21:45", "Breaking news 21:45") == 1.0
    assert character_error_rate("新闻联播现在开始", "新闻联播现在开始", "chinese") == 0.0


def test_known_edits():
    assert levenshtein("kitten", "sitting") == 3
    assert character_error_rate("kitten", "sitting") == pytest.approx(3 / 6)
    assert char_accuracy("kitten", "sitting") == pytest.approx(0.5)
    assert character_error_rate("abcd", "abd") == pytest.approx(1 / 4)        # one deletion
    assert character_error_rate("今天天气", "今天大气", "chinese") == pytest.approx(1 / 4)


def test_accuracy_is_clipped_and_empty_strings_are_handled():
    assert char_accuracy("ab", "xxxxxxxx") == 0.0      # CER 4 → accuracy clipped at 0
    assert character_error_rate("", "") == 0.0
    assert character_error_rate("", "x") == 1.0
    assert character_error_rate("abc", "") == 1.0


def test_normalisation_rules():
    assert normalize_text("  Live   coverage\nof it ") == "Live coverage of it"
    assert normalize_text("新 闻\n联播", "chinese") == "新闻联播"
    assert normalize_text("３ : １", "digits") == "3:1"                      # NFKC full-width digits
    assert character_error_rate("21:45   3 : 1", "21:45 3:1", "digits") == 0.0


def test_dark_on_light_inverts_light_text_only():
    dark_bg = np.zeros((20, 40), np.uint8)
    dark_bg[8:12, 5:30] = 255          # light text, minority
    assert dark_on_light(dark_bg)[0, 0] == 255
    light_bg = 255 - dark_bg
    assert dark_on_light(light_bg)[0, 0] == 255
    assert dark_on_light(np.full((4, 4), 7, np.uint8)).shape == (4, 4)    # flat image: no crash


def test_missing_language_raises_with_install_hint():
    with pytest.raises(TesseractNotAvailable, match="tesseract-ocr-chi-sim"):
        require_tesseract("no_such_lang")
    assert "pip install pytesseract" in INSTALL_HINT


@pytest.mark.skipif(not tesseract_available("eng"), reason="Tesseract not installed: " + INSTALL_HINT)
def test_ocr_reads_a_clean_english_card():
    from srkit.data.fonts import fonts_available
    from srkit.data.synth import render_text_card
    if not fonts_available("latin"):
        pytest.skip("DejaVu fonts missing: sudo apt-get install fonts-dejavu-core")
    text = "The museum reopens after two years"
    card = render_text_card(text, "latin", 40, rng=1, style="plain", color=(0, 0, 0), outline=0,
                            font=None, max_width=2000)
    white = np.ones_like(card.image)
    image = np.where(card.mask[..., None], card.image, white)  # black text on white: the easy case
    assert char_accuracy(text, ocr_text(image, "eng")) > 0.9
