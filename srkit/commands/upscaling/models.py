"""Which model ``srkit upscale`` runs and how it is loaded: the default bundle of each input kind,
``--weights auto`` (one runner per bundle the measured damage calls for), a checkpoint's scale
checked against ``--scale``."""
from __future__ import annotations

from pathlib import Path

from srkit.commands.upscaling.checks import AUTO, DEFAULT_SCALE
from srkit.commands.upscaling.messages import UsageError, say


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
            say(f"model {weights} ({why})")
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
            say(f"{label}: model {name} (auto: {why})")
        return self.weights.model(name)


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
