"""The plan step of a video job: one pass over the input without the model, and the chunks it is cut
into.

``scan_video`` decodes the whole input through the same damage checks and filter graph as
``upscale_video`` (so its warnings and its truncation verdict come before any model work), runs
the cut detector on the pictures the model would see, and records each picture's output timestamp.
``split_chunks`` groups whole shots into chunks of at most ``max_frames`` pictures (a longer shot
is a chunk of its own; ``ShotDetector.max_shot_frames`` bounds shots anyway): a shot never spans
two chunks, so each shot's kernel is estimated on its own first picture whichever chunk it lands
in, exactly as in one pass.

A chunk is decoded from a keyframe at least ``MARGIN`` pictures before its first one, so temporal
filters (bwdif looks at the frames either side) see the same neighbours as in one pass. Inputs
where a seek cannot be trusted to land on the same frames run as one chunk decoded from the start:
damaged inputs, frames without timestamps, inverse telecine (decimate keeps 4 of each 5 frames
counted from the first, so its phase depends on where decoding starts).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import srkit.interrupt
from srkit.inference.video.graphs import _Pictures
from srkit.inference.video.integrity import _Damage, _demux
from srkit.inference.video.mux import output_pts
from srkit.inference.video.plan import VideoPlan
from srkit.inference.video.shots import ShotDetector
from srkit.inference.video.transcode import _source_pts

MARGIN = 2               # pictures decoded before a chunk's first (bwdif needs one)
DEFAULT_CHUNK_FRAMES = 500  # 20 s at 25 fps


@dataclass
class Chunk:
    """Pictures ``start``..``stop - 1`` (indexes into ``Scan.pts``) and the shots that begin in
    them (indexes too); ``seek`` is False for a chunk decoded from the start of the input."""
    index: int
    start: int
    stop: int
    shots: list[int]
    seek: bool = True

    @property
    def frames(self) -> int:
        return self.stop - self.start


@dataclass
class Scan:
    """What the plan pass found: each picture's output timestamp (plan time base), the pictures
    that start a shot, the damage counts of the input, and whether chunks may seek."""
    pts: list[int]
    shot_starts: list[int]
    corrupt: int = 0
    expected: int | None = None
    decoded: int = 0
    seekable: bool = True
    why_one_chunk: str = ""
    chunks: list[Chunk] = field(default_factory=list)


def picture_pts(picture, plan: VideoPlan) -> int:
    """A picture's output timestamp in the plan's time base, as ``upscale_video`` writes it
    (``srkit.inference.video.mux.output_pts``)."""
    return output_pts(picture, plan)


def scan_video(src, name: str, plan: VideoPlan, shots: ShotDetector | None = None,
               allow_partial: bool = False) -> Scan:
    """Decode ``src`` (an open ``av`` container) as ``upscale_video`` does, without the model.

    Warns about damage as the job would (once per damaged packet) and raises
    ``PartialVideoError`` for a truncated input unless ``allow_partial``; ValueError when no frame
    decodes.
    """
    shots = shots or ShotDetector()
    video_in = src.streams.video[0]
    video_in.thread_type = "SLICE"  # as in the job: errors are reported at the right packet
    copied = [src.streams[index] for index in [*plan.copy, *plan.convert]]
    pictures = _Pictures(video_in, plan, name)
    pts, starts, decoded, untimed = [], [], 0, False
    with _Damage(name, src, video_in) as damage:
        def look(picture) -> None:
            srkit.interrupt.check()  # a signal whose exception Python dropped stops here
            if shots.is_cut(picture):
                starts.append(len(pts))
            pts.append(picture_pts(picture, plan))
        for packet in _demux(src, [video_in, *copied], damage):
            if packet.stream.type != "video":
                if packet.dts is not None:
                    damage.copyable(packet)  # warns about damaged audio/subtitle packets
                continue
            for frame in damage.decode(packet):
                untimed |= frame.pts is None
                frame.pts = _source_pts(frame, decoded, video_in)
                frame.time_base = video_in.time_base
                decoded += 1
                for picture in pictures.push(frame):
                    look(picture)
        if decoded:
            for picture in pictures.push(None):
                look(picture)
        damage.finish(allow_partial)
    if not pts:
        raise ValueError(f"{name}: no frame could be decoded")
    scan = Scan(pts, starts, damage.corrupt, damage.expected, decoded)
    why = ("the input is damaged" if damage.corrupt else
           "some frames carry no timestamp" if untimed else
           "inverse telecine keeps 4 of each 5 frames counted from the first" if plan.deinterlace == "ivtc"
           else "timestamps do not rise" if any(b <= a for a, b in zip(pts, pts[1:])) else "")
    scan.seekable, scan.why_one_chunk = not why, why
    return scan


def split_chunks(scan: Scan, max_frames: int = DEFAULT_CHUNK_FRAMES) -> list[Chunk]:
    """Whole shots grouped into chunks of at most ``max_frames`` pictures (a longer shot is a
    chunk of its own); one chunk from the start when the scan says seeking cannot be trusted."""
    total = len(scan.pts)
    if not scan.seekable:
        return [Chunk(0, 0, total, list(scan.shot_starts), seek=False)]
    bounds = list(scan.shot_starts) + [total]
    chunks, start, shots = [], 0, []
    for shot, end in zip(bounds, bounds[1:]):
        if shots and end - start > max_frames:
            chunks.append(Chunk(len(chunks), start, shot, shots))
            start, shots = shot, []
        shots.append(shot)
    chunks.append(Chunk(len(chunks), start, total, shots))
    chunks[0].seek = False  # the first chunk decodes from the start, as one pass does
    return chunks


class _LateSeek(Exception):
    """A seek landed after the margin before a chunk's first picture (a sparse index)."""


def decode_chunk(src, name: str, plan: VideoPlan, scan: Scan, chunk: Chunk):
    """The pictures of ``chunk`` (``av.VideoFrame``, with their output pts), decoded as
    ``scan_video`` decoded them: from a keyframe at least ``MARGIN`` pictures earlier when the
    chunk seeks (from the start when the seek lands later than that), else from the start. Damage
    was warned about by the scan; here it stays quiet."""
    if chunk.seek:
        try:
            yield from _decode(src, name, plan, scan, chunk, seek=True)
            return
        except _LateSeek:  # raised before any picture was handed out
            src.seek(0)
    yield from _decode(src, name, plan, scan, chunk, seek=False)


def _decode(src, name: str, plan: VideoPlan, scan: Scan, chunk: Chunk, seek: bool):
    video_in = src.streams.video[0]
    if video_in.thread_type.name != "SLICE":  # not again after a late seek: the decoder is open
        video_in.thread_type = "SLICE"
    wanted = scan.pts[chunk.start:chunk.stop]
    first, last = wanted[0], wanted[-1]
    margin = scan.pts[max(0, chunk.start - MARGIN)]
    if seek:
        # one tick of the source time base early: seek lands on a keyframe at or before it (the
        # scan's pts are output times: the source's less plan.origin)
        seconds = margin * plan.time_base + plan.origin
        src.seek(max(0, int(seconds / video_in.time_base) - 1), stream=video_in, backward=True)
    pictures = _Pictures(video_in, plan, name)
    decoded, started = 0, not seek
    with warnings.catch_warnings(), _Damage(name, src, video_in) as damage:
        warnings.simplefilter("ignore")
        for packet in _demux(src, [video_in], damage):
            for frame in damage.decode(packet):
                frame.pts = _source_pts(frame, decoded, video_in)
                frame.time_base = video_in.time_base
                decoded += 1
                for picture in pictures.push(frame):
                    at = picture_pts(picture, plan)
                    if not started:
                        if at > margin:
                            raise _LateSeek
                        started = True
                    if first <= at <= last:
                        yield picture, at
                    if at >= last:
                        return
        if decoded:
            for picture in pictures.push(None):
                at = picture_pts(picture, plan)
                if first <= at <= last:
                    yield picture, at
