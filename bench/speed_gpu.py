"""GPU speed of 1080p → 2160p (×2): generator pass and amortized video pipeline.

For the chosen generator preset (default: the paper size) it measures frames per second of

* one generator pass on a whole 1920×1080 frame (code and segmentation given),
* the amortized video pipeline: uint8 frame → GPU → segmentation → generator → uint8 → CPU, with
  one IKC estimate (256² crop, t steps) per shot of ``--shot`` frames,
* and, with ``--encode``, the end-to-end ``srkit.inference.video.upscale_video`` on a synthetic clip,

in fp32 and bf16 autocast, each with and without ``torch.compile``. Next to each figure: the floor
from the generator's FLOPs per frame and the GPU's measured dense matmul throughput (same dtype),
and the fraction of that floor reached. The goal for the default model is 25 fps on one H100.

Exits with a message (code 0) on machines without CUDA.

Usage::

    PYTHONPATH=. python bench/speed_gpu.py [--presets small,default] [--frames 20] [--shot 100]
        [--no-compile] [--encode] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from speed_cpu import build_pipeline  # noqa: E402  (same random SFTconcat pipeline)

HEIGHT, WIDTH, SCALE = 1080, 1920, 2
DEVICE = "cuda"  # --cpu-dry-run switches to a tiny CPU run that only checks this script works


def cuda_seconds(fn, frames: int) -> float:
    """Seconds per call, averaged over ``frames`` calls after three warm-ups (compile, autotune)."""
    for _ in range(3):
        fn()
    synchronize()
    start = time.perf_counter()
    for _ in range(frames):
        fn()
    synchronize()
    return (time.perf_counter() - start) / frames


def synchronize() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def matmul_tflops(dtype: torch.dtype, n: int = 8192) -> float:
    """Measured dense matmul throughput (TFLOP/s) of an n×n×n product in ``dtype``."""
    a = torch.randn(n, n, device=DEVICE, dtype=dtype)
    b = torch.randn(n, n, device=DEVICE, dtype=dtype)
    seconds = cuda_seconds(lambda: a @ b, 20)
    return 2 * n ** 3 / seconds / 1e12


def generator_flops(pipe, lr, code, seg) -> float:
    """FLOPs of one generator pass (convolutions and matmuls, as torch's FlopCounterMode counts)."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        pipe.generator(lr, code, seg)
    return float(counter.get_total_flops())


def generator_fps(pipe, half: bool, compile: bool, frames: int) -> float:
    """Frames per second of one generator pass on a whole 1080p frame."""
    generator = torch.compile(pipe.generator, dynamic=False) if compile else pipe.generator
    lr = torch.rand(1, 3, HEIGHT, WIDTH, device=DEVICE).contiguous(memory_format=torch.channels_last)
    code = torch.zeros(1, pipe.generator.cfg.code_len, device=DEVICE)
    seg = pipe.segment(lr)

    def step():
        with torch.no_grad(), torch.autocast(DEVICE, dtype=torch.bfloat16, enabled=half):
            generator(lr, code, seg)
    return 1.0 / cuda_seconds(step, frames)


def pipeline_fps(pipe, half: bool, compile: bool, frames: int, shot: int, steps: int) -> float:
    """Frames per second of the per-frame video path, one IKC estimate per ``shot`` frames."""
    from srkit.inference.tiling import tiled_upscale
    from srkit.inference.runner import ModelRunner
    runner = ModelRunner(pipe, steps=steps, device=DEVICE, precision="bf16" if half else "fp32", compile=compile)
    frame = torch.randint(0, 256, (HEIGHT, WIDTH, 3), dtype=torch.uint8)
    frame = frame.pin_memory() if DEVICE == "cuda" else frame
    lr = frame.permute(2, 0, 1)[None]
    code = runner.estimate_code(lr)
    ikc = cuda_seconds(lambda: runner.estimate_code(lr), 2)
    upscale_one = lambda: tiled_upscale(lr, runner.tile_fn(code), SCALE, tile=0, device=DEVICE,
                                        precision=runner.precision, channels_last=True)
    per_frame = cuda_seconds(upscale_one, frames)
    return 1.0 / (per_frame + ikc / shot)


def encode_fps(pipe, half: bool, frames: int, tmp: Path) -> float:
    """End-to-end fps of upscale_video (decode, model, libx264 encode) on a synthetic 1080p clip."""
    import av
    import numpy as np
    from srkit.inference.video import upscale_video
    source = tmp / "bench_1080p.mp4"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for i in range(frames):
            rgb = np.random.default_rng(i).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    start = time.perf_counter()
    upscale_video(source, tmp / "bench_2160p.mp4", pipe, device=DEVICE, precision="bf16" if half else "fp32", tile=0,
                  preset="veryfast", progress=False)
    return frames / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="default",
                        help="generator sizes, comma-separated (small = the bundled size, default = the paper's)")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--shot", type=int, default=100, help="frames per shot (one IKC estimate)")
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--encode", action="store_true", help="also time upscale_video end to end")
    parser.add_argument("--json", default=None)
    parser.add_argument("--cpu-dry-run", action="store_true", help="tiny CPU run to test the script")
    args = parser.parse_args(argv)
    if args.cpu_dry_run:
        global DEVICE, HEIGHT, WIDTH
        DEVICE, HEIGHT, WIDTH = "cpu", 48, 64
        args.presets, args.frames, args.no_compile = "tiny", 1, True
    elif not torch.cuda.is_available():
        print("speed_gpu: no CUDA device on this machine; nothing measured (run it on a GPU machine)")
        return 0
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    size = 8192 if DEVICE == "cuda" else 256
    peak = {False: matmul_tflops(torch.float32, size), True: matmul_tflops(torch.bfloat16, size)}
    device = torch.cuda.get_device_name() if DEVICE == "cuda" else "CPU dry run"
    print(f"device: {device}, torch {torch.__version__}; matmul {peak[False]:.0f} TFLOP/s "
          f"(fp32/TF32), {peak[True]:.0f} TFLOP/s (bf16)")
    rows = []
    for preset in args.presets.split(","):
        pipe = build_pipeline(preset, SCALE).to(DEVICE)
        lr = torch.rand(1, 3, HEIGHT, WIDTH, device=DEVICE)
        flops = generator_flops(pipe, lr, torch.zeros(1, pipe.generator.cfg.code_len, device=DEVICE),
                                pipe.segment(lr))
        print(f"\npreset {preset}: {flops / 1e12:.2f} TFLOP per 1080p→2160p frame")
        print("| dtype | compile | floor fps | generator fps | % of floor | pipeline fps (amortized) | peak GiB |")
        print("|---|---|---|---|---|---|---|")
        for half in (False, True):
            for compile in (False, True) if not args.no_compile else (False,):
                if DEVICE == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                floor = peak[half] * 1e12 / flops
                gen = generator_fps(pipe, half, compile, args.frames)
                full = pipeline_fps(pipe, half, compile, args.frames, args.shot, args.steps)
                gib = torch.cuda.max_memory_allocated() / 2 ** 30 if DEVICE == "cuda" else 0.0
                rows.append(dict(preset=preset, flops_per_frame=flops, half=half, compile=compile,
                                 floor_fps=floor, generator_fps=gen, pipeline_fps=full, peak_gib=gib))
                print(f"| {'bf16' if half else 'fp32'} | {compile} | {floor:.1f} | {gen:.2f} | "
                      f"{100 * gen / floor:.0f}% | {full:.2f} | {gib:.1f} |")
    if args.encode:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            print(f"upscale_video end to end (bf16, libx264 veryfast): "
                  f"{encode_fps(pipe, True, args.frames, Path(tmp)):.2f} fps")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": device, "torch": torch.__version__,
                                               "matmul_tflops": peak, "rows": rows}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
