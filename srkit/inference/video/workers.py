"""Running a video job's chunks: in this process, in N worker processes, or as Ray tasks.

Each chunk is one task; a chunk that fails is tried again up to ``retries`` times (a chunk is
written under a temporary name and recorded only when complete, so a retry starts clean), and the
job ends with a report of what finished and what failed and why. The stitch runs only when every
chunk is done.

Threads: each of N CPU workers gets ``cpu_count // N`` torch threads (at least 1). On CUDA the
default is one worker per GPU, worker i on GPU i. Ray: ``ray_address`` "local" starts a cluster in
this process (``ray.init()``), anything else joins that cluster (``ray.init(address=...)``); each task
asks for ``num_gpus=1`` on CUDA, else for its share of CPUs.
"""
from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field

import srkit.interrupt
from srkit.inference.video.job import VideoJob


class ChunksFailed(RuntimeError):
    """Chunks of a video job failed after their retries (each named with its last error)."""


@dataclass
class ChunkReport:
    """What happened to a job's chunks: indexes finished, failed (index → last error), tries."""
    finished: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    skipped: int = 0
    tries: dict[int, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"{len(self.finished)} chunks done" + (f", {self.skipped} already done before"
                                                      if self.skipped else "")]
        retried = {k: n for k, n in self.tries.items() if n > 1 and k in self.finished}
        if retried:
            tries = ", ".join(f"chunk {k} ({n} tries)" for k, n in sorted(retried.items()))
            out.append(f"retried and finished: {tries}")
        out += [f"chunk {k} failed after {self.tries.get(k, 1)} tries: {why}"
                for k, why in sorted(self.failed.items())]
        return out


def _threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _worker_run(job: VideoJob, index: int, runner, threads: int, gpu: int | None) -> dict:
    """One chunk in a worker process (or Ray task)."""
    import torch
    torch.set_num_threads(threads)
    if gpu is not None:
        torch.cuda.set_device(gpu)
        if runner.device.index is None:  # "cuda": the current device, now this worker's GPU
            runner.model = runner._prepare(runner.model)
            runner.generator = getattr(runner.model, "generator", runner.model)
    job.load()
    return job.process(index, runner)


def run_chunks(job: VideoJob, runner, workers: int = 1, ray_address: str | None = None,
               retries: int = 2, progress: bool = True, on_chunk=None) -> ChunkReport:
    """Run ``job``'s pending chunks (after ``job.prepare``); ``on_chunk(index)`` is called in this
    process after each chunk is recorded (hooks, tests)."""
    from tqdm import tqdm
    pending = job.pending()
    report = ChunkReport(skipped=len(job.scan.chunks) - len(pending))
    frames = {c.index: c.frames for c in job.scan.chunks}
    bar = tqdm(total=sum(frames[k] for k in pending), unit="frame", desc=job.target.name,
               disable=not progress)
    with bar:
        if ray_address is not None:
            _run_ray(job, runner, pending, ray_address, retries, report, bar, frames, on_chunk)
        elif workers <= 1:
            for index in pending:
                for attempt in range(1, retries + 2):
                    report.tries[index] = attempt
                    srkit.interrupt.check()
                    try:
                        job.process(index, runner, progress=bar.update)
                    except (KeyboardInterrupt, OSError):
                        raise  # Ctrl-C, a full disk: the job stops; finished chunks stay
                    except Exception as error:  # noqa: BLE001 - reported, retried
                        # an interrupt that a cleanup turned into another error is no failure
                        srkit.interrupt.check()
                        report.failed[index] = f"{type(error).__name__}: {error}"
                        continue
                    report.failed.pop(index, None)
                    report.finished.append(index)
                    if on_chunk is not None:
                        on_chunk(index)
                    break
        else:
            _run_pool(job, runner, pending, workers, retries, report, bar, frames, on_chunk)
    return report


def _devices(runner, workers: int) -> list[int | None]:
    device = getattr(runner, "device", None)
    if device is not None and getattr(device, "type", "") == "cuda":
        import torch
        count = torch.cuda.device_count()
        return [i % count for i in range(workers)]
    return [None] * workers


def _run_pool(job, runner, pending, workers, retries, report, bar, frames, on_chunk) -> None:
    import multiprocessing
    import pickle
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    try:
        pickle.dumps(runner)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ValueError(f"--workers {workers}: the model cannot be sent to worker processes "
                         f"({error}); run with one worker") from None
    threads, devices = _threads(workers), _devices(runner, workers)
    context = multiprocessing.get_context("spawn")  # no torch thread pools inherited by fork
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        running = {}

        def submit(index: int, slot: int) -> None:
            report.tries[index] = report.tries.get(index, 0) + 1
            future = pool.submit(_worker_run, job, index, runner, threads, devices[slot])
            running[future] = (index, slot)

        queue = list(pending)
        for slot in range(min(workers, len(queue))):
            submit(queue.pop(0), slot)
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            srkit.interrupt.check()
            for future in finished:
                index, slot = running.pop(future)
                error = future.exception()
                if error is not None:
                    report.failed[index] = f"{type(error).__name__}: {error}"
                    if report.tries[index] <= retries:
                        submit(index, slot)
                    elif queue:
                        submit(queue.pop(0), slot)
                    continue
                report.failed.pop(index, None)
                report.finished.append(index)
                bar.update(frames[index])
                if on_chunk is not None:
                    on_chunk(index)
                if queue:
                    submit(queue.pop(0), slot)


def _ray_init(address: str) -> bool:
    """Connect to Ray ("local": start a cluster of this machine); True when this call started it
    (the caller shuts it down)."""
    try:
        import ray
    except ImportError:
        raise ValueError("--ray needs Ray: pip install 'srkit[cluster]' (or pip install ray)") from None
    if ray.is_initialized():
        return False
    if address == "local":  # a cluster of this machine only: its node address is loopback
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False,
                 _node_ip_address="127.0.0.1")
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return True


def _run_ray(job, runner, pending, address, retries, report, bar, frames, on_chunk) -> None:
    started = _ray_init(address)
    import ray
    try:
        cuda = _devices(runner, 1)[0] is not None
        resources = dict(num_gpus=1) if cuda else dict(num_cpus=1)
        task = ray.remote(max_retries=retries, retry_exceptions=True, **resources)(_ray_chunk)
        runner_ref = ray.put(runner)
        refs = {task.remote(job, index, runner_ref, cuda): index for index in pending}
        for index in pending:
            report.tries[index] = 1
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                index = refs.pop(ref)
                try:
                    record = ray.get(ref)
                except Exception as error:  # noqa: BLE001 - reported after the retries Ray made
                    cause = getattr(error, "cause", None) or error
                    report.failed[index] = f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}"
                    report.tries[index] = retries + 1
                    continue
                report.tries[index] = record.get("tries", 1)
                report.finished.append(index)
                bar.update(frames[index])
                if on_chunk is not None:
                    on_chunk(index)
    finally:
        if started:
            ray.shutdown()



def _ray_chunk(job: VideoJob, index: int, runner, cuda: bool) -> dict:
    """A Ray task: one chunk (Ray passes the runner by reference; a GPU task sees its GPU as 0)."""
    try:
        record = _worker_run(job, index, runner, 1, 0 if cuda else None)
    except Exception:
        traceback.print_exc()
        raise
    return dict(record, tries=1)


def upscale_video_job(source, target, runner, options, model_id: str = "", workers: int = 1,
                      ray_address: str | None = None, retries: int = 2, fresh: bool = False,
                      progress: bool = True, say=print, on_chunk=None):
    """The whole job: plan (or resume), the chunks, the stitch. ``say`` gets the start line and
    the final report. Raises RuntimeError naming the chunks that failed (nothing is written under
    ``target`` then; the finished chunks stay for the next run)."""
    job = VideoJob(source, target, options, model_id)
    say(job.prepare(fresh))
    report = run_chunks(job, runner, workers, ray_address, retries, progress, on_chunk)
    for line in report.lines():
        say(line)
    srkit.interrupt.check()  # never stitch after an interrupt, even one Python dropped
    if report.failed:
        raise ChunksFailed(f"{job.target.name}: {len(report.failed)} of {len(job.scan.chunks)} "
                           f"chunks failed ({'; '.join(report.lines()[1:])}); the finished ones "
                           f"stay in {job.work}: run the same command again to retry")
    return job.stitch()
