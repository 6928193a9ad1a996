"""Gaussian8 quality of bf16 inference against fp32, bundle by bundle, in one run.

Each bundle is benchmarked twice through the published code path, ``srkit bench gaussian8`` in fp32
and with ``--fast`` (every network pass in bf16 autocast where the CPU computes bf16 natively), on
Set5 and Set14 whole, and the table gives bf16 − fp32 for the true kernel and for IKC (t = 7). The
rule of ``docs/RESULTS.md``: bf16 could be a bundle's inference default only where both differences
are within 0.02 dB on both sets.

    python bench/precision_quality.py --data $SRKIT_DATA \
        --json bench/results/precision_quality.json    # about 100 min on one core for all 7 bundles

One run per (bundle, precision) is written under ``--parts`` first and reused when present, so an
interrupted run resumes where it stopped.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path

BUNDLES = ["x2_noise", "x2_archive", "x2_gan", "x4_archive", "x4_gan", "x2", "x4"]
SETS = ["Set5", "Set14"]
METHODS = ["true_kernel", "ikc"]
TOLERANCE_DB = 0.02


def run_part(data: str, bundle: str, precision: str, path: Path) -> dict:
    if not path.is_file():
        scale = bundle[1]
        cmd = [str(Path(sys.executable).with_name("srkit")), "bench", "gaussian8", "--data", data, "--sets", ",".join(SETS),
               "--scales", scale, "--weights", bundle, "--no-progress", "--json", str(path)]
        if precision == "bf16":
            cmd.append("--fast")
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    return json.loads(path.read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--bundles", nargs="+", default=BUNDLES)
    ap.add_argument("--parts", default="bench/results/precision_quality")
    ap.add_argument("--json", default="bench/results/precision_quality.json")
    args = ap.parse_args()
    parts = Path(args.parts)
    parts.mkdir(parents=True, exist_ok=True)
    rows, precisions = {}, {}
    for bundle in args.bundles:
        scale = bundle[1]
        runs = {p: run_part(args.data, bundle, p, parts / f"{bundle}_{p}.json") for p in ("fp32", "bf16")}
        precisions[bundle] = {p: r.get("extra", {}).get("precision", p) for p, r in runs.items()}
        row = {}
        for method in METHODS:
            for s in SETS:
                a = runs["fp32"]["results"][method][s][scale]["psnr"]
                b = runs["bf16"]["results"][method][s][scale]["psnr"]
                row[f"{method} {s}"] = {"fp32": a, "bf16": b, "bf16_minus_fp32": b - a}
        row["within_tolerance"] = all(abs(v["bf16_minus_fp32"]) <= TOLERANCE_DB for v in row.values())
        rows[bundle] = row
        print(bundle, " ".join(f"{k} {v['bf16_minus_fp32']:+.3f}" for k, v in row.items() if k != "within_tolerance"),
              flush=True)
    payload = {"date": datetime.date.today().isoformat(), "machine": f"{platform.machine()}, {platform.processor()}",
               "command": "python bench/precision_quality.py --data $SRKIT_DATA",
               "tolerance_db": TOLERANCE_DB, "precision_ran": precisions, "results": rows}
    Path(args.json).write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
