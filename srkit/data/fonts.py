"""Find the system fonts that text rendering needs (DejaVu for Latin and digits, Noto CJK for Chinese).

Fonts are looked up by file name in the standard font folders, so the kit works wherever Debian,
Ubuntu, Fedora or a user put them. A missing font raises :class:`FontNotFoundError` naming the Debian
package that provides it, instead of silently falling back to PIL's bitmap font (which has no CJK
glyphs and would make Chinese OCR results meaningless).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from PIL import ImageFont

SCRIPTS = ("latin", "digits", "chinese")

# Folders searched in this order (recursively). SRKIT_FONT_DIR comes first so a user can point the
# kit at fonts in a non-standard place without root.
FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)

# File names per script. Several faces per script so the test cards vary in style; the first one is
# the default. Digits use the Latin fonts (captions for scores, times and prices are set in them).
FONT_FILES = {
    "latin": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf",
              "DejaVuSansCondensed.ttf"),
    "digits": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSerif.ttf"),
    "chinese": ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", "NotoSerifCJK-Regular.ttc",
                "NotoSerifCJK-Bold.ttc"),
}

DEBIAN_PACKAGES = {"latin": "fonts-dejavu-core", "digits": "fonts-dejavu-core",
                   "chinese": "fonts-noto-cjk"}


class FontNotFoundError(FileNotFoundError):
    """A font file needed for rendering is not installed."""


def _search_dirs() -> list[Path]:
    dirs = [os.environ["SRKIT_FONT_DIR"]] if os.environ.get("SRKIT_FONT_DIR") else []
    dirs += list(FONT_DIRS)
    return [Path(d).expanduser() for d in dirs if Path(d).expanduser().is_dir()]


@functools.lru_cache(maxsize=None)
def find_font_file(file_name: str) -> Path | None:
    """Path of an installed font file, or None.

    Args:
        file_name: exact file name, e.g. ``"DejaVuSans.ttf"``.
    """
    for folder in _search_dirs():
        direct = folder / file_name
        if direct.is_file():
            return direct
        for hit in folder.rglob(file_name):
            return hit
    return None


def _check_script(script: str) -> None:
    if script not in SCRIPTS:
        raise ValueError(f"script must be one of {SCRIPTS}, got {script!r}")


def find_fonts(script: str) -> list[Path]:
    """All installed font files for a script, default face first.

    Args:
        script: ``'latin'``, ``'digits'`` or ``'chinese'``.

    Raises:
        FontNotFoundError: none of the script's fonts is installed; the message names the Debian
            package (``fonts-dejavu-core`` or ``fonts-noto-cjk``).
    """
    _check_script(script)
    found = [p for p in (find_font_file(n) for n in FONT_FILES[script]) if p is not None]
    if not found:
        pkg = DEBIAN_PACKAGES[script]
        raise FontNotFoundError(
            f"no {script} font found (looked for {', '.join(FONT_FILES[script])} under "
            f"{', '.join(FONT_DIRS)} and $SRKIT_FONT_DIR); install it with "
            f"`sudo apt-get install {pkg}` or set SRKIT_FONT_DIR to a folder holding one of them")
    return found


def fonts_available(script: str) -> bool:
    """True when at least one font for ``script`` is installed."""
    try:
        find_fonts(script)
        return True
    except FontNotFoundError:
        return False


@functools.lru_cache(maxsize=None)
def _simplified_chinese_index(path: str) -> int:
    # Noto CJK .ttc collections hold JP, KR, SC, TC, HK faces; pick SC by name rather than trusting
    # the order, which differs between the Sans and Serif collections of some releases.
    for index in range(16):
        try:
            family, _ = ImageFont.truetype(path, 12, index=index).getname()
        except OSError:
            break
        if family.endswith(" SC"):
            return index
    return 0


@functools.lru_cache(maxsize=256)
def load_font(path: str | Path, size: int) -> ImageFont.FreeTypeFont:
    """A PIL FreeType font at ``size`` pixels (em height); Simplified Chinese face for CJK collections.

    Args:
        path: font file (.ttf/.otf/.ttc).
        size: em size in pixels, >= 1.
    """
    path = str(path)
    if size < 1:
        raise ValueError(f"font size must be >= 1 px, got {size}")
    index = _simplified_chinese_index(path) if path.lower().endswith(".ttc") else 0
    return ImageFont.truetype(path, int(size), index=index)
