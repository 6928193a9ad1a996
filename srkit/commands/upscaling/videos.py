"""``srkit upscale`` on a video (a job of chunks of whole shots: all steps, or one for cluster
arrays) and on many videos (one queue of chunks, a report)."""
from __future__ import annotations

import os
from pathlib import Path

from srkit.commands.upscaling.checks import check_video_output, video_target
from srkit.commands.upscaling.messages import EXIT_FAILED, EXIT_OK, Job, UsageError, say
from srkit.commands.upscaling.models import AutoRunners, build_runner, default_weights, video_choice


def upscale_video_file(source: Path, target: Path, runner, args) -> None:
    """Upscale a video as a job of chunks (``srkit.inference.video.job``); the container must be
    one the codec fits (checked before work starts)."""
    from srkit.inference.video.job import JobOptions, VideoJob
    from srkit.inference.video.workers import upscale_video_job
    target = video_target(source, target, args.codec)
    check_video_output(source, target, args)
    name = args.weights or default_weights("video", args.scale)[0]
    if isinstance(runner, AutoRunners):
        name, why = video_choice(source, runner.scale)
        runner = runner.use(name, why, str(source))
    options = _job_options(args, runner.scale)
    job = VideoJob(source, target, options, _model_id(name, args))
    if args.step == "plan":
        say(job.prepare(args.fresh))
        say(f"{len(job.scan.chunks)} chunks: run --step chunk --chunk K for K in 0.."
            f"{len(job.scan.chunks) - 1}, then --step stitch")
        return
    if args.step == "chunk":
        job.load()
        index = args.chunk if args.chunk is not None else _chunk_from_environment()
        record = job.process(index, runner)
        say(f"chunk {index} of {job.target.name}: {record['frames']} frames")
        return
    if args.step == "stitch":
        job.load()
        job.stitch()
        return
    upscale_video_job(source, target, runner, options, _model_id(name, args),
                      workers=_workers(args, runner), ray_address=args.ray, retries=args.retries,
                      fresh=args.fresh, progress=not args.quiet, say=say)


def _model_id(name: str, args) -> str:
    """The model in a video job's fingerprint: the weights (a file: its size and time too)."""
    path = Path(name)
    facts = f"{path.stat().st_size}:{path.stat().st_mtime_ns}" if path.is_file() else ""
    return f"{name}:{facts}:steps={args.steps}:precision={args.precision}"


def _workers(args, runner) -> int:
    if args.workers is not None:
        return args.workers
    device = getattr(runner, "device", None)
    if device is not None and device.type == "cuda":
        import torch
        return max(1, torch.cuda.device_count())
    return 1


def _chunk_from_environment() -> int:
    """The chunk index of a Slurm job array task or a Kubernetes Indexed Job pod."""
    for variable in ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"):
        if os.environ.get(variable, "").isdigit():
            return int(os.environ[variable])
    raise UsageError("--step chunk needs --chunk K (or SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX)")


def _job_options(args, scale: int):
    from srkit.inference.video.job import JobOptions
    return JobOptions(scale, args.codec, args.crf, "medium", args.tile, args.overlap,
                      args.deinterlace, args.square_pixels, args.fit, args.keep_colour,
                      args.allow_partial, args.chunk_frames)


def upscale_video_batch(job: Job, args) -> int:
    """Many videos (``srkit.inference.video.batch``): each a job of chunks, all chunks on one queue
    of ``--workers N`` processes or ``--ray`` tasks; a report on stdout and in the output folder;
    exit code 1 when any file failed."""
    from srkit.inference.video import CODECS
    from srkit.inference.video.batch import REPORT_NAME, list_inputs, run_batch
    if args.step is not None:
        raise UsageError(f"--step runs one step of one video; {job.source} holds many (give one video)")
    if getattr(args, "phase", "centre") != "centre":
        raise UsageError(f"--phase {args.phase} is for images and folders of frames; {job.source} lists "
                         "videos, whose pictures are centre phase")
    try:
        sources = list_inputs(job.source)
    except (OSError, ValueError) as error:
        raise UsageError(str(error)) from None
    out = job.target
    if out.exists() and not out.is_dir():
        raise UsageError(f"output {out} must be a folder for many videos")
    out.mkdir(parents=True, exist_ok=True)
    job.kind = "videos"
    targets = [out / (s.stem + CODECS[args.codec].containers[0]) for s in sources]
    runner = build_runner(args, "video")
    if isinstance(runner, AutoRunners):
        raise UsageError("--weights auto chooses per file; give --weights for a batch of videos")
    name = args.weights or default_weights("video", args.scale)[0]
    reports = run_batch(sources, out, targets, runner, _job_options(args, runner.scale),
                        _model_id(name, args), workers=args.workers or 1, ray_address=args.ray,
                        retries=args.retries, fresh=args.fresh, overwrite=args.overwrite, say=say)
    failed = [r for r in reports if r.status == "failed"]
    skipped = sum(r.status == "skipped" for r in reports)
    print(f"{sum(r.status == 'done' for r in reports)} of {len(reports)} videos done, "
          + (f"{skipped} skipped (output there already; --overwrite redoes it), " if skipped else "")
          + f"{len(failed)} failed (report: {out / REPORT_NAME})")
    for report in failed:
        print(f"failed: {report.source}: {report.error}")
    return EXIT_FAILED if failed else EXIT_OK
