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
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import signal
import stat
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

SCALES = (2, 3, 4)
DEFAULT_SCALE = 4     # images and folders; video: srkit.inference.video.DEFAULT_SCALE (2), as srkit probe
DEFAULT_OVERLAP = 16
# Tiles see only MIN_OVERLAP LR pixels of context a side at least: with less, the seams show. The
# bundled models (one architecture) on a 96×96 LR photo, tile 16, against the untiled output
# (bench/tile_seams.py, bench/RESULTS.md "Tile seams"): x2 at overlap 0 differs by up to 51 levels
# (40.4 dB), at 4 by 5, at 8 by 1 (63.7 dB). receptive_radius's bound (29) over-states it.
MIN_OVERLAP = 8
MIN_TILE = 2 * MIN_OVERLAP  # smaller tiles spend more time on their margins than on their pixels
MAX_STEPS = 20        # IKC converges in ~7 steps; more only costs time
CRF_RANGE = (0, 51)   # libx264's range
NAME_MAX = 255        # bytes per file name on ext4, XFS, btrfs, ZFS, APFS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# The options that act on video only: (flag, default). An image or a folder given one is refused
# rather than silently ignored (argparse's defaults are None / False, so a given one is seen).
VIDEO_OPTIONS = {"codec": ("--codec", "h264"), "crf": ("--crf", 18), "deinterlace": ("--deinterlace", "auto"),
                 "fit": ("--fit", None), "square_pixels": ("--square-pixels", False),
                 "keep_colour": ("--keep-colour", False), "allow_partial": ("--allow-partial", False),
                 # the video job's own options
                 "workers": ("--workers", None), "ray": ("--ray", None), "fresh": ("--fresh", False),
                 "retries": ("--retries", 1), "chunk_frames": ("--chunk-frames", 500),
                 "step": ("--step", None), "chunk": ("--chunk", None)}
AUTO = "auto"  # --weights auto: the bundle each input's measured damage calls for


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


class BatchStopped(Exception):
    """A folder batch that cannot go on (a full disk); printed without a traceback, exit code 1."""


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


@dataclass
class Job:
    """What the command is doing, for the one-line message of an interruption."""
    source: Path
    target: Path
    kind: str = "?"             # image | folder | video
    existed: bool = False       # single file: the output existed before (it is left as it was)
    done: int = 0               # folder: images finished in this run
    total: int = 0              # folder: images to do in this run
    work: Path | None = None    # video: the job's work folder (finished chunks stay there)

    def interrupted(self, interrupt: KeyboardInterrupt) -> int:
        import srkit.interrupt
        srkit.interrupt.reset()  # reported here: the CLI's last check must not raise it again
        signum = getattr(interrupt, "signum", signal.SIGINT)  # SIGTERM/SIGHUP: srkit.cli.Terminated
        how = "interrupted" if signum == signal.SIGINT else f"interrupted by {signal.Signals(signum).name}"
        if self.kind == "videos":
            message = (f"{how}; the finished videos stay in {self.target} and the finished chunks "
                       "in their work folders: run the same command to resume")
            _say(message)
            return 128 + signum
        if self.kind == "folder":
            message = (f"{how} after {self.done} of {self.total} images; the finished ones stay in "
                       f"{self.target} and no partial file was left; run the same command to resume")
        elif self.existed:
            message = f"{how}; {self.target} was left as it was"
        else:
            message = f"{how}; nothing was left under {self.target}"
        if self.work is not None and self.work.exists():
            message += (f"; the finished chunks stay in {self.work}: run the same command to "
                        "resume (--fresh starts over)")
        _say(message)
        return 128 + signum


def run(args) -> int:
    """Run ``srkit upscale``; returns the exit code (see the module docstring)."""
    job = Job(Path(args.input), Path(args.output))
    with one_line_warnings():
        try:
            return _run(job, args)
        except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM/SIGHUP turned into one by srkit.cli
            return job.interrupted(interrupt)
        except UsageError as error:
            return _fail(str(error))
        except BatchStopped as error:
            return _fail(str(error), EXIT_FAILED)
        except (FileNotFoundError, ValueError) as error:
            if _is_partial_video(error):
                asked = args.allow_partial or "--allow-partial" in str(error)
                hint = "" if asked else "; --allow-partial writes the frames that were decoded"
                return _fail(f"{error}{hint}", EXIT_FAILED)
            return _fail(str(error))
        except OSError as error:
            return _fail(_describe_os_error(error, job.target))
        except RuntimeError as error:  # chunks of a video job failed (each named)
            if type(error).__name__ != "ChunksFailed":
                raise
            return _fail(str(error), EXIT_FAILED)


def _run(job: Job, args) -> int:
    source = job.source
    check_source(source)
    given = video_options_given(args)
    check_options(args)
    if given and not _is_video_batch(source) and (source.is_dir() or _is_image(source)):
        what = "a folder of images" if source.is_dir() else "an image"
        raise UsageError(f"{', '.join(given)} {'acts' if len(given) == 1 else 'act'} on video only, and "
                         f"{source} is {what}; drop {'it' if len(given) == 1 else 'them'}")
    check_path_names(job.target)  # before anything stats it: a too-long name makes stat() raise
    if _is_video_batch(source):
        return upscale_video_batch(job, args)
    if source.is_dir():
        todo, skipped, total = plan_folder(source, job.target, args)
        job.kind = "folder"
        if skipped:
            _say(f"skipped {skipped} of {total} images whose output already exists in {job.target} "
                 "(--overwrite redoes them)")
        if not todo:
            return EXIT_OK  # nothing left to do: not even the model is loaded
        job.total = len(todo)
        remove_leftovers([job.target / path.name for path in todo])
        runner = build_runner(args, "folder")
        failures = upscale_folder(source, job.target, runner, args, files=todo, job=job)
        return report_failures(failures, len(todo), job.target)
    if _is_image(source):
        job.kind, job.target = "image", _image_target(source, job.target)
        check_image_output(source, job.target)
    else:
        if getattr(args, "phase", "centre") != "centre":
            raise UsageError(f"--phase {args.phase} is for images and folders of frames; {source} is a video, "
                             "whose pictures are centre phase")
        job.kind, job.target = "video", _video_target(source, job.target, args.codec)
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


def remove_leftovers(targets: list[Path]) -> None:
    """Remove the temporary files an earlier run killed outright (SIGKILL, power loss) left beside
    these outputs (``srkit.imageio.leftover_parts``: ones no running process holds), saying so in
    one line; a file that cannot be removed is named instead."""
    from srkit.imageio import leftover_parts
    found = [part for target in targets for part in leftover_parts(target)]
    removed, kept = [], []
    for part in found:
        try:
            part.unlink()
            removed.append(part)
        except OSError as error:
            kept.append(f"{part} ({error.strerror or error})")
    if removed:
        names = ", ".join(p.name for p in removed[:3]) + (f" and {len(removed) - 3} more" if len(removed) > 3 else "")
        _say(f"removed {len(removed)} temporary file{'s' if len(removed) > 1 else ''} that an interrupted "
             f"earlier run left in {removed[0].parent}: {names}")
    if kept:
        _say(f"cannot remove the temporary file{'s' if len(kept) > 1 else ''} an interrupted earlier run "
             f"left: {', '.join(kept)}")


def _say(message: str) -> None:
    _write_line(f"srkit upscale: {message}")


def _write_line(line: str) -> None:
    """One line on stderr; through tqdm when a progress bar is showing, so the bar stays intact."""
    try:
        from tqdm import tqdm
    except ImportError:
        print(line, file=sys.stderr, flush=True)
    else:
        tqdm.write(line, file=sys.stderr)
        sys.stderr.flush()


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    _say(f"error: {message}")
    return code


def _is_partial_video(error: Exception) -> bool:
    """A truncated video (``srkit.inference.video.PartialVideoError``; the module is loaded only for videos)."""
    video = sys.modules.get("srkit.inference.video")
    return video is not None and isinstance(error, video.PartialVideoError)


def _describe_os_error(error: OSError, output) -> str:
    """Readable message for write failures; a full disk is named as such."""
    where = error.filename or output
    if error.errno == errno.ENOSPC:
        return f"disk full while writing {where}; nothing was left under the output name"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {where}: {error.strerror or error}"
    if error.errno == errno.ENAMETOOLONG:
        return f"file name too long: {where}"
    return f"{where}: {error}"


@contextlib.contextmanager
def one_line_warnings(prog: str = "srkit upscale"):
    """While the command runs, print each warning as one ``PROG: warning: MESSAGE`` line.

    The default format (file:line: Category: message + source line) is for developers; the
    library's messages already name the image, and a progress bar must not be broken by it.
    The previous ``warnings.showwarning`` comes back afterwards.
    """
    def show(message, category, filename, lineno, file=None, line=None):
        text = re.sub(r"\s*[\r\n]+\s*", " ", str(message)).strip()
        if not issubclass(category, UserWarning):  # srkit's own warnings (GuardWarning too) read as they are
            text = f"{category.__name__}: {text}"
        _write_line(f"{prog}: warning: {text}")

    previous = warnings.showwarning  # only this is swapped: the filters stay the caller's
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


# --------------------------------------------------------------------------------------------
# Checks: all of them run before the model is loaded.


def check_source(source: Path) -> None:
    """The input must exist and be readable."""
    if not source.exists():
        raise UsageError(f"input not found: {source}")
    if source.is_file() and not _readable(source):
        raise UsageError(f"cannot read input {source}: permission denied")


def _readable(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        return True
    except OSError:
        return False


def video_options_given(args) -> list[str]:
    """The video-only options given on the command line (``VIDEO_OPTIONS``); fills in their defaults."""
    given = []
    for dest, (flag, default) in VIDEO_OPTIONS.items():
        value = getattr(args, dest, None)
        if value is None or value is False:
            setattr(args, dest, default)
        else:
            given.append(flag)
    return given


def check_options(args) -> None:
    """Range checks of the numeric options and the device; fills in the default ``--overlap``."""
    video_options_given(args)  # defaults of the video options (the caller may have read them first)
    check_bundled_scale(args)
    tile, overlap = args.tile, args.overlap
    if tile is not None and (tile < 0 or 0 < tile < MIN_TILE):
        raise UsageError(f"--tile {tile}: use 0 (no tiling) or a tile of at least {MIN_TILE} LR pixels")
    if overlap is None:
        # The default margin must obey the same rule as an explicit one: below the tile size.
        args.overlap = min(DEFAULT_OVERLAP, tile - 1) if tile else DEFAULT_OVERLAP
    elif overlap < 0:
        raise UsageError(f"--overlap {overlap}: must be >= 0 (LR pixels of context per tile side)")
    elif overlap < MIN_OVERLAP and tile != 0:
        raise UsageError(f"--overlap {overlap}: tiles need at least {MIN_OVERLAP} LR pixels of context a side "
                         "or their seams show (the bundled x2 at --overlap 0: up to 51 levels, 40.4 dB "
                         f"against the untiled output); use --overlap {MIN_OVERLAP} or more")
    elif tile and overlap >= tile:
        raise UsageError(f"--overlap {overlap}: must be smaller than --tile {tile} "
                         "(a wider margin computes every pixel several times over)")
    elif tile is None:
        from srkit.inference.tiling import AUTO_TILE
        smallest = min(AUTO_TILE.values())
        if overlap >= smallest:
            raise UsageError(f"--overlap {overlap}: must be smaller than the tile, which may be "
                             f"{smallest} when chosen automatically; give --tile too")
    check_video_options(args)
    low, high = CRF_RANGE
    if not low <= args.crf <= high:
        raise UsageError(f"--crf {args.crf}: must be {low}-{high} "
                         "(H.264 quality; lower is better, default 18)")
    if not 0 <= args.steps <= MAX_STEPS:
        raise UsageError(f"--steps {args.steps}: must be 0-{MAX_STEPS} (IKC correction steps, default 7)")
    check_device(args.device)


def check_bundled_scale(args) -> None:
    """``--scale`` without ``--weights`` (or with ``auto``) needs a bundled model of that scale."""
    scale, weights = getattr(args, "scale", None), getattr(args, "weights", None)
    if scale is None or weights not in (None, AUTO):
        return
    import srkit.checkpoint as checkpoint
    names = checkpoint.bundled_names()
    if f"x{scale}" not in names:
        raise UsageError(f"--scale {scale}: no x{scale} model is bundled (bundled: {', '.join(names) or 'none'}); "
                         f"give --weights a x{scale} checkpoint")


def check_video_options(args) -> None:
    """``--codec`` must name a codec of ``srkit.inference.video.CODECS``; ``--fit`` must be WIDTHxHEIGHT
    and cannot go with ``--square-pixels``."""
    from srkit.inference.video import CODECS, _parse_fit
    codec = getattr(args, "codec", "h264")
    if codec not in CODECS:
        raise UsageError(f"--codec {codec!r}: choose one of {', '.join(CODECS)} "
                         "(--codec help lists them)")
    fit = getattr(args, "fit", None)
    if fit is not None:
        try:
            _parse_fit(fit)
        except ValueError as error:
            raise UsageError(f"--{error}") from None
        if getattr(args, "square_pixels", False):
            raise UsageError("--fit already gives square pixels; drop --square-pixels")
    for option, least in (("workers", 1), ("chunk_frames", 1), ("retries", 0), ("chunk", 0)):
        value = getattr(args, option, None)
        if value is not None and value < least:
            raise UsageError(f"--{option.replace('_', '-')} {value}: must be at least {least}")
    if getattr(args, "ray", None) is not None and getattr(args, "workers", None) is not None:
        raise UsageError("--workers and --ray: give one (Ray places the chunks itself)")


def check_device(value: str | None) -> None:
    """``--device`` must name a device torch knows and that exists on this machine."""
    if value is None:
        return
    import torch
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError, TypeError) as error:
        raise UsageError(f"--device {value!r}: not a device name; use cpu, cuda or cuda:N") from error
    if device.type == "cpu":
        return
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = ("this torch was built without CUDA" if torch.version.cuda is None
                   else "no usable NVIDIA GPU or driver was found")
            raise UsageError(f"--device {value}: CUDA is not available ({why}); use --device cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise UsageError(f"--device {value}: there is no GPU {device.index}; this machine has "
                             f"{count} (cuda:0 to cuda:{count - 1})")
        return
    backend = getattr(torch.backends, device.type, None) or getattr(torch, device.type, None)
    is_available = getattr(backend, "is_available", None)
    if not callable(is_available) or not is_available():
        raise UsageError(f"--device {value}: {device.type} is not available here; use cpu or cuda")


def check_path_names(path: Path) -> None:
    """No component of ``path`` may exceed the file-system limit (stat() itself would fail)."""
    for part in path.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise UsageError(f"output name {part!r} is {len(os.fsencode(part))} bytes; file systems "
                             f"allow {NAME_MAX} bytes per name")


def check_output_name(target: Path) -> None:
    """The output's file name, and the longer temporary name written first, must fit."""
    from srkit.imageio import temporary_name, temporary_name_extra
    length = len(os.fsencode(target.name))
    room = NAME_MAX - temporary_name_extra(target)  # atomic_path first writes a longer name
    if length > room:
        shown = temporary_name(target.with_name("NAME"), "XXXXXXXX").name + target.suffix
        raise UsageError(f"output file name {target.name!r} is {length} bytes; at most {room} fit "
                         f"(file systems allow {NAME_MAX}, and srkit first writes it as '{shown}')")


def check_writable_dir(folder: Path) -> None:
    """The output folder must exist (or be creatable) and accept new files."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {folder} is not writable")


def check_replaceable(target: Path) -> None:
    """An existing output is replaced only when writable; a read-only one means "keep it".

    ``os.replace`` would succeed anyway in a writable folder (and root passes every
    ``os.access`` test), so the write bits are looked at too.
    """
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise UsageError(f"output {target} is a folder")
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(target, os.W_OK):
        raise UsageError(f"output {target} exists and is read-only; srkit does not replace it "
                         "(make it writable, or remove it)")


def check_image_output(source: Path, target: Path) -> None:
    from srkit.imageio import IMAGE_SUFFIXES
    _refuse_same(source, target)
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        raise UsageError(f"output {target}: unknown image suffix {target.suffix or '(none)'!r}; "
                         f"use one of {', '.join(IMAGE_SUFFIXES)}")
    check_output_name(target)
    check_writable_dir(target.parent)
    check_replaceable(target)


def check_video_output(source: Path, target: Path, args) -> None:
    from srkit.inference.video import CODECS, VIDEO_SUFFIXES, available_codecs
    _refuse_same(source, target)
    suffix = target.suffix.lower()
    containers = ", ".join(CODECS[args.codec].containers)
    if suffix not in VIDEO_SUFFIXES:
        raise UsageError(f"output {target}: unknown video suffix {target.suffix or '(none)'!r}; "
                         f"for --codec {args.codec} use one of {containers}")
    if suffix not in CODECS[args.codec].containers:
        raise UsageError(f"output {target}: --codec {args.codec} cannot be written to a {suffix} file; "
                         f"use one of {containers}")
    missing = available_codecs()[args.codec]
    if missing:
        raise UsageError(f"--codec {args.codec} is not available: {missing} (--codec help)")
    check_output_name(target)
    check_writable_dir(target.parent)
    check_replaceable(target)


def plan_folder(source: Path, target: Path, args) -> tuple[list[Path], int, int]:
    """Images of ``source`` still to do, how many are skipped (existing output), and the total."""
    from srkit.imageio import list_images
    if target.exists() and target.resolve() == source.resolve():
        raise UsageError(f"output folder {target} is the input folder; choose another folder")
    if target.exists() and not target.is_dir():
        raise UsageError(f"output {target} must be a folder for a folder input")
    files = list_images(source)
    if not files:
        raise UsageError(f"no images in {source}")
    check_writable_dir(target)
    if getattr(args, "overwrite", False):
        return files, 0, len(files)
    # An existing output is complete (atomic writes), so skipping it resumes a stopped batch.
    todo = [path for path in files if not (target / path.name).is_file()]
    return todo, len(files) - len(todo), len(files)


# --------------------------------------------------------------------------------------------
# The work.


def default_scale(kind: str) -> int:
    """The factor without ``--scale``: ``srkit.inference.video.DEFAULT_SCALE`` for video (the one
    ``srkit probe`` plans with), ``DEFAULT_SCALE`` for images and folders."""
    if kind == "video":
        from srkit.inference.video.plan import DEFAULT_SCALE as VIDEO_SCALE
        return VIDEO_SCALE
    return DEFAULT_SCALE


def default_weights(kind: str, scale: int | None) -> tuple[str, str]:
    """The bundled model ``srkit upscale`` uses without ``--weights``, and why, for an input kind.

    Images and folders ('image', 'folder') get ``auto``: per image, ``x<scale>``, ``x2_noise`` or
    ``x<scale>_archive`` by the noise and blocking measured on it (``srkit.inference.damage``; on the
    degraded Set14 grid's mean 0.05 dB (×2) and 0.23 dB (×4) above the best single bundle, at most
    0.12 dB below ``x<scale>`` on clean Gaussian8 Set5, Set14 and B100: docs/RESULTS.md). Video ('video') gets the archive bundle of
    the scale (broadcast and tape transfers are never clean; ``--weights auto`` measures pictures
    across the video instead). A scale without an archive bundle falls back to ``x<scale>`` for video.
    """
    import srkit.checkpoint as checkpoint
    scale = scale or default_scale(kind)
    if kind == "video":
        try:
            checkpoint.resolve(f"x{scale}_archive")
        except FileNotFoundError:
            return f"x{scale}", f"default for video at x{scale} (no x{scale}_archive bundle)"
        return f"x{scale}_archive", ("default for video: trained on noise, JPEG and MPEG-2 as archive "
                                     f"footage carries; --weights x{scale} for clean masters, auto to measure")
    names = checkpoint.bundled_names()
    choices = [n for n in (f"x{scale}", f"x{scale}_noise", f"x{scale}_archive") if n in names]
    listed = " or ".join(choices) if len(choices) < 3 else f"{choices[0]}, {choices[1]} or {choices[2]}"
    return AUTO, (f"default for images: per file {listed} by its measured noise and blocking; "
                  f"--weights x{scale} for one model throughout")


def build_runner(args, kind: str = "image"):
    """Load the checkpoint (``--weights``, else :func:`default_weights` of ``kind``, which is then
    named on stderr) and check its scale against ``--scale``. ``auto`` gives an
    :class:`AutoRunners`, which loads the bundle each input calls for."""
    weights = args.weights
    if weights is None:
        weights, why = default_weights(kind, args.scale)
        if not getattr(args, "quiet", False):
            _say(f"model {weights} ({why})")
    if weights == AUTO:
        return AutoRunners(args, kind)
    return _runner(args, weights)


def _runner(args, weights: str):
    import srkit.checkpoint as checkpoint
    from srkit.inference.runner import ModelRunner
    try:
        model = checkpoint.load_pipeline(weights)
    except PermissionError as error:  # not "corrupt": the file may be fine, this user cannot read it
        raise UsageError(f"cannot read weights {weights}: permission denied; check the file's "
                         "permissions (its contents may well be fine)") from error
    except (FileNotFoundError, KeyError, ValueError) as error:
        raise UsageError(f"cannot load weights {weights!r}: {error}") from error
    runner = ModelRunner(model, steps=args.steps, device=args.device, precision=args.precision,
                         compile=args.compile)
    if args.scale is not None and runner.scale != args.scale:
        raise UsageError(f"checkpoint {weights} upscales ×{runner.scale}, but --scale {args.scale} "
                         f"was asked; use a ×{args.scale} checkpoint or drop --scale")
    return runner



class AutoRunners:
    """``--weights auto``: the bundle ``srkit.inference.damage`` picks for each input, one runner
    per bundle (built on first use). Each choice is named on stderr with the file and why."""

    def __init__(self, args, kind: str = "image"):
        from srkit.inference.damage import AutoWeights
        self.args = args
        self.scale = args.scale or default_scale(kind)
        self.weights = AutoWeights(self.scale, load=lambda name: _runner(args, name))

    def pick(self, image, label: str, field: bool = False):
        """The runner for one uint8 LR image (or a video's sampled pictures, ``field`` for interlace)."""
        name, why = self.weights.choose(image, field)
        return self.use(name, why, label)

    def use(self, name: str, why: str, label: str):
        if not getattr(self.args, "quiet", False):
            _say(f"{label}: model {name} (auto: {why})")
        return self.weights.model(name)


def _is_image(path: Path) -> bool:
    from srkit.imageio import IMAGE_SUFFIXES
    return path.suffix.lower() in IMAGE_SUFFIXES


def _image_target(source: Path, target: Path) -> Path:
    """An existing folder as output means 'same file name inside it'."""
    return target / source.name if target.is_dir() else target


def _video_target(source: Path, target: Path, codec: str) -> Path:
    """An existing folder as output means 'the input's name inside it, in the codec's container'."""
    if target.is_dir():
        from srkit.inference.video import CODECS
        return target / (source.stem + CODECS[codec].containers[0])
    return target


def _refuse_same(source: Path, target: Path) -> None:
    if target.resolve() == source.resolve():
        raise UsageError(f"output {target} is the input; srkit never overwrites its input")


def upscale_image_file(source: Path, target: Path, runner, args) -> None:
    """Read, upscale, and atomically write one image, at the precision of its file where the
    output's format holds it (16-bit PNG/TIFF/PPM, float TIFF), else at 8 bits with one warning."""
    import srkit.inference.tiling
    from srkit.imageio import format_bits, is_gray_file, read_alpha, read_image_bits, to_uint8, write_image
    check_image_output(source, target)  # again: in a batch this is the only check of this file
    image, bits = read_image_bits(source)
    small = to_uint8(image)
    # 8-bit files run as uint8 (an 8K result in 100 MB instead of 400 MB); deeper ones as float
    image = small if bits == 8 else image
    if isinstance(runner, AutoRunners):
        runner = runner.pick(small, str(source))
    check_output_size(source, target, small.shape[0] * runner.scale, small.shape[1] * runner.scale)
    # name=: the library's warnings (e.g. a kernel estimate that fell back) name the file
    result = srkit.inference.tiling.upscale(image, runner, tile=args.tile, overlap=args.overlap,
                                            name=str(source))
    if is_gray_file(source):
        result = result[..., :1]  # a one-channel file gives one (check_output made the SR grey)
    alpha = read_alpha(source)
    if alpha is not None:
        result = _with_alpha(result, alpha, source, target)
    if getattr(args, "phase", "centre") == "corner":  # the network drew it for centre-phase input
        import numpy as np

        from srkit.phase import align_output
        result = align_output(result, runner.scale, "corner")
        if result.dtype != np.uint8:
            result = np.clip(result, 0.0, 1.0)  # the spline overshoots; float images stay in [0, 1]
    written = write_image(target, result[..., 0] if result.shape[2] == 1 else result, bits=bits)
    if written < min(bits, 16):
        warnings.warn(f"{source}: {'float' if bits == 32 else f'{bits}-bit'} samples, but a {target.suffix} "
                      f"file holds {format_bits(target)} bits; {target} was written with {written} "
                      "(.png or .tif keep 16, .tif keeps float)", UserWarning, stacklevel=2)


#: The largest width or height each output format can store (libwebp: 16,383; libjpeg: 65,500).
MAX_SIDE = {".webp": 16383, ".jpg": 65500, ".jpeg": 65500}


def check_output_size(source: Path, target: Path, height: int, width: int) -> None:
    """Refuse, before the model runs, an output larger than its format can store."""
    limit = MAX_SIDE.get(target.suffix.lower())
    if limit is not None and max(height, width) > limit:
        raise UsageError(f"{source}: the output would be {width}x{height} pixels, and a {target.suffix} "
                         f"file holds at most {limit:,} pixels a side; use .png or .tif for {target}")


def _with_alpha(result, alpha, source: Path, target: Path):
    """``result`` (H×W×C uint8) with the source's alpha, upscaled like a picture (MATLAB bicubic),
    when the target's format holds alpha; else ``result`` and one warning line naming both files."""
    import numpy as np

    from srkit.imageio import holds_alpha
    from srkit.resize import imresize_np
    if not holds_alpha(target):
        warnings.warn(f"{source}: its transparency (alpha channel) cannot be stored in a "
                      f"{target.suffix} file; {target} was written without it (use .png, .tif or .webp)",
                      UserWarning, stacklevel=2)
        return result
    alpha = imresize_np(alpha, size=result.shape[:2])
    if result.dtype != np.uint8:  # a 16-bit or float picture: its alpha in [0, 1] too
        alpha = alpha.astype(np.float32) / 255.0
    return np.concatenate([result, alpha[..., None]], axis=2)


def upscale_folder(source: Path, target: Path, runner, args, files: list[Path] | None = None,
                   job: Job | None = None) -> list[tuple[Path, str]]:
    """Upscale images of a folder into another folder, same file names, going on past failures.

    Args:
        files: the images to do (default: every image of ``source``, see ``plan_folder``).
        job: updated with the count of finished images (for the interruption message).

    Returns:
        ``(image, message)`` for each image that failed; each was also printed as it happened.
    """
    import torch
    from tqdm import tqdm
    if files is None:
        files, _, _ = plan_folder(source, target, args)
    out_of_memory = (MemoryError, torch.cuda.OutOfMemoryError)
    failures = []
    with tqdm(files, unit="image", disable=args.quiet) as bar:
        for path in bar:
            output = target / path.name
            message = None
            try:
                upscale_image_file(path, output, runner, args)
            except OSError as error:
                if error.errno == errno.ENOSPC:  # every following image would fail the same way
                    done = job.done if job is not None else None
                    raise BatchStopped(_disk_full_in_batch(path, output, target, done, len(files))) from error
                message = _describe_os_error(error, output)
            except (UsageError, ValueError) as error:  # unreadable, corrupt, too small, read-only output
                message = str(error)
            except out_of_memory:  # one huge image among small ones
                message = "out of memory; try a smaller --tile"
            if message is None:
                if job is not None:
                    job.done += 1
            else:
                failures.append((path, message))
                _say(f"failed {path.name}: {message}")
    return failures


def _disk_full_in_batch(image: Path, output: Path, target: Path, done: int | None, total: int) -> str:
    what = f"{done} of {total} images were written to {target} before it" if done is not None else ""
    return (f"disk full while writing {output} (from {image}); nothing was left under that name"
            + (f"; {what}" if what else "") + "; free some space and run the same command to resume")


def report_failures(failures: list[tuple[Path, str]], total: int, target: Path) -> int:
    """The list of a batch's failures at its end; the exit code (1 when any)."""
    if not failures:
        return EXIT_OK
    _say(f"{len(failures)} of {total} images failed ({total - len(failures)} written to {target}):")
    for path, message in failures:
        _say(f"  {path.name}: {message}")
    return EXIT_FAILED


def video_choice(source: Path, scale: int) -> tuple[str, str]:
    """(bundle, why) that ``--weights auto`` gives a video: from the damage measured on pictures
    across it (``srkit.inference.video.inspect_video``: blank ones skipped, a long video sampled in
    stretches, not at its leader); the archive bundle when no picture with content decoded."""
    from srkit.inference.damage import choose_weights
    from srkit.inference.video import inspect_video
    info = inspect_video(source)
    if info.damage is None:
        name, why = default_weights("video", scale)
        return name, f"no picture with content decoded to measure; {why}"
    name, why = choose_weights(info.damage, scale)
    return name, f"{why}; measured on {info.looked_where}"


def upscale_video_file(source: Path, target: Path, runner, args) -> None:
    """Upscale a video as a job of chunks (``srkit.inference.video.job``); the container must be
    one the codec fits (checked before work starts)."""
    from srkit.inference.video.job import JobOptions, VideoJob
    from srkit.inference.video.workers import upscale_video_job
    target = _video_target(source, target, args.codec)
    check_video_output(source, target, args)
    name = args.weights or default_weights("video", args.scale)[0]
    if isinstance(runner, AutoRunners):
        name, why = video_choice(source, runner.scale)
        runner = runner.use(name, why, str(source))
    options = _job_options(args, runner.scale)
    job = VideoJob(source, target, options, _model_id(name, args))
    if args.step == "plan":
        _say(job.prepare(args.fresh))
        _say(f"{len(job.scan.chunks)} chunks: run --step chunk --chunk K for K in 0.."
             f"{len(job.scan.chunks) - 1}, then --step stitch")
        return
    if args.step == "chunk":
        job.load()
        index = args.chunk if args.chunk is not None else _chunk_from_environment()
        record = job.process(index, runner)
        _say(f"chunk {index} of {job.target.name}: {record['frames']} frames")
        return
    if args.step == "stitch":
        job.load()
        job.stitch()
        return
    upscale_video_job(source, target, runner, options, _model_id(name, args),
                      workers=_workers(args, runner), ray_address=args.ray, retries=args.retries,
                      fresh=args.fresh, progress=not args.quiet, say=_say)


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


def _is_video_batch(source: Path) -> bool:
    """A list file of inputs (.txt, .list), or a folder with videos and no images."""
    from srkit.inference.video.batch import LIST_SUFFIXES, VIDEO_SUFFIXES
    if source.is_file():
        return source.suffix.lower() in LIST_SUFFIXES
    if not source.is_dir():
        return False
    from srkit.imageio import list_images
    return not list_images(source) and any(p.suffix.lower() in VIDEO_SUFFIXES for p in source.iterdir())


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
                        retries=args.retries, fresh=args.fresh, overwrite=args.overwrite, say=_say)
    failed = [r for r in reports if r.status == "failed"]
    skipped = sum(r.status == "skipped" for r in reports)
    print(f"{sum(r.status == 'done' for r in reports)} of {len(reports)} videos done, "
          + (f"{skipped} skipped (output there already; --overwrite redoes it), " if skipped else "")
          + f"{len(failed)} failed (report: {out / REPORT_NAME})")
    for report in failed:
        print(f"failed: {report.source}: {report.error}")
    return EXIT_FAILED if failed else EXIT_OK
