"""Wall time of each notebook, run top to bottom in a fresh kernel, in full mode (default) or smoke mode.

    python bench/notebook_times.py                       # full mode, every notebook, fresh cache
    python bench/notebook_times.py 00_tour 03_ikc_alternating_training --smoke
    python bench/notebook_times.py --samples-to assets/samples   # also refresh the README figures

Each notebook runs in its own kernel with an empty cache folder (``SRKIT_CACHE``), so nothing an
earlier notebook trained is reused: the time is what a newcomer waits. Results (seconds per notebook,
mode, threads, machine, date, and each notebook's three slowest cells) are written to
``bench/results/notebook_times.json``; a notebook that
fails is reported with the failing cell and counts as failed, never as fast. ``--samples-to DIR``
sets ``SRKIT_SAMPLES_DIR`` so the figures the notebooks save (``figures.save_sample``) land in DIR;
without it they go to the (untracked) cache folder.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RESULTS = ROOT / "bench" / "results" / "notebook_times.json"
BUDGET_S = 600  # the goal: every notebook within 10 minutes in full mode on 2 CPU cores


def run_notebook(path: Path, env: dict, timeout: int) -> dict:
    """Execute one notebook in a fresh kernel; {"seconds", "ok", "error"}."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    t0 = time.time()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        return {"seconds": round(time.time() - t0, 1), "ok": True, "error": None, "slowest_cells": slowest_cells(nb)}
    except (CellExecutionError, TimeoutError, RuntimeError) as e:
        first = str(e).strip().splitlines()
        return {"seconds": round(time.time() - t0, 1), "ok": False, "error": (first[-1] if first else repr(e))[:300],
                "slowest_cells": slowest_cells(nb)}
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def slowest_cells(nb, n: int = 3) -> list[dict]:
    """The ``n`` longest code cells of an executed notebook: index, seconds, first source line
    (from the execution timestamps nbclient records in each cell's metadata)."""
    from datetime import datetime
    rows = []
    for index, cell in enumerate(nb.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if cell.cell_type == "code" and start and end:
            seconds = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                       - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
            line = next((x for x in cell.source.splitlines() if x.strip() and not x.startswith("#")), "")
            rows.append({"cell": index, "seconds": round(seconds, 1), "source": line[:80]})
    return sorted(rows, key=lambda r: -r["seconds"])[:n]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="notebook names (default: all, in order)")
    ap.add_argument("--smoke", action="store_true", help="SRKIT_SMOKE=1 (the CI mode) instead of full mode")
    ap.add_argument("--samples-to", type=Path, help="folder for the notebooks' saved figures (SRKIT_SAMPLES_DIR)")
    ap.add_argument("--timeout", type=int, default=3600, help="per cell, seconds")
    ap.add_argument("--json", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.names:
        paths = [p for p in paths if p.stem in args.names]
        missing = set(args.names) - {p.stem for p in paths}
        if missing:
            raise SystemExit(f"no such notebook(s): {sorted(missing)}")
    mode = "smoke" if args.smoke else "full"
    rows = {}
    for path in paths:
        with tempfile.TemporaryDirectory(prefix="srkit-nbcache-") as cache:
            env = {"SRKIT_CACHE": cache, "SRKIT_SMOKE": "1" if args.smoke else "0", "MPLBACKEND": "Agg"}
            if args.samples_to:
                env["SRKIT_SAMPLES_DIR"] = str(args.samples_to.resolve())
            r = run_notebook(path, env, args.timeout)
        rows[path.stem] = r
        verdict = "ok" if r["ok"] else f"FAILED: {r['error']}"
        over = " (over the 10-minute goal)" if r["ok"] and mode == "full" and r["seconds"] > BUDGET_S else ""
        print(f"{path.stem:<32} {mode} {r['seconds']:8.1f} s  {verdict}{over}", flush=True)
        for c in r["slowest_cells"]:
            print(f"    cell {c['cell']:>2}: {c['seconds']:7.1f} s  {c['source']}", flush=True)
    import torch
    record = {"date": date.today().isoformat(), "mode": mode, "machine": platform.processor() or platform.machine(),
              "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "notebooks": rows}
    old = json.loads(args.json.read_text()) if args.json.is_file() else {}
    old.setdefault(mode, {}).update({k: {**v, "date": record["date"]} for k, v in rows.items()})
    old[f"{mode}_machine"] = {k: record[k] for k in ("machine", "cpus", "torch_threads")}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(old, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0 if all(r["ok"] for r in rows.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
