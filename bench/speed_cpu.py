"""CPU speed and memory of srkit's production path.

Measures, for each generator preset and scale:

* one generator pass (SFTconcat: kernel code + segmentation given, as in tiled video inference),
* the segmentation net on the same LR image,
* the full IKC loop (predictor + ``steps`` × (generator + corrector), segmentation included),

as output megapixels per second, and the peak RAM (ru_maxrss of a child process, so the figure is
that run's own) of a 4K → 8K ×2 tiled upscale through ``srkit.upscale``. Networks are randomly
initialised: speed and memory do not depend on the weights.

Usage::

    PYTHONPATH=. python bench/speed_cpu.py [--presets tiny,small,default] [--scales 2,4]
        [--size 96] [--steps 7] [--threads 2] [--memory-preset tiny] [--no-memory] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch


def build_pipeline(preset: str, scale: int):
    """A randomly initialised SFTconcat Pipeline of one preset size."""
    from srkit.models.ikc import Corrector, CorrectorConfig, Predictor, PredictorConfig
    from srkit.models.seg import SegConfig, SegNet
    from srkit.models.sft import GeneratorConfig, SFTGenerator
    from srkit.inference.pipeline import Pipeline
    torch.manual_seed(0)
    return Pipeline(generator=SFTGenerator(GeneratorConfig.preset(preset, scale=scale)),
                    predictor=Predictor(PredictorConfig.preset(preset)),
                    corrector=Corrector(CorrectorConfig.preset(preset, scale=scale)),
                    segnet=SegNet(SegConfig.preset(preset, pretrained=False))).eval()


def best_seconds(fn, repeats: int = 3, budget: float = 2.0, warmups: int = 2) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest timed call after ``warmups`` calls (oneDNN picks kernels
    on the first calls), stopping after ``repeats`` calls or ``budget`` seconds.

    The machine is shared: the minimum, not the mean, and the process CPU time next to the wall
    time (CPU seconds are far less sensitive to other processes than wall seconds).
    """
    with torch.no_grad():
        for _ in range(warmups):
            fn()
        runs, spent = [], 0.0
        while len(runs) < repeats and (not runs or spent < budget):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            runs.append((time.perf_counter() - wall, time.process_time() - cpu))
            spent += runs[-1][0]
    return min(runs)


def generator_flops(pipe, size: int) -> float:
    """FLOPs (convolutions, as torch's FlopCounterMode counts) of one generator pass on size²."""
    from torch.utils.flop_counter import FlopCounterMode
    lr = torch.rand(1, 3, size, size)
    code, seg = torch.zeros(1, pipe.generator.cfg.code_len), pipe.segment(lr)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        pipe.generator(lr, code, seg)
    return float(counter.get_total_flops())


def bench_preset(preset: str, scale: int, size: int, steps: int) -> dict:
    """Output MP per wall second and per CPU second of generator pass, segmentation and full IKC
    loop on a size×size LR image."""
    pipe = build_pipeline(preset, scale)
    lr = torch.rand(1, 3, size, size)
    out_mp = size * size * scale * scale / 1e6
    code = torch.zeros(1, pipe.generator.cfg.code_len)
    seg = pipe.segment(lr)
    timings = {"generator": best_seconds(lambda: pipe.generator(lr, code, seg)),
               "segnet": best_seconds(lambda: pipe.segment(lr)),
               "ikc": best_seconds(lambda: pipe.upscale(lr, steps=steps), repeats=1, warmups=1)}
    row = {"preset": preset, "scale": scale, "lr_size": size, "steps": steps,
           "generator_params": sum(p.numel() for p in pipe.generator.parameters()),
           "generator_flop_per_lr_px": generator_flops(pipe, 32) / 32 ** 2}
    for name, (wall, cpu) in timings.items():
        row[f"{name}_mp_s"], row[f"{name}_mp_cpu_s"] = out_mp / wall, out_mp / cpu
    return row


def memory_child(preset: str, out_dtype: str, tile: int, size: tuple[int, int] = (3840, 2160),
                 steps: int = 7) -> None:
    """Run in a fresh process: a W×H LR image (default 4K) → ×2 with srkit.upscale; print JSON.

    ``preset`` 'bicubic' runs a bicubic function instead of a network: it isolates the memory of
    the image buffers (input, output, one tile) from that of the network's activations.
    """
    import numpy as np
    from srkit.inference.tiling import upscale
    from srkit.resize import imresize
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model = (lambda lr: imresize(lr, scale=2)) if preset == "bicubic" else build_pipeline(preset, 2)
    image = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    if out_dtype == "float32":
        image = image.astype(np.float32) / 255
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    out = upscale(image, model, scale=2, tile=tile, steps=steps, device="cpu")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"preset": preset, "out_dtype": out_dtype, "tile": tile,
                      "output_shape": list(out.shape), "output_mb": out.nbytes / 2**20,
                      "seconds": seconds, "rss_after_import_mb": baseline,
                      "rss_with_image_mb": loaded, "peak_rss_mb": peak}))


def bench_memory(preset: str, out_dtype: str, tile: int, threads: int) -> dict:
    """Peak RAM of the 4K → 8K run, measured in its own process."""
    command = [sys.executable, __file__, "--memory-child", "--memory-preset", preset,
               "--memory-dtype", out_dtype, "--tile", str(tile), "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    """CPU model, cores and torch version, for RESULTS.md."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [l.split(":", 1)[1].strip() for l in cpuinfo.read_text().splitlines()
                 if l.startswith("model name")]
        model = names[0] if names else model
    return f"{model}, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def print_table(rows: list[dict]) -> None:
    """Markdown table: output MP/s (wall) and, in brackets, output MP per CPU-second."""
    print(f"| preset | scale | generator params | GFLOP per LR MP | LR size | generator MP/s "
          f"| segnet MP/s | IKC loop (t={rows[0]['steps']}) MP/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [f"{r[k + '_mp_s']:.4g} ({r[k + '_mp_cpu_s']:.4g})" for k in ("generator", "segnet", "ikc")]
        print(f"| {r['preset']} | ×{r['scale']} | {r['generator_params'] / 1e6:.2f} M | "
              f"{r['generator_flop_per_lr_px'] / 1e3:.0f} | "
              f"{r['lr_size']}² | " + " | ".join(cells) + " |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="tiny,small,default")
    parser.add_argument("--scales", default="2,4")
    parser.add_argument("--size", type=int, default=96, help="LR side in pixels (default 96)")
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tile", type=int, default=256, help="LR tile of the memory run")
    parser.add_argument("--memory-preset", default="tiny", help="preset of the 4K→8K run, or 'bicubic'")
    parser.add_argument("--memory-dtype", default="uint8", choices=("uint8", "float32"))
    parser.add_argument("--memory-size", default="3840x2160", help="LR W×H of the memory run")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.memory_child:
        width, height = map(int, args.memory_size.lower().split("x"))
        memory_child(args.memory_preset, args.memory_dtype, args.tile, (width, height), args.steps)
        return 0
    print(f"machine: {machine()}; date {time.strftime('%Y-%m-%d %H:%M')}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    rows = [bench_preset(p, int(s), args.size, args.steps)
            for p in args.presets.split(",") for s in args.scales.split(",")]
    print_table(rows)
    memory = None
    if not args.no_memory:
        memory = bench_memory(args.memory_preset, args.memory_dtype, args.tile, args.threads)
        print(f"4K→8K ×2 ({memory['preset']} preset, tile {memory['tile']}, {memory['out_dtype']} "
              f"output): {memory['seconds']:.1f} s, peak RSS {memory['peak_rss_mb']:.0f} MB "
              f"(after import {memory['rss_after_import_mb']:.0f} MB, with image "
              f"{memory['rss_with_image_mb']:.0f} MB)")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "speed": rows, "memory": memory},
                                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
