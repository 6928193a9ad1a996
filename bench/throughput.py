"""How close srkit's networks come to what this machine can compute: attainable convolution
throughput (GFLOP/s) against each network's achieved throughput, fp32 and bf16.

    python bench/throughput.py                 # minutes on 2 cores; bench/results/throughput.json
    python bench/throughput.py --size 128 --repeats 3
    python bench/throughput.py --only generator SRVGG   # networks whose name contains a word

*Attainable*: the best rate of 3×3 convolutions (64 → 64 channels at batch 1 and 4, 128 → 128; the
generator's dominant layer) and square matmuls (2048, 4096), timed in fp32 (default layout and
channels-last) and bf16 autocast + channels-last. *Achieved*: one inference pass of each network on one
S×S LR image (random weights: speed does not depend on them), its FLOPs counted by
``torch.utils.flop_counter`` (multiply-add = 2 FLOPs, as in ``bench/model_sizes.py``) divided by
the median time. The fraction of the best attainable rate of any mode is the figure to read. bf16 is reported
only where ``srkit.precision.cpu_has_bf16()``: elsewhere it is emulated, and
``bench/precision_speed.py`` shows what that costs.

*Peers* (with ``pip install 'srkit[peers]'``, i.e. spandrel): the networks a user would otherwise
pick, built from their published architectures by spandrel with random weights, speed only, at ×2:
Real-ESRGAN's SRVGGNetCompact (64 features, 16 convs: realesr-animevideov3's size), ESRGAN's
RRDBNet (64 features, 23 blocks) and SPAN (48 features). Each row also gives output megapixels per
second, the figure that decides what a frame costs; GFLOP/s says how well the FLOPs a network does
compute are executed. *Convs alone*: the network's convolutions timed one by one outside it, same
shapes and layout; total FLOPs ÷ that time is the ceiling its layer shapes set whatever is fused
around them (narrow layers, such as the 16-channel γ/β branches of the bundled size, run far below
the 64-channel attainable rate). srkit's generator computes its SFT layers without the concatenation (the
constant code map costs no convolution, ``srkit.models.sft.SFTConcat``), so its counted FLOPs are
those it computes (547 GFLOP per LR megapixel for the bundled size at ×2, ``bench/model_sizes.py``;
579 if the code map went through the convolution as the concatenation draws it).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from srkit import precision
from srkit.categories import NUM_CATEGORIES
from srkit.models.ikc import Corrector, CorrectorConfig, Predictor, PredictorConfig
from srkit.models.sft import GeneratorConfig, SFTGenerator

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "throughput.json"


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: oneDNN picks and caches its kernels on the first call
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def flops_of(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def attainable(size: int, repeats: int, modes) -> dict:
    """Per mode: GFLOP/s of a 3×3 conv (64 → 64 channels, the best of batch 1 and 4 on
    size×size, and of 128 → 128 channels), of square matmuls (2048, 4096), and the best of all
    of them ("attainable"), the rate the networks are measured against."""
    a, b = torch.randn(4096, 4096), torch.randn(4096, 4096)
    out = {}
    for name, prec, layout in modes:
        conv_rates = []
        for n, c in ((1, 64), (4, 64), (1, 128)):
            x, w = torch.randn(n, c, size, size), torch.randn(c, c, 3, 3)
            if layout:
                x, w = precision.channels_last(x), w.contiguous(memory_format=torch.channels_last)

            def conv(x=x, w=w):
                with torch.no_grad(), precision.autocast("cpu", prec):
                    F.conv2d(x, w, padding=1)
            conv_rates.append(2 * c * c * 9 * n * size * size / median_seconds(conv, repeats) / 1e9)
        mm_rates = []
        for k in (2048, 4096):
            ak, bk = a[:k, :k].contiguous(), b[:k, :k].contiguous()

            def matmul(ak=ak, bk=bk):
                with torch.no_grad(), precision.autocast("cpu", prec):
                    ak @ bk
            mm_rates.append(2 * k ** 3 / median_seconds(matmul, repeats) / 1e9)
        out[name] = {"conv3x3_gflops": round(max(conv_rates), 1), "matmul_gflops": round(max(mm_rates), 1),
                     "attainable_gflops": round(max(conv_rates + mm_rates), 1)}
    return out


def conv_calls(fn) -> list[tuple]:
    """Every ``F.conv2d`` call one run of ``fn`` makes, as (input, weight, bias, stride, padding,
    dilation, groups) with the tensors cloned in their layout and dtype (nn.Conv2d goes through
    ``F.conv2d`` too, so this sees every convolution of srkit's networks and of the peers)."""
    calls, real = [], F.conv2d

    def record(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        calls.append((x.detach().clone(memory_format=torch.preserve_format),
                      w.detach().clone(memory_format=torch.preserve_format),
                      None if b is None else b.detach().clone(), stride, padding, dilation, groups))
        return real(x, w, b, stride, padding, dilation, groups)
    F.conv2d = record
    try:
        fn()
    finally:
        F.conv2d = real
    return calls


def conv_ceiling(fn, prec: str, repeats: int) -> dict:
    """The network's convolutions timed one by one on their own (same shapes, layout, dtype),
    outside the network: their number and summed time. The network's FLOPs ÷ that time is the rate
    it would reach if everything but its convolutions took no time, the ceiling its conv shapes
    set on this machine whatever is fused around them."""
    with torch.no_grad(), precision.autocast("cpu", prec):
        calls = conv_calls(fn)
    seconds = 0.0
    for x, w, b, stride, padding, dilation, groups in calls:
        def one(x=x, w=w, b=b, stride=stride, padding=padding, dilation=dilation, groups=groups):
            with torch.no_grad(), precision.autocast("cpu", prec):  # as in the network: casts included
                F.conv2d(x, w, b, stride, padding, dilation, groups)
        seconds += median_seconds(one, repeats)
    return {"convs": len(calls), "conv_ms": seconds * 1e3}


def networks(size: int):
    """(name, module, inputs) for one LR image of size×size: the generators and P, C."""
    torch.manual_seed(0)
    lr = torch.rand(1, 3, size, size)
    seg = torch.softmax(torch.randn(1, NUM_CATEGORIES, size, size), 1)
    rows = []
    for preset in ("small", "default"):
        g = SFTGenerator(GeneratorConfig.preset(preset, scale=2)).eval()
        rows.append((f"generator {preset} ×2", g, (lr, torch.zeros(1, g.cfg.code_len), seg)))
    rows.append(("predictor", Predictor(PredictorConfig.preset("small")).eval(), (lr,)))
    c = Corrector(CorrectorConfig.preset("small", scale=2)).eval()
    rows.append(("corrector ×2", c, (torch.rand(1, 3, 2 * size, 2 * size), torch.zeros(1, 10))))
    return rows + peers(lr)


def peers(lr: torch.Tensor):
    """(name, module, inputs) of other SR networks at ×2, from spandrel (none without it)."""
    try:
        from spandrel.architectures.Compact import Compact
        from spandrel.architectures.ESRGAN import ESRGAN
        from spandrel.architectures.SPAN import SPAN
    except ImportError:
        print("throughput: spandrel is not installed (pip install 'srkit[peers]'): no peer networks")
        return []
    torch.manual_seed(0)
    return [("peer SRVGGNetCompact ×2", Compact(num_feat=64, num_conv=16, upscale=2).eval(), (lr,)),
            ("peer SPAN ×2", SPAN(num_in_ch=3, num_out_ch=3, feature_channels=48, upscale=2).eval(), (lr,)),
            ("peer RRDBNet ×2", ESRGAN(num_filters=64, num_blocks=23, scale=2).eval(), (lr,))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=192, help="LR side of the test image (default 192)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path, default=RESULTS)
    ap.add_argument("--only", nargs="+", default=None, help="networks whose name contains one of these words")
    args = ap.parse_args(argv)
    modes = [("fp32", "fp32", False), ("fp32 channels_last", "fp32", True)]
    if precision.cpu_has_bf16():
        modes.append(("bf16 channels_last", "bf16", True))
    peak = attainable(args.size, args.repeats, modes)
    for name, r in peak.items():
        print(f"{name:20s} conv3x3 {r['conv3x3_gflops']:8.1f} GFLOP/s   matmul {r['matmul_gflops']:8.1f} GFLOP/s   "
              f"attainable {r['attainable_gflops']:8.1f} GFLOP/s")
    rows = []
    for net_name, module, inputs in networks(args.size):
        if args.only and not any(w.lower() in net_name.lower() for w in args.only):
            continue
        flops = flops_of(lambda: module(*inputs))
        for name, prec, layout in modes:
            if layout:
                precision.channels_last(module)
                ins = tuple(precision.channels_last(t) for t in inputs)
            else:
                module.to(memory_format=torch.contiguous_format)
                ins = inputs

            def run():
                with torch.no_grad(), precision.autocast("cpu", prec):
                    module(*ins)
            seconds = median_seconds(run, args.repeats)
            gflops = flops / seconds / 1e9
            frac = gflops / max(peak[m]["attainable_gflops"] for m in peak)  # the machine's best, any layout
            out_mp = (2 * args.size) ** 2 / 1e6 if net_name != "predictor" else args.size ** 2 / 1e6
            ceil = conv_ceiling(lambda: module(*ins), prec, args.repeats)
            rows.append({"network": net_name, "mode": name, "gflop": round(flops / 1e9, 2), "ms": round(seconds * 1e3, 1),
                         "gflops": round(gflops, 1), "fraction_of_attainable": round(frac, 2),
                         "output_mp_per_s": round(out_mp / seconds, 3), "convs": ceil["convs"],
                         "conv_ms": round(ceil["conv_ms"], 1), "conv_share": round(ceil["conv_ms"] / 1e3 / seconds, 2),
                         "conv_only_gflops": round(flops / (ceil["conv_ms"] / 1e3) / 1e9, 1)})
            print(f"{net_name:24s} {name:20s} {flops / 1e9:7.2f} GFLOP {seconds * 1e3:8.1f} ms "
                  f"{gflops:7.1f} GFLOP/s  {100 * frac:5.1f} % of attainable  {out_mp / seconds:6.3f} MP/s  "
                  f"convs alone {ceil['conv_ms']:7.1f} ms (ceiling {rows[-1]['conv_only_gflops']:7.1f} GFLOP/s)")
    result = {"date": date.today().isoformat(), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.machine(), "cpu_has_bf16": precision.cpu_has_bf16(), "lr_size": args.size,
              "attainable": peak, "networks": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print("results:", args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
