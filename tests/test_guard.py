"""The guards of srkit.inference.guard: never a black, NaN or washed-out picture without a word.

Fine periodic texture (1-pixel stripes, a checkerboard, halftone dots, 1-bit dither) drives the
bundled networks out of their operating range: unguarded, the IKC corrector diverges and the
generator returns inf/NaN, which the uint8 clamp turns into a black frame. Every bundled model is
checked here, each texture alone and as a small patch in a photo, through ``srkit.upscale`` (the
path the CLI, video and widgets use).
"""
from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import srkit
from srkit.data.patterns import PATTERNS as TEXTURES
from srkit.data.patterns import periodic_pattern as texture
from srkit.inference.guard import (MEAN_SHIFT_LIMIT, CodeRegion, GuardWarning, back_project, check_output,
                         reproduction_psnr, sanitize_sr)
from srkit.kernels import KernelSpec, gaussian_kernel, sample_kernels
from srkit.inference.guarded_ikc import run_ikc_guarded
from srkit.resize import imresize, imresize_np

BUNDLES = ("x2", "x4", "x2_gan", "x4_gan", "x2_noise", "x2_archive", "x4_archive")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 128×128 LR photo (scikit-image's astronaut, built in)."""
    import skimage.data
    return np.ascontiguousarray(skimage.data.astronaut()[::4, ::4])


@pytest.fixture(scope="module")
def bundles() -> dict:
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    return {name: srkit.load(name) for name in BUNDLES}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def upscale_recording(image: np.ndarray, model, name: str) -> tuple[np.ndarray, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sr = srkit.upscale(image, model, name=name, device="cpu")
    return sr, [str(w.message) for w in caught if issubclass(w.category, GuardWarning)]


# --- the hostile textures, every bundled model --------------------------------------------------

@pytest.mark.parametrize("texture_name", TEXTURES)
@pytest.mark.parametrize("bundle", BUNDLES)
def test_periodic_texture_alone_is_neither_black_nor_washed_out_and_is_named(bundle, texture_name,
                                                                             bundles):
    model = bundles[bundle]
    lr = texture(texture_name)
    sr, lines = upscale_recording(lr, model, f"{texture_name}.png")
    bicubic = imresize_np(lr, model.scale)
    assert sr.shape == bicubic.shape
    assert abs(sr.astype(float).mean() - bicubic.astype(float).mean()) <= 10.0
    # on these the guard always acts, and says so in one line naming the image
    assert len(lines) == 1 and lines[0].startswith(f"{texture_name}.png: ")


@pytest.mark.parametrize("texture_name", TEXTURES)
@pytest.mark.parametrize("bundle", BUNDLES)
def test_photo_around_a_texture_patch_is_super_resolved_as_without_it(bundle, texture_name, bundles,
                                                                      photo):
    model, s = bundles[bundle], bundles[bundle].scale
    lr = photo.copy()
    lr[52:76, 52:76] = texture(texture_name, 24)           # a 24×24 patch: 3.5 % of the picture
    sr, lines = upscale_recording(lr, model, "patched.png")
    bicubic = imresize_np(lr, s)
    outside = np.ones(sr.shape[:2], bool)
    outside[52 * s:76 * s, 52 * s:76 * s] = False
    assert abs(sr.astype(float).mean() - bicubic.astype(float).mean()) <= 10.0
    assert psnr(sr[outside], bicubic[outside]) >= 25.0
    assert len(lines) <= 1 and all(line.startswith("patched.png: ") for line in lines)


def test_unguarded_loop_is_what_turned_stripes_black(bundles):
    """The failure the guard exists for, kept visible: the plain loop goes non-finite."""
    pipe = bundles["x2"]
    lr = torch.from_numpy(texture("stripes")).permute(2, 0, 1)[None].float() / 255
    plain = pipe.ikc(lr, steps=7, guard=False)
    assert not torch.isfinite(plain.sr).all()
    guarded = pipe.ikc(lr, steps=7)
    assert torch.isfinite(guarded.sr).all() and guarded.status == ["stopped"] and guarded.stop_step == [1]
    assert guarded.guarded


def test_cli_prints_one_warning_line_naming_the_file_and_writes_a_real_picture(tmp_path):
    from PIL import Image
    source, target = tmp_path / "test_card.png", tmp_path / "out.png"
    Image.fromarray(texture("checker", 48)).save(source)
    run = subprocess.run([sys.executable, "-m", "srkit.cli", "upscale", str(source), "-o", str(target),
                          "--weights", "x2", "--device", "cpu", "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if "warning" in line]
    assert len(lines) == 1 and lines[0].startswith(f"srkit upscale: warning: {source}: ")
    out = np.asarray(Image.open(target))
    assert abs(out.mean() - imresize_np(texture("checker", 48), 2).mean()) <= 10.0


# --- the pieces ---------------------------------------------------------------------------------

def test_region_holds_every_trained_kernel_and_projects_onto_gaussians_in_range(bundles):
    pca = bundles["x2"].pca
    region = CodeRegion.from_pca(pca)
    kernels, _ = sample_kernels(500, KernelSpec(scale=2), torch.Generator().manual_seed(7))
    assert region.contains(pca.encode(kernels)).all()
    far = torch.full((3, pca.b), 40.0)
    far[1] = float("nan")
    assert not region.contains(far).any()
    projected = region.project(far)
    assert torch.isfinite(projected).all() and region.contains(projected).all()
    # each projection is the code of a Gaussian of the trained width range (0.2-2.0 px for x2)
    lo, hi = pca.meta.sigma_range
    widths = torch.arange(lo, hi + 1e-9, 0.005, dtype=torch.float64)
    gaussians = pca.encode(torch.stack([gaussian_kernel(float(w)) for w in widths]))
    # 5e-4: the codes are float32, and the batched kernel builder the region uses rounds differently
    # from gaussian_kernel (1.2e-4 apart at width 0.54 on an AVX-512 Xeon, 0 at the range's ends)
    assert (torch.cdist(projected, gaussians).min(1).values < 5e-4).all()
    assert CodeRegion.from_pca(pca) is region                    # built once per PCA and device


class _Diverging(torch.nn.Module):
    """A corrector that sends the code to ``value`` (a number, inf or NaN) at every step."""

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def forward(self, sr, code, pool="mean"):
        return torch.full_like(code, self.value)


@pytest.mark.parametrize("value, status", [(300.0, "stopped"), (float("nan"), "nonfinite"),
                                           (float("inf"), "nonfinite")])
def test_a_diverging_step_stops_the_loop_on_the_last_good_code(value, status, bundles):
    pipe = bundles["x2"]
    region = CodeRegion.from_pca(pipe.pca)
    lr = torch.rand(2, 3, 24, 24)
    seg = pipe.segment(lr)
    with torch.no_grad():
        result = run_ikc_guarded(lr, pipe.generator, pipe.predictor, _Diverging(value), region, seg=seg, steps=3)
    assert result.status == [status, status] and result.stop_step == [1, 1]
    assert len(result.codes) == 4 and all(torch.equal(c, result.codes[0]) for c in result.codes)
    assert torch.isfinite(result.sr).all()


def test_guarded_loop_equals_the_plain_loop_on_an_ordinary_image(bundles, photo):
    pipe = bundles["x2"]
    hr = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255
    from srkit.degrade import blur
    lr = (imresize(blur(hr, gaussian_kernel(1.2)), scale=0.5).clamp(0, 1) * 255).round() / 255
    plain, guarded = pipe.ikc(lr, 7, guard=False), pipe.ikc(lr, 7)
    assert guarded.status == ["ok"] and guarded.sr_replaced == [0] and not guarded.guarded
    assert all(torch.equal(a, b) for a, b in zip(plain.codes, guarded.codes))
    assert torch.equal(plain.sr, guarded.sr)


def test_sanitize_replaces_only_implausible_pixels():
    lr = torch.rand(1, 3, 8, 8)
    bicubic = imresize(lr, scale=2)
    sr = bicubic + 0.2
    sr[0, 1, 3, 4] = float("nan")
    sr[0, 0, 7, 7] = 50.0
    clean, counts = sanitize_sr(sr, lr, 2)
    assert counts.tolist() == [2]
    assert torch.equal(clean[0, :, 3, 4], bicubic[0, :, 3, 4]) and torch.equal(clean[0, :, 7, 7], bicubic[0, :, 7, 7])
    assert torch.allclose(clean[0, :, 0, 0], bicubic[0, :, 0, 0] + 0.2)
    same, none = sanitize_sr(bicubic + 0.1, lr, 2)
    assert none.tolist() == [0]


def test_a_washed_out_result_is_back_projected_and_a_black_one_replaced():
    lr = torch.rand(2, 3, 16, 16) * 0.5 + 0.25
    bicubic = imresize(lr, scale=2).clamp(0, 1)
    washed = (bicubic + 0.3).clamp(0, 1)
    fixed = back_project(washed, lr, 2)
    assert abs(float(fixed.mean() - bicubic.mean())) < MEAN_SHIFT_LIMIT
    sr = torch.stack([washed[0], torch.zeros_like(washed[1])])
    lines = check_output(sr, lr, 2, "batch.png", emit=False)
    assert lines[0].startswith("batch.png [0]: ") and "back-projected" in lines[0]
    assert lines[1].startswith("batch.png [1]: ")
    assert (sr.mean(dim=(1, 2, 3)) - bicubic.mean(dim=(1, 2, 3))).abs().max() < MEAN_SHIFT_LIMIT
    ok = bicubic.clone()
    assert check_output(ok, lr, 2, "fine.png", emit=False) == ["", ""] and torch.equal(ok, bicubic)


def test_reproduction_psnr_prefers_the_true_kernel(photo):
    from srkit.degrade import blur
    hr = torch.from_numpy(photo[:64, :64]).permute(2, 0, 1)[None].float() / 255
    lr = imresize(blur(hr, gaussian_kernel(1.6)), scale=0.5)
    true = reproduction_psnr(hr, lr, gaussian_kernel(1.6)[None], 2)
    wrong = reproduction_psnr(hr, lr, gaussian_kernel(0.3)[None], 2)
    assert float(true) > 45 and float(true) > float(wrong) + 5


def test_each_image_of_a_batch_gets_its_own_kernel(bundles, photo):
    """Unrelated images of one batch: per-image codes (not image 0's code for all)."""
    from srkit.degrade import blur
    from srkit.inference.runner import ModelRunner
    hr = torch.from_numpy(photo[:96, :96]).permute(2, 0, 1)[None].float() / 255
    sharp = imresize(blur(hr, gaussian_kernel(0.4)), scale=0.5)
    soft = imresize(blur(hr, gaussian_kernel(1.9)), scale=0.5)
    batch = torch.cat([sharp, soft]).clamp(0, 1)
    runner = ModelRunner(bundles["x2"], device="cpu")
    estimate = runner.estimate(batch)
    alone = [runner.estimate(batch[i:i + 1]).code for i in range(2)]
    assert torch.allclose(estimate.code, torch.cat(alone), atol=1e-5)
    widths = bundles["x2"].pca.isotropic_width(estimate.code)
    assert widths[1] > widths[0] + 0.5
    assert all(c > 25 for c in estimate.confidence)
    out = srkit.upscale(batch, runner, tile=0)
    for i in range(2):
        assert torch.allclose(out[i:i + 1], srkit.upscale(batch[i:i + 1], runner, tile=0), atol=1e-5)


def test_benchmarks_count_guard_warnings_and_pass_them_on():
    from srkit.inference.guard import counting_warnings, warn
    with warnings.catch_warnings(record=True) as outer:
        warnings.simplefilter("always")
        with counting_warnings() as counts:
            warn(["a.png: something the guard did", "", "b.png: another"])
            warnings.warn("not a guard warning", UserWarning)
    assert counts["guard_warnings"] == 2
    assert [str(w.message) for w in outer] == ["a.png: something the guard did", "b.png: another",
                                               "not a guard warning"]
