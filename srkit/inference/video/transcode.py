"""One pass over a video: demux, pictures through the model shot by shot, mux (``upscale_video``)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

import srkit.interrupt
from srkit.imageio import atomic_path
from srkit.inference.guard import check_output
from srkit.inference.runner import ModelRunner
from srkit.inference.tiling import auto_tile, tiled_upscale
from srkit.inference.video.codecs import CODECS, MUXERS, available_codecs
from srkit.inference.video.graphs import _Output, _Pictures, _tensor_to_frame
from srkit.inference.video.integrity import _Damage, _demux, check_playable
from srkit.inference.video.mux import (_copy_container, _encoded, add_video_stream, copy_packet,
                                       output_pts)
from srkit.inference.video.plan import VideoPlan, plan_video
from srkit.inference.video.shots import ShotDetector, _Shot
from srkit.inference.video.source import inspect_video, open_input, require_file


@dataclass
class VideoResult:
    """What ``upscale_video`` did: frames written, shots (IKC estimates) and output size.

    Attributes:
        frames: frames written (twice the decoded frames with ``deinterlace="field"``).
        corrupt_packets: damage found in the input, each also warned about (see the module
            docstring): packets the decoder rejected (skipped), packets FFmpeg logged an error
            about or decoded with concealed errors, frames lost silently, a demuxer read error.
        expected_frames: frames the input declares (``stream.frames``, else duration × frame rate);
            None when it declares no length. ``frames`` may be up to ``TRUNCATION_TOLERANCE`` lower
            on an intact file.
        guard_events: shots a guard acted on (kernel estimate or frame output; one warning each).
        plan: what was decided (deinterlacing, geometry, colour, codec, streams).
        copied_packets: packets copied per source stream index (audio, subtitles).
    """
    frames: int
    shots: int
    width: int
    height: int
    audio_packets: int
    corrupt_packets: int = 0
    expected_frames: int | None = None
    guard_events: int = 0
    plan: "VideoPlan | None" = None
    copied_packets: dict[int, int] = field(default_factory=dict)


def check_paths(source: Path, target: Path, codec: str) -> None:
    """Refuse to overwrite the input and reject codec/container pairs that cannot work."""
    require_file(source)
    if target.resolve() == source.resolve() or (target.exists() and target.samefile(source)):
        raise ValueError(f"output {target} is the input file; srkit never overwrites its input")
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    suffix = target.suffix.lower()
    if suffix not in CODECS[codec].containers:
        raise ValueError(f"{target}: codec {codec} cannot be written to a "
                         f"{suffix or 'suffix-less'} file; use one of "
                         f"{', '.join(CODECS[codec].containers)}")
    why = available_codecs()[codec]
    if why:
        raise ValueError(f"{target}: codec {codec} is not available: {why}")


def upscale_video(source: str | Path, target: str | Path, model, *, scale: int | None = None,
                  steps: int = 7, tile: int | None = None, overlap: int = 16, device=None,
                  precision: str = "fp32", compile: bool = False, codec: str = "h264", crf: int = 18,
                  preset: str = "medium", shots: ShotDetector | None = None, progress: bool = True,
                  on_frame: Callable[[int], None] | None = None,
                  allow_partial: bool = False, deinterlace: str = "auto",
                  square_pixels: bool = False, fit: str | tuple[int, int] | None = None,
                  keep_colour: bool = False) -> VideoResult:
    """Upscale a video file with a srkit model.

    Args:
        source: input video (any container/codec FFmpeg decodes).
        target: output path; its suffix must be one of the codec's containers (``CODECS``).
            Must not be ``source``.
        model: Pipeline, generator, callable (LR → SR) or name/path for ``srkit.load``.
        scale: expected factor (checked against the model; required for a plain callable).
        steps: IKC correction steps per shot (default 7).
        tile: LR tile size; None picks one from the frame size and device, 0 = whole frames.
        overlap: LR context margin per tile side (default 16).
        device, precision, compile: as in ``srkit.upscale``.
        codec: a key of ``CODECS``: "h264" (default), "hevc", "prores", "dnxhr", "ffv1",
            "ffv1-422".
        crf: x264/x265 constant rate factor 0–51 (default 18, visually transparent).
        preset: x264/x265 speed preset (default "medium").
        shots: cut detector (default ``ShotDetector()``).
        progress: show a tqdm bar with frames/s and ETA (default True).
        on_frame: called with the index of each frame after it is encoded (hooks, tests).
        allow_partial: write the decoded frames of a truncated input (with a warning) instead of
            raising ``PartialVideoError`` (default False).
        deinterlace: "auto" (default: bwdif at the frame rate when the stream flag or idet says
            interlaced; inverse telecine when idet finds 3:2 pulldown), "off", "frame" (always,
            same rate), "field" (always, twice the rate) or "ivtc" (always inverse telecine:
            24000/1001 fps from 30000/1001).
        square_pixels: resample the model output to square pixels (default False: keep the SAR).
        fit: (width, height) or "WxH": scale into that raster keeping the display aspect and pad
            (pillarbox/letterbox); square pixels. Default None.
        keep_colour: keep BT.601 colour on HD output (default False: convert to BT.709).

    Returns:
        A ``VideoResult`` with frames, shots, output size, copied audio packets, the damage found
        (``corrupt_packets``), the declared length (``expected_frames``), ``guard_events`` and the
        ``plan``.

    Raises:
        PartialVideoError: the input is truncated (see the module docstring) and ``allow_partial``
            is False; nothing is left under ``target``.
        ValueError: unreadable input, no decodable frame, bad paths or options.
    """
    source, target = Path(source), Path(target)
    check_paths(source, target, codec)
    runner = ModelRunner.wrap(model, steps=steps, device=device, precision=precision, compile=compile,
                              scale=scale)
    runner.check_scale(scale)
    info = inspect_video(source)
    plan = plan_video(info, target, codec, runner.scale, deinterlace, square_pixels, fit,
                      keep_colour)
    for line in plan.warnings:
        warnings.warn(line, UserWarning)
    one_pass = OnePass(runner, plan, tile, overlap, crf, preset, shots or ShotDetector(), progress,
                       on_frame, allow_partial)
    with open_input(source) as src, atomic_path(target) as temporary:
        result = one_pass.run(src, source.name, temporary, target)
    return result


@dataclass
class OnePass:
    """How ``upscale_video`` transcodes: the model, the plan and the encoder settings (see
    ``upscale_video`` for each); ``run`` does it for one open input."""
    runner: ModelRunner
    plan: VideoPlan
    tile: int | None = None
    overlap: int = 16
    crf: int = 18
    preset: str = "medium"
    shots: ShotDetector = field(default_factory=ShotDetector)
    progress: bool = True
    on_frame: Callable[[int], None] | None = None
    allow_partial: bool = False

    def run(self, src, source_name: str, temporary: Path, target: Path) -> VideoResult:
        return _transcode(self, src, source_name, temporary, target)


def _transcode(job: OnePass, src, source_name: str, temporary: Path, target: Path) -> VideoResult:
    """Demux, deinterlace / convert, upscale video frames, copy the other streams, mux into
    ``temporary``."""
    runner, plan, tile, overlap, shots = job.runner, job.plan, job.tile, job.overlap, job.shots
    crf, preset, progress, on_frame = job.crf, job.preset, job.progress, job.on_frame
    import av
    from tqdm import tqdm
    video_in = src.streams.video[0]
    # Slice threads only: a frame-threaded decoder reports a bad packet's error (and logs it) a few
    # packets late, so the warning would name the wrong time. Decoding stays far faster than the
    # model either way.
    video_in.thread_type = "SLICE"
    copied = [src.streams[index] for index in [*plan.copy, *plan.convert]]
    tile = auto_tile(video_in.height, video_in.width, runner.device) if tile is None else tile
    out_dtype = torch.float32 if plan.float_output else None
    count = {"frames": 0, "shots": 0, "guard": 0, "decoded": 0}
    packets = {s.index: 0 for s in copied}
    state = {"code": None, "shot": None}
    per_frame = 2 if plan.deinterlace == "field" else 1
    with av.open(str(temporary), "w", format=MUXERS.get(target.suffix.lower())) as dst, \
            _Damage(source_name, src, video_in) as damage:
        video_out = add_video_stream(dst, plan, video_in, crf, preset)
        others = _copy_container(src, dst, plan)
        pictures, output = _Pictures(video_in, plan, source_name), _Output(plan)
        bar = tqdm(total=(damage.expected or 0) * per_frame or None, unit="frame",
                   desc=target.name, disable=not progress)

        def upscale(picture) -> None:
            srkit.interrupt.check()  # a signal whose exception Python dropped stops here
            lr = pictures.tensor(picture)
            if shots.is_cut(picture):
                count["guard"] += state["shot"].report() if state["shot"] is not None else 0
                count["shots"] += 1
                shot = state["shot"] = _Shot(f"{source_name} shot {count['shots']} "
                                             f"(frame {count['frames']})")
                estimate = runner.estimate(lr, shot.name, emit=False)
                state["code"], shot.estimate_message = estimate.code, estimate.messages[0]
            shot = state["shot"]
            tile_fn = runner.tile_fn(state["code"])
            sr = tiled_upscale(lr, tile_fn, runner.scale, tile=tile, overlap=overlap,
                               device=runner.device, precision=runner.precision, out_dtype=out_dtype,
                               channels_last=runner.channels_last)
            shot.add(check_output(sr, lr, runner.scale, shot.name,
                                  [tile_fn.message(shot.name)], emit=False)[0])
            out_frame = _tensor_to_frame(sr, output)
            out_frame.pts, out_frame.time_base = output_pts(picture, plan), plan.time_base
            dst.mux(_encoded(video_out, out_frame, count["frames"] + 1))
            if on_frame is not None:
                on_frame(count["frames"])
            count["frames"] += 1
            bar.update(1)

        with bar:
            for packet in _demux(src, [video_in, *copied], damage):
                if packet.stream.type != "video":
                    if packet.dts is None:  # demuxer flush packet: nothing to copy
                        continue
                    if not damage.copyable(packet):
                        continue
                    copy_packet(packet, plan, others, dst, packets)
                    continue
                for frame in damage.decode(packet):
                    frame.pts = _source_pts(frame, count["decoded"], video_in)
                    frame.time_base = video_in.time_base
                    count["decoded"] += 1
                    for picture in pictures.push(frame):
                        upscale(picture)
            if count["decoded"]:
                for picture in pictures.push(None):  # bwdif holds one frame back
                    upscale(picture)
            count["guard"] += state["shot"].report() if state["shot"] is not None else 0
            damage.finish(job.allow_partial)  # raises PartialVideoError: the temporary file goes
            dst.mux(_encoded(video_out, None, count["frames"]))  # flush the delayed frames
    check_playable(temporary, source_name, count["frames"])
    audio = sum(n for index, n in packets.items() if src.streams[index].type == "audio")
    return VideoResult(count["frames"], count["shots"], plan.width, plan.height, audio,
                       corrupt_packets=damage.corrupt, expected_frames=damage.expected,
                       guard_events=count["guard"], plan=plan, copied_packets=packets)


def _source_pts(frame, index: int, stream) -> int:
    """The source frame's timestamp (in the stream's time base); for the rare demuxers that give
    none, the index-th tick of the stream's frame rate."""
    if frame.pts is not None:
        return frame.pts
    rate = stream.average_rate or stream.guessed_rate or 25
    return round(index / (rate * stream.time_base))
