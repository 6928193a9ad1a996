"""Throughput of a chunked video job, side by side in one run on one machine: one pass
(``upscale_video``), the job with 1 and 2 worker processes, the job on a local Ray cluster, and
the cost of resuming a job whose chunks are all done (the plan read back, every chunk skipped).

    python bench/video_job_speed.py --json bench/results/video_job_speed.json   # a few minutes

The model is a two-convolution ×2 stand-in (the cost of the real bundles is in docs/VIDEO.md):
these figures are the job's own overhead (decoding for the plan, one decoder per chunk, the
stitch, worker start-up), which a real model's seconds per frame dwarf. Each configuration runs in
a fresh process; peak memory is the largest resident set of that process or of any worker.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = ("one-pass", "workers-1", "workers-2", "ray-local", "resume")


def _clip(path: Path, frames: int) -> None:
    """A 96×72 clip with a cut every 25 frames and AAC audio (``srkit.data.archive_clip`` makes
    broadcast-sized ones, whose cost would hide the overhead measured here)."""
    from fractions import Fraction

    import av
    import numpy as np
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 96, 72, "yuv420p"
        for i in range(frames):
            x = np.arange(96)[None, :] + i * 3 + (i // 25) * 70
            y = np.arange(72)[:, None] + 0 * x
            rgb = np.stack([(x + y) % 256, (x * 2 + y) % 256, (255 - y - i + x) % 256], -1)
            rgb = rgb.astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))


class StandIn(nn.Module):
    """A two-convolution ×2 network (module level, so worker processes can unpickle it)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.scale = 2
        self.a, self.b = nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 12, 3, padding=1)

    def forward(self, x):
        return F.pixel_shuffle(self.b(F.relu(self.a(x))), 2) + F.interpolate(x, scale_factor=2)


def run_one(config: str, clip: Path, out: Path, chunk_frames: int) -> dict:
    from srkit.inference.runner import ModelRunner
    from srkit.inference.video import upscale_video
    from srkit.inference.video.job import JobOptions, VideoJob
    from srkit.inference.video.workers import run_chunks, upscale_video_job
    runner = ModelRunner.wrap(StandIn(), device="cpu")
    options = JobOptions(2, "ffv1", chunk_frames=chunk_frames)
    start = time.perf_counter()
    chunks = None
    if config == "one-pass":
        result = upscale_video(clip, out, runner, codec="ffv1", progress=False)
        frames = result.frames
    elif config == "resume":
        job = VideoJob(clip, out, options)
        job.prepare(fresh=True)
        run_chunks(job, runner, progress=False)
        start = time.perf_counter()  # only the rerun is timed: read the plan, skip every chunk
        again = VideoJob(clip, out, options)
        again.prepare()
        report = run_chunks(again, runner, progress=False)
        frames, chunks = 0, report.skipped
    else:
        workers = int(config.split("-")[1]) if config.startswith("workers") else 1
        ray = "local" if config == "ray-local" else None
        said = []
        result = upscale_video_job(clip, out, runner, options, workers=workers, ray_address=ray,
                                   fresh=True, progress=False, say=said.append)
        frames, chunks = result.frames, int(said[0].split(" chunks")[0].rsplit(" ", 1)[1])
    seconds = time.perf_counter() - start
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return dict(config=config, seconds=round(seconds, 3), frames=frames, chunks=chunks,
                frames_per_s=round(frames / seconds, 2) if frames else None,
                peak_rss_mb=round(peak))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--chunk-frames", type=int, default=50)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    parser.add_argument("--work", default="out/video_job_speed")
    parser.add_argument("--json", default=None)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(args.work)
    clip = work / "clip.mp4"
    if args.one:
        print(json.dumps(run_one(args.one, clip, work / f"{args.one}.mkv", args.chunk_frames)))
        return
    work.mkdir(parents=True, exist_ok=True)
    _clip(clip, args.frames)
    rows = []
    for config in args.configs:
        run = subprocess.run([sys.executable, __file__, "--one", config, "--work", str(work),
                              "--chunk-frames", str(args.chunk_frames)], capture_output=True, text=True)
        if run.returncode:
            row = dict(config=config, error=run.stderr.strip().splitlines()[-1][:300])
        else:
            row = json.loads(run.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    import os
    import platform
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), None) if Path("/proc/cpuinfo").exists() else None
    result = dict(date=time.strftime("%Y-%m-%d"), cpu=cpu or platform.processor() or platform.machine(),
                  cores=os.cpu_count(), frames=args.frames, size="96x72 → 192x144, ffv1",
                  chunk_frames=args.chunk_frames, rows=rows)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
