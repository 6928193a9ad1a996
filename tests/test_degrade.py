import pytest
import torch

from srkit.degrade import blur, degrade
from srkit.kernels import KernelPCA, KernelSpec, gaussian_kernel, motion_kernel


def hr_batch(n=3, size=48, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_deterministic_given_seed():
    hr = hr_batch()
    kw = dict(noise_sigma=(0, 15), jpeg_quality=(40, 90), kernel_spec=KernelSpec(scale=2, aniso_prob=0.5))
    a = degrade(hr, 2, seed=7, **kw)
    b = degrade(hr, 2, generator=torch.Generator().manual_seed(7), **kw)
    assert torch.equal(a.lr, b.lr) and torch.equal(a.kernels, b.kernels)
    assert torch.equal(a.noise_sigma, b.noise_sigma) and torch.equal(a.jpeg_quality, b.jpeg_quality)
    c = degrade(hr, 2, seed=8, **kw)
    assert not torch.equal(a.lr, c.lr)


def test_returns_what_was_applied():
    hr = hr_batch(4)
    pca = KernelPCA.fit(4, n=2000)
    d = degrade(hr, 4, noise_sigma=15, pca=pca, seed=0)
    assert d.lr.shape == (4, 3, 12, 12)
    assert d.kernels.shape == (4, 21, 21) and d.codes.shape == (4, 10)
    assert torch.allclose(d.codes, pca.encode(d.kernels))
    assert d.noise_sigma.tolist() == [15.0] * 4 and d.jpeg_quality.tolist() == [0.0] * 4
    sx = d.params["sigma_x"]
    assert ((sx >= 0.2) & (sx <= 4.0)).all()
    # quantised to uint8 levels, in range
    assert torch.allclose(d.lr * 255, (d.lr * 255).round(), atol=1e-4)
    assert float(d.lr.min()) >= 0 and float(d.lr.max()) <= 1


def test_noise_level_is_right():
    hr = torch.full((2, 3, 64, 64), 0.5)
    k = gaussian_kernel(1.0)
    clean = degrade(hr, 2, kernels=k, quantize=False, seed=0).lr
    noisy = degrade(hr, 2, kernels=k, noise_sigma=15, quantize=False, seed=0).lr
    assert abs(float((noisy - clean).std()) * 255 - 15) < 0.5


def test_known_kernel_blur_matches_manual_and_direct_subsampling():
    hr = hr_batch(1, 40)
    k = motion_kernel(7, 0.5)
    d = degrade(hr, 2, kernels=k, downsample="direct", quantize=False, seed=0)
    assert torch.allclose(d.lr, blur(hr, k)[..., ::2, ::2].clamp(0, 1), atol=1e-6)
    # blur is a true convolution: an impulse reproduces the kernel itself
    imp = torch.zeros(1, 3, 41, 41)
    imp[..., 20, 20] = 1
    out = blur(imp, k)[0, 0, 10:31, 10:31]
    assert torch.allclose(out, k, atol=1e-6)


def test_jpeg_changes_the_image():
    hr = hr_batch(2, 64)
    k = gaussian_kernel(0.5)
    a = degrade(hr, 2, kernels=k, seed=0).lr
    b = degrade(hr, 2, kernels=k, jpeg_quality=20, seed=0).lr
    assert float((a - b).abs().mean()) > 1e-3


def test_differentiable_wrt_hr():
    hr = hr_batch(1, 32).requires_grad_()
    d = degrade(hr, 2, kernels=gaussian_kernel(1.0), quantize=False, seed=0)
    d.lr.sum().backward()
    assert hr.grad is not None


def test_bad_inputs():
    hr = hr_batch(1, 48)
    with pytest.raises(ValueError, match="unsupported scale"):
        degrade(hr, 5)
    with pytest.raises(ValueError, match="multiple of the scale"):
        degrade(hr_batch(1, 50), 4)
    with pytest.raises(ValueError, match="N×3×H×W"):
        degrade(torch.rand(1, 1, 48, 48), 2)
    nan = hr.clone()
    nan[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        degrade(nan, 2)
    with pytest.raises(ValueError, match="too small"):
        degrade(torch.rand(1, 3, 8, 8), 2)
    with pytest.raises(ValueError, match="kernels for a batch"):
        degrade(hr_batch(2, 48), 2, kernels=torch.stack([gaussian_kernel(1.0)] * 3))
    with pytest.raises(ValueError, match="jpeg_quality"):
        degrade(hr, 2, jpeg_quality=150)


def _photo(n=2, size=96):
    """Smooth photo-like patches (a natural image's crops): block artefacts show on them, not on noise."""
    import numpy as np
    from skimage import data
    img = torch.from_numpy(np.ascontiguousarray(data.astronaut()[100:100 + size * n, 150:150 + size])).float() / 255
    return img.permute(2, 0, 1).reshape(3, n, size, size).permute(1, 0, 2, 3).contiguous()


def test_mpeg2_is_the_codec_coarser_with_q_and_deterministic():
    pytest.importorskip("av")
    from srkit.degrade import mpeg2
    x = _photo()
    fine, coarse = mpeg2(x, torch.tensor([2.0, 2.0])), mpeg2(x, torch.tensor([16.0, 16.0]))
    err = lambda y: float((y - x).abs().mean() * 255)  # noqa: E731
    assert 0 < err(fine) < err(coarse), (err(fine), err(coarse))
    assert torch.equal(coarse, mpeg2(x, torch.tensor([16.0, 16.0])))  # a pinned quantiser: no rate control
    # MPEG-2's 8×8 DCT blocks: at q 16 the jumps across block edges exceed those inside blocks.
    d = (coarse - coarse.roll(1, -1)).abs().mean(dim=(0, 1, 2))[1:]
    edges, inside = d[7::8].mean(), torch.cat([d[i::8] for i in range(7)]).mean()
    assert edges > 1.2 * inside, (float(edges), float(inside))
    untouched = mpeg2(x, torch.tensor([0.0, 8.0]))
    assert torch.equal(untouched[0], x[0]) and not torch.equal(untouched[1], x[1])


def test_mpeg2_takes_odd_sizes_and_degrade_applies_it_last():
    pytest.importorskip("av")
    hr = _photo(1, 98)[:, :, :98, :90]
    d = degrade(hr, 2, noise_sigma=5, mpeg2_qscale=8, seed=0)
    assert d.lr.shape == (1, 3, 49, 45) and d.mpeg2_qscale.tolist() == [8.0]
    clean = degrade(hr, 2, noise_sigma=5, seed=0)
    assert clean.mpeg2_qscale.tolist() == [0.0]
    assert not torch.equal(d.lr, clean.lr)
    assert torch.equal(d.kernels, clean.kernels)  # compression draws nothing the blur or noise use
    with pytest.raises(ValueError, match="mpeg2_qscale"):
        degrade(hr, 2, mpeg2_qscale=40, seed=0)


def test_compression_share_mixes_codecs_and_keeps_other_batches():
    pytest.importorskip("av")
    import numpy as np

    from srkit.data.pairs import DegradationConfig, make_batch
    hr = (np.random.default_rng(0).random((40, 48, 48, 3)) * 255).astype(np.uint8)
    plain = DegradationConfig(scale=2, noise=(0, 20))
    a = make_batch(hr, plain, None, torch.Generator().manual_seed(3))
    b = make_batch(hr, DegradationConfig(scale=2, noise=(0, 20)), None, torch.Generator().manual_seed(3))
    assert torch.equal(a["lr"], b["lr"])  # settings without MPEG-2 draw as before
    mix = DegradationConfig(scale=2, noise=(0, 20), jpeg=(30, 95), mpeg2=(4, 20), compression_share=(0.4, 0.4))
    m1 = make_batch(hr, mix, None, torch.Generator().manual_seed(3))
    m2 = make_batch(hr, mix, None, torch.Generator().manual_seed(3))
    assert torch.equal(m1["lr"], m2["lr"])
    counts = torch.bincount(m1["compression"], minlength=3).tolist()  # none, JPEG, MPEG-2 of 40
    assert counts[0] >= 2 and counts[1] >= 8 and counts[2] >= 8 and sum(counts) == 40, counts
    with pytest.raises(ValueError, match="compression_share"):
        DegradationConfig(scale=2, compression_share=(0.7, 0.5))


def test_noise_share_leaves_a_share_noise_free_and_keeps_other_batches():
    import numpy as np

    from srkit.data.pairs import DegradationConfig, make_batch
    hr = (np.random.default_rng(1).random((40, 48, 48, 3)) * 255).astype(np.uint8)
    every = make_batch(hr, DegradationConfig(scale=2, noise=(5, 20)), None, torch.Generator().manual_seed(4))
    again = make_batch(hr, DegradationConfig(scale=2, noise=(5, 20), noise_share=1.0), None,
                       torch.Generator().manual_seed(4))
    assert torch.equal(every["lr"], again["lr"])
    # share 1 draws as before the field existed: the first noise levels the earlier code drew here
    np.testing.assert_allclose(every["noise"][:4].numpy(), [8.8462, 9.1175, 11.0562, 14.5034], atol=1e-4)
    assert (every["noise"] > 0).all()
    half = make_batch(hr, DegradationConfig(scale=2, noise=(5, 20), noise_share=0.5), None,
                      torch.Generator().manual_seed(4))
    quiet = int((half["noise"] == 0).sum())
    assert 8 <= quiet <= 32, quiet  # about half of 40 (binomial, p = 0.5)
    assert ((half["noise"] == 0) | (half["noise"] >= 5)).all()  # the rest keep the asked range
    none = make_batch(hr, DegradationConfig(scale=2, noise=(5, 20), noise_share=0.0), None,
                      torch.Generator().manual_seed(4))
    assert (none["noise"] == 0).all()
    with pytest.raises(ValueError, match="noise_share"):
        DegradationConfig(scale=2, noise_share=1.5)
