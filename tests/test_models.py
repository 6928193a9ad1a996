"""The networks: shapes, conditioning behaviour, gradients, losses. Tiny presets only."""
import warnings
from pathlib import Path

import pytest
import torch

from srkit.categories import CATEGORIES, NUM_CATEGORIES
from srkit.models.disc import Discriminator, DiscriminatorConfig
from srkit.models.ikc import Corrector, CorrectorConfig, IKCResult, Predictor, PredictorConfig, run_ikc
from srkit.models.losses import (GAN_WEIGHT, PerceptualLoss, d_loss, g_adv_loss, generator_loss,
                                 pixel_loss)
from srkit.models.sft import GeneratorConfig, SFTConcat, SFTGenerator
from srkit.resize import imresize

VARIANTS = [(False, False), (True, False), (False, True), (True, True)]
H, W = 8, 6  # small, non-square LR


def inputs(n=2, h=H, w=W, seed=0):
    g = torch.Generator().manual_seed(seed)
    lr = torch.rand(n, 3, h, w, generator=g)
    code = torch.randn(n, 10, generator=g)
    seg = torch.randn(n, NUM_CATEGORIES, h, w, generator=g).softmax(1)
    return lr, code, seg


def gen(scale=2, use_kernel=True, use_seg=True, **kw):
    torch.manual_seed(0)
    return SFTGenerator(GeneratorConfig.preset("tiny", scale=scale, use_kernel=use_kernel, use_seg=use_seg, **kw))


def test_categories():
    assert CATEGORIES[0] == "background" and CATEGORIES[8:] == ("face", "text") and NUM_CATEGORIES == 10


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("use_kernel,use_seg", VARIANTS)
def test_generator_shapes(scale, use_kernel, use_seg):
    lr, code, seg = inputs()
    g = gen(scale, use_kernel, use_seg)
    out = g(lr, code if use_kernel else None, seg if use_seg else None)  # off inputs not required
    assert out.shape == (2, 3, scale * H, scale * W)
    assert torch.isfinite(out).all()


def _concat_sft(layer, feat, code, seg):
    """The SFT layer as the paper draws it: one conv over concat(F_img, stretched code, F_segcon)."""
    from srkit.models.sft import stretch
    parts = [feat] + ([stretch(code, feat.shape[-2:])] if layer.use_kernel else []) + ([layer.seg(seg)] if layer.use_seg else [])
    gamma, beta = layer.to_gamma_beta(layer.body(torch.cat(parts, 1))).chunk(2, dim=1)
    return feat * (1 + gamma) + beta


@pytest.mark.parametrize("use_kernel,use_seg", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("h,w", [(1, 1), (2, 5), (9, 7)])
def test_sft_layer_equals_the_concatenated_conv(use_kernel, use_seg, h, w):
    """The layer's split convs (code folded into a border-aware bias) compute the concatenated conv."""
    torch.manual_seed(1)
    layer = SFTConcat(16, use_kernel=use_kernel, use_seg=use_seg, hidden=8, seg_nf=8).eval()
    for prm in layer.parameters():
        prm.data.normal_(0, 0.3)  # far from the identity start, so every term matters
    for n in (3, 1):  # batch 1 puts the code's constant into the conv bias, larger batches add it
        feat, code = torch.randn(n, 16, h, w), torch.randn(n, 10)
        seg = torch.randn(n, NUM_CATEGORIES, h, w).softmax(1)
        with torch.no_grad():
            ref = _concat_sft(layer, feat, code, seg)
            assert torch.allclose(layer(feat, code, seg), ref, atol=1e-5)
            cl = torch.channels_last
            got = layer.to(memory_format=cl)(feat.contiguous(memory_format=cl), code, seg.contiguous(memory_format=cl))
            layer.to(memory_format=torch.contiguous_format)
            assert torch.allclose(got, ref, atol=1e-5)
            if use_seg:
                assert torch.allclose(layer(feat, code, None, layer.seg_term(seg)), ref, atol=1e-5)


@pytest.mark.parametrize("scale", [2, 3])
def test_pixel_shuffle_equals_torch_and_keeps_channels_last(scale):
    from srkit.models.sft import PixelShuffle
    x = torch.randn(2, 4 * scale * scale, 5, 7)
    want = torch.nn.functional.pixel_shuffle(x, scale)
    assert torch.equal(PixelShuffle(scale)(x), want) and PixelShuffle(scale)(x).is_contiguous()
    got = PixelShuffle(scale)(x.contiguous(memory_format=torch.channels_last))
    assert torch.equal(got, want) and got.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("use_kernel", [True, False])
def test_seg_terms_give_the_same_output_as_the_probabilities(use_kernel):
    g = gen(use_kernel=use_kernel).eval()
    lr, code, seg = inputs()
    with torch.no_grad():
        terms = g.seg_terms(seg)
        assert len(terms.terms) == len(g.sft_layers()) == 2 * g.cfg.nb + 1 and terms.shape == tuple(seg.shape)
        assert torch.allclose(g(lr, code, terms), g(lr, code, seg), atol=1e-6)
        assert g.seg_terms(terms) is terms
    with pytest.raises(ValueError, match="use_seg"):
        gen(use_seg=False).seg_terms(seg)
    with pytest.raises(ValueError, match="seg must be"):
        g(lr, code, g.seg_terms(seg[:1]))  # terms of another batch are refused like probabilities


def test_generator_variant_names_and_presets():
    names = {GeneratorConfig(use_kernel=k, use_seg=s).variant for k, s in VARIANTS}
    assert names == {"srresnet", "sftmd", "sftgan", "sftconcat"}
    assert GeneratorConfig.preset("default") == GeneratorConfig()
    assert GeneratorConfig.preset("small", scale=3).scale == 3
    with pytest.raises(ValueError, match="preset"):
        GeneratorConfig.preset("huge")
    with pytest.raises(ValueError, match="scale"):
        GeneratorConfig(scale=5)
    # off/off is SRResNet: the SFT layers carry no parameters
    assert sum(p.numel() for p in SFTConcat(16, use_kernel=False, use_seg=False).parameters()) == 0


def test_generator_missing_or_bad_condition_errors():
    lr, code, seg = inputs()
    g = gen(2)
    with pytest.raises(ValueError, match="code"):
        g(lr, None, seg)
    with pytest.raises(ValueError, match="seg"):
        g(lr, code, None)
    with pytest.raises(ValueError, match="LR size"):
        g(lr, code, seg[..., :-1])
    with pytest.raises(ValueError, match="code must be"):
        g(lr, code[:, :5], seg)


def test_output_depends_on_active_conditions_only():
    lr, code, seg = inputs()
    _, code2, seg2 = inputs(seed=1)
    g = gen(2).eval()
    with torch.no_grad():
        base = g(lr, code, seg)
        assert not torch.allclose(base, g(lr, code2, seg), atol=1e-7)
        assert not torch.allclose(base, g(lr, code, seg2), atol=1e-7)
        gk = gen(2, use_kernel=True, use_seg=False).eval()
        assert torch.equal(gk(lr, code, seg), gk(lr, code, seg2))
        assert torch.equal(gk(lr, code, seg), gk(lr, code, None))
        gs = gen(2, use_kernel=False, use_seg=True).eval()
        assert torch.equal(gs(lr, code, seg), gs(lr, code2, seg))
        assert torch.equal(gs(lr, None, seg), gs(lr, code2, seg))


def test_gradients_reach_sft_from_code_and_seg():
    lr, code, seg = inputs()
    code.requires_grad_(True)
    seg.requires_grad_(True)
    g = gen(2)
    g(lr, code, seg).square().mean().backward()
    assert code.grad.abs().sum() > 0 and seg.grad.abs().sum() > 0
    for name, p in g.named_parameters():
        if ".seg." in name or "to_gamma_beta" in name or "body" in name:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    # the code's columns of the first γ/β conv (after the C image channels) receive gradient
    w = g.blocks[0].sft1.body[0].weight.grad  # hidden × (C + b + seg_nf) × 3 × 3
    nf = g.cfg.nf
    assert w[:, nf:nf + 10].abs().sum() > 0 and w[:, nf + 10:].abs().sum() > 0


def test_residual_flag():
    lr, code, seg = inputs()
    g = gen(3)
    with torch.no_grad():
        g.tail.weight.zero_()  # no learned residual left: output is exactly the bicubic upscale
        assert torch.allclose(g(lr, code, seg), imresize(lr, scale=3), atol=1e-6)
    g2 = gen(3, residual=False)
    assert g2(lr, code, seg).shape == (2, 3, 3 * H, 3 * W)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_ikc_loop(scale):
    lr, _, seg = inputs()
    g = gen(scale)
    torch.manual_seed(0)
    p = Predictor(PredictorConfig.preset("tiny"))
    c = Corrector(CorrectorConfig.preset("tiny", scale=scale))
    h0 = p(lr)
    assert h0.shape == (2, 10)
    h1 = c(g(lr, h0, seg), h0)
    assert h1.shape == (2, 10) and not torch.equal(h0, h1)
    res = run_ikc(lr, g, p, c, seg=seg, steps=3)
    assert isinstance(res, IKCResult) and len(res.srs) == 4 and len(res.codes) == 4
    assert torch.equal(res.codes[0], h0) and res.sr.shape == (2, 3, scale * H, scale * W)
    assert len(run_ikc(lr, g, p, None, seg=seg).srs) == 1
    with pytest.raises(ValueError, match="multiples"):
        c(torch.rand(2, 3, scale * H + 1, scale * W), h0)


def test_ikc_gradients_and_detach():
    lr, _, seg = inputs()
    g, p, c = gen(2), Predictor(PredictorConfig.preset("tiny")), Corrector(CorrectorConfig.preset("tiny", scale=2))
    res = run_ikc(lr, g, p, c, seg=seg, steps=2)
    res.codes[-1].sum().backward()
    assert all(q.grad is not None for q in p.parameters())
    p.zero_grad(set_to_none=True)
    c.zero_grad(set_to_none=True)
    res = run_ikc(lr, g, p, c, seg=seg, steps=2, detach=True)
    res.codes[-1].sum().backward()  # one step only: trains C, not P
    assert all(q.grad is None for q in p.parameters())
    assert all(q.grad is not None for q in c.parameters())


def test_segnet_probabilities_and_offline_warning(monkeypatch):
    pytest.importorskip("timm")
    from srkit.models import pretrained
    from srkit.models.seg import SegConfig, SegFeatures, SegNet
    monkeypatch.setattr(pretrained, "_WARNED", set())
    monkeypatch.setattr(pretrained, "_hub_online", lambda: False)       # as offline CI
    monkeypatch.setattr(pretrained, "_hub_cache_file", lambda name: None)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s = SegNet(SegConfig.preset("tiny", pretrained=True))
        SegNet(SegConfig.preset("tiny", pretrained=True))
    msgs = [str(w.message) for w in rec if "random weights" in str(w.message)]
    assert len(msgs) == 1 and "mobilenetv3_small_050" in msgs[0] and "\n" not in msgs[0]
    assert s.encoder_source == pretrained.RANDOM_INIT
    lr = torch.rand(2, 3, 13, 11)
    psi = s(lr)
    assert psi.shape == (2, NUM_CATEGORIES, 13, 11)
    assert torch.allclose(psi.sum(1), torch.ones(2, 13, 11), atol=1e-5)
    assert s.logits(lr).shape == psi.shape
    loss = PerceptualLoss(extractor=SegFeatures(s))
    assert loss(lr, torch.rand_like(lr)) > 0


@pytest.mark.parametrize("preset", ["tiny", "small", "default", "resnet18", "lite0"])
def test_every_segnet_preset_gives_probabilities_at_input_size(preset):
    pytest.importorskip("timm")
    from srkit.models.seg import SegConfig, SegNet
    s = SegNet(SegConfig.preset(preset, pretrained=False)).eval()
    with torch.no_grad():
        psi = s(torch.rand(1, 3, 37, 50))  # odd sizes: every encoder stride rounds differently
    assert psi.shape == (1, NUM_CATEGORIES, 37, 50)
    assert torch.allclose(psi.sum(1), torch.ones(1, 37, 50), atol=1e-5)


def test_discriminator():
    x = torch.rand(2, 3, 24, 20)
    d = Discriminator(DiscriminatorConfig.preset("tiny"))
    out = d(x)
    assert out.logit.shape == (2,)
    assert ((out.prob > 0) & (out.prob < 1)).all()


def test_losses():
    a, b = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    assert torch.isclose(pixel_loss(a, b), (a - b).abs().mean())
    assert torch.isclose(pixel_loss(a, b, "l2"), (a - b).square().mean())
    with pytest.raises(ValueError):
        pixel_loss(a, b, "l3")
    logit = torch.tensor([0.0, 2.0])
    assert torch.isclose(g_adv_loss(logit), -torch.log(torch.sigmoid(logit)).mean())
    assert torch.isclose(d_loss(logit, -logit), 2 * g_adv_loss(logit))
    assert GAN_WEIGHT == 1e-3
    out = generator_loss(a, b, logit, lambda x, y: pixel_loss(x, y))
    assert torch.isclose(out["total"], out["perceptual"] + 1e-3 * out["gan"])


def test_vgg_perceptual_needs_weights_or_explicit_permission(monkeypatch):
    timm = pytest.importorskip("timm")
    real = timm.create_model

    def no_weights(name, pretrained=False, **kw):
        if pretrained:
            raise OSError("offline")
        return real(name, pretrained=False, **kw)
    monkeypatch.setattr(timm, "create_model", no_weights)
    with pytest.raises(RuntimeError, match="ImageNet-pretrained VGG19"):
        PerceptualLoss()
    with pytest.warns(RuntimeWarning, match="RANDOM"):
        loss = PerceptualLoss(layers=("relu2_2",), allow_random=True)
    a = torch.rand(1, 3, 16, 16, requires_grad=True)
    val = loss(a, torch.rand(1, 3, 16, 16))
    val.backward()
    assert val > 0 and a.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in loss.extractor.parameters())
    with pytest.raises(ValueError, match="unknown VGG19 layers"):
        PerceptualLoss(layers=("conv9_9",), allow_random=True)


def test_forward_equals_the_previous_sft_forward(tmp_path, monkeypatch):
    """bench/sft_forward_speed.py: today's generator against its baseline's unfused forward
    (concatenated-weight slices and a 9-tap code map), same weights, fp32 within 1e-5."""
    import json
    import subprocess
    from tests._benchscripts import load_script
    root = Path(__file__).resolve().parents[1]
    if subprocess.run(["git", "cat-file", "-e", "4b389ab:srkit/models/sft.py"], cwd=root,
                      capture_output=True).returncode != 0:
        pytest.skip("the baseline of bench/sft_forward_speed.py is not in this checkout's git history "
                    "(shallow clone?)")
    bench = load_script("sft_forward_speed", monkeypatch)
    monkeypatch.setattr(bench.precision, "cpu_has_bf16", lambda: False)  # fp32 only: the 1e-5 claim
    out = tmp_path / "speed.json"
    assert bench.main(["--size", "12", "--repeats", "1", "--json", str(out)]) == 0
    rows = [r for r in json.loads(out.read_text())["rows"] if "max_abs_diff" in r]
    assert {r["preset"] for r in rows} == {"small", "default"}
    assert max(r["max_abs_diff"] for r in rows) <= 1e-5
