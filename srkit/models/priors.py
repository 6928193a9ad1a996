"""Face and text priors from dedicated detectors, fused with the segmenter's probabilities ψ.

The segmenter sees faces and captions as a few LR pixels among sky and buildings; two detectors
trained for exactly these things give precise, confident boxes:

- faces: MTCNN (Zhang et al., "Joint Face Detection and Alignment Using Multitask Cascaded
  Convolutional Networks", IEEE SPL 2016, https://arxiv.org/abs/1604.02878), the implementation and
  weights of facenet-pytorch (MIT; ``pip install --no-deps facenet-pytorch==2.6.0``: its wheel pins
  an old torch but runs with current ones);
- text: the PP-OCRv4 text detector (DB, Liao et al., "Real-time Scene Text Detection with
  Differentiable Binarization", AAAI 2020, https://arxiv.org/abs/1911.08947), the ONNX file shipped
  by rapidocr-onnxruntime (Apache-2.0; ``pip install --no-deps rapidocr-onnxruntime==1.4.4``), run
  through onnxruntime with the small pre/post-processing below (rapidocr's own imports OpenCV).

Fusion rule (``fuse_priors``), per pixel, faces first, then text: where a detector is confident
(p > 0 only inside its detections, p = the detection's score, at least ``FACE_MIN_SCORE`` /
``TEXT_MIN_SCORE``) and the segmenter agrees at least weakly (its mean ψ_k inside the detection
≥ ``AGREE``), ψ_k ← max(ψ_k, p) and the other categories are scaled by (1 − ψ_k new) /
(1 − ψ_k old) so ψ still sums to 1; elsewhere ψ is unchanged. A detector can only add its category,
never remove it: MTCNN misses faces under ~12 LR pixels that the segmenter finds.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from srkit.categories import CATEGORY_INDEX

FACE, TEXT = CATEGORY_INDEX["face"], CATEGORY_INDEX["text"]
FACE_MIN_SCORE = 0.95   # MTCNN's O-net probability; its own default thresholds end at 0.7
TEXT_MIN_SCORE = 0.6    # mean DB probability inside a text box (rapidocr: box_thresh 0.5)
# a detection counts where the segmenter gives its category at least this mean probability: on
# 40 images per held-out set at ×2, ungated text boxes added 3 % false text on Stanford val (leaves,
# facades), gated at 0.15 none, and composite text IoU still rose 0.64 → 0.69
AGREE = 0.15
TEXT_PIXEL_THRESH = 0.3  # DB probability that makes a pixel text (PP-OCR's 'thresh')
TEXT_UNCLIP = 1.6        # box grown by area·ratio/perimeter on each side (PP-OCR's unclip_ratio)
TEXT_MIN_SIDE = 320      # short side scaled up to this; PP-OCR uses 736, which on LR frames (×5) fires on foliage and facades


def fuse_priors(psi: torch.Tensor, face: torch.Tensor | None = None, text: torch.Tensor | None = None,
                agree: float = AGREE) -> torch.Tensor:
    """ψ N×K×H×W probabilities fused with prior maps N×H×W in [0, 1] (0 = no detection); see the
    module docstring. A detection (a connected region of prior > 0) counts only where the segmenter
    gives its category a mean probability of at least ``agree`` inside it. Returns a new tensor;
    every pixel still sums to 1."""
    from scipy import ndimage  # scikit-image's dependency
    out = psi.clone()
    for k, prior in ((FACE, face), (TEXT, text)):
        if prior is None:
            continue
        if prior.shape != (psi.shape[0], *psi.shape[2:]):
            raise ValueError(f"prior map {tuple(prior.shape)} does not match ψ {tuple(psi.shape)}")
        prior = prior.to(out).clone()
        if agree > 0:
            for n in range(prior.shape[0]):
                regions, count = ndimage.label(prior[n].cpu().numpy() > 0)
                if count:
                    means = ndimage.mean(out[n, k].cpu().numpy(), regions, index=np.arange(1, count + 1))
                    keep = np.concatenate([[False], np.asarray(means) >= agree])
                    prior[n] *= torch.from_numpy(keep[regions]).to(prior)
        old = out[:, k]
        new = torch.maximum(old, prior)
        rest = (1 - new) / (1 - old).clamp_min(1e-6)
        out = out * rest.unsqueeze(1)
        out[:, k] = new
    return out


def _ellipse_in_box(h: int, w: int, box, score: float, out: np.ndarray) -> None:
    """Write ``score`` (max with what is there) into the ellipse inscribed in box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    cy, cx, ry, rx = (y0 + y1) / 2, (x0 + x1) / 2, max((y1 - y0) / 2, 0.5), max((x1 - x0) / 2, 0.5)
    ys, xs = np.ogrid[:h, :w]
    inside = ((ys + 0.5 - cy) / ry) ** 2 + ((xs + 0.5 - cx) / rx) ** 2 <= 1
    out[inside] = np.maximum(out[inside], score)


@dataclass
class FacePrior:
    """MTCNN face boxes on a uint8 H×W×3 image → H×W map (the detection's probability inside the
    ellipse inscribed in each box with probability ≥ ``min_score``, else 0).

    The image is scaled up by ``upsample`` (bilinear) first so faces of ~6–10 LR pixels reach
    MTCNN's smallest window (12 px at ``min_face_size`` 12)."""
    min_score: float = FACE_MIN_SCORE
    upsample: int = 2
    min_face_size: int = 12
    _mtcnn: object = field(default=None, repr=False)

    name = "mtcnn"

    def __post_init__(self):
        from facenet_pytorch import MTCNN
        self._mtcnn = MTCNN(keep_all=True, min_face_size=self.min_face_size, device="cpu", post_process=False)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        x = image
        if self.upsample > 1:
            t = torch.from_numpy(image).permute(2, 0, 1)[None].float()
            t = torch.nn.functional.interpolate(t, scale_factor=self.upsample, mode="bilinear", align_corners=False)
            x = t[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
        out = np.zeros((h, w), np.float32)
        with torch.no_grad():
            boxes, probs = self._mtcnn.detect(x)
        if boxes is None:
            return out
        for box, p in zip(boxes, probs):
            if p is not None and p >= self.min_score:
                _ellipse_in_box(h, w, np.asarray(box) / self.upsample, float(p), out)
        return out


def ppocr_det_model() -> Path | None:
    """The PP-OCRv4 detector's ONNX file inside the installed rapidocr-onnxruntime (found without
    importing the package, which needs OpenCV), or None."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "ch_PP-OCRv4_det_infer.onnx"
    return path if path.is_file() else None


def text_boxes(prob: np.ndarray, pixel_thresh: float = TEXT_PIXEL_THRESH, min_score: float = TEXT_MIN_SCORE,
               unclip: float = TEXT_UNCLIP) -> list[tuple[int, int, int, int, float]]:
    """Axis-aligned text boxes (x0, y0, x1, y1, score) from a DB probability map H×W in [0, 1].

    PP-OCR's post-processing with axis-aligned boxes (captions are horizontal): pixels above
    ``pixel_thresh``, dilated by 2×2 (PP-OCR's use_dilation), connected components; a component's
    score is the mean probability inside its box; boxes scoring ≥ ``min_score`` are grown on each
    side by area·unclip/perimeter (the DB shrink undone)."""
    from scipy import ndimage  # scikit-image's dependency
    mask = ndimage.binary_dilation(prob > pixel_thresh, structure=np.ones((2, 2), bool))
    lab, _ = ndimage.label(mask)
    out = []
    for sl in ndimage.find_objects(lab):
        if sl is None:
            continue
        y0, y1, x0, x1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
        if min(y1 - y0, x1 - x0) < 3:  # PP-OCR drops boxes with a side under 3 px
            continue
        score = float(prob[y0:y1, x0:x1].mean())
        if score < min_score:
            continue
        h, w = y1 - y0, x1 - x0
        d = h * w * unclip / (2 * (h + w))
        out.append((x0 - d, y0 - d, x1 + d, y1 + d, score))
    return out


@dataclass
class TextPrior:
    """PP-OCRv4 text boxes on a uint8 H×W×3 image → H×W map (each box's score inside it, else 0)."""
    model: str | None = None
    min_side: int = TEXT_MIN_SIDE
    _session: object = field(default=None, repr=False)

    name = "ppocr-det"

    def __post_init__(self):
        import onnxruntime as ort
        path = self.model or ppocr_det_model()
        if path is None:
            raise FileNotFoundError("PP-OCRv4 detector not found: pip install --no-deps rapidocr-onnxruntime==1.4.4")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, torch.get_num_threads())
        self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        ratio = max(1.0, self.min_side / min(h, w))
        rh, rw = max(32, int(round(h * ratio / 32)) * 32), max(32, int(round(w * ratio / 32)) * 32)
        # RGB: on scikit-image's photos BGR input (OpenCV's order) fired on the coffee cup's spoon
        t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()
        t = torch.nn.functional.interpolate(t, size=(rh, rw), mode="bilinear", align_corners=False)
        x = ((t / 255 - 0.5) / 0.5).numpy().astype(np.float32)
        prob = self._session.run(None, {self._session.get_inputs()[0].name: x})[0][0, 0]
        out = np.zeros((h, w), np.float32)
        sy, sx = h / rh, w / rw
        for x0, y0, x1, y1, score in text_boxes(prob):
            ys = slice(max(0, int(np.floor(y0 * sy))), min(h, int(np.ceil(y1 * sy))))
            xs = slice(max(0, int(np.floor(x0 * sx))), min(w, int(np.ceil(x1 * sx))))
            out[ys, xs] = np.maximum(out[ys, xs], score)
        return out


def available_priors() -> dict[str, str]:
    """{'face'|'text': why it is unavailable} for the priors that cannot run here ({} = both can)."""
    missing = {}
    if importlib.util.find_spec("facenet_pytorch") is None:
        missing["face"] = "facenet-pytorch not installed (pip install --no-deps facenet-pytorch==2.6.0)"
    if importlib.util.find_spec("onnxruntime") is None:
        missing["text"] = "onnxruntime not installed (srkit[onnx])"
    elif ppocr_det_model() is None:
        missing["text"] = "rapidocr-onnxruntime not installed (pip install --no-deps rapidocr-onnxruntime==1.4.4)"
    return missing


class SegPriors:
    """The face and text priors that can run here; ``used`` names them (e.g. ['mtcnn', 'ppocr-det']).

    ``SegPriors()(image_uint8, psi)`` → ψ fused (``fuse_priors``); with no detector installed, ψ
    unchanged and ``used`` empty. ``missing`` says why each absent prior is absent."""

    def __init__(self, face: bool = True, text: bool = True, cache: int = 0):
        """``cache``: keep the detections of up to this many images (keyed by their bytes), so a
        benchmark scoring several segmenters on the same LR images runs the detectors once."""
        self.missing = available_priors()
        self.face = FacePrior() if face and "face" not in self.missing else None
        self.text = TextPrior() if text and "text" not in self.missing else None
        self.used = [p.name for p in (self.face, self.text) if p is not None]
        self.cache, self._maps = cache, {}

    def maps(self, image: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(face map, text map) H×W of a uint8 H×W×3 image (None for an absent prior)."""
        key = None
        if self.cache:
            import hashlib
            key = (image.shape, hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest())
            if key in self._maps:
                return self._maps[key]
        out = (self.face(image) if self.face else None, self.text(image) if self.text else None)
        if key is not None and len(self._maps) < self.cache:
            self._maps[key] = out
        return out

    def __call__(self, image: np.ndarray, psi: torch.Tensor) -> torch.Tensor:
        """image: uint8 H×W×3 (the LR the segmenter saw); psi: 1×K×H×W → fused 1×K×H×W."""
        if image.shape[:2] != tuple(psi.shape[-2:]):
            raise ValueError(f"image {image.shape[:2]} and ψ {tuple(psi.shape[-2:])} differ in size")
        face, text = (None if m is None else torch.from_numpy(m)[None] for m in self.maps(image))
        return fuse_priors(psi, face, text)
