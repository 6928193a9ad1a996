"""The checks of ``srkit upscale``: every option, the input, the output's name, folder, suffix and
size; all of them run before the model is loaded, so a typo costs nothing. Also the folder
batch's plan (which outputs exist already) and the leftovers an earlier run killed outright left."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from srkit.commands.upscaling.messages import UsageError, say

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


def is_image(path: Path) -> bool:
    """An image file, by its suffix (``srkit.imageio.IMAGE_SUFFIXES``)."""
    from srkit.imageio import IMAGE_SUFFIXES
    return path.suffix.lower() in IMAGE_SUFFIXES


def image_target(source: Path, target: Path) -> Path:
    """An existing folder as output means 'same file name inside it'."""
    return target / source.name if target.is_dir() else target


def video_target(source: Path, target: Path, codec: str) -> Path:
    """An existing folder as output means 'the input's name inside it, in the codec's container'."""
    if target.is_dir():
        from srkit.inference.video import CODECS
        return target / (source.stem + CODECS[codec].containers[0])
    return target


def _refuse_same(source: Path, target: Path) -> None:
    if target.resolve() == source.resolve():
        raise UsageError(f"output {target} is the input; srkit never overwrites its input")


#: The largest width or height each output format can store (libwebp: 16,383; libjpeg: 65,500).
MAX_SIDE = {".webp": 16383, ".jpg": 65500, ".jpeg": 65500}


def check_output_size(source: Path, target: Path, height: int, width: int) -> None:
    """Refuse, before the model runs, an output larger than its format can store."""
    limit = MAX_SIDE.get(target.suffix.lower())
    if limit is not None and max(height, width) > limit:
        raise UsageError(f"{source}: the output would be {width}x{height} pixels, and a {target.suffix} "
                         f"file holds at most {limit:,} pixels a side; use .png or .tif for {target}")


def is_video_batch(source: Path) -> bool:
    """A list file of inputs (.txt, .list), or a folder with videos and no images."""
    from srkit.inference.video.batch import LIST_SUFFIXES, VIDEO_SUFFIXES
    if source.is_file():
        return source.suffix.lower() in LIST_SUFFIXES
    if not source.is_dir():
        return False
    from srkit.imageio import list_images
    return not list_images(source) and any(p.suffix.lower() in VIDEO_SUFFIXES for p in source.iterdir())


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
        say(f"removed {len(removed)} temporary file{'s' if len(removed) > 1 else ''} that an interrupted "
            f"earlier run left in {removed[0].parent}: {names}")
    if kept:
        say(f"cannot remove the temporary file{'s' if len(kept) > 1 else ''} an interrupted earlier run "
            f"left: {', '.join(kept)}")
