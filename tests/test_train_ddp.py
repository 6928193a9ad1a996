"""Scale-out and CLI: 2-process DDP (gloo, CPU) under torch.distributed.run, and `srkit train`."""
import os
import subprocess
import sys
from pathlib import Path

import srkit
from srkit.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_two_process_gloo_ddp(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "srkit.cli", "train", "ikc", "--preset", "smoke", "--steps", "3", "--out", str(tmp_path),
           "--data", "skimage", "--no-progress", "--device", "cpu"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, cwd=REPO)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert r.stdout.count("srkit train ikc: step 3") == 1        # only rank 0 reports and writes
    p = srkit.load(tmp_path / "model.safetensors")
    assert p.meta["step"] == 3
    assert sorted(f.name for f in tmp_path.iterdir()) == ["data_report.json", "log.csv", "log.json",
                                                          "manifest.json", "model.safetensors", "resume.safetensors"]


def test_cli_train_and_resume(tmp_path, capsys):
    args = ["train", "sftmd", "--preset", "smoke", "--out", str(tmp_path), "--data", "skimage", "--scale", "2",
            "--no-progress"]
    assert main(args + ["--steps", "2"]) == 0
    assert srkit.load_network(tmp_path / "model.safetensors").cfg.scale == 2
    assert main(args + ["--steps", "4", "--resume"]) == 0     # continue to step 4
    assert "step 4" in capsys.readouterr().out
