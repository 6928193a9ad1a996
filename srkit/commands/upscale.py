"""``srkit upscale INPUT -o OUTPUT``: upscale an image, a folder of images, a video, or many videos.

Every option, the output's name, folder and suffix are checked before the model is loaded, so a
typo costs nothing. Nothing is ever written under the final name unless it is complete (outputs go
through a temporary ``.NAME.*.part.EXT`` file beside it), and the input is never overwritten.

Existing outputs:

* a single image or video: an existing output is replaced (once the new one is complete) when it is
  writable, without ``--overwrite``. A read-only one (e.g. chmod 0444) is refused, naming it: the
  missing write bit is taken as "keep this file", although the folder would let it be replaced.
* a folder: outputs that already exist are skipped (the count is printed), so running the same
  command again after an interruption resumes where it stopped; ``--overwrite`` redoes them, and a
  read-only one is then a failure of that file. Atomic writes make an existing output a complete one.

A video runs as a job of chunks (whole shots) in a work folder beside the output,
``OUTPUT.srkit-work``, named on the first line printed: after an interruption the same command
resumes it (``--fresh`` starts over); ``--workers N`` and ``--ray [ADDRESS]`` run the chunks in
parallel, ``--step plan|chunk|stitch`` one step at a time (Slurm / Kubernetes arrays; docs/VIDEO.md).
A chunk that fails is tried again (``--retries``); chunks that still fail are listed, exit code 1.
A folder of videos (no images) or a list file of inputs (``.txt``/``.list``) makes one job of many
videos into an output folder: every chunk of every file on one queue, a report on stdout and in
``srkit-report.json`` beside the outputs, exit code 1 when any file failed (the others go on).

A folder batch goes on past a file it cannot do (unreadable, corrupt, too small, read-only output
...): one line per failure as it happens, the list of failures at the end, exit code 1. A full disk
stops the batch (every following file would fail the same way).

Ctrl-C, SIGTERM and SIGHUP remove the temporary file being written, print one line and exit with
128 + the signal number; in a batch, the outputs already finished stay. Warnings (e.g. a kernel
estimate that fell back) are printed as one line each: ``srkit upscale: warning: MESSAGE``.

Exit codes:
    0    done (in a batch: every image written or skipped)
    1    a batch in which some files failed (each listed; many videos: in srkit-report.json
         too), video chunks that failed (each listed), or a truncated video without ``--allow-partial`` (with it, what could be decoded is written and the exit code is 0)
    2    a problem with the options, the input, the checkpoint or the output; the message names
         the option, file and value (argparse's own errors exit 2 too)
    130  interrupted by Ctrl-C (SIGINT); 143 by SIGTERM; 129 by SIGHUP

This module holds the command's options and its course; the parts it runs, one module per concern,
are in ``srkit.commands.upscaling``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from srkit.commands.upscaling.checks import (DEFAULT_OVERLAP, DEFAULT_SCALE, MAX_STEPS, MIN_OVERLAP, MIN_TILE,
                                             SCALES, check_image_output, check_options, check_path_names,
                                             check_source, check_video_output, image_target, is_image,
                                             is_video_batch, plan_folder, remove_leftovers, video_options_given,
                                             video_target)
from srkit.commands.upscaling.images import report_failures, upscale_folder, upscale_image_file
from srkit.commands.upscaling.messages import (EXIT_FAILED, EXIT_OK, BatchStopped, Job, UsageError,
                                               describe_os_error, fail, is_partial_video, one_line_warnings, say)
from srkit.commands.upscaling.models import build_runner
from srkit.commands.upscaling.videos import upscale_video_batch, upscale_video_file


def add_arguments(parser) -> None:
    """Register the options of ``srkit upscale`` on an argparse parser."""
    parser.add_argument("input", help="image file, folder of images, or video file")
    parser.add_argument("-o", "--output", required=True,
                        help="output file (image/video) or folder (for a folder input)")
    parser.add_argument("--scale", type=int, choices=SCALES, default=None,
                        help=f"upscaling factor (default: the checkpoint's, or {DEFAULT_SCALE} for images "
                             "and 2 for video, as srkit probe plans); the bundled models are x2 and x4: 3 "
                             "needs --weights with a x3 checkpoint")
    parser.add_argument("--weights", default=None,
                        help="bundled model name (x2, x4, x2_gan, x4_gan, x2_noise; x2_archive, x4_archive for "
                             "noisy or compressed input), a .safetensors path, or 'auto': per image (per "
                             "video, from pictures across it) the bundle its measured noise and JPEG/MPEG "
                             "blocking call for, named on stderr (default: auto for images, "
                             "x<scale>_archive for video)")
    parser.add_argument("--tile", type=int, default=None,
                        help=f"LR tile size in pixels, 0 = no tiling, else at least {MIN_TILE} "
                             "(default: from size and device)")
    parser.add_argument("--overlap", type=int, default=None,
                        help=f"LR context per tile side, at least {MIN_OVERLAP} (less leaves seams) and "
                             f"smaller than --tile (default {DEFAULT_OVERLAP}, or tile-1 for smaller tiles)")
    parser.add_argument("--steps", type=int, default=7,
                        help=f"IKC correction steps, 0-{MAX_STEPS} (default 7)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available)")
    parser.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="fp32",
                        help="fp32 (default); bf16: autocast + channels-last (fp16 on GPUs without bf16); "
                             "auto: bf16 on AMX / AVX-512 BF16 CPUs and bf16 GPUs, else fp32")
    parser.add_argument("--half", dest="precision", action="store_const", const="bf16",
                        help=argparse.SUPPRESS)  # the older spelling of --precision bf16
    parser.add_argument("--compile", action="store_true", help="torch.compile the generator (GPU)")
    from srkit.inference.video import CODECS, DEINTERLACE_MODES
    parser.add_argument("--codec", default=None, metavar="CODEC", action=_CodecAction,
                        help=f"video codec: {', '.join(CODECS)} (default h264); '--codec help' "
                             "lists them with their containers and whether this FFmpeg has them")
    parser.add_argument("--crf", type=int, default=None,
                        help="H.264/HEVC quality, 0-51 (default 18)")
    parser.add_argument("--deinterlace", choices=DEINTERLACE_MODES, default=None,
                        help="video: auto (default: bwdif when the stream flag or FFmpeg's idet "
                             "says interlaced, frame rate kept; inverse telecine when idet finds 3:2 "
                             "pulldown), off, frame (always, same rate), field (always, one frame "
                             "per field: twice the rate), ivtc (always inverse telecine: 30 -> 24 fps)")
    parser.add_argument("--square-pixels", action="store_true",
                        help="video: resample to square pixels after the model (default: keep the "
                             "sample aspect ratio, e.g. 720x576 SAR 64:45 -> 1440x1152 SAR 64:45)")
    parser.add_argument("--fit", default=None, metavar="WxH",
                        help="video: scale into a delivery raster such as 1920x1080 keeping the "
                             "display aspect, padded with black (pillarbox/letterbox)")
    parser.add_argument("--keep-colour", action="store_true",
                        help="video: keep BT.601 colour on HD output (default: convert to BT.709 "
                             "from 720 lines up)")
    parser.add_argument("--overwrite", action="store_true",
                        help="folder input: redo outputs that already exist (default: skip them, so "
                             "a rerun resumes an interrupted batch); a single file's writable output "
                             "is always replaced")
    parser.add_argument("--allow-partial", action="store_true",
                        help="write what could be decoded from a truncated video and exit 0")
    parser.add_argument("--phase", choices=("centre", "corner"), default="centre",
                        help="images: where the input's pixels sit on the output grid. centre (default): as "
                             "MATLAB bicubic makes LR; corner: LR pixel i is HR pixel s*i, as the BD protocol "
                             "(DUF downsampler) and plain subsampling make it; the output is then moved by "
                             "-(s-1)/2 pixels (srkit.phase)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    job = parser.add_argument_group(
        "video jobs", "a video runs as chunks of whole shots in a work folder beside the output "
        "(OUTPUT.srkit-work, named on start); running the same command again resumes it. A folder of "
        "videos or a list file of inputs (.txt, one path a line) with an output folder: one job of "
        "many videos, every chunk on one queue, a report in OUTPUT/srkit-report.json")
    job.add_argument("--workers", type=int, default=None, metavar="N",
                     help="video: chunks run in N processes (default 1; on CUDA one per GPU), "
                          "each with cpu_count/N torch threads")
    job.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                     help="video: chunks run as Ray tasks, on a local cluster (no ADDRESS) or the "
                          "cluster at ADDRESS (pip install 'srkit[cluster]')")
    job.add_argument("--fresh", action="store_true",
                     help="video: start over, dropping the chunks of an earlier run")
    job.add_argument("--retries", type=int, default=None, metavar="N",
                     help="video: tries again a chunk that failed, up to N times (default 1)")
    job.add_argument("--chunk-frames", type=int, default=None, metavar="N",
                     help="video: most frames in a chunk (default 500), unless one shot is longer: "
                          "chunks hold whole shots")
    job.add_argument("--step", choices=("plan", "chunk", "stitch"), default=None,
                     help="video: run one step only (cluster arrays): plan, one chunk (--chunk K, "
                          "or the index in SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX), stitch")
    job.add_argument("--chunk", type=int, default=None, metavar="K",
                     help="video: the chunk --step chunk runs (default: from the environment)")


class _CodecAction(argparse.Action):
    """``--codec help`` prints the codecs (containers, availability in this FFmpeg) and exits 0
    at once, like ``--help``, without the other required arguments."""

    def __call__(self, parser, namespace, value, option_string=None):
        if value == "help":
            from srkit.inference.video import codec_table
            print(codec_table())
            parser.exit(EXIT_OK)
        setattr(namespace, self.dest, value)


def run(args) -> int:
    """Run ``srkit upscale``; returns the exit code (see the module docstring)."""
    job = Job(Path(args.input), Path(args.output))
    with one_line_warnings():
        try:
            return _run(job, args)
        except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM/SIGHUP turned into one by srkit.cli
            return job.interrupted(interrupt)
        except UsageError as error:
            return fail(str(error))
        except BatchStopped as error:
            return fail(str(error), EXIT_FAILED)
        except (FileNotFoundError, ValueError) as error:
            if is_partial_video(error):
                asked = args.allow_partial or "--allow-partial" in str(error)
                hint = "" if asked else "; --allow-partial writes the frames that were decoded"
                return fail(f"{error}{hint}", EXIT_FAILED)
            return fail(str(error))
        except OSError as error:
            return fail(describe_os_error(error, job.target))
        except RuntimeError as error:  # chunks of a video job failed (each named)
            if type(error).__name__ != "ChunksFailed":
                raise
            return fail(str(error), EXIT_FAILED)


def _run(job: Job, args) -> int:
    source = job.source
    check_source(source)
    given = video_options_given(args)
    check_options(args)
    if given and not is_video_batch(source) and (source.is_dir() or is_image(source)):
        what = "a folder of images" if source.is_dir() else "an image"
        raise UsageError(f"{', '.join(given)} {'acts' if len(given) == 1 else 'act'} on video only, and "
                         f"{source} is {what}; drop {'it' if len(given) == 1 else 'them'}")
    check_path_names(job.target)  # before anything stats it: a too-long name makes stat() raise
    if is_video_batch(source):
        return upscale_video_batch(job, args)
    if source.is_dir():
        todo, skipped, total = plan_folder(source, job.target, args)
        job.kind = "folder"
        if skipped:
            say(f"skipped {skipped} of {total} images whose output already exists in {job.target} "
                "(--overwrite redoes them)")
        if not todo:
            return EXIT_OK  # nothing left to do: not even the model is loaded
        job.total = len(todo)
        remove_leftovers([job.target / path.name for path in todo])
        runner = build_runner(args, "folder")
        failures = upscale_folder(source, job.target, runner, args, files=todo, job=job)
        return report_failures(failures, len(todo), job.target)
    if is_image(source):
        job.kind, job.target = "image", image_target(source, job.target)
        check_image_output(source, job.target)
    else:
        if getattr(args, "phase", "centre") != "centre":
            raise UsageError(f"--phase {args.phase} is for images and folders of frames; {source} is a video, "
                             "whose pictures are centre phase")
        job.kind, job.target = "video", video_target(source, job.target, args.codec)
        check_video_output(source, job.target, args)
        from srkit.inference.video.job import WORK_SUFFIX
        job.work = job.target.with_name(job.target.name + WORK_SUFFIX)
    job.existed = job.target.exists()
    remove_leftovers([job.target])
    runner = build_runner(args, job.kind)
    if job.kind == "image":
        upscale_image_file(source, job.target, runner, args)
    else:
        upscale_video_file(source, job.target, runner, args)
    return EXIT_OK
