"""Upscale video files frame by frame, keeping timing and audio, never damaging the input.

* Reading: anything PyAV/FFmpeg decodes. Frames go through the model as RGB uint8.
* Kernel: the IKC loop runs once per shot (a cut detector on luma histograms of small thumbnails,
  plus a refresh every ``max_shot_frames``); frames of a shot reuse the code, so the IKC cost is paid
  per shot, not per frame.
* Writing: H.264 (libx264, yuv420p, ``crf``) or lossless FFV1 (8-bit RGB, .mkv). Each frame keeps
  its source timestamp; the stream keeps the source frame rate; audio packets are copied unchanged.
* Safety: output == input is refused; output goes to a temporary file beside the final name and is
  renamed only when complete, so an interruption leaves nothing under the final name.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .imageio import atomic_path
from .infer import auto_tile, tiled_upscale
from .runner import ModelRunner

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".mts",
                  ".m2ts", ".mxf", ".nut", ".flv", ".wmv", ".y4m", ".dv", ".vob", ".ogv")
MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi",
          ".nut": "nut"}
CODECS = {  # name → (encoder, pixel format, containers that can hold it)
    "h264": ("libx264", "yuv420p", (".mp4", ".m4v", ".mov", ".mkv")),
    "ffv1": ("ffv1", "bgr0", (".mkv", ".avi", ".nut")),  # 8-bit RGB: lossless to the model output
}


@dataclass
class ShotDetector:
    """Flags the first frame of each shot.

    Args:
        threshold: half the L1 distance between consecutive 32-bin luma histograms, in [0, 1]; a
            cut is declared above it (default 0.35: fades and motion stay below, hard cuts exceed it).
        max_shot_frames: declare a new shot at least this often (default 250 = 10 s at 25 fps), so a
            slow change of lens or focus is followed.
        thumb: thumbnail size (width, height) the histogram is computed on (default 64×36).
    """
    threshold: float = 0.35
    max_shot_frames: int = 250
    thumb: tuple[int, int] = (64, 36)

    def __post_init__(self):
        self._previous: np.ndarray | None = None
        self._since_cut = 0

    def histogram(self, frame) -> np.ndarray:
        """Normalised 32-bin histogram of the frame's luma thumbnail (an ``av.VideoFrame``)."""
        luma = frame.to_ndarray(format="gray", width=self.thumb[0], height=self.thumb[1])
        counts = np.bincount(luma.ravel() >> 3, minlength=32).astype(np.float64)
        return counts / counts.sum()

    def is_cut(self, frame) -> bool:
        """True for the first frame, after a hard cut, and every ``max_shot_frames`` frames."""
        hist = self.histogram(frame)
        distance = 1.0 if self._previous is None else 0.5 * np.abs(hist - self._previous).sum()
        self._previous = hist
        self._since_cut += 1
        if distance > self.threshold or self._since_cut >= self.max_shot_frames:
            self._since_cut = 0
            return True
        return False


@dataclass
class VideoResult:
    """What ``upscale_video`` did: frames written, shots (IKC estimates) and output size."""
    frames: int
    shots: int
    width: int
    height: int
    audio_packets: int


def check_paths(source: Path, target: Path, codec: str) -> None:
    """Refuse to overwrite the input and reject codec/container pairs that cannot work."""
    if not source.is_file():
        raise FileNotFoundError(f"video not found: {source}")
    if target.resolve() == source.resolve() or (target.exists() and target.samefile(source)):
        raise ValueError(f"output {target} is the input file; srkit never overwrites its input")
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; choose one of {sorted(CODECS)}")
    suffix = target.suffix.lower()
    if suffix not in CODECS[codec][2]:
        raise ValueError(f"{target}: codec {codec} cannot be written to a {suffix or 'suffix-less'} "
                         f"file; use one of {', '.join(CODECS[codec][2])}")


def open_input(path: Path):
    """Open a video with PyAV; errors name the file."""
    import av
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as error:
        raise ValueError(f"cannot read video {path}: {error}") from error
    if not container.streams.video:
        container.close()
        raise ValueError(f"{path} has no video stream")
    return container


def colorspace_for(height: int, tagged: int | None = None) -> str:
    """YUV↔RGB matrix: the stream's tag when known (1 = BT.709, 5/6 = BT.601), else the convention
    players follow — BT.709 from 720 lines up, BT.601 below."""
    if tagged == 1:
        return "ITU709"
    if tagged in (5, 6):
        return "ITU601"
    return "ITU709" if height >= 720 else "ITU601"


def add_video_stream(container, source_stream, codec: str, width: int, height: int, crf: int,
                     preset: str):
    """Output stream at the source frame rate and time base, tagged with the colour matrix used."""
    encoder, pix_fmt, _ = CODECS[codec]
    rate = source_stream.average_rate or source_stream.guessed_rate or 25
    stream = container.add_stream(encoder, rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    # Same time base as the source, so every frame keeps its exact timestamp (VFR stays VFR).
    stream.time_base = source_stream.time_base
    stream.codec_context.time_base = source_stream.time_base
    if codec == "h264":
        stream.options = {"crf": str(crf), "preset": preset}
        matrix = 1 if colorspace_for(height) == "ITU709" else 6
        stream.codec_context.colorspace = matrix
        stream.codec_context.color_primaries = matrix
        stream.codec_context.color_trc = matrix
        stream.codec_context.color_range = 1  # limited ("tv") range, what swscale produces
    return stream


def even_crop(image: np.ndarray, codec: str) -> np.ndarray:
    """yuv420p needs even sizes: drop a last odd row/column (only ×3 of odd inputs hits this)."""
    if CODECS[codec][1] != "yuv420p":
        return image
    height, width = image.shape[:2]
    return np.ascontiguousarray(image[: height - height % 2, : width - width % 2])


def output_size(width: int, height: int, scale: int, codec: str) -> tuple[int, int]:
    """Encoded width, height after ×scale (and ``even_crop``)."""
    width, height = width * scale, height * scale
    if CODECS[codec][1] == "yuv420p":
        width, height = width - width % 2, height - height % 2
    return width, height


def upscale_video(source: str | Path, target: str | Path, model, *, scale: int | None = None,
                  steps: int = 7, tile: int | None = None, overlap: int = 16, device=None,
                  half: bool = False, compile: bool = False, codec: str = "h264", crf: int = 18,
                  preset: str = "medium", shots: ShotDetector | None = None, progress: bool = True,
                  on_frame: Callable[[int], None] | None = None) -> VideoResult:
    """Upscale a video file with a srkit model.

    Args:
        source: input video (any container/codec FFmpeg decodes).
        target: output path; .mp4/.mkv/.mov for h264, .mkv/.avi/.nut for ffv1. Must not be ``source``.
        model: Pipeline, generator, callable (LR → SR) or name/path for ``srkit.load``.
        scale: expected factor (checked against the model; required for a plain callable).
        steps: IKC correction steps per shot (default 7).
        tile: LR tile size; None picks one from the frame size and device, 0 = whole frames.
        overlap: LR context margin per tile side (default 16).
        device, half, compile: as in ``srkit.upscale``.
        codec: "h264" (libx264, yuv420p) or "ffv1" (lossless RGB). Default "h264".
        crf: x264 constant rate factor 0–51 (default 18, visually transparent).
        preset: x264 speed preset (default "medium").
        shots: cut detector (default ``ShotDetector()``).
        progress: show a tqdm bar with frames/s and ETA (default True).
        on_frame: called with the index of each frame after it is encoded (hooks, tests).

    Returns:
        A ``VideoResult`` with frames, shots, output size and copied audio packets.
    """
    source, target = Path(source), Path(target)
    check_paths(source, target, codec)
    runner = ModelRunner.wrap(model, steps=steps, device=device, half=half, compile=compile,
                              scale=scale)
    runner.check_scale(scale)
    with open_input(source) as src, atomic_path(target) as temporary:
        result = _transcode(src, temporary, target, runner, tile, overlap, half, codec, crf, preset,
                            shots or ShotDetector(), progress, on_frame)
    return result


def _transcode(src, temporary: Path, target: Path, runner: ModelRunner, tile, overlap, half, codec,
               crf, preset, shots: ShotDetector, progress: bool, on_frame) -> VideoResult:
    """Demux, upscale video frames, copy audio packets, mux into ``temporary``."""
    import av
    from tqdm import tqdm
    video_in = src.streams.video[0]
    video_in.thread_type = "AUTO"  # frame-threaded decoding: decode is not the bottleneck
    audio_in = list(src.streams.audio)
    width, height = output_size(video_in.width, video_in.height, runner.scale, codec)
    tile = auto_tile(video_in.height, video_in.width, runner.device) if tile is None else tile
    frames = shot_count = audio_packets = 0
    code = None
    with av.open(str(temporary), "w", format=MUXERS.get(target.suffix.lower())) as dst:
        video_out = add_video_stream(dst, video_in, codec, width, height, crf, preset)
        audio_out = {s.index: dst.add_stream_from_template(s) for s in audio_in}
        bar = tqdm(total=video_in.frames or None, unit="frame", desc=target.name, disable=not progress)
        with bar:
            for packet in src.demux(video_in, *audio_in):
                if packet.stream.type == "audio":
                    if packet.dts is None:  # demuxer flush packet: nothing to copy
                        continue
                    packet.stream = audio_out[packet.stream.index]
                    dst.mux(packet)
                    audio_packets += 1
                    continue
                for frame in packet.decode():
                    lr = _frame_to_tensor(frame)
                    if shots.is_cut(frame):
                        code, shot_count = runner.estimate_code(lr), shot_count + 1
                    sr = tiled_upscale(lr, runner.tile_fn(code), runner.scale, tile=tile,
                                       overlap=overlap, device=runner.device, half=half,
                                       channels_last=runner.channels_last)
                    out_frame = _tensor_to_frame(sr, codec, height)
                    out_frame.pts = _source_pts(frame, frames, video_in)
                    out_frame.time_base = video_in.time_base
                    dst.mux(video_out.encode(out_frame))
                    if on_frame is not None:
                        on_frame(frames)
                    frames += 1
                    bar.update(1)
            dst.mux(video_out.encode(None))  # flush the encoder's delayed frames
    return VideoResult(frames, shot_count, width, height, audio_packets)


def _frame_to_tensor(frame) -> torch.Tensor:
    """av.VideoFrame → 1×3×H×W uint8 tensor (a channels-last view of the RGB buffer)."""
    rgb = frame.to_ndarray(format="rgb24", src_colorspace=colorspace_for(frame.height, frame.colorspace))
    return torch.from_numpy(rgb).permute(2, 0, 1)[None]


def _tensor_to_frame(sr: torch.Tensor, codec: str, height: int):
    """1×3×H×W uint8 (channels-last) → av.VideoFrame in the encoder's pixel format."""
    import av
    rgb = even_crop(sr[0].permute(1, 2, 0).numpy(), codec)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    if CODECS[codec][1] == "yuv420p":
        frame = frame.reformat(format="yuv420p", dst_colorspace=colorspace_for(height))
    return frame


def _source_pts(frame, index: int, stream) -> int:
    """The source frame's timestamp (in the stream's time base); for the rare demuxers that give
    none, the index-th tick of the stream's frame rate."""
    if frame.pts is not None:
        return frame.pts
    rate = stream.average_rate or stream.guessed_rate or 25
    return round(index / (rate * stream.time_base))


def is_video(path: str | Path) -> bool:
    """Whether a path looks like a video file (by suffix)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def temporary_files(target: str | Path) -> list[Path]:
    """Leftover temporary files of ``target`` (``.NAME.*.part.EXT``); empty after any run."""
    target = Path(target)
    return sorted(target.parent.glob(f".{target.name}.*.part{target.suffix}"))

