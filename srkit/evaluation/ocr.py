"""OCR fidelity: character error rate and Tesseract OCR through pytesseract.

The paper claims English letters and digits come back sharp after SR while Chinese lags (§3,
Fig. 7). srkit measures it as character accuracy = 1 - CER of Tesseract's reading of each image
against the rendered ground-truth string.
"""
from __future__ import annotations

import functools
import re
import shutil
import unicodedata

import numpy as np

INSTALL_HINT = ("install Tesseract and its language data with `sudo apt-get install tesseract-ocr "
                "tesseract-ocr-eng tesseract-ocr-chi-sim` and the Python wrapper with "
                "`pip install pytesseract`")
LANGS = ("eng", "chi_sim")
SCRIPT_LANG = {"latin": "eng", "digits": "eng", "chinese": "chi_sim"}


class TesseractNotAvailable(RuntimeError):
    """Tesseract, its language data or pytesseract is missing."""


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions, each cost 1) between two strings."""
    if len(a) < len(b):
        a, b = b, a  # keep the row as short as possible
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def normalize_text(text: str, script: str | None = None) -> str:
    """Text as compared by the OCR metric.

    Unicode NFKC (full-width digits and punctuation become ASCII), whitespace runs collapsed to
    one space and trimmed. For Chinese and digit strings all whitespace is removed: Tesseract's
    chi_sim model puts spaces between characters, its spacing between digit fields is erratic,
    and in both the characters carry the content (for English, word breaks count).

    Args:
        text: any string.
        script: 'latin' | 'digits' | 'chinese' | None (None = keep single spaces).
    """
    text = unicodedata.normalize("NFKC", text)
    if script in ("chinese", "digits"):
        return re.sub(r"\s+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def character_error_rate(ref: str, hyp: str, script: str | None = None, normalize: bool = True) -> float:
    """Character error rate: Levenshtein distance / len(ref).

    Args:
        ref: ground-truth string.
        hyp: OCR output.
        script: passed to :func:`normalize_text` (how whitespace is treated).
        normalize: apply :func:`normalize_text` to both strings first (default True).

    Returns:
        CER >= 0 (can exceed 1 when the hypothesis is much longer than the reference); 0 for two
        empty strings, 1 for an empty reference and a non-empty hypothesis.
    """
    if normalize:
        ref, hyp = normalize_text(ref, script), normalize_text(hyp, script)
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(ref, hyp) / len(ref)


def char_accuracy(ref: str, hyp: str, script: str | None = None, normalize: bool = True) -> float:
    """Character accuracy = 1 - CER, clipped to [0, 1]."""
    return float(max(0.0, 1.0 - character_error_rate(ref, hyp, script, normalize)))


@functools.lru_cache(maxsize=None)
def _installed_langs() -> frozenset[str]:
    import pytesseract

    return frozenset(pytesseract.get_languages(config=""))


def tesseract_available(lang: str = "eng") -> bool:
    """True when pytesseract imports, the tesseract binary runs and ``lang`` data is installed."""
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return False
    if shutil.which("tesseract") is None:
        return False
    try:
        return lang in _installed_langs()
    except Exception:  # a broken install raises various pytesseract/OS errors; all mean "no"
        return False


def require_tesseract(lang: str = "eng") -> None:
    """Raise :class:`TesseractNotAvailable` naming the packages to install when OCR cannot run."""
    if not tesseract_available(lang):
        raise TesseractNotAvailable(f"Tesseract OCR with language '{lang}' is not available; {INSTALL_HINT}")


def _to_pil_uint8(image):
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3:
        arr = arr[..., :3]
    return Image.fromarray(arr)


def dark_on_light(gray: np.ndarray) -> np.ndarray:
    """Invert a uint8 grayscale image when its text is light on dark.

    Tesseract's LSTM models read dark text on a light page and often return nothing for light
    captions on dark bars. The text is taken to be the minority side of an Otsu threshold (captions
    cover well under half of a card), so the decision uses the image alone and is the same rule for
    ground truth and every SR output.
    """
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    weight_lo = np.cumsum(hist)
    mean_lo = np.cumsum(hist * levels)
    total, total_mean = weight_lo[-1], mean_lo[-1]
    weight_hi = total - weight_lo
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mean * weight_lo / total - mean_lo) ** 2 / (weight_lo * weight_hi)
    threshold = int(np.argmax(np.nan_to_num(between, nan=-1.0, posinf=-1.0)))  # flat image: 0
    bright = weight_hi[threshold]
    return 255 - gray if bright < total - bright else gray


def ocr_text(image, lang: str = "eng", psm: int = 6, border: int = 10, zoom: float = 1.0) -> str:
    """Read text from an image with Tesseract.

    The image is converted to grayscale (BT.601 luma) and made dark-on-light
    (:func:`dark_on_light`) before Tesseract sees it.

    Args:
        image: HWC/HW numpy array (uint8, or float in [0, 1]) or a PIL image.
        lang: 'eng' (Latin and digits) or 'chi_sim' (Simplified Chinese).
        psm: Tesseract page segmentation mode; 6 ("a single uniform block of text") suits captions
            of one or a few lines, 7 a single line.
        border: white pixels added around the image (Tesseract misses glyphs touching the edge).
        zoom: resize factor (bicubic) applied first. Tesseract reads best at 30-50 px text
            height and fails on small text whatever its quality, so evaluations zoom small text
            by a factor that depends only on the nominal size, the same for every method.

    Returns:
        The recognised text, stripped.

    Raises:
        TesseractNotAvailable: Tesseract, the language data or pytesseract is missing.
    """
    require_tesseract(lang)
    import pytesseract
    from PIL import Image, ImageOps

    pil = Image.fromarray(dark_on_light(np.asarray(_to_pil_uint8(image).convert("L"))))
    if zoom != 1.0:
        size = (max(1, round(pil.width * zoom)), max(1, round(pil.height * zoom)))
        pil = pil.resize(size, Image.BICUBIC)
    if border > 0:
        pil = ImageOps.expand(pil, border=border, fill=255)
    # preserve_interword_spaces keeps Latin spacing intact; chi_sim output is normalised anyway.
    config = f"--psm {int(psm)} -c preserve_interword_spaces=1"
    return pytesseract.image_to_string(pil, lang=lang, config=config).strip()
