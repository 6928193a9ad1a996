"""The segmenter benchmark: held-out sets on LR input, IoU per category, mIoU over present categories."""
import json

import numpy as np
import pytest
import torch

from srkit.categories import CATEGORIES
from srkit.data.segmentation import SegSample
from srkit.evaluation.segmentation import evaluate_segmenter, format_segmentation, lr_and_labels


class Oracle(torch.nn.Module):
    """Predicts one fixed category everywhere."""

    def __init__(self, category: int):
        super().__init__()
        self.category = category

    def logits(self, x):
        out = torch.zeros(x.shape[0], len(CATEGORIES), *x.shape[2:])
        out[:, self.category] = 1
        return out


def _sample():
    labels = np.zeros((64, 66), np.int16)
    labels[:32] = 1   # sky on top, background below
    labels[:, :4] = -1
    return SegSample("t", np.full((64, 66, 3), 128, np.uint8), labels)


def test_lr_labels_are_the_block_centres():
    lr, labels = lr_and_labels(_sample(), 2)
    assert lr.shape == (32, 33, 3) and labels.shape == (32, 33)
    assert (labels[:16, 2:] == 1).all() and (labels[16:, 2:] == 0).all() and (labels[:, :2] == -1).all()


def test_iou_and_miou_over_the_categories_present():
    res = evaluate_segmenter(Oracle(1), {"toy": [_sample()]}, 2)["toy"]
    assert res["iou_sky"] == pytest.approx(0.5) and res["iou_background"] == 0
    assert res["categories"] == ["background", "sky"] and res["miou"] == pytest.approx(0.25)
    assert np.isnan(res["iou_face"]) and res["pixel_acc"] == pytest.approx(0.5)
    assert "| toy (1) |" in format_segmentation({"oracle": {"toy": res}})


def test_cli_on_the_bundled_segmenter(data_dir, tmp_path, capsys):
    from srkit.cli import main
    if not (data_dir / "segmentation" / "StanfordBackground").is_dir():
        pytest.skip(f"no {data_dir}/segmentation/StanfordBackground")
    out = tmp_path / "seg.json"
    assert main(["bench", "segmentation", "--data", str(data_dir), "--weights", "x2", "--limit", "3",
                 "--json", str(out)]) == 0
    res = json.loads(out.read_text())["results"]["x2 (x2 LR)"]
    assert set(res) == {"Stanford val", "SIFT Flow test", "composites", "composites (glyphs)"}
    assert all(0 <= r["pixel_acc"] <= 1 and r["images"] == 3 for r in res.values())
    # same images, the box label covers more pixels as text than the glyph label does
    assert res["composites"]["iou_text"] != res["composites (glyphs)"]["iou_text"]
    assert "Stanford val (3)" in capsys.readouterr().out


def test_heldout_composites_go_on_sift_flow_test_scenes(data_dir):
    from srkit.evaluation.segmentation import heldout_sets
    if not (data_dir / "segmentation" / "SIFTFlow_sub").is_dir():
        pytest.skip(f"no {data_dir}/segmentation/SIFTFlow_sub")
    comp = heldout_sets(data_dir, ("composites",), limit=3)["composites"]
    labels = np.concatenate([s.labels.ravel() for s in comp])
    # scene categories under the pastes, not one 'background' photo
    assert len(set(np.unique(labels)) - {-1, 0, 8, 9}) >= 2 and (labels == 9).any()


def test_false_face_text_share_counts_only_pixels_whose_truth_is_neither():
    from srkit.evaluation.segmentation import false_face_text
    cm = np.zeros((10, 10), np.int64)
    cm[0, 0], cm[0, 8], cm[1, 9] = 90, 6, 2   # background called face 6 ×, sky called text 2 ×
    cm[8, 8], cm[9, 8] = 1, 1                 # face right, text called face: not false (truth is text)
    assert false_face_text(cm) == pytest.approx(8 / 100)
    res = evaluate_segmenter(Oracle(8), {"toy": [_sample()]}, 2)["toy"]  # face everywhere
    assert res["false_face_text"] == pytest.approx(1.0)
    assert "| 100.00 % |" in format_segmentation({"oracle": {"toy": res}})
