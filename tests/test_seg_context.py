"""bench/seg_context.py: the same segmenter scored on whole LR images and on training-size tiles."""
import numpy as np
import torch

from srkit.categories import CATEGORIES
from srkit.data.segmentation import SegSample

from _benchscripts import load_script


class TopHalfSky(torch.nn.Module):
    """Predicts sky (1) in the top half of whatever it is given, background (0) below: a network
    that reads context, so tiling changes its answer."""

    def logits(self, x):
        out = torch.zeros(x.shape[0], len(CATEGORIES), *x.shape[2:])
        h = x.shape[2]
        out[:, 1, : h // 2] = 1
        out[:, 0, h // 2:] = 1
        return out


def _sample():
    labels = np.zeros((64, 66), np.int16)
    labels[:32] = 1   # sky on top, background below: LR 32×33, sky in LR rows 0–15
    return SegSample("t", np.full((64, 66, 3), 128, np.uint8), labels)


def test_whole_image_and_tiles_score_the_same_pixels(monkeypatch):
    sc = load_script("seg_context", monkeypatch)
    res = sc.whole_and_tiled(TopHalfSky(), {"toy": [_sample()]}, scale=2, tile=16)["toy"]
    # whole: the top half of the 32-row LR image is its sky, exactly
    assert res["whole"]["pixel_acc"] == 1.0 and res["whole"]["iou_sky"] == 1.0
    # tiles of 16 rows: sky in rows 0–7 and 16–23, so half the pixels are wrong
    assert res["tiled"]["pixel_acc"] == 0.5
    # the remainder column (LR column 32) is in neither score
    assert res["whole"]["images"] == res["tiled"]["images"] == 1


def test_predict_tiled_covers_whole_tiles_only(monkeypatch):
    sc = load_script("seg_context", monkeypatch)
    pred = sc.predict_tiled(TopHalfSky(), torch.zeros(1, 3, 40, 70), 32)
    assert pred.shape == (32, 64)
    assert (pred[:16] == 1).all() and (pred[16:] == 0).all()
