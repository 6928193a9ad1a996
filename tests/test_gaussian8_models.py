"""The Gaussian8 methods of a trained pipeline (srkit bench gaussian8 --weights), on a tiny model."""
import json

import numpy as np
import pytest
import torch

from srkit.checkpoint import save_checkpoint
from srkit.cli import main
from srkit.evaluation.gaussian8 import pipeline_method
from srkit.kernels import KernelPCA
from srkit.models.ikc import Corrector, CorrectorConfig, Predictor, PredictorConfig
from srkit.models.sft import GeneratorConfig, SFTGenerator
from srkit.inference.pipeline import Pipeline


def tiny_pipeline(scale=2):
    torch.manual_seed(0)
    g = SFTGenerator(GeneratorConfig.preset("tiny", scale=scale, use_seg=False))
    p = Predictor(PredictorConfig.preset("tiny"))
    c = Corrector(CorrectorConfig.preset("tiny", scale=scale))
    return Pipeline(g, p, c, pca=KernelPCA.fit(scale, n=1000))


def test_pipeline_method_reports_every_step():
    method = pipeline_method(tiny_pipeline(), steps=3)
    lr = (np.random.default_rng(0).random((12, 16, 3)) * 255).astype(np.uint8)
    ctx = {"sigma": 1.2, "extra": {}}
    out = method(lr, 2, ctx)
    assert set(out) == {"bicubic", "true_kernel", "ikc", *(f"ikc_t{t}" for t in range(8))}
    assert all(v.dtype == np.uint8 and v.shape == (24, 32, 3) for v in out.values())
    assert np.array_equal(out["ikc"], out["ikc_t3"])  # the fixed step, never a best-of pick
    errors = ctx["extra"]["code_error"]["2"][0]
    assert len(errors) == 8 and all(e >= 0 for e in errors)
    widths = ctx["extra"]["width_error"]["2"][0]  # signed: estimated width − 1.2
    assert len(widths) == 8 and all(-1.2 <= w < 10 for w in widths)
    iso = ctx["extra"]["iso_width_error"]["2"][0]  # signed: nearest isotropic σ − 1.2
    assert len(iso) == 8 and all(-1.2 < w <= 1.25 * 2.0 - 1.2 + 1e-6 for w in iso)
    with pytest.raises(ValueError, match="x2"):
        method(lr, 4, ctx)


def test_bf16_method_is_close_to_fp32_and_says_so():
    """``--fast``: the same method in bf16 autocast; the extras record which precision ran."""
    import srkit
    pipe = srkit.load("x2")
    lr = (np.random.default_rng(0).random((24, 20, 3)) * 255).astype(np.uint8)
    ctx32, ctx16 = {"sigma": 1.2, "extra": {}}, {"sigma": 1.2, "extra": {}}
    out32 = pipeline_method(pipe, steps=1)(lr, 2, ctx32)
    out16 = pipeline_method(pipe, steps=1, precision="bf16")(lr, 2, ctx16)
    assert ctx32["extra"]["precision"] == "fp32" and ctx16["extra"]["precision"] == "bf16"
    assert np.array_equal(out16["bicubic"], out32["bicubic"])  # the baseline is never run in bf16
    for name in ("true_kernel", "ikc"):
        diff = np.abs(out16[name].astype(int) - out32[name]).mean()
        assert diff < 2.0, (name, diff)


def test_bench_with_weights(data_dir, tmp_path):
    ckpt = tmp_path / "tiny_x2.safetensors"
    pipe = tiny_pipeline()
    save_checkpoint(ckpt, pipe.modules(), {"note": "untrained test model"}, pipe.pca)
    out = tmp_path / "g8.json"
    assert main(["bench", "gaussian8", "--data", str(data_dir), "--sets", "Set5", "--scales", "2", "--limit", "1",
                 "--weights", str(ckpt), "--steps", "2", "--json", str(out), "--no-progress"]) == 0
    res = json.loads(out.read_text())
    for method in ("bicubic", "true_kernel", "ikc", "ikc_t0", "ikc_t7"):
        assert res["results"][method]["Set5"]["2"]["n"] == 8
    assert len(res["extra"]["code_error"]["2"]) == 8 and len(res["extra"]["width_error"]["2"]) == 8
    assert len(res["extra"]["iso_width_error"]["2"]) == 8
    events = res["extra"]["guard_events"]["2"]  # counted per LR image (1 image × 8 widths)
    assert events["images"] == 8 and set(events) == {"images", "robust", "projected", "stopped",
                                                     "nonfinite", "sr_pixels_replaced"}
    assert all(isinstance(v, int) and v >= 0 for v in events.values())
    assert res["extra"]["precision"] == "fp32"  # the published-protocol figures
    # a checkpoint of another scale is refused with a clear message
    assert main(["bench", "gaussian8", "--data", str(data_dir), "--sets", "Set5", "--scales", "4",
                 "--weights", str(ckpt)]) == 2


def test_bench_in_worker_processes_gives_the_same_figures(data_dir, tmp_path):
    """--workers 2: images shared by two processes; figures and extras as in one process."""
    from srkit.evaluation.bench import run_gaussian8_bench
    from tests._standins import tiny_pipeline as variant
    methods = {2: pipeline_method(variant("sftconcat"), steps=2)}
    one = run_gaussian8_bench(data_dir, ("Set5",), (2,), methods, progress=False, limit=2)
    two = run_gaussian8_bench(data_dir, ("Set5",), (2,), methods, progress=False, limit=2, workers=2)
    for method, sets in one["results"].items():
        a, b = sets["Set5"]["2"], two["results"][method]["Set5"]["2"]
        assert a["n"] == b["n"] == 16 and a["psnr"] == pytest.approx(b["psnr"], abs=1e-3), method
    assert one["extra"]["guard_events"] == two["extra"]["guard_events"]
    assert one["extra"]["guard_events"]["2"]["images"] == 16
    assert np.allclose(one["extra"]["code_error"]["2"], two["extra"]["code_error"]["2"], atol=1e-4)
    with pytest.raises(ValueError, match="workers"):
        run_gaussian8_bench(data_dir, ("Set5",), (2,), methods, progress=False, limit=1, workers=0)


def test_table1_cli(data_dir, tmp_path, capsys):
    ckpt = tmp_path / "tiny_x2.safetensors"
    pipe = tiny_pipeline()
    save_checkpoint(ckpt, pipe.modules(), {}, pipe.pca)
    out = tmp_path / "t1.json"
    assert main(["bench", "table1", "--data", str(data_dir), "--sets", "Set5", "--limit", "1",
                 "--weights", str(ckpt), "--json", str(out)]) == 0
    res = json.loads(out.read_text())["results"]["Set5"]
    assert set(res) == {"LR (bicubic)", str(ckpt)} and res["LR (bicubic)"]["n"] == 1
    assert res["LR (bicubic)"]["psnr"] < 30  # noise 15 on the LR
    assert "sigma_n=15" in capsys.readouterr().out


def test_generator_only_variants_report_sr(tmp_path):
    """SRResNet / SFT-GAN bundles (no kernel condition, no P/C) load and report bicubic and sr."""
    from srkit.checkpoint import save_pipeline
    from srkit.evaluation.gaussian8 import methods_from_weights
    from tests._standins import tiny_pipeline as variant
    save_pipeline(Pipeline(variant("srresnet").generator, pca=KernelPCA.fit(2, n=1000)), tmp_path / "srresnet.safetensors")
    save_pipeline(variant("sftgan"), tmp_path / "sftgan.safetensors")
    lr = (np.random.default_rng(0).random((12, 16, 3)) * 255).astype(np.uint8)
    for name in ("srresnet", "sftgan"):
        method = methods_from_weights([str(tmp_path / f"{name}.safetensors")], [2])[2]
        out = method(lr, 2, {"sigma": 1.2, "extra": {}, "set": "toy"})
        assert set(out) == {"bicubic", "sr"} and out["sr"].shape == (24, 32, 3), name
    gen = Pipeline(variant("sftmd").generator, pca=KernelPCA.fit(2, n=1000))
    save_pipeline(gen, tmp_path / "sftmd_g.safetensors")
    with pytest.raises(ValueError, match="no IKC predictor"):
        methods_from_weights([str(tmp_path / "sftmd_g.safetensors")], [2])
