"""srkit.notebook.widgets without a browser: call each panel's callbacks, check figures and values."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

pytest.importorskip("ipywidgets")

from srkit.categories import CATEGORIES  # noqa: E402
from srkit.data.samples import sample_image  # noqa: E402
from srkit.notebook.models import build_pipeline  # noqa: E402
from srkit.notebook.widgets import (AblationPanel, CategoryExplorer, IKCComparison, IKCStepper, KernelExplorer,  # noqa: E402
                                    override_probs)


@pytest.fixture(scope="module")
def pipe():
    """An initialised tiny SFTconcat pipeline whose SFT layers react strongly to ψ and the code."""
    torch.manual_seed(0)
    p = build_pipeline(2, "sftconcat", "tiny")
    for name, m in p.generator.named_modules():
        if name.endswith("to_gamma_beta"):
            torch.nn.init.normal_(m.weight, std=0.3)
    return p.eval()


@pytest.fixture(scope="module")
def hr():
    return sample_image("face", multiple=12, max_side=96)


def _image_data(ax):
    return np.asarray(ax.get_images()[0].get_array())


def test_kernel_explorer_sliders_change_kernel_code_and_lr(hr):
    k = KernelExplorer(hr, scale=2)
    assert len(k.figure.axes) == 5
    st = k.state
    assert st["kernel"].shape == (21, 21) and abs(st["kernel"].sum() - 1) < 1e-5
    assert st["code"].shape == (10,) and st["rec_error"] < 1e-3  # isotropic: PCA rebuilds it
    assert st["lr"].shape == (48, 48, 3)
    kernel_before, lr_before, png_before = st["kernel"].copy(), st["lr"].copy(), k.png()
    k.update(sigma=1.9)
    assert k.state["kernel"].max() < kernel_before.max()          # wider kernel, lower peak
    assert k.state["lr"].std() < lr_before.std()                  # blurrier LR
    assert not np.allclose(_image_data(k.figure.axes[0]), kernel_before)
    assert k.png() != png_before
    k.update(kind="motion", length=15, angle=0)
    assert k.state["rec_error"] > 0.01                            # outside the isotropic PCA
    clean = k.state["lr"].copy()
    k.update(noise=15)
    assert np.abs(k.state["lr"] - clean).mean() > 0.02
    k.update(noise=0, jpeg=10)
    assert 0 < np.abs(k.state["lr"] - clean).mean()
    with pytest.raises(ValueError):
        k.update(sigmaa=1)


def test_kernel_explorer_ui_callbacks(hr):
    k = KernelExplorer(hr, scale=2)
    ui = k.ui
    assert "srkit-kernel-explorer" in ui._dom_classes
    sliders = {c.description: c for c in ui.children[0].children}
    before = k._image.value
    sliders["σ"].value = 0.5                                      # the ipywidgets callback path
    assert k.params["sigma"] == 0.5 and k._image.value != before


def test_category_explorer_override_changes_sr(pipe, hr):
    lr = hr[::2, ::2]
    c = CategoryExplorer(pipe, lr)
    assert len(c.figure.axes) == 5 + len(CATEGORIES) + 2  # + the colour bars of |change| and ψ
    probs = c.state["probs"]
    assert probs.shape == (10, 48, 48) and np.allclose(probs.sum(0), 1, atol=1e-4)
    assert c.state["mean_abs_change"] == 0
    c.update(override="sky", strength=1.0)
    strong = c.state["mean_abs_change"]
    by_class = c.state["change_by_class"]
    assert by_class and all(v >= 0 for v in by_class.values())
    assert set(by_class) == {k for k, v in c.state["class_share"].items() if v > 0}
    assert strong > 1e-6
    c.update(strength=0.3)
    assert 0 < c.state["mean_abs_change"] < strong
    c.update(shown=("text",))
    assert c.state["shown"] == [9]
    hidden = next(ax for ax in c.figure.axes if ax.get_title() == "(background)")
    assert not _image_data(hidden).any()                           # background map hidden
    ov = c.state["overlay"]
    assert ov.shape == (48, 48, 3)
    key = c.figure.axes[1].get_legend()                            # the overlay's colour key
    assert [t.get_text() for t in key.get_texts()] == [n for n in ("text",) if (probs.argmax(0) == 9).any()]
    assert "override ψ ← 0.30·sky: mean |change|" in c.effect_line()
    c.update(override="none")
    assert c.effect_line().startswith("no override")


def test_category_key_lists_the_categories_present_in_their_colours():
    from matplotlib.figure import Figure

    from srkit.categories import CATEGORY_COLORS
    from srkit.notebook.figures import category_key, image_grid
    labels = np.array([[0, 2, -1], [9, 9, 2]])
    fig = Figure()
    key = category_key(fig.subplots(), labels)
    assert [t.get_text() for t in key.get_texts()] == ["background", "water", "text"]
    assert np.allclose(key.get_patches()[2].get_facecolor()[:3], CATEGORY_COLORS[9])
    assert len(category_key(Figure(), None).get_texts()) == len(CATEGORIES)
    assert category_key(Figure().subplots(), []).get_texts() == []  # no category shown: an empty key
    grid = image_grid({"a": {"labels": np.zeros((4, 4, 3))}}, key=[labels, np.array([[3]])])
    assert [t.get_text() for t in grid.legends[0].get_texts()] == ["background", "water", "grass", "text"]


def test_category_explorer_in_bf16_matches_fp32(pipe, hr):
    """The precision switch: the same panel in bf16 autocast, close to fp32, an fp32 image."""
    lr = hr[::2, ::2]
    fp32, bf16 = CategoryExplorer(pipe, lr), CategoryExplorer(pipe, lr, precision="bf16")
    assert bf16.precision == "bf16" and bf16.state["sr_base"].dtype == np.float32
    assert 0 < np.abs(bf16.state["sr_base"] - fp32.state["sr_base"]).mean() < 0.02
    with pytest.raises(ValueError, match="precision"):
        CategoryExplorer(pipe, lr, precision="fp8")


def test_override_probs_sums_to_one():
    p = torch.softmax(torch.randn(1, 10, 4, 4), 1)
    q = override_probs(p, 3, 0.5)
    assert torch.allclose(q.sum(1), torch.ones(1, 4, 4)) and (q[:, 3] >= 0.5).all()


def test_ikc_stepper_steps(pipe, hr):
    s = IKCStepper(pipe, hr, steps=3, crop=32)
    assert len(s.figure.axes) == 5
    assert len(s.psnr) == 4 and len(s.code_error) == 4 and np.isfinite(s.psnr).all()
    assert s.state["t"] == 3
    s.update(t=0)
    assert s.state["psnr"] == pytest.approx(s.psnr[0])
    est0 = _image_data(s.figure.axes[1]).copy()
    s.update(t=3)
    assert not np.allclose(_image_data(s.figure.axes[1]), est0)   # the estimate moves with t
    assert _image_data(s.figure.axes[2]).shape == (21, 21)
    with pytest.raises(ValueError):
        s.update(t=9)


def test_ikc_comparison_steps_every_variant_and_start_with_one_slider(pipe, hr):
    c = IKCComparison({"a": pipe, "b": pipe}, hr, steps=2, crop=32)
    assert set(c.runs) == {("a", "predictor"), ("a", "mismatched"), ("b", "predictor"), ("b", "mismatched")}
    assert len(c.figure.axes) == 2 * 4 and c.state == {"t": 2, "start": "predictor", "rows": c.state["rows"]}
    wrong = c.runs[("a", "mismatched")]
    st = c.update(t=0, start="mismatched")
    assert st["rows"]["a"]["psnr"] == pytest.approx(wrong.psnr[0])
    assert st["rows"]["a"]["code_error"] == pytest.approx(wrong.code_error[0])
    assert np.array_equal(_image_data(c.figure.axes[0]), wrong._crop(wrong.srs[0]))  # row a shows SR_0
    assert np.allclose(_image_data(c.figure.axes[1]), wrong.est_kernels[0])          # and its kernel estimate
    assert c.figure.axes[3].lines[0].get_ydata().tolist() == wrong.psnr.tolist()      # and its PSNR over t
    assert c.start_label("a", "mismatched") == f"σ = {wrong.start_sigma:.2f} (0.5 × the true 1.20)"
    sentences = c.sentences()
    assert sentences[("a", "predictor")].startswith("a (h0: P's estimate): PSNR ")
    assert f"{wrong.psnr[-1] - wrong.psnr[0]:+.2f} dB against t=0" in sentences[("a", "mismatched")]
    c.ui
    with pytest.raises(ValueError, match="start"):
        c.update(start="best")
    with pytest.raises(ValueError, match="t must be"):
        c.update(t=3)
    with pytest.raises(ValueError, match="starts"):
        IKCComparison({"a": pipe}, hr, starts=("oracle",))
    plain = build_pipeline(2, "srresnet", "tiny")
    with pytest.raises(ValueError, match="only kernel-conditioned variants run IKC"):
        IKCComparison({"plain": plain}, hr)


def test_ablation_panel_sync_zoom_and_table(hr):
    rng = np.random.default_rng(0)
    noisy = np.clip(hr.astype(int) + rng.integers(-20, 21, hr.shape), 0, 255).astype(np.uint8)
    a = AblationPanel(hr, {"same": hr.copy(), "noisy": noisy}, scale=2, crop=32)
    assert len(a.figure.axes) == 2 * 3
    rows = {r["name"]: r for r in a.state["rows"]}
    assert rows["same"]["psnr"] == np.inf and rows["noisy"]["psnr"] < 35
    a.update(x=0, y=0, size=16)
    assert a.state["window"] == (0, 0, 16)
    crops = [_image_data(ax) for ax in a.figure.axes[3:]]
    assert all(c.shape[:2] == (16, 16) for c in crops)
    assert np.array_equal(crops[1], hr[:16, :16])                 # every crop shows the same window
    a.update(x=1000)
    assert a.state["window"][0] == hr.shape[1] - 16                # clipped into the image
    html = a.table_html()
    assert "noisy" in html and "<table" in html
    a.ui
    a.update(size=20)
    assert a._html.value == a.table_html()


def test_ablation_from_models(pipe, hr):
    a = AblationPanel.from_models(hr, {"tiny": pipe}, scale=2, steps=1)
    assert [r["name"] for r in a.state["rows"]] == ["bicubic", "tiny"]


def test_ikc_stepper_starts_mismatched_and_the_corrector_closes_in():
    """Started from a wrong width (the default: 2 × 1.2 leaves the ×2 range [0.2, 2.0], so half, 0.6),
    the bundled x2 corrector moves the code toward the truth, and the PSNR axis spans at least 1 dB
    however small the change."""
    import srkit
    from srkit.data.samples import sample_image
    from srkit.kernels import gaussian_kernel
    pipe = srkit.load("x2")
    face = sample_image("face", multiple=2)[:96, :96]
    s = IKCStepper(pipe, face, steps=3, crop=32)
    assert s.start_sigma == pytest.approx(0.6, abs=0.01)
    assert s.code_error[-1] < s.code_error[0]
    lo, hi = s.figure.axes[4].get_ylim()
    assert hi - lo >= 1.0
    p = IKCStepper(pipe, face, steps=1, crop=32, start="predictor")
    assert p.start_sigma is None and p.code_error[0] < s.code_error[0]
    start = pipe.pca.encode(gaussian_kernel(s.start_sigma)[None])
    assert torch.allclose(torch.tensor(s.est_kernels[0]), pipe.pca.decode(start)[0].float(), atol=1e-5)


def test_frame_stepper_change_row_measures_motion():
    from srkit.notebook.widgets import FrameStepper
    rng = np.random.default_rng(0)
    still = np.repeat((rng.random((1, 20, 24, 3)) * 255).astype(np.uint8), 4, 0)   # nothing moves
    flicker = still.copy()
    flicker[2] = 255 - flicker[2]                                                   # frame 2 redrawn
    s = FrameStepper({"ground truth": still, "flicker": flicker}, crop=(2, 2, 16, 16))
    assert s.state == {"t": 1, "change": {"ground truth": 0.0, "flicker": 0.0}}, s.state
    st = s.update(t=2)
    assert st["change"]["ground truth"] == 0.0 and st["change"]["flicker"] > 20, st["change"]
    assert s.update(t=0)["change"] == {"ground truth": 0.0, "flicker": 0.0}, "no change at frame 0"
    assert s.png()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="t must be in"):
        s.update(t=4)
    with pytest.raises(ValueError, match="one shape"):
        FrameStepper({"a": still, "b": still[:3]})
