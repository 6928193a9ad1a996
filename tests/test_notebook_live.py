"""What the notebooks show while and after they work: the live loss figure a training run redraws,
the sentences computed from measured IKC numbers, and the tour's caption crop that holds letters."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from srkit.notebook.live import MAX_POINTS, LiveCurves  # noqa: E402
from srkit.notebook.narrate import describe_series, ikc_steps_sentence, phases  # noqa: E402


def _lines(fig):
    return {line.get_label(): line for line in fig.axes[0].lines}


def test_live_curves_keep_every_step_and_redraw_in_place():
    live = LiveCurves(("ce", "val_ce"), "segmentation CE", "CE", labels={"ce": "train CE"}, every=5,
                      min_interval_s=0, show=False)
    for step in range(1, 13):
        live(step, {"ce": 2.0 / step, "lr": 1e-3, **({"val_ce": 1.5 - 0.1 * step} if step % 6 == 0 else {})})
    assert live.redraws == 2  # after steps 5 and 10
    live.close()
    lines = _lines(live.figure)
    x, y = lines["train CE"].get_data()
    assert list(x) == list(range(1, 13)) and np.allclose(y, [2.0 / s for s in range(1, 13)])
    xv, yv = lines["val_ce"].get_data()
    assert list(xv) == [6, 12] and np.allclose(yv, [0.9, 0.3])
    ax = live.figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("step", "CE", "segmentation CE (step 12)")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train CE", "val_ce"]


def test_live_curves_throttle_skip_bad_values_and_bin_long_runs():
    live = LiveCurves(("loss",), every=1, min_interval_s=3600, show=False)
    for step in range(1, 6):
        live(step, {"loss": float("nan") if step == 3 else step})
    assert live.redraws == 0 and live.n_points("loss") == 4  # NaN skipped; no redraw within the hour
    long = LiveCurves(("loss",), every=10 ** 9, show=False)
    for step in range(1, 5001):
        long(step, {"loss": float(step)})
    x, y = _lines(long.draw())["loss"].get_data()
    assert len(x) == MAX_POINTS and x[0] == pytest.approx(2.0) and y[-1] == pytest.approx(4999.5)  # bin means (3, then 2 steps)
    slow = LiveCurves(("loss",), every=100, max_interval_s=0, show=False)
    slow(1, {"loss": 1.0})
    slow(1, {"lr": 1.0})
    assert slow.redraws == 1                                    # slow steps: each new one is drawn
    with pytest.raises(ValueError, match="every"):
        LiveCurves(("loss",), every=0)


def test_live_curves_from_a_log_and_from_a_smoke_training_run(tmp_path, monkeypatch):
    """The trainer calls the curve after every step: a 6-step smoke run draws 6 points whose logged
    steps equal the log's values; reused from the cache, the run draws its log (2 rows: > 1 point)."""
    monkeypatch.setenv("SRKIT_SMOKE", "1")
    monkeypatch.setenv("SRKIT_CACHE", str(tmp_path))
    from srkit.notebook import artifacts
    live = LiveCurves(("pixel", "val_psnr"), every=2, min_interval_s=0, show=False)
    run = artifacts.trained_stage("sftmd", name="live-test", steps=6, log_every=5, val_every=0, ckpt_every=0,
                                  verbose=False, live=live)
    log = artifacts.read_log(run)
    assert log["step"] == [5.0, 6.0]
    x, y = _lines(live.figure)["pixel"].get_data()
    assert list(x) == [1, 2, 3, 4, 5, 6] and np.all(np.isfinite(y))
    assert np.allclose([y[4], y[5]], log["pixel"])            # the curve's steps 5 and 6 are the logged values
    assert live.redraws == 4                                   # after steps 2, 4, 6, and the final one
    assert live.n_points("val_psnr") == 1                      # validated once, at the end
    again = LiveCurves(("pixel",), show=False)
    assert artifacts.trained_stage("sftmd", name="live-test", steps=6, verbose=False, live=again) == run
    assert again.n_points("pixel") == 2 and np.allclose(_lines(again.figure)["pixel"].get_data()[1], log["pixel"])


# The measured PSNR and code error over t of the bundled ablation set's SFTMD and SFTconcat on the
# astronaut's face (×2, σ = 1.2; IKCStepper, 2026-12-07): from P's estimate and from σ = 0.6.
SFTMD_P = ([32.56, 32.85, 32.35, 32.29, 32.07, 32.01, 31.90, 31.85], [.033, .043, .050, .057, .062, .066, .070, .073])
SFTCONCAT_P = ([33.15, 33.62, 33.59, 33.69, 33.75, 33.81, 33.87, 33.92], [.033, .031, .029, .028, .027, .026, .025, .025])
SFTMD_WRONG = ([31.21, 33.99, 33.48, 33.11, 32.72, 32.41, 32.12, 31.89], [.349, .070, .059, .055, .057, .061, .065, .070])


def test_phases_split_rises_falls_and_flats():
    assert [(k, a, b) for k, a, b, _ in phases(SFTMD_P[0])] == [("rises", 0, 1), ("falls", 1, 7)]
    assert [(k, a, b) for k, a, b, _ in phases(SFTCONCAT_P[0])] == [("rises", 0, 1), ("flat", 1, 2), ("rises", 2, 7)]
    assert [k for k, *_ in phases([30.0, 30.04, 30.08, 30.12])] == ["rises"]  # a slow drift is a rise
    assert phases([30.0]) == []
    assert describe_series([30.0, 30.31, 30.31, 30.32]) == "PSNR rises 0.31 dB from t=0 to t=1, then flat (within 0.05 dB) to t=3"


def test_ikc_sentences_quote_the_measured_numbers():
    assert ikc_steps_sentence("sftmd", *SFTMD_P, psnr_true=34.38, start="P's estimate") == (
        "sftmd (h0: P's estimate): PSNR rises 0.29 dB from t=0 to t=1, then falls 1.00 dB to t=7. The code error "
        "grows 0.033 → 0.073: the corrector moves the kernel estimate away from the true one. At the reported t=7: "
        "-0.71 dB against t=0, 1.00 dB below its best step (t=1), 2.53 dB short of the true kernel (34.38 dB).")
    assert ikc_steps_sentence("sftconcat", *SFTCONCAT_P, psnr_true=34.38) == (
        "sftconcat: PSNR rises 0.47 dB from t=0 to t=1, then flat (within 0.05 dB) to t=2, then rises 0.33 dB to "
        "t=7. The code error falls 0.033 → 0.025: the corrector brings the kernel estimate toward the true one. At "
        "the reported t=7: +0.77 dB against t=0, at its best, 0.46 dB short of the true kernel (34.38 dB).")
    wrong = ikc_steps_sentence("sftmd", *SFTMD_WRONG, start="σ = 0.60")
    assert "rises 2.78 dB from t=0 to t=1, then falls 2.10 dB to t=7" in wrong
    assert "falls 0.349 → 0.070" in wrong and "closest at t=3 (0.055) and drifting away after it" in wrong
    with pytest.raises(ValueError, match="one value per step"):
        ikc_steps_sentence("x", [30.0, 31.0], [0.1])
    with pytest.raises(ValueError, match="non-finite"):
        ikc_steps_sentence("x", [30.0, np.nan], [0.1, 0.1])


def test_the_tour_caption_crop_holds_letters():
    from srkit.data.samples import CAPTION, caption_sample
    from srkit.notebook.figures import densest_crop
    img, mask = caption_sample(multiple=2)
    assert img.shape == (256, 256, 3) and img.dtype == np.uint8 and mask.shape == img.shape[:2]
    assert CAPTION == "NEWS 1968" and 800 < mask.sum() < 3000  # the glyphs of 9 characters at 24 px
    y, x, h, w = densest_crop(mask, 96)
    assert (h, w) == (96, 96) and mask[y:y + h, x:x + w].mean() > 0.08
    ys, xs = np.nonzero(mask)
    assert y <= ys.min() and ys.max() < y + h                   # the whole line height, centred on it
    m = np.zeros((10, 10), bool)
    m[6:8, 2:4] = True
    assert densest_crop(m, 4) == (5, 1, 4, 4)                   # nearest the centroid of the ties
    with pytest.raises(ValueError, match="empty"):
        densest_crop(np.zeros((10, 10), bool), 4)
    with pytest.raises(ValueError, match="at least"):
        densest_crop(m, 11)


def test_trained_stage_prints_training_warnings_one_line_each(tmp_path, monkeypatch, capsys):
    """A warning raised while a stage trains reaches the notebook as one line per message (no file path,
    no source line), and the run folder is named relative to the cache."""
    import types
    import warnings

    import srkit.train
    from srkit.notebook import artifacts
    monkeypatch.setenv("SRKIT_CACHE", str(tmp_path))

    def fake_train(stage, preset, **kw):
        for _ in range(2):
            warnings.warn("PerceptualLoss: ImageNet VGG19 weights unavailable; using RANDOM VGG19 features", UserWarning)
        kw["on_step"](1, {"d": 0.7})
        kw["on_step"](2, {"d": 0.6})
        return types.SimpleNamespace(records=[{"step": 2, "val_psnr": 20.5}], step=2, stopped_at_budget=False,
                                     cfg=types.SimpleNamespace(steps=2, max_minutes=0))

    monkeypatch.setattr(srkit.train, "train", fake_train)
    live = LiveCurves(("d",), show=False)
    run = artifacts.trained_stage("sftgan", name="warn-test", preset="smoke", live=live)
    out = capsys.readouterr().out.splitlines()
    assert out == ["warnings while training sftgan: 2 (1 distinct)",
                   "  UserWarning: PerceptualLoss: ImageNet VGG19 weights unavailable; using RANDOM VGG19 features (×2)",
                   "srkit: trained sftgan (preset smoke) to step 2 of 2: val_psnr 20.5 (runs/warn-test-smoke; log: console.log)"]
    assert run == tmp_path / "runs" / "warn-test-smoke" and live.n_points("d") == 2
