"""``srkit upscale`` on an image or a folder of images: read at the file's precision, upscale,
write atomically with its alpha; a folder goes on past a file it cannot do and lists the
failures at the end (a full disk stops it)."""
from __future__ import annotations

import errno
import warnings
from pathlib import Path

from srkit.commands.upscaling.checks import check_image_output, check_output_size, plan_folder
from srkit.commands.upscaling.messages import (EXIT_FAILED, EXIT_OK, BatchStopped, Job, UsageError,
                                               describe_os_error, say)
from srkit.commands.upscaling.models import AutoRunners


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
                message = describe_os_error(error, output)
            except (UsageError, ValueError) as error:  # unreadable, corrupt, too small, read-only output
                message = str(error)
            except out_of_memory:  # one huge image among small ones
                message = "out of memory; try a smaller --tile"
            if message is None:
                if job is not None:
                    job.done += 1
            else:
                failures.append((path, message))
                say(f"failed {path.name}: {message}")
    return failures


def _disk_full_in_batch(image: Path, output: Path, target: Path, done: int | None, total: int) -> str:
    what = f"{done} of {total} images were written to {target} before it" if done is not None else ""
    return (f"disk full while writing {output} (from {image}); nothing was left under that name"
            + (f"; {what}" if what else "") + "; free some space and run the same command to resume")


def report_failures(failures: list[tuple[Path, str]], total: int, target: Path) -> int:
    """The list of a batch's failures at its end; the exit code (1 when any)."""
    if not failures:
        return EXIT_OK
    say(f"{len(failures)} of {total} images failed ({total - len(failures)} written to {target}):")
    for path, message in failures:
        say(f"  {path.name}: {message}")
    return EXIT_FAILED
