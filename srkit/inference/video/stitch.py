"""The two steps of a video job that write files: one chunk (video only, through the model), and
the stitch that joins the chunks by stream copy and adds the source's other streams once.

Measured with FFmpeg 5.1 on a 30 s clip cut into 7 chunks: video-only chunks joined by stream copy,
then the source's audio added once, gave the frames and audio of one pass bit for bit with no A/V
offset; cutting the audio per chunk drifted (re-encoded) or left gaps at each join (copied). So
the chunks hold video only, and audio, subtitles, chapters and metadata are copied once from the
source at the stitch.
"""
from __future__ import annotations

import heapq
from fractions import Fraction
from pathlib import Path

import torch

import srkit.interrupt
from srkit.imageio import atomic_path
from srkit.inference.guard import check_output
from srkit.inference.tiling import auto_tile, tiled_upscale
from srkit.inference.video.chunks import Chunk, Scan, decode_chunk
from srkit.inference.video.codecs import MUXERS
from srkit.inference.video.graphs import _Output, _Pictures, _tensor_to_frame
from srkit.inference.video.integrity import check_playable
from srkit.inference.video.mux import (_copy_container, _encoded, add_video_stream, copy_packet,
                                       tag_video_stream)
from srkit.inference.video.plan import VideoPlan
from srkit.inference.video.shots import _Shot


def write_chunk(src, name: str, path: Path, runner, plan: VideoPlan, scan: Scan, chunk: Chunk,
                crf: int, preset: str, tile, overlap: int, progress=None) -> dict:
    """Upscale ``chunk``'s pictures into a video-only file at ``path`` (through a temporary name;
    renamed only once its packets were counted and their timestamps checked). Returns the record
    of the chunk: frames, shots, guard events, bytes."""
    video_in = src.streams.video[0]
    tile = auto_tile(video_in.height, video_in.width, runner.device) if tile is None else tile
    out_dtype = torch.float32 if plan.float_output else None
    # output pts → (shot number, picture index) for the shots that start in this chunk
    shot_starts = {scan.pts[i]: (number, i) for number, i in enumerate(scan.shot_starts, 1)
                   if chunk.start <= i < chunk.stop}
    frames, guard, shot, code = 0, 0, None, None
    import av
    with atomic_path(path) as temporary:
        with av.open(str(temporary), "w", format=MUXERS.get(path.suffix.lower())) as dst:
            video_out = add_video_stream(dst, plan, video_in, crf, preset)
            pictures, output = _Pictures(video_in, plan, name), _Output(plan)
            for picture, at in decode_chunk(src, name, plan, scan, chunk):
                srkit.interrupt.check()  # a signal whose exception Python dropped stops here
                lr = pictures.tensor(picture)
                if at in shot_starts:
                    guard += shot.report() if shot is not None else 0
                    number, index = shot_starts[at]
                    shot = _Shot(f"{name} shot {number} (frame {index})")
                    estimate = runner.estimate(lr, shot.name, emit=False)
                    code, shot.estimate_message = estimate.code, estimate.messages[0]
                tile_fn = runner.tile_fn(code)
                sr = tiled_upscale(lr, tile_fn, runner.scale, tile=tile, overlap=overlap,
                                   device=runner.device, precision=runner.precision,
                                   out_dtype=out_dtype, channels_last=runner.channels_last)
                shot.add(check_output(sr, lr, runner.scale, shot.name,
                                      [tile_fn.message(shot.name)], emit=False)[0])
                out_frame = _tensor_to_frame(sr, output)
                out_frame.pts, out_frame.time_base = at, plan.time_base
                dst.mux(_encoded(video_out, out_frame, frames + 1))
                frames += 1
                if progress is not None:
                    progress(1)
            guard += shot.report() if shot is not None else 0
            dst.mux(_encoded(video_out, None, frames))
        times = chunk_times(temporary)
        check_times(times, scan.pts[chunk.start:chunk.stop], plan.time_base,
                    f"{name}: chunk {chunk.index} ({temporary.name})")
    return {"frames": frames, "shots": len(chunk.shots), "guard_events": guard,
            "bytes": path.stat().st_size}


def chunk_times(path: Path) -> list[Fraction]:
    """Presentation times (s) of the video packets of a file, in the order they are stored."""
    import av
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [p.pts * stream.time_base for p in container.demux(stream) if p.pts is not None]


def check_times(times: list[Fraction], wanted_pts: list[int], time_base: Fraction, what: str) -> None:
    """ValueError unless ``times`` hold one packet per wanted timestamp, each within a tick of
    the coarser of the two time bases (Matroska stores milliseconds), after one shift of them all
    (a muxer moves every stream later when another starts before zero, e.g. AAC priming)."""
    if len(times) != len(wanted_pts):
        raise ValueError(f"{what}: {len(times)} frames written, {len(wanted_pts)} planned")
    tick = max(Fraction(1, 1000), time_base)
    times = sorted(times)
    shift = times[0] - wanted_pts[0] * time_base if times else 0
    for got, pts in zip(times, wanted_pts):
        if abs(got - shift - pts * time_base) > tick:
            raise ValueError(f"{what}: a frame at {float(got):.3f} s where the plan has "
                             f"{float(pts * time_base):.3f} s")


def stitch(src, name: str, target: Path, chunk_files: list[Path], plan: VideoPlan,
           scan: Scan) -> dict:
    """Join ``chunk_files`` by stream copy into ``target`` (atomically), with the source's
    copied streams, chapters and metadata; check the result against the plan (frame count,
    timestamps, A/V offset). Returns packets copied per source stream index."""
    import av
    video_in = src.streams.video[0]
    copied = [src.streams[index] for index in [*plan.copy, *plan.convert]]
    packets = {s.index: 0 for s in copied}
    with atomic_path(target) as temporary:
        chunks = [av.open(str(path)) for path in chunk_files]
        try:
            with av.open(str(temporary), "w", format=MUXERS.get(target.suffix.lower())) as dst:
                template = chunks[0].streams.video[0]
                video_out = dst.add_stream_from_template(template)
                video_out.time_base = template.time_base
                video_out.codec_context.framerate = plan.rate  # MOV/MP4 time a tmcd track by it
                tag_video_stream(video_out, plan, video_in)
                others = _copy_container(src, dst, plan)
                last_dts = {}

                def video_packets():
                    for container in chunks:
                        srkit.interrupt.check()
                        for packet in container.demux(container.streams.video[0]):
                            stamp = packet.dts if packet.dts is not None else packet.pts
                            if stamp is None:
                                continue  # the demuxer's flush packet
                            yield float(stamp * packet.time_base), 0, packet

                def other_packets():
                    if not copied:
                        return
                    for packet in src.demux(*copied):
                        index = packet.stream.index
                        if packet.dts is None:
                            continue
                        if index in last_dts and packet.dts <= last_dts[index]:
                            continue  # the scan warned: the muxer needs rising timestamps
                        last_dts[index] = packet.dts
                        yield float(packet.dts * packet.time_base - plan.origin), 1, packet

                last = None  # the last video decode time written (chunk time base)
                for _, kind, packet in heapq.merge(video_packets(), other_packets(),
                                                   key=lambda item: item[:2]):
                    if kind == 0:
                        # Matroska stores no decode times: its demuxer leaves them unset (or
                        # guessed, repeating across a join) for the frames an encoder reorders.
                        # Any rising decode time at or before each presentation time is valid.
                        if packet.dts is None or (last is not None and packet.dts <= last):
                            packet.dts = packet.pts if last is None else last + 1
                        last = packet.dts
                        packet.stream = video_out
                        dst.mux(packet)
                        continue
                    copy_packet(packet, plan, others, dst, packets)
        finally:
            for container in chunks:
                container.close()
        verify_output(temporary, target.name, plan, scan, src)
    return packets


def verify_output(path: Path, name: str, plan: VideoPlan, scan: Scan, src) -> None:
    """ValueError unless the stitched file holds the planned frames at the planned times and its
    audio starts where the source's does relative to the video (within one frame)."""
    import av
    check_times(chunk_times(path), scan.pts, plan.time_base, f"{name}: stitched output")
    check_playable(path, name, len(scan.pts))
    with av.open(str(path)) as out:
        if not out.streams.audio or not src.streams.audio:
            return
        starts = []
        for container in (src, out):
            video, audio = container.streams.video[0], container.streams.audio[0]
            begin = [s.start_time * s.time_base if s.start_time is not None else None
                     for s in (video, audio)]
            starts.append(None if None in begin else begin[1] - begin[0])
    if None not in starts and abs(starts[0] - starts[1]) > 1 / plan.rate:
        raise ValueError(f"{name}: audio starts {float(starts[1]) * 1000:.0f} ms from the video "
                         f"in the output, {float(starts[0]) * 1000:.0f} ms in the source")

