"""The generator's forward pass before and after the SFT-layer restructuring, side by side in one run.

    python bench/sft_forward_speed.py            # about 1 min on 2 cores; bench/results/sft_forward_speed.json
    python bench/sft_forward_speed.py --baseline 4b389ab --size 192 --repeats 7
    python bench/sft_forward_speed.py --compile  # adds torch.compile (inductor) rows, about 2 min more

The baseline is ``srkit/models/sft.py`` as it was at ``--baseline`` (read with ``git show`` and
imported as its own module), given the same weights as the current one. Both run one LR image of
size×size (batch 1, ×2, channels-last, the kernel code and ψ given) for the small (bundled) and
default presets, fp32 and, where the CPU has it, bf16 autocast. Reported: the best of
``--repeats`` passes (the machine's noise floor, not its mean), the speed-up, and the largest
output difference (fp32 must stay ≤ 1e-5). SRVGGNetCompact (spandrel, random weights) runs
beside them when installed, so its time comes from the same minute of the same machine.

*Where the time goes*: ``torch.profiler`` over three passes of the current small generator and of
SRVGGNetCompact, each op's self time summed into convolutions, elementwise ops (adds, the SFT
modulation, activations) and copies (layout changes, pixel shuffle, bias fills), as shares of the
total: the part no convolution kernel can speed up.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from srkit import precision
from srkit.categories import NUM_CATEGORIES
from srkit.models import sft

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "sft_forward_speed.json"


def load_baseline(rev: str):
    """srkit/models/sft.py at git revision rev, imported as the module ``sft_baseline``."""
    source = subprocess.run(["git", "show", f"{rev}:srkit/models/sft.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "sft_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("sft_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["sft_baseline"] = module
    spec.loader.exec_module(module)
    return module


def best_ms(fn, repeats: int) -> float:
    fn()  # warm-up: oneDNN picks its kernels on the first call
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


GROUPS = {"convolution": ("convolution", "conv2d"), "copy": ("copy_", "pixel_shuffle"),
          "elementwise": ("add", "mul", "relu", "leaky", "clamp", "sub", "prelu")}


def time_shares(fn) -> dict:
    """Self-time share of convolutions, copies, elementwise ops and the rest in three calls of fn."""
    from torch.profiler import profile
    fn()
    with profile() as prof:
        for _ in range(3):
            fn()
    total, shares = 0.0, dict.fromkeys([*GROUPS, "other"], 0.0)
    for event in prof.key_averages():
        t = event.self_cpu_time_total
        total += t
        name = event.key.removeprefix("aten::")
        group = next((g for g, keys in GROUPS.items() if any(k in name for k in keys)), "other")
        shares[group] += t
    return {g: round(v / total, 3) for g, v in shares.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="4b389ab", help="git revision of the old SFT forward (default 4b389ab)")
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", type=Path, default=RESULTS)
    ap.add_argument("--compile", action="store_true", help="also time the small generator under torch.compile")
    args = ap.parse_args(argv)
    old = load_baseline(args.baseline)
    torch.manual_seed(0)
    s = args.size
    lr = precision.channels_last(torch.rand(1, 3, s, s))
    seg = precision.channels_last(torch.softmax(torch.randn(1, NUM_CATEGORIES, s, s), 1))
    code = 0.1 * torch.randn(1, 10)
    modes = ["fp32"] + (["bf16"] if precision.cpu_has_bf16() else [])
    peer = None
    try:
        from spandrel.architectures.Compact import Compact
        peer = precision.channels_last(Compact(num_feat=64, num_conv=16, upscale=2).eval())
    except ImportError:
        print("sft_forward_speed: spandrel is not installed: no SRVGGNetCompact row")
    rows = []
    for preset in ("small", "default"):
        new_g = precision.channels_last(sft.SFTGenerator(sft.GeneratorConfig.preset(preset, scale=2)).eval())
        with torch.no_grad():  # trained-looking weights: the γ/β branch far from its near-identity init
            for p in new_g.parameters():
                p.add_(0.02 * torch.randn_like(p))
        if preset == "small":
            small_g = new_g
        old_g = old.SFTGenerator(old.GeneratorConfig.preset(preset, scale=2)).eval()
        old_g.load_state_dict(new_g.state_dict())
        precision.channels_last(old_g)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            new_g(lr, code, seg)
        gflop = counter.get_total_flops() / 1e9
        for mode in modes:
            with torch.no_grad(), precision.autocast("cpu", mode):
                diff = (new_g(lr, code, seg).float() - old_g(lr, code, seg).float()).abs().max().item()
                t_old = best_ms(lambda: old_g(lr, code, seg), args.repeats)
                t_new = best_ms(lambda: new_g(lr, code, seg), args.repeats)
            row = {"preset": preset, "mode": mode, "gflop": round(gflop, 2), "baseline_ms": round(t_old, 1),
                   "ms": round(t_new, 1), "speedup": round(t_old / t_new, 2),
                   "baseline_gflops": round(gflop / t_old * 1e3, 1), "gflops": round(gflop / t_new * 1e3, 1),
                   "max_abs_diff": diff}
            rows.append(row)
            print(f"{preset:8s} {mode}: {t_old:7.1f} → {t_new:7.1f} ms ({t_old / t_new:.2f}×), "
                  f"{row['baseline_gflops']:.0f} → {row['gflops']:.0f} GFLOP/s, max |diff| {diff:.1e}")
    if peer is not None:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            peer(lr)
        gflop = counter.get_total_flops() / 1e9
        for mode in modes:
            with torch.no_grad(), precision.autocast("cpu", mode):
                t = best_ms(lambda: peer(lr), args.repeats)
            rows.append({"preset": "peer SRVGGNetCompact", "mode": mode, "gflop": round(gflop, 2), "ms": round(t, 1),
                         "gflops": round(gflop / t * 1e3, 1)})
            print(f"SRVGGNetCompact {mode}: {t:7.1f} ms, {gflop / t * 1e3:.0f} GFLOP/s")
    if args.compile:
        compiled = torch.compile(small_g)
        for mode in modes:
            with torch.no_grad(), precision.autocast("cpu", mode):
                t0 = time.perf_counter()
                compiled(lr, code, seg)
                compile_s = time.perf_counter() - t0
                t_eager = best_ms(lambda: small_g(lr, code, seg), args.repeats)
                t = best_ms(lambda: compiled(lr, code, seg), args.repeats)
            rows.append({"preset": "small, torch.compile", "mode": mode, "eager_ms": round(t_eager, 1),
                         "ms": round(t, 1), "compile_s": round(compile_s, 1)})
            print(f"small {mode}: eager {t_eager:.1f} ms, torch.compile {t:.1f} ms (compiled in {compile_s:.0f} s)")
    shares = {}
    nets = [("generator small", small_g, (lr, code, seg))] + ([("SRVGGNetCompact", peer, (lr,))] if peer else [])
    for name, net, ins in nets:
        for mode in modes:
            with torch.no_grad(), precision.autocast("cpu", mode):
                shares[f"{name} {mode}"] = share = time_shares(lambda: net(*ins))
            print(f"{name} {mode}: " + ", ".join(f"{g} {100 * v:.0f} %" for g, v in share.items()))
    result = {"date": date.today().isoformat(), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.machine(), "cpu_has_bf16": precision.cpu_has_bf16(), "lr_size": s,
              "baseline": args.baseline, "rows": rows, "time_shares": shares}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print("results:", args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
