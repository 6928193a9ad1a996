"""Face/text priors: the fusion rule on golden values, the DB box post-processing, and the detectors
(when installed) on a built-in photo and a rendered caption."""
import numpy as np
import pytest
import torch

from srkit.categories import NUM_CATEGORIES
from srkit.models import priors as P


def _psi(face=0.1, text=0.1):
    """1×K×1×2 probabilities: face / text as given, the rest split evenly over the other 8."""
    psi = torch.full((1, NUM_CATEGORIES, 1, 2), (1 - face - text) / (NUM_CATEGORIES - 2))
    psi[:, P.FACE], psi[:, P.TEXT] = face, text
    return psi


def test_fusion_max_where_confident_rescales_the_rest_and_leaves_the_rest_alone():
    psi = _psi()
    face = torch.tensor([[[0.96, 0.0]]])          # detection over pixel 0 only
    out = P.fuse_priors(psi, face=face, agree=0)
    assert out[0, P.FACE, 0, 0] == pytest.approx(0.96)
    # the other 9 share the remaining 0.04 in their old proportions: text 0.1 of 0.9 → 0.04 / 9
    assert out[0, P.TEXT, 0, 0] == pytest.approx(0.04 / 9, rel=1e-5)
    assert out[0, 0, 0, 0] == pytest.approx(0.1 * 0.04 / 0.9, rel=1e-5)
    assert torch.equal(out[..., 1], psi[..., 1])  # no detection: unchanged
    assert torch.allclose(out.sum(1), torch.ones(1, 1, 2))
    # a prior below what the segmenter already says changes nothing (max, never a veto)
    assert torch.allclose(P.fuse_priors(_psi(face=0.7), face=torch.tensor([[[0.5, 0.0]]]), agree=0), _psi(face=0.7))
    # face first, then text: text's rescale takes its share from the fused face too
    both = P.fuse_priors(psi, face=torch.tensor([[[0.96, 0.0]]]), text=torch.tensor([[[0.98, 0.0]]]), agree=0)
    assert both[0, P.TEXT, 0, 0] == pytest.approx(0.98)
    assert both[0, P.FACE, 0, 0] == pytest.approx(0.96 * 0.02 / (1 - 0.04 / 9), rel=1e-4)
    assert torch.allclose(both.sum(1), torch.ones(1, 1, 2))
    # the default gate: a detection counts where the segmenter's mean ψ_k inside it is >= AGREE
    two = torch.tensor([[[0.96, 0.0, 0.9]]])                  # two detections, one pixel each
    psi3 = torch.full((1, NUM_CATEGORIES, 1, 3), 0.1)
    psi3[0, P.FACE, 0, 0], psi3[0, 0, 0, 0] = 0.2, 0.0         # 0.2 >= AGREE 0.15: counts
    psi3[0, P.FACE, 0, 2], psi3[0, 0, 0, 2] = 0.05, 0.15       # 0.05: below the gate
    gated = P.fuse_priors(psi3, face=two)
    assert gated[0, P.FACE, 0, 0] == pytest.approx(0.96) and torch.equal(gated[..., 1:], psi3[..., 1:])
    with pytest.raises(ValueError, match=r"prior map \(1, 3, 3\) does not match"):
        P.fuse_priors(psi, text=torch.zeros(1, 3, 3))


def test_text_boxes_threshold_score_and_unclip():
    prob = np.zeros((40, 60), np.float32)
    prob[10:16, 5:35] = 0.9          # a caption line: 6×30 px (7×31 after the 2×2 dilation)
    prob[30:32, 50:52] = 0.95        # a speck: side < 3 px after dilation → dropped
    prob[25:29, 10:20] = 0.35        # weak: above the pixel threshold, box score below 0.6
    boxes = P.text_boxes(prob)
    assert len(boxes) == 1
    x0, y0, x1, y1, score = boxes[0]
    d = 7 * 31 * P.TEXT_UNCLIP / (2 * (7 + 31))  # area·ratio/perimeter
    assert (x0, y0, x1, y1) == pytest.approx((4 - d, 9 - d, 35 + d, 16 + d))  # 2×2 dilation grows up-left
    assert score == pytest.approx(0.9 * 180 / 217, rel=1e-5)


def test_ellipse_fills_the_inscribed_ellipse_with_the_max():
    out = np.zeros((10, 10), np.float32)
    P._ellipse_in_box(10, 10, (2, 2, 8, 8), 0.9, out)
    assert out[5, 5] == pytest.approx(0.9) and out[2, 2] == 0 and out[5, 2] == pytest.approx(0.9)
    assert (out > 0).sum() == 32  # pixel centres inside a radius-3 circle


def test_face_prior_finds_the_astronaut():
    pytest.importorskip("facenet_pytorch", reason="face prior needs: pip install --no-deps facenet-pytorch==2.6.0")
    import skimage.data
    img = skimage.data.astronaut()[::2, ::2]  # 256×256; the face is about 50 px wide
    m = P.FacePrior()(img)
    ys, xs = np.nonzero(m)
    assert m.max() >= P.FACE_MIN_SCORE and 20 < ys.mean() < 80 and 80 < xs.mean() < 130, (ys.mean(), xs.mean())
    assert (m > 0).mean() < 0.06   # one face, not the suit or the flag


def test_text_prior_boxes_a_rendered_caption_and_not_a_plain_photo():
    pytest.importorskip("onnxruntime", reason="text prior needs srkit[onnx]")
    if P.ppocr_det_model() is None:
        pytest.skip("text prior needs: pip install --no-deps rapidocr-onnxruntime==1.4.4")
    import skimage.data
    from srkit.data.synth import render_text_card
    card = render_text_card("ARCHIVE NEWS 1968", size=24, style="plain", rng=0)
    img = (card.image * 255).round().astype(np.uint8)
    m = P.TextPrior()(img)
    ys, xs = np.nonzero(card.mask)
    truth = np.zeros(img.shape[:2], bool)
    truth[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True  # the caption's box
    iou = ((m > 0) & truth).sum() / ((m > 0) | truth).sum()
    assert iou > 0.5, iou
    assert (P.TextPrior()(skimage.data.coffee()[::2, ::2]) > 0).mean() < 0.01


def test_seg_priors_say_which_were_used():
    pri = P.SegPriors()
    expect = [n for n, kind in (("mtcnn", "face"), ("ppocr-det", "text")) if kind not in pri.missing]
    assert pri.used == expect
    psi = torch.full((1, NUM_CATEGORIES, 32, 48), 1 / NUM_CATEGORIES)
    out = pri(np.full((32, 48, 3), 128, np.uint8), psi)  # a flat grey frame: nothing to detect
    assert torch.allclose(out, psi)
    with pytest.raises(ValueError, match=r"image \(32, 40\) and ψ \(32, 48\) differ"):
        pri(np.zeros((32, 40, 3), np.uint8), psi)


def test_pipeline_fuses_its_priors_per_image():
    """Pipeline.segment hands each LR image (uint8, as the detectors read it) and its ψ to the priors."""
    pytest.importorskip("timm")
    from srkit.inference.pipeline import Pipeline
    from srkit.models.seg import SegConfig, SegNet
    from srkit.models.sft import GeneratorConfig, SFTGenerator

    class FaceEverywhere:
        used = ["stub"]

        def __init__(self):
            self.seen = []

        def __call__(self, image, psi):
            self.seen.append((image.dtype, image.shape))
            return P.fuse_priors(psi, face=torch.full((1, *psi.shape[2:]), 0.99), agree=0)
    gen = SFTGenerator(GeneratorConfig.preset("tiny", scale=2, use_kernel=False, use_seg=True))
    seg = SegNet(SegConfig.preset("tiny", pretrained=False)).eval()
    pri = FaceEverywhere()
    pipe = Pipeline(generator=gen, segnet=seg, seg_priors=pri)
    with torch.no_grad():
        psi = pipe.segment(torch.rand(2, 3, 9, 7))
    assert pri.seen == [(np.uint8, (9, 7, 3))] * 2
    assert torch.allclose(psi[:, P.FACE], torch.full((2, 9, 7), 0.99)) and torch.allclose(psi.sum(1), torch.ones(2, 9, 7))
