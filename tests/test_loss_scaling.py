"""fp16 training's loss scaling (srkit.precision.loss_scaler, srkit.train.loop.backward_step): fp16
autocast, which CUDA devices without bf16 fall back to, gets a GradScaler; bf16 and fp32 do not. The
scaling logic runs here on the CPU under forced fp16 autocast."""
import pytest
import torch

from srkit import precision
from srkit.train.loop import backward_step


def test_only_fp16_autocast_gets_an_enabled_scaler(monkeypatch):
    assert precision.autocast_dtype("cpu", "fp32") is None
    assert precision.autocast_dtype("cpu", "bf16") == torch.bfloat16
    assert not precision.loss_scaler("cpu", "fp32").is_enabled()
    assert not precision.loss_scaler("cpu", "bf16").is_enabled()
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert precision.autocast_dtype("cuda", "bf16") == torch.float16   # pre-Ampere: fp16 autocast
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert precision.autocast_dtype("cuda", "bf16") == torch.bfloat16


def _model_and_loss(weight_scale: float):
    torch.manual_seed(0)
    lin = torch.nn.Linear(8, 4, bias=False)
    x = torch.randn(16, 8)

    def loss_fp16():
        with torch.autocast("cpu", dtype=torch.float16):
            y = lin(x)
            assert y.dtype == torch.float16
        return y.float().pow(2).mean() * weight_scale
    return lin, x, loss_fp16


def test_overflowing_steps_are_skipped_and_the_scale_halves():
    """Gradients of this loss times 2**16 overflow fp16 (max 65504): the scaler skips those steps,
    halving the scale each time, until the scaled gradients fit; then it steps once, with the true
    (unscaled) gradients: the same update as an fp32 step, to fp16 rounding."""
    lin, x, loss_fp16 = _model_and_loss(weight_scale=200.0)
    w0 = lin.weight.detach().clone()
    opt = torch.optim.SGD(lin.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 16)
    stepped = []
    while not stepped or not stepped[-1]:
        stepped.append(backward_step(loss_fp16(), opt, scaler))
        if not stepped[-1]:
            assert torch.equal(lin.weight, w0), "a skipped step must leave the weights alone"
        assert len(stepped) < 17
    skipped = len(stepped) - 1
    assert skipped >= 1 and scaler.get_scale() == 2.0 ** (16 - skipped)
    # the reference: the same loss and step in fp32, no scaling
    ref, _, _ = _model_and_loss(weight_scale=200.0)
    ref_loss = ref(x).pow(2).mean() * 200.0
    ref_loss.backward()
    expected = w0 - 1e-3 * ref.weight.grad
    assert torch.allclose(lin.weight, expected, rtol=0, atol=2e-5), (lin.weight - expected).abs().max()


def test_clipping_sees_unscaled_gradients():
    """With grad_clip, the norm clipped is that of the true gradients, not the scaled ones."""
    lin, x, loss_fp16 = _model_and_loss(weight_scale=1.0)
    w0 = lin.weight.detach().clone()
    opt = torch.optim.SGD(lin.parameters(), lr=1.0)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10)
    assert backward_step(loss_fp16(), opt, scaler, grad_clip=1e-3)
    step_norm = (w0 - lin.weight).norm().item()
    assert step_norm == pytest.approx(1e-3, rel=1e-3)


def test_a_disabled_scaler_is_the_plain_step():
    lin, x, _ = _model_and_loss(weight_scale=1.0)
    w0 = lin.weight.detach().clone()
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    loss = lin(x).pow(2).mean()
    grad, = torch.autograd.grad(loss, lin.weight, retain_graph=True)
    assert backward_step(loss, opt, torch.amp.GradScaler("cpu", enabled=False))
    assert torch.allclose(lin.weight, w0 - 0.1 * grad, rtol=0, atol=1e-7)

