"""The multi-frame generator (srkit.models.edvr): warping, the start from a single-frame bundle, gradients."""
import pytest
import torch
import torch.nn.functional as F

from srkit.models.edvr import FlowNet, MultiFrameConfig, MultiFrameGenerator, warp
from srkit.models.sft import GeneratorConfig, SFTGenerator


def test_warp_zero_flow_is_identity_and_integer_flow_shifts():
    x = torch.rand(2, 4, 9, 11)
    assert torch.allclose(warp(x, torch.zeros(2, 2, 9, 11)), x, atol=1e-6), "a zero flow must return the input"
    flow = torch.zeros(2, 2, 9, 11)
    flow[:, 0] = 2.0  # out[p] = x[p + (2, 0)]: content moves 2 columns left
    out = warp(x, flow)
    assert torch.allclose(out[..., :-2], x[..., 2:], atol=1e-5), "flow +2 px along x must read 2 columns right"
    assert torch.allclose(out[..., -1], x[..., -1], atol=1e-5), "past the edge the border value is repeated"


def test_warp_half_pixel_is_bilinear_mean():
    x = torch.arange(10.0).view(1, 1, 1, 10).expand(1, 1, 3, 10).contiguous()
    flow = torch.zeros(1, 2, 3, 10)
    flow[:, 0] = 0.5
    out = warp(x, flow)
    assert torch.allclose(out[0, 0, 1, :-1], x[0, 0, 1, :-1] + 0.5, atol=1e-5), "half a pixel: mean of neighbours"


def test_flownet_starts_at_zero_flow():
    net = FlowNet(8)
    flow = net(torch.rand(2, 3, 15, 17), torch.rand(2, 3, 15, 17))
    assert flow.shape == (2, 2, 15, 17), f"flow at the LR size (odd sizes too), got {tuple(flow.shape)}"
    assert torch.count_nonzero(flow) == 0, "the flow conv is zero-initialised: flow 0 at the start"


def _tiny(frames=3):
    torch.manual_seed(0)
    g = SFTGenerator(GeneratorConfig.preset("tiny", scale=2))
    return g, MultiFrameGenerator.from_single(g, frames=frames)


@pytest.mark.parametrize("frames", [3, 5])
def test_starts_as_the_single_frame_generator(frames):
    g, net = _tiny(frames)
    lr = torch.rand(2, frames, 3, 12, 14)
    code, seg = torch.randn(2, 10), torch.softmax(torch.randn(2, 10, 12, 14), 1)
    with torch.no_grad():
        out = net(lr, code, seg)
        ref = g(lr[:, frames // 2], code, seg)
    assert out.shape == (2, 3, 24, 28), f"N×3×sh×sw expected, got {tuple(out.shape)}"
    assert torch.equal(out, ref), "at initialisation the multi-frame output must equal the single-frame one"
    assert torch.equal(net(lr[:, 0], code, seg), g(lr[:, 0], code, seg)), "a 4-D input runs the single-frame body"


def test_neighbours_matter_after_training_the_fusion_and_gradients_reach_alignment():
    _, net = _tiny()
    lr = torch.rand(2, 3, 3, 12, 14, requires_grad=False)
    code, seg = torch.randn(2, 10), torch.softmax(torch.randn(2, 10, 12, 14), 1)
    loss = net(lr, code, seg).square().mean()
    loss.backward()
    assert net.fusion.out.weight.grad.abs().sum() > 0, "the zero fusion conv must get a gradient at the start"
    assert net.generator.head.weight.grad.abs().sum() > 0, "the body must get a gradient"
    with torch.no_grad():  # once the residual is non-zero, the flow net's gradient flows too
        net.fusion.out.weight.normal_(std=0.1)
    net.zero_grad()
    net(lr, code, seg).square().mean().backward()
    assert net.flow.to_flow.weight.grad.abs().sum() > 0, "gradients must reach the flow net through warping"
    with torch.no_grad():
        a = net(lr, code, seg)
        moved = lr.clone()
        moved[:, 0] = torch.rand(2, 3, 12, 14)
        b = net(moved, code, seg)
    assert (a - b).abs().max() > 1e-4, "with a trained fusion a neighbour frame must change the output"


def test_bad_window_is_refused_with_shape():
    _, net = _tiny()
    with pytest.raises(ValueError, match=r"N×3×3×h×w"):
        net(torch.rand(1, 2, 3, 8, 8), torch.randn(1, 10), torch.rand(1, 10, 8, 8))
    with pytest.raises(ValueError, match="odd"):
        MultiFrameConfig(frames=4)


def test_checkpoint_round_trip(tmp_path):
    from srkit.checkpoint import load_checkpoint, save_checkpoint
    _, net = _tiny()
    with torch.no_grad():
        net.fusion.out.weight.normal_(std=0.1)
    save_checkpoint(tmp_path / "m.safetensors", {"generator": net})
    back = load_checkpoint(tmp_path / "m.safetensors").modules["generator"]
    assert isinstance(back, MultiFrameGenerator) and back.cfg == net.cfg, "class and config must round-trip"
    lr, code, seg = torch.rand(1, 3, 3, 10, 10), torch.randn(1, 10), torch.rand(1, 10, 10, 10)
    with torch.no_grad():
        assert torch.equal(back(lr, code, seg), net(lr, code, seg)), "weights must round-trip exactly"


def test_golden_x2_bundle_at_init():
    """Around the bundled x2 generator, on a real image window: the bundle's output, bit for bit, and
    a fixed value (so a change to the body shows here too)."""
    from srkit.checkpoint import load_checkpoint
    from srkit.data.samples import sample_image
    ckpt = load_checkpoint("assets/weights/x2.safetensors")
    g, segnet = ckpt.modules["generator"].eval(), ckpt.modules["segnet"].eval()
    net = MultiFrameGenerator.from_single(g).eval()
    hr = torch.from_numpy(sample_image("face")[:64, :64].copy()).permute(2, 0, 1)[None].float() / 255
    lr = F.avg_pool2d(hr, 2)
    window = torch.stack([torch.roll(lr, -1, 3), lr, torch.roll(lr, 1, 3)], 1)
    code = torch.zeros(1, g.cfg.code_len)
    with torch.no_grad():
        seg = segnet(lr)
        out, ref = net(window, code, seg), g(lr, code, seg)
    # equal to float rounding: the head runs on a batch of 3 frames, which may pick another conv kernel
    diff = (out - ref).abs().max().item()
    assert diff < 1e-5, f"at init the window's output must be the x2 generator's on the centre frame (max diff {diff})"
    l1 = F.l1_loss(out.clamp(0, 1), hr).item()
    assert l1 == pytest.approx(GOLDEN_L1, abs=2e-5), f"L1 to HR {l1:.6f}, the x2 bundle gives {GOLDEN_L1}"


GOLDEN_L1 = 0.020071  # the x2 bundle on the 64×64 corner of the "face" sample, box-filter ↓2, zero code


def test_shot_windows_never_cross_a_cut():
    from srkit.inference.windows import shot_windows
    assert shot_windows(5, 3) == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 4]]
    assert shot_windows(6, 3, cuts=[3]) == [[0, 0, 1], [0, 1, 2], [1, 2, 2], [3, 3, 4], [3, 4, 5], [4, 5, 5]]
    assert shot_windows(4, 5, cuts=[1, 9]) == [[0, 0, 0, 0, 0], [1, 1, 1, 2, 3], [1, 1, 2, 3, 3], [1, 2, 3, 3, 3]]
    assert shot_windows(1, 3) == [[0, 0, 0]], "a one-frame shot repeats its frame"
    with pytest.raises(ValueError, match="odd"):
        shot_windows(3, 2)


def test_window_runner_at_init_equals_the_single_frame_pipeline():
    """WindowRunner around the x2 bundle at initialisation gives the x2 pipeline's frame-by-frame output
    (same code, same ψ, same guard), and the repeat control gives it too."""
    import srkit
    from srkit.inference.runner import ModelRunner
    from srkit.inference.windows import WindowRunner
    from srkit.data.samples import sample_image
    from dataclasses import replace
    pipe = srkit.load("x2")
    multi = replace(pipe, generator=MultiFrameGenerator.from_single(pipe.generator).eval())
    hr = torch.from_numpy(sample_image("face")[:48, :60].copy()).permute(2, 0, 1).float() / 255
    frames = torch.stack([F.avg_pool2d(torch.roll(hr, s, 2)[None], 2)[0] for s in (-2, 0, 2)])
    runner, single = WindowRunner(multi, steps=2), ModelRunner(pipe, steps=2, device="cpu")
    code = runner.estimate(frames[1:2], "centre")
    assert torch.allclose(code, single.estimate_code(frames[1:2], "centre")), "the same per-shot kernel code"
    ref = single.tile_fn(code)(frames[1:2]).clamp(0, 1)
    out = runner.upscale(frames, code)
    assert (out - ref).abs().max() < 1e-5, "at init the window output must be the single-frame pipeline's"
    control = WindowRunner(multi, steps=2, repeat_centre=True).upscale(frames, code)
    assert (control - ref).abs().max() < 1e-5
