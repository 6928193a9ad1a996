"""Tiled inference (srkit.inference.tiling, srkit.inference.runner): tiled == untiled, memory-friendly kinds, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from srkit.inference.tiling import tile_windows, tiled_upscale, upscale
from srkit.inference.runner import ModelRunner, receptive_radius

from _standins import FakePipeline, NearestSR, TinyConvSR


@pytest.mark.parametrize("length,tile,overlap", [(1, 4, 2), (10, 4, 0), (70, 24, 13), (33, 32, 8)])
def test_tile_windows_cover_the_axis_with_equal_windows(length, tile, overlap):
    spans = tile_windows(length, tile, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == length
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))            # cores tile the axis
    assert len({w1 - w0 for _, _, w0, w1 in spans}) == 1                   # one window size
    for c0, c1, w0, w1 in spans:
        assert w0 <= max(c0 - overlap, 0) and w1 >= min(c1 + overlap, length)


def _sft_generator(scale):
    from srkit.models.sft import GeneratorConfig, SFTGenerator
    torch.manual_seed(0)
    gen = SFTGenerator(GeneratorConfig.preset("tiny", scale=scale, use_seg=False)).eval()
    for p in gen.parameters():  # random, non-trivial weights (the tail starts at zero)
        torch.nn.init.normal_(p, std=0.1)
    code = torch.randn(1, gen.cfg.code_len)
    return gen, (lambda lr: gen(lr, code.expand(lr.shape[0], -1))), receptive_radius(gen)


@pytest.mark.parametrize("scale", [2, 3])
def test_tiled_equals_untiled_sft_generator(scale):
    pytest.importorskip("srkit.models.sft")
    gen, fn, radius = _sft_generator(scale)
    image = torch.rand(1, 3, 61, 53)  # both sides longer than one window (tile + 2·radius = 46)
    with torch.no_grad():
        whole = fn(image)
    tiled = tiled_upscale(image, fn, scale, tile=20, overlap=radius)
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().max().item() < 1e-4


def test_tiled_equals_untiled_small_overlap_is_not_exact():
    model = TinyConvSR(scale=2)
    image = torch.rand(1, 3, 40, 40)
    with torch.no_grad():
        whole = model(image)
    exact = tiled_upscale(image, model, 2, tile=16, overlap=receptive_radius(model))
    assert (exact - whole).abs().max().item() < 1e-4
    cut = tiled_upscale(image, model, 2, tile=16, overlap=0)
    assert (cut - whole).abs().max().item() > 1e-3  # the test above is not vacuous


def test_uint8_in_uint8_out_channels_last_storage():
    image = torch.randint(0, 256, (1, 3, 30, 20), dtype=torch.uint8)
    out = tiled_upscale(image, NearestSR(3), 3, tile=8, overlap=2)
    assert out.dtype == torch.uint8 and out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out, NearestSR(3)(image))


def test_preallocated_out_is_filled_and_shape_checked():
    image = torch.rand(1, 3, 12, 10)
    out = torch.zeros(1, 3, 24, 20)
    assert tiled_upscale(image, NearestSR(2), 2, tile=5, overlap=1, out=out) is out
    assert torch.equal(out, NearestSR(2)(image))
    with pytest.raises(ValueError, match="expected"):
        tiled_upscale(image, NearestSR(2), 2, out=torch.zeros(1, 3, 20, 20))


def test_bf16_precision_runs_autocast_on_cpu():
    model = TinyConvSR(scale=2)
    image = torch.rand(1, 3, 16, 16)
    full = tiled_upscale(image, model, 2, tile=8, overlap=2)
    bf16 = tiled_upscale(image, model, 2, tile=8, overlap=2, precision="bf16")
    assert bf16.dtype == torch.float32 and 0 < (bf16 - full).abs().max().item() < 0.05
    with pytest.raises(ValueError, match="precision must be one of"):
        tiled_upscale(image, model, 2, precision="fp16")


def test_bf16_upscale_of_the_bundled_x2_is_close_to_fp32():
    import srkit
    from srkit.data.samples import sample_image
    from srkit.degrade import degrade_uint8
    lr = degrade_uint8(sample_image("scene", multiple=2, max_side=96), 2)
    pipe = srkit.load("x2", device="cpu")
    ref = srkit.upscale(lr, pipe, device="cpu")
    for kwargs in ({"precision": "bf16"}, {"half": True}):  # half=True: the older spelling
        out = srkit.upscale(lr, pipe, device="cpu", **kwargs)
        diff = np.abs(out.astype(int) - ref.astype(int))
        assert diff.mean() < 0.6 and diff.max() <= 6, (diff.mean(), diff.max())  # measured: 0.27, 3


def test_bad_image_shapes_and_scales_are_rejected():
    with pytest.raises(ValueError, match="N×3×H×W"):
        tiled_upscale(torch.rand(1, 1, 8, 8), NearestSR(2), 2)
    with pytest.raises(ValueError, match="scale"):
        tiled_upscale(torch.rand(1, 3, 8, 8), NearestSR(2), 0)


def test_upscale_returns_the_input_kind():
    from PIL import Image
    model = NearestSR(2)
    hwc = np.random.default_rng(0).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    out = upscale(hwc, model, tile=4, device="cpu")
    assert out.dtype == np.uint8 and out.shape == (18, 14, 3)
    assert np.array_equal(out, hwc.repeat(2, 0).repeat(2, 1))
    floats = upscale(hwc.astype(np.float32) / 255, model, device="cpu")
    assert floats.dtype == np.float32 and floats.shape == (18, 14, 3)
    gray = upscale(hwc[..., 0], model, device="cpu")                     # gray stays gray
    assert gray.shape == (18, 14)
    pil = upscale(Image.fromarray(hwc), model, device="cpu")
    assert isinstance(pil, Image.Image) and pil.size == (14, 18)
    tensor = upscale(torch.rand(3, 9, 7), model, device="cpu")
    assert tuple(tensor.shape) == (3, 18, 14)


def test_upscale_refuses_another_scale():
    with pytest.raises(ValueError, match="×2.*×4"):
        upscale(np.zeros((8, 8, 3), np.uint8), NearestSR(2), scale=4, device="cpu")


def test_pipeline_estimates_one_kernel_for_all_tiles():
    pipeline = FakePipeline(scale=2)
    runner = ModelRunner(pipeline, device="cpu", steps=3)
    image = torch.rand(1, 3, 40, 36)
    out = upscale(image, runner, tile=12, overlap=1)
    assert pipeline.ikc_calls == 1 and tuple(out.shape) == (1, 3, 80, 72)
    code = runner.estimate_code(image)
    with torch.no_grad():
        whole = runner.tile_fn(code)(image)
    assert (out - whole).abs().max().item() < 1e-4


def test_generator_needing_a_code_says_so():
    runner = ModelRunner(FakePipeline(2).generator, device="cpu")
    with pytest.raises(ValueError, match="kernel code"):
        runner.tile_fn(None)


def test_exported_lazily_from_the_package():
    import srkit
    import srkit.inference.tiling
    assert srkit.upscale is srkit.inference.tiling.upscale
