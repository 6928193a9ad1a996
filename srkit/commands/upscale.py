"""``srkit upscale INPUT -o OUTPUT``: upscale an image, a folder of images, or a video.

Exit codes: 0 done, 2 a problem with the input, the options, the checkpoint or the output (the
message names the file and the problem). Nothing is ever written under the final name unless it is
complete, and the input is never overwritten.
"""
from __future__ import annotations

import errno
import sys
from pathlib import Path

SCALES = (2, 3, 4)
DEFAULT_SCALE = 4


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


def add_arguments(parser) -> None:
    """Register the options of ``srkit upscale`` on an argparse parser."""
    parser.add_argument("input", help="image file, folder of images, or video file")
    parser.add_argument("-o", "--output", required=True,
                        help="output file (image/video) or folder (for a folder input)")
    parser.add_argument("--scale", type=int, choices=SCALES, default=None,
                        help=f"upscaling factor (default: the checkpoint's, or {DEFAULT_SCALE})")
    parser.add_argument("--weights", default=None,
                        help="bundled model name (x2, x4, x2_gan, x4_gan; x2_noise for noisy input) or a "
                             ".safetensors path (default: x<scale>)")
    parser.add_argument("--tile", type=int, default=None,
                        help="LR tile size in pixels; 0 = no tiling (default: from size and device)")
    parser.add_argument("--overlap", type=int, default=16, help="LR context per tile side (default 16)")
    parser.add_argument("--steps", type=int, default=7, help="IKC correction steps (default 7)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda if available)")
    parser.add_argument("--half", action="store_true",
                        help="bf16/fp16 autocast (for GPUs; on most CPUs bf16 is slower)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the generator (GPU)")
    parser.add_argument("--codec", choices=("h264", "ffv1"), default="h264",
                        help="video codec: h264 (.mp4/.mkv/.mov) or lossless ffv1 (.mkv)")
    parser.add_argument("--crf", type=int, default=18, help="H.264 quality, 0-51 (default 18)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    """Run ``srkit upscale``; returns the exit code (0 ok, 2 user-fixable error)."""
    try:
        source, target = Path(args.input), Path(args.output)
        check_source(source)
        runner = build_runner(args)
        if source.is_dir():
            upscale_folder(source, target, runner, args)
        elif _is_image(source):
            upscale_image_file(source, _image_target(source, target), runner, args)
        else:
            upscale_video_file(source, target, runner, args)
    except UsageError as error:
        return _fail(str(error))
    except (FileNotFoundError, ValueError) as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(_describe_os_error(error, args.output))
    return 0


def _fail(message: str) -> int:
    print(f"srkit upscale: error: {message}", file=sys.stderr)
    return 2


def _describe_os_error(error: OSError, output) -> str:
    """Readable message for write failures; a full disk is named as such."""
    where = error.filename or output
    if error.errno == errno.ENOSPC:
        return f"disk full while writing {where}; nothing was left under the output name"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {where}: {error.strerror or error}"
    return f"{where}: {error}"


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


def check_writable_dir(folder: Path) -> None:
    """The output folder must exist (or be creatable) and accept new files."""
    import os
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {folder} is not writable")


def build_runner(args):
    """Load the checkpoint and check its scale against ``--scale``."""
    import srkit.checkpoint as checkpoint
    from srkit.runner import ModelRunner
    weights = args.weights or f"x{args.scale or DEFAULT_SCALE}"
    try:
        model = checkpoint.load(weights)
    except (FileNotFoundError, KeyError, ValueError) as error:
        raise UsageError(f"cannot load weights {weights!r}: {error}") from error
    runner = ModelRunner(model, steps=args.steps, device=args.device, half=args.half,
                         compile=args.compile)
    if args.scale is not None and runner.scale != args.scale:
        raise UsageError(f"checkpoint {weights} upscales ×{runner.scale}, but --scale {args.scale} "
                         f"was asked; use a ×{args.scale} checkpoint or drop --scale")
    return runner


def _is_image(path: Path) -> bool:
    from srkit.imageio import IMAGE_SUFFIXES
    return path.suffix.lower() in IMAGE_SUFFIXES


def _image_target(source: Path, target: Path) -> Path:
    """An existing folder as output means 'same file name inside it'."""
    return target / source.name if target.is_dir() else target


def _refuse_same(source: Path, target: Path) -> None:
    if target.resolve() == source.resolve():
        raise UsageError(f"output {target} is the input; srkit never overwrites its input")


def upscale_image_file(source: Path, target: Path, runner, args) -> None:
    """Read, upscale, and atomically write one image."""
    from srkit.imageio import IMAGE_SUFFIXES, read_image, to_uint8, write_image
    from srkit.infer import upscale
    _refuse_same(source, target)
    if target.suffix.lower() not in IMAGE_SUFFIXES:  # fail before spending time on the model
        raise UsageError(f"output {target}: unknown image suffix; use one of {', '.join(IMAGE_SUFFIXES)}")
    check_writable_dir(target.parent)
    image = to_uint8(read_image(source))  # uint8 keeps an 8K result at 100 MB instead of 400 MB
    result = upscale(image, runner, tile=args.tile, overlap=args.overlap, half=args.half)
    write_image(target, result)


def upscale_folder(source: Path, target: Path, runner, args) -> None:
    """Upscale every image of a folder into another folder, same file names."""
    from srkit.imageio import list_images
    from tqdm import tqdm
    if target.exists() and target.resolve() == source.resolve():
        raise UsageError(f"output folder {target} is the input folder; choose another folder")
    if target.exists() and not target.is_dir():
        raise UsageError(f"output {target} must be a folder for a folder input")
    files = list_images(source)
    if not files:
        raise UsageError(f"no images in {source}")
    check_writable_dir(target)
    for path in tqdm(files, unit="image", disable=args.quiet):
        upscale_image_file(path, target / path.name, runner, args)


def upscale_video_file(source: Path, target: Path, runner, args) -> None:
    """Upscale a video; the container must be one the codec fits (checked before work starts)."""
    from srkit.video import upscale_video
    if target.is_dir():
        target = target / (source.stem + (".mkv" if args.codec == "ffv1" else ".mp4"))
    check_writable_dir(target.parent)
    upscale_video(source, target, runner, tile=args.tile, overlap=args.overlap, half=args.half,
                  codec=args.codec, crf=args.crf, progress=not args.quiet)
