"""Per-category evaluation: OCR accuracy on captions and masked PSNR/SSIM per category.

Tests the paper's claim (§3, Fig. 7) that English letters and digits come back sharp after SR
while Chinese characters lag. The test set is built from ground truth srkit knows exactly:

- text cards rendered by :mod:`srkit.data.synth` (per script × size; masks = glyph pixels);
- faces from ``DATA/faces/{gfpgan,codeformer}/cropped_faces`` pasted into scikit-image photos
  (mask = the elliptical face region);
- CamVid / ADE20K samples from ``DATA/segmentation`` with labels mapped by
  :mod:`srkit.data.label_maps` (sky, water, grass, mountain, building, plant, animal, background).

Each HR image (uint8) is degraded with a fixed 21×21 isotropic Gaussian (σ = the middle of the
Gaussian8 range for the scale; σ = 0 means no blur) and MATLAB bicubic ↓s, optionally given Gaussian
noise σn (archive footage is noisy; the paper's Table 1 uses 15), stored as uint8, then
upscaled by every method. A method is any callable ``LR uint8 H×W×3 → SR uint8 sH×sW×3``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from srkit.categories import CATEGORIES, CATEGORY_INDEX
from srkit.data.fonts import SCRIPTS
from srkit.data.synth import TEXT_SIZES, composite_face, render_text_card
from srkit.kernels import gaussian8_middle
from srkit.imageio import list_images, modcrop, read_image_uint8, to_uint8

Upscaler = Callable[[np.ndarray], np.ndarray]
FACE_FOLDERS = ("gfpgan/cropped_faces", "codeformer/cropped_faces")
FACE_SCENE = 240  # face composites are 240×240 crops (a multiple of 2, 3 and 4)
MIN_MASK_PIXELS = 64  # smaller category regions (after the border shave) say nothing reliable
OCR_TEXT_HEIGHT = 40  # OCR input is zoomed so the em size is >= this many pixels (same for all methods)


@dataclass
class Sample:
    """One HR test image with its category masks (and caption ground truth for text cards)."""

    name: str
    hr: np.ndarray  # uint8 H×W×3, H and W multiples of the scale
    masks: dict[int, np.ndarray] = field(default_factory=dict)  # category index → bool H×W
    text: str | None = None
    script: str | None = None
    size: int | None = None


def bicubic_upscaler(scale: int) -> Upscaler:
    """The bicubic baseline: MATLAB bicubic ↑s of the uint8 LR (srkit.resize.imresize_np)."""
    from srkit.resize import imresize_np

    return lambda lr: imresize_np(lr, scale)


def model_upscaler(weights: str, scale: int, device: str = "cpu", steps: int = 7) -> Upscaler:
    """An SR method from a bundled model name or checkpoint path, run through ``srkit.upscale``."""
    import srkit

    model = srkit.load(weights, device=device)
    return lambda lr: srkit.upscale(lr, model, scale=scale, steps=steps, device=device)


def make_lr(hr: np.ndarray, scale: int, sigma: float, noise: float = 0.0, seed: int = 0, jpeg: int = 0,
            mpeg2: int = 0) -> np.ndarray:
    """uint8 HR → uint8 LR: Gaussian blur σ (21×21, reflect; skipped when σ = 0), bicubic ↓s, then
    noise and compression as in ``srkit.degrade``.

    Args:
        hr: uint8 H×W×3, H and W multiples of ``scale``.
        scale: 2, 3 or 4.
        sigma: blur width in HR pixels (0 = no blur).
        noise: Gaussian noise σn on the 0–255 scale, added before rounding (default 0; the paper's
            Table 1 uses 15). Noise-free LR is the Gaussian8 one, bit for bit.
        seed: seed of the noise (the same seed gives the same LR).
        jpeg: JPEG quality 1–100 (0 = none); mpeg2: MPEG-2 intra quantiser 1–31 (0 = none).
    """
    from srkit.data.benchmarks import bicubic_lr, gaussian8_lr

    if not noise >= 0:
        raise ValueError(f"noise must be >= 0 (sigma_n on the 0-255 scale), got {noise!r}")
    if noise == 0 and not jpeg and not mpeg2:
        return gaussian8_lr(hr, scale, sigma) if sigma > 0 else bicubic_lr(hr, scale)
    import torch

    from srkit.degrade import degrade_uint8
    delta = None  # σ > 0: degrade_uint8's Gaussian of width σ
    if sigma <= 0:  # a centred delta: no blur, same code path
        delta = torch.zeros(21, 21)
        delta[10, 10] = 1.0
    return degrade_uint8(hr, scale, sigma=sigma, noise=float(noise), seed=seed, kernel=delta,
                         jpeg_quality=int(jpeg), mpeg2_qscale=int(mpeg2))


def build_text_cards(scale: int, scripts=SCRIPTS, sizes=TEXT_SIZES, per_size: int = 4, seed: int = 0,
                     style: str = "banner") -> list[Sample]:
    """Rendered captions: ``per_size`` cards for every (script, size), sides multiples of ``scale``.

    Cards use caption bars (``style='banner'``) by default so that Tesseract reads the HR ground
    truth almost perfectly and differences come from the SR, not from busy backgrounds.
    """
    samples = []
    for si, script in enumerate(scripts):
        for size in sizes:
            for k in range(per_size):
                rng = np.random.default_rng([seed, si, int(size), k])
                card = render_text_card(script=script, size=int(size), rng=rng, multiple_of=scale, style=style)
                samples.append(Sample(f"text_{script}_{size}_{k}", to_uint8(card.image),
                                      {CATEGORY_INDEX["text"]: card.mask}, card.text, script, int(size)))
    return samples


def load_faces(data_dir: str | Path, limit: int | None = None) -> list[np.ndarray]:
    """Aligned face crops (uint8 H×W×3) from ``data_dir/faces/{gfpgan,codeformer}/cropped_faces``."""
    paths = []
    for sub in FACE_FOLDERS:
        folder = Path(data_dir) / "faces" / sub
        paths += list_images(folder) if folder.is_dir() else []
    return [read_image_uint8(p) for p in paths[:limit]]


def build_face_composites(faces: list[np.ndarray], scale: int, seed: int = 0,
                          sizes: tuple[int, int] = (64, 160)) -> list[Sample]:
    """Each face pasted once into a 240×240 crop of a scikit-image photo; face heights in ``sizes``."""
    from srkit.data.scenes import default_backgrounds, random_crop

    backgrounds = default_backgrounds()
    samples = []
    for i, face in enumerate(faces):
        rng = np.random.default_rng([seed, 8, i])
        scene = random_crop(backgrounds[i % len(backgrounds)], FACE_SCENE, FACE_SCENE, rng)
        fc = composite_face(scene, face, size=int(rng.integers(sizes[0], sizes[1] + 1)), rng=rng)
        hr = modcrop(to_uint8(fc.image), scale)
        samples.append(Sample(f"face_{i:02d}", hr, {CATEGORY_INDEX["face"]: fc.mask[:hr.shape[0], :hr.shape[1]]}))
    return samples


def _label_masks(labels: np.ndarray) -> dict[int, np.ndarray]:
    return {int(c): labels == c for c in np.unique(labels) if c >= 0}


def load_segmentation_samples(data_dir: str | Path, scale: int, camvid_limit: int | None = None) -> list[Sample]:
    """CamVid subset and ADE20K samples with labels mapped to srkit's categories (empty if absent)."""
    from srkit.data.segmentation import load_ade20k, load_camvid

    root = Path(data_dir) / "segmentation"
    samples = []
    for folder, loader, limit in (("CamVid_val_sub", load_camvid, camvid_limit), ("ADE20K_samples", load_ade20k, None)):
        if not (root / folder / "images").is_dir():
            continue
        for seg in loader(data_dir, limit):
            hr = modcrop(seg.image, scale)
            samples.append(Sample(seg.name, hr, _label_masks(seg.labels[:hr.shape[0], :hr.shape[1]])))
    return samples


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def evaluate_categories(methods: dict[str, Upscaler], data_dir: str | Path | None = None, scale: int = 2,
                        sigma: float | None = None, *, noise: float = 0.0, jpeg: int = 0, mpeg2: int = 0,
                        scripts=SCRIPTS, sizes=TEXT_SIZES,
                        per_size: int = 4,
                        face_limit: int | None = None, camvid_limit: int | None = None, ocr: bool = True,
                        seed: int = 0, progress: bool = False) -> dict:
    """Run the category benchmark.

    Args:
        methods: name → upscaler (uint8 LR → uint8 SR of ``scale``× the size), e.g.
            ``{"bicubic": bicubic_upscaler(2)}``.
        data_dir: data folder (docs/DESIGN.md §4; uses faces/ and segmentation/); None = text only.
        scale: 2, 3 or 4.
        sigma: Gaussian blur width of the degradation; None = middle of the Gaussian8 range
            (×2 1.2, ×3 1.875, ×4 2.5); 0 = bicubic ↓ only.
        noise: Gaussian noise σn on the 0–255 scale added to every LR before rounding (default 0;
            the paper's Table 1 level is 15); image i's noise is seeded with ``seed + i``, so every
            method sees the same noisy LR.
        jpeg / mpeg2: JPEG quality (1–100) / MPEG-2 intra quantiser (1–31) applied last (0 = none).
        scripts / sizes / per_size: the text cards (default: all scripts, sizes 12-48 px, 4 each).
        face_limit / camvid_limit: use only the first N faces / CamVid frames (None = all).
        ocr: run Tesseract (needs ``tesseract-ocr`` + eng/chi-sim data and ``pytesseract``).
        seed: seed of the cards and face composites.
        progress: show a tqdm bar.

    Returns:
        JSON-serialisable dict: ``ocr[script][size|"all"][method] = {"char_accuracy", "n"}``
        (method ``gt`` = the HR card), ``categories[category][method] = {"psnr", "ssim", "n"}``
        (means over images whose category region has >= 64 pixels), ``protocol``.
    """
    from tqdm.auto import tqdm

    from srkit.metrics import PROTOCOL, masked_psnr, masked_ssim
    from srkit.evaluation.ocr import SCRIPT_LANG, char_accuracy, ocr_text, require_tesseract

    sigma = gaussian8_middle(scale) if sigma is None else float(sigma)
    if not noise >= 0:  # checked before the slow part, not at the first image
        raise ValueError(f"noise must be >= 0 (sigma_n on the 0-255 scale), got {noise!r}")
    if ocr:
        for script in scripts:
            require_tesseract(SCRIPT_LANG[script])
    samples = build_text_cards(scale, scripts, sizes, per_size, seed)
    if data_dir is not None:
        samples += build_face_composites(load_faces(data_dir, face_limit), scale, seed)
        samples += load_segmentation_samples(data_dir, scale, camvid_limit)

    ocr_scores: dict = {}  # (script, size, method) → accuracies
    region_scores: dict = {}  # (category, method) → list of (psnr, ssim)
    for i, sample in enumerate(tqdm(samples, desc=f"categories x{scale}", disable=not progress)):
        lr = make_lr(sample.hr, scale, sigma, noise, seed + i, jpeg, mpeg2)
        outputs = {"gt": sample.hr} if sample.text is not None else {}
        for name, method in methods.items():
            sr = np.asarray(method(lr))
            if sr.shape != sample.hr.shape or sr.dtype != np.uint8:
                raise ValueError(f"method {name!r} returned {sr.dtype} {sr.shape} for {sample.name}; "
                                 f"expected uint8 {sample.hr.shape}")
            outputs[name] = sr
            for category, mask in sample.masks.items():
                if mask[scale:-scale, scale:-scale].sum() < MIN_MASK_PIXELS:
                    continue
                region_scores.setdefault((category, name), []).append(
                    (masked_psnr(sr, sample.hr, mask, shave=scale), masked_ssim(sr, sample.hr, mask, shave=scale)))
        if ocr and sample.text is not None:
            zoom = max(1.0, OCR_TEXT_HEIGHT / sample.size)
            psm = 6 if "\n" in sample.text else 7  # layout known from the rendering, same for all methods
            for name, image in outputs.items():
                hyp = ocr_text(image, SCRIPT_LANG[sample.script], psm=psm, zoom=zoom)
                ocr_scores.setdefault((sample.script, sample.size, name), []).append(
                    char_accuracy(sample.text, hyp, sample.script))

    ocr_table: dict = {}
    for (script, size, name), accs in ocr_scores.items():
        for key in (str(size), "all"):
            cell = ocr_table.setdefault(script, {}).setdefault(key, {}).setdefault(name, [])
            cell.extend(accs)
    ocr_table = {s: {k: {m: {"char_accuracy": float(np.mean(v)), "n": len(v)} for m, v in row.items()}
                     for k, row in rows.items()} for s, rows in ocr_table.items()}
    categories = {}
    for (category, name), pairs in sorted(region_scores.items()):
        categories.setdefault(CATEGORIES[category], {})[name] = {
            "psnr": _mean([p for p, _ in pairs]), "ssim": _mean([s for _, s in pairs]), "n": len(pairs)}
    protocol = dict(PROTOCOL)
    protocol.update({
        "scale": scale,
        "degradation": ((f"21x21 isotropic Gaussian blur sigma={sigma:g} (reflect padding), MATLAB bicubic "
                         f"down x{scale}" if sigma > 0 else f"MATLAB bicubic down x{scale}")
                        + (f", Gaussian noise sigma_n={noise:g} (0-255, image i seeded with seed + i), uint8"
                           if noise > 0 else ", uint8; no noise")
                        + (f", JPEG q{jpeg} (Pillow, 4:2:0)" if jpeg else "")
                        + (f", MPEG-2 intra q{mpeg2} (FFmpeg mpeg2video)" if mpeg2 else "")),
        "text_cards": (f"srkit.data.synth banner cards, scripts {list(scripts)}, em sizes {list(sizes)} px, "
                       f"{per_size} per script and size, seed {seed}; text mask = glyph and outline pixels"),
        "faces": f"{FACE_FOLDERS} crops pasted into {FACE_SCENE}x{FACE_SCENE} scikit-image photo crops; "
                 "mask = elliptical face region (blend weight >= 0.5)",
        "segmentation": "CamVid val subset (12 classes) and ADE20K samples mapped by srkit.data.label_maps",
        "masked_metrics": f"Y-channel PSNR / mean SSIM map over the category mask, shave {scale}; regions "
                          f"under {MIN_MASK_PIXELS} pixels skipped; means over images",
        "ocr": (f"Tesseract via pytesseract, eng (latin, digits) / chi_sim (chinese), --psm 7 (one line) "
                f"or 6 (wrapped), grayscale, "
                f"dark-on-light, zoomed (bicubic) to >= {OCR_TEXT_HEIGHT} px em; char accuracy = "
                "max(0, 1 - CER), whitespace ignored for digits and Chinese") if ocr else "not run",
    })
    return {"ocr": ocr_table, "categories": categories, "protocol": protocol,
            "methods": ["gt", *methods] if ocr else list(methods)}


def merge_categories(parts: list[dict]) -> dict:
    """Join the results of runs with the same protocol and other methods (a later run's method wins).

    Raises ValueError when the protocols differ (another degradation, card set or scale), since
    columns measured on different inputs do not belong in one table.
    """
    if not parts:
        raise ValueError("merge_categories needs at least one result")
    protocol = parts[0]["protocol"]
    for i, part in enumerate(parts[1:], start=1):
        if part["protocol"] != protocol:
            diff = sorted(k for k in set(protocol) | set(part["protocol"])
                          if protocol.get(k) != part["protocol"].get(k))
            raise ValueError(f"result {i} has another protocol than result 0 (differs in {diff})")
    ocr: dict = {}
    categories: dict = {}
    methods: list = []
    guard = 0
    for part in parts:
        for script, rows in part["ocr"].items():
            for key, by_method in rows.items():
                ocr.setdefault(script, {}).setdefault(key, {}).update(by_method)
        for category, by_method in part["categories"].items():
            categories.setdefault(category, {}).update(by_method)
        methods += [m for m in part["methods"] if m not in methods]
        guard += part.get("guard_warnings", 0)
    return {"ocr": ocr, "categories": categories, "protocol": protocol, "methods": methods,
            "guard_warnings": guard}


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def format_tables(result: dict) -> str:
    """Markdown: the OCR table (script × size rows, method columns) and the per-category table."""
    lines = []
    methods = result["methods"]
    if result["ocr"]:
        lines += ["OCR character accuracy (1 − CER; `gt` = Tesseract on the HR card)", "",
                  "| script | size (px) | n | " + " | ".join(methods) + " |",
                  "|---|---|---|" + "---|" * len(methods)]
        for script, rows in result["ocr"].items():
            keys = sorted((k for k in rows if k != "all"), key=int) + ["all"]
            for key in keys:
                row = rows[key]
                n = next(iter(row.values()))["n"]
                cells = [_fmt(row.get(m, {}).get("char_accuracy"), 3) for m in methods]
                label = f"**{key}**" if key == "all" else key
                lines.append(f"| {script} | {label} | {n} | " + " | ".join(cells) + " |")
        lines.append("")
    sr_methods = [m for m in methods if m != "gt"]
    lines += ["Masked PSNR (dB) / SSIM per category (Y channel)", "",
              "| category | n | " + " | ".join(sr_methods) + " |", "|---|---|" + "---|" * len(sr_methods)]
    for category in CATEGORIES:
        row = result["categories"].get(category)
        if not row:
            continue
        n = next(iter(row.values()))["n"]
        cells = [f"{_fmt(row[m]['psnr'], 2)} / {_fmt(row[m]['ssim'], 4)}" if m in row else "–" for m in sr_methods]
        lines.append(f"| {category} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
