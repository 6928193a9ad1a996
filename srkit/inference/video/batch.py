"""Many videos in one job: a folder of videos or a list file of inputs, one task per step of each
(plan, each chunk, stitch), spread over N worker processes or a Ray cluster, with retries and a
final report of what finished, what failed and why.

Every input is its own ``VideoJob`` (work folder beside its output, resumable); a file that fails
(unreadable, truncated, a chunk failing after its retries) never stops the others. Chunks of all
files share one queue, so workers stay busy across files. The report is printed (one line per
file that failed) and written beside the outputs as ``srkit-report.json``::

    {"format": "srkit-video-report", "version": 1, "finished": 2, "failed": 1,
     "inputs": [{"source": "...", "target": "...", "status": "done" | "failed",
                 "frames": 40, "chunks": 6, "tries": {"3": 2}, "error": "..."}, ...]}
    (status "skipped": the output was there already)

An input whose output exists and has no work folder beside it was finished by an earlier run: it
is skipped (status "skipped") unless ``overwrite``, so the same command resumes a batch.

Retries: a chunk that raised is submitted again up to ``retries`` times; a plan or a stitch is not
(their failures come from the file, not from the machine), except where the worker process died.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from pathlib import Path

import srkit.interrupt
from srkit.imageio import atomic_path
from srkit.inference.video.job import JobOptions, VideoJob

REPORT_NAME = "srkit-report.json"
# suffixes taken as videos in a folder (FFmpeg reads more; a list file may name any)
VIDEO_SUFFIXES = frozenset({".mkv", ".mp4", ".mov", ".m4v", ".avi", ".mxf", ".ts", ".m2ts", ".mts",
                            ".mpg", ".mpeg", ".vob", ".webm", ".flv", ".wmv", ".asf", ".dv", ".nut",
                            ".ogv", ".y4m", ".3gp"})
LIST_SUFFIXES = frozenset({".txt", ".list"})


def list_inputs(source: Path) -> list[Path]:
    """The videos of a folder (by suffix, sorted) or the paths in a list file (one a line; blank
    lines and ``#`` comments skipped; relative paths are relative to the list file). ValueError
    naming the source when it holds none, or a listed path twice."""
    source = Path(source)
    if source.is_dir():
        found = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    else:
        found = []
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if line and not line.startswith("#"):
                path = Path(line).expanduser()
                found.append(path if path.is_absolute() else source.parent / path)
        names = [p.name for p in found]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"{source}: {', '.join(twice)} listed twice (outputs go to one folder, "
                             "named after the inputs)")
    if not found:
        raise ValueError(f"{source}: no video files in it")
    return found


@dataclass
class FileReport:
    source: str
    target: str
    status: str = "failed"
    frames: int = 0
    chunks: int = 0
    tries: dict[str, int] = field(default_factory=dict)
    error: str = ""


def _plan_task(job: VideoJob, fresh: bool) -> str:
    return job.prepare(fresh)


def _chunk_task(job: VideoJob, index: int, runner, threads: int, gpu) -> dict:
    from srkit.inference.video.workers import _worker_run
    return _worker_run(job, index, runner, threads, gpu)


def _stitch_task(job: VideoJob) -> int:
    job.load()
    return job.stitch().frames


def _why(error: BaseException) -> str:
    cause = getattr(error, "cause", None) or error  # Ray wraps the task's exception
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[-1] if text else ''}"


class _Pool:
    """N spawned worker processes (``concurrent.futures``)."""

    def __init__(self, workers: int, runner):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from srkit.inference.video.workers import _devices, _threads
        self.executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        self.runner, self.threads, self.gpu = runner, _threads(workers), _devices(runner, 1)[0]

    def submit(self, fn, *args):
        if fn is _chunk_task:
            args = (*args, self.runner, self.threads, self.gpu)
        return self.executor.submit(fn, *args)

    def close(self):
        self.executor.shutdown(wait=True, cancel_futures=True)


class _Ray:
    """Ray tasks (``ref.future()`` gives a ``concurrent.futures.Future``)."""

    def __init__(self, address: str, runner):
        from srkit.inference.video.workers import _devices, _ray_init
        import ray
        self.ray, self.started = ray, _ray_init(address)
        cuda = _devices(runner, 1)[0] is not None
        self.gpu = 0 if cuda else None
        resources = dict(num_gpus=1) if cuda else dict(num_cpus=1)
        # a dead worker process is retried by Ray; an exception is retried here (counted)
        self.tasks = {fn: ray.remote(max_retries=1, retry_exceptions=False, **resources)(fn)
                      for fn in (_plan_task, _chunk_task, _stitch_task)}
        self.runner = ray.put(runner)

    def submit(self, fn, *args):
        if fn is _chunk_task:
            args = (*args, self.runner, 1, self.gpu)
        return self.tasks[fn].remote(*args).future()

    def close(self):
        if self.started:
            self.ray.shutdown()


def run_batch(sources: list[Path], out_dir: Path, targets: list[Path], runner, options: JobOptions,
              model_id: str = "", workers: int = 1, ray_address: str | None = None,
              retries: int = 1, fresh: bool = False, overwrite: bool = False,
              say=print) -> list[FileReport]:
    """Upscale every source into its target (in ``out_dir``); returns one report per input and
    writes ``out_dir/srkit-report.json``. Ctrl-C stops the batch (finished chunks stay)."""
    jobs = [VideoJob(s, t, options, model_id) for s, t in zip(sources, targets)]
    reports = [FileReport(str(s), str(t)) for s, t in zip(sources, targets)]
    engine = _Ray(ray_address, runner) if ray_address is not None else _Pool(max(1, workers), runner)
    running, remaining = {}, {}
    try:
        for number, job in enumerate(jobs):
            if job.target.exists() and not job.work.exists() and not overwrite:
                reports[number].status = "skipped"
                continue
            running[engine.submit(_plan_task, job, fresh)] = ("plan", number, None)
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            srkit.interrupt.check()
            for future in finished:
                step, number, index = running.pop(future)
                job, report = jobs[number], reports[number]
                error = future.exception()
                if step == "chunk" and error is not None and report.status != "stopped":
                    tries = report.tries[str(index)] = report.tries.get(str(index), 1) + 1
                    if tries <= retries + 1:
                        running[engine.submit(_chunk_task, job, index)] = ("chunk", number, index)
                        continue
                    report.tries[str(index)] -= 1
                if error is not None:
                    if report.status != "stopped":  # the first failure of a file is its reason
                        report.error = f"{step}{'' if index is None else f' {index}'}: {_why(error)}"
                        report.status = "stopped"
                        say(f"{job.source.name}: failed ({report.error}); the other files go on")
                    continue
                if step == "plan":
                    say(f"{job.source.name}: {future.result()}")
                    job.load()
                    report.chunks = len(job.scan.chunks)
                    remaining[number] = set(job.pending())
                    for index in sorted(remaining[number]):
                        running[engine.submit(_chunk_task, job, index)] = ("chunk", number, index)
                    if not remaining[number]:
                        running[engine.submit(_stitch_task, job)] = ("stitch", number, None)
                elif step == "chunk":
                    remaining[number].discard(index)
                    if not remaining[number] and report.status != "stopped":
                        running[engine.submit(_stitch_task, job)] = ("stitch", number, None)
                else:
                    report.status, report.frames = "done", future.result()
    finally:
        engine.close()
    for report in reports:
        if report.status == "stopped":
            report.status = "failed"
        report.tries = {k: n for k, n in report.tries.items() if n > 1}
    write_report(out_dir, reports)
    return reports


def write_report(out_dir: Path, reports: list[FileReport]) -> Path:
    done = sum(r.status == "done" for r in reports)
    skipped = sum(r.status == "skipped" for r in reports)
    data = dict(format="srkit-video-report", version=1, finished=done, skipped=skipped,
                failed=len(reports) - done - skipped,
                inputs=[vars(r) for r in reports])
    path = Path(out_dir) / REPORT_NAME
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=1) + os.linesep)
    return path
