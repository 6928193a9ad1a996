import json

import numpy as np
import pytest

from srkit.cli import main
from srkit.data.benchmarks import gaussian8_lr, load_benchmark
from srkit.kernels import gaussian8_sigmas

# docs/DESIGN.md §3 (published bicubic table, PSNR / SSIM)
PUBLISHED = {
    "Set5": {"2": (33.66, 0.9299), "3": (30.39, 0.8682), "4": (28.42, 0.8104)},
    "Set14": {"2": (30.24, 0.8688), "3": (27.55, 0.7742), "4": (26.00, 0.7027)},
    "B100": {"2": (29.56, 0.8431), "3": (27.21, 0.7385), "4": (25.96, 0.6675)},
}


def test_bicubic_bench_reproduces_the_published_table(data_dir, tmp_path, capsys):
    out = tmp_path / "bicubic.json"
    assert main(["bench", "bicubic", "--data", str(data_dir), "--json", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "protocol:" in printed and "Y (BT.601" in printed
    res = json.loads(out.read_text())
    assert "protocol" in res
    for set_name, scales in PUBLISHED.items():
        for scale, (p, s) in scales.items():
            got = res["results"]["bicubic"][set_name][scale]
            assert abs(got["psnr"] - p) <= 0.03, (set_name, scale, got)
            assert abs(got["ssim"] - s) <= 0.001, (set_name, scale, got)
            assert got["n"] == {"Set5": 5, "Set14": 14, "B100": 100}[set_name]


def test_gaussian8_builder_is_deterministic(data_dir):
    assert gaussian8_sigmas(2) == pytest.approx(np.linspace(0.8, 1.6, 8).tolist())
    assert gaussian8_sigmas(4)[0] == 1.8 and gaussian8_sigmas(4)[-1] == pytest.approx(3.2)
    hr = load_benchmark(data_dir, "Set5", 4)[0].hr
    a, b = gaussian8_lr(hr, 4, 2.0), gaussian8_lr(hr, 4, 2.0)
    assert a.dtype == np.uint8 and a.shape == (hr.shape[0] // 4, hr.shape[1] // 4, 3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, gaussian8_lr(hr, 4, 3.0))


def test_gaussian8_lr_blurs_exactly_like_degrade_blur(data_dir):
    """gaussian8_lr blurs through scipy for speed; the LR must be that of srkit.degrade.blur, to the bit."""
    import torch

    from srkit.degrade import blur
    from srkit.kernels import gaussian_kernel
    from srkit.resize import imresize
    rng = np.random.default_rng(0)
    images = [load_benchmark(data_dir, "Set14", 2)[i].hr for i in (0, 3)]
    images.append(rng.integers(0, 256, (37, 52, 3), dtype=np.uint8))  # odd sides, near the 21-tap size
    for hr in images:
        for scale in (2, 4):
            hr_s = hr[:hr.shape[0] // scale * scale, :hr.shape[1] // scale * scale]
            for sigma in (gaussian8_sigmas(scale)[0], gaussian8_sigmas(scale)[-1]):
                t = torch.from_numpy(hr_s).permute(2, 0, 1).unsqueeze(0).double().div(255)
                ref = imresize(blur(t, gaussian_kernel(sigma).double()), scale=1 / scale)[0]
                ref = (ref.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
                assert np.array_equal(gaussian8_lr(hr_s, scale, sigma), ref), (hr.shape, scale, sigma)


def test_gaussian8_bicubic_cli(data_dir, tmp_path):
    out = tmp_path / "g8.json"
    assert main(["bench", "gaussian8", "--data", str(data_dir), "--sets", "Set5", "--scales", "2,4",
                 "--json", str(out), "--no-progress"]) == 0
    res = json.loads(out.read_text())["results"]["bicubic"]["Set5"]
    assert res["2"]["n"] == 40 and res["4"]["n"] == 40  # 5 images × 8 widths
    assert 25 < res["4"]["psnr"] < res["2"]["psnr"] < 33.66  # blur makes bicubic worse than no blur
    # the Gaussian8 bicubic baseline srkit publishes (README; bench/results/gaussian8_bicubic.json)
    assert res["2"]["psnr"] == pytest.approx(30.34, abs=0.006) and res["2"]["ssim"] == pytest.approx(0.8710, abs=6e-5)
    assert res["4"]["psnr"] == pytest.approx(25.86, abs=0.006) and res["4"]["ssim"] == pytest.approx(0.7290, abs=6e-5)


def test_bench_errors(tmp_path, capsys):
    assert main(["bench", "bicubic", "--data", str(tmp_path), "--sets", "Set5"]) == 2
    assert "Set5 not found" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown benchmark"):
        load_benchmark(tmp_path, "Set6", 2)


def test_merging_gaussian8_runs_weights_the_step_errors_by_images():
    from srkit.evaluation.bench import merge_gaussian8_runs
    a = {"results": {"ikc": {"Set5": {"2": {"psnr": 31.0, "ssim": 0.9, "n": 40}}}},
         "extra": {"precision": "fp32", "guard_events": {"2": {"images": 40, "sr_pixels_replaced": 3}},
                   "code_error": {"2": [1.0, 2.0]}}}
    b = {"results": {"ikc": {"B100": {"2": {"psnr": 29.0, "ssim": 0.8, "n": 800}}}},
         "extra": {"precision": "fp32", "guard_events": {"2": {"images": 160, "sr_pixels_replaced": 7}},
                   "code_error": {"2": [2.0, 4.0]}}}
    m = merge_gaussian8_runs([a, b], note="two runs")
    assert m["results"]["ikc"]["Set5"]["2"]["psnr"] == 31.0 and m["results"]["ikc"]["B100"]["2"]["n"] == 800
    assert m["extra"]["guard_events"]["2"] == {"images": 200, "sr_pixels_replaced": 10}
    assert m["extra"]["code_error"]["2"] == pytest.approx([1.8, 3.6])  # (40·1 + 160·2) / 200, …
    assert m["merged_from"] == "two runs"
    with pytest.raises(ValueError, match="more than one run"):
        merge_gaussian8_runs([a, a])
    with pytest.raises(ValueError, match="precisions"):
        merge_gaussian8_runs([a, {**b, "extra": {**b["extra"], "precision": "bf16"}}])


def test_throughput_records_every_conv_of_a_network(monkeypatch):
    """bench/throughput.py's conv ceiling: each conv of one pass is seen once, with its own shapes,
    and F.conv2d is restored afterwards."""
    import torch
    import torch.nn.functional as F

    from srkit.models.sft import GeneratorConfig, SFTGenerator
    from _benchscripts import load_script
    tp = load_script("throughput", monkeypatch)
    g = SFTGenerator(GeneratorConfig.preset("tiny", scale=2, use_seg=False)).eval()
    real = F.conv2d
    with torch.no_grad():
        calls = tp.conv_calls(lambda: g(torch.rand(1, 3, 12, 12), torch.zeros(1, g.cfg.code_len)))
    assert F.conv2d is real
    modules = sum(isinstance(m, torch.nn.Conv2d) for m in g.modules())
    assert len(calls) == modules  # the SFT layers call F.conv2d for their body and γ/β convs
    assert {tuple(c[1].shape[2:]) for c in calls} <= {(3, 3), (1, 1)}
    ceil = tp.conv_ceiling(lambda: g(torch.rand(1, 3, 12, 12), torch.zeros(1, g.cfg.code_len)), "fp32", 1)
    assert ceil["convs"] == modules and ceil["conv_ms"] > 0
