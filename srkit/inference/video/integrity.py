"""What a damaged or truncated input lost: one warning per damaged packet, the count, the truncation verdict
(``PartialVideoError``). The rules are in the docstring of ``srkit.inference.video``."""
from __future__ import annotations

import warnings


# Frame durations by which reading may stop short of the declared end without the file being
# called truncated: container rounding (Matroska stores milliseconds; MP4 edit lists, B-frame delay
# and audio priming shift the ends by a fraction of a frame) stays well inside two frames, while a
# cut file ends short by a good part of its length.
TRUNCATION_TOLERANCE = 2


# Demuxers (FFmpeg names) that read the length from the file's header or index, so that a truncated
# copy still declares the full length. The others estimate it from the last timestamps present
# (MPEG-TS/PS, Ogg: truncation cannot show) or from the bit rate (raw streams, FLV without metadata:
# too rough to fail a job on).
DECLARING_DEMUXERS = frozenset({"mov", "mp4", "matroska", "webm", "avi", "mxf", "nut", "asf"})


class PartialVideoError(ValueError):
    """The input ends before the length its container declares (an interrupted download or copy).

    Raised after decoding and before anything is written under the output name; pass
    ``allow_partial=True`` (CLI ``--allow-partial``) to keep the frames that were decoded.

    Attributes:
        decoded: frames decoded.
        expected: frames the file declares.
    """

    def __init__(self, message: str, decoded: int = 0, expected: int | None = None):
        super().__init__(message)
        self.decoded, self.expected = decoded, expected


def _demux(src, streams, damage: "_Damage"):
    """``src.demux(*streams)``, except that a read error ends the input where it happened (ffmpeg
    treats it as the end of the file) instead of ending the job; the video decoder is then flushed
    with an empty packet, as the demuxer's own end does."""
    import av
    packets = src.demux(*streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as error:
            damage.read_error(error)
            flush = av.Packet()
            flush.stream = streams[0]
            yield flush
            return
        damage.packet(packet)
        yield packet


class _Damage:
    """What the input lost: its warnings, ``VideoResult.corrupt_packets``, the truncation verdict.

    Use it as a context manager around the demux/decode loop (it captures FFmpeg's error log
    there), pass it every demuxed packet (``packet``), decode video through it (``decode``), copy
    an audio or subtitle packet only when ``copyable`` allows, then call ``finish``. Each damaged
    packet gets one warning and counts once. Times in messages are seconds from the start of the
    file.

    FFmpeg's log is process-wide: while a job runs, PyAV's log level is at least ERROR (it is None,
    silent, by default) and every thread's FFmpeg messages pass through here; those the caller
    asked for with ``av.logging.set_level`` are handed on to Python logging as PyAV would, but two
    jobs running at once in one process may see each other's errors.
    """

    # A frame comes out at most this many packets after its own (reordering delay is at most 16
    # for H.264/HEVC); a packet whose timestamp no frame has taken by then produced no frame.
    REORDER_WINDOW = 64
    GAP_LIST = 100  # gaps kept for the message (all are counted)

    def __init__(self, name: str, container, stream):
        self.name, self.time_base = name, stream.time_base
        self.rate = float(stream.average_rate or stream.guessed_rate or 25)
        self.origin = container.start_time / 1e6 if container.start_time is not None else 0.0
        self.span = declared_span(container, stream)
        self.declares_length = bool(DECLARING_DEMUXERS & set(container.format.name.split(",")))
        self.exact_count = bool(stream.frames)  # a frame index (MP4/MOV, AVI), not an estimate
        self.expected = stream.frames or None
        if self.expected is None and self.span is not None:
            self.expected = round((self.span[1] - self.span[0]) * self.rate)
        # FFmpeg log contexts that speak about the input (not the encoder or the output muxer).
        self.sources = {container.format.name, stream.codec_context.name}
        self.corrupt = self.rejected = self.decoded = 0
        self.frames_lost = 0       # frames known lost: rejected, dropped or silent packets
        self.frames_skipped = 0    # frames no damage: empty (VFR padding) or discarded packets
        self.read_end: float | None = None  # furthest packet end read, any stream (seconds)
        self.pending: dict[int, int] = {}   # pts → index of video packets awaiting their frame
        self.packets = 0
        self.last_pts: int | None = None    # of the last frame passed on
        self.last_audio_dts: dict[int, int] = {}
        # Spacing of the frames passed on, in frame steps: how many are about one step (a CFR
        # stream: nearly all), and where the longer ones are (the first GAP_LIST of them).
        self.steps = self.regular_steps = 0
        self.gaps: list[tuple[float, int]] = []  # (time before the gap, frames missing)
        self.last_time: float | None = None
        self._logs: list = []

    def __enter__(self) -> "_Damage":
        import av.logging
        self._level = av.logging.get_level()
        if self._level is None or self._level < av.logging.ERROR:
            av.logging.set_level(av.logging.ERROR)
        self._capture = av.logging.Capture(local=False)  # decoder slice threads log too
        self._logs = self._capture.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        import av.logging
        self._ffmpeg_errors()  # hands on what the caller asked for
        self._capture.__exit__(*exc)
        if self._level != av.logging.get_level():
            av.logging.set_level(self._level)

    def _ffmpeg_errors(self) -> list[str]:
        """FFmpeg's error messages about the input since the last call ("demuxer: message")."""
        import logging
        import av.logging
        count = len(self._logs)  # slice threads may append meanwhile: keep what comes after
        logs = self._logs[:count]
        del self._logs[:count]
        errors = []
        for level, name, message in logs:
            if level <= av.logging.ERROR and name in self.sources:
                errors.append(f"{name}: {message.strip()}")
            if self._level is not None and level <= self._level:
                logger = logging.getLogger(f"libav.{name}" if name else "libav.generic")
                logger.log(av.logging.adapt_level(level), message.strip())
        return errors

    def _position(self, seconds: float | None) -> str:
        return "an unknown time" if seconds is None else f"{seconds - self.origin:.2f} s"

    def _time(self, pts: int | None) -> float | None:
        return None if pts is None else float(pts * self.time_base)

    def _damaged(self, message: str, frames_lost: int = 0) -> None:
        self.corrupt += 1
        self.frames_lost += frames_lost
        warnings.warn(f"{self.name}: {message}", UserWarning)

    def packet(self, packet) -> None:
        """Note how far into the file the demuxer got (any stream: a cut file stops all of them)."""
        start = packet.pts if packet.pts is not None else packet.dts
        if start is None or packet.time_base is None:
            return
        end = float((start + (packet.duration or 0)) * packet.time_base)
        if packet.stream.type == "video" and not packet.duration:
            end += 1 / self.rate
        self.read_end = end if self.read_end is None else max(self.read_end, end)

    def decode(self, packet) -> list:
        """``packet.decode()`` without the frames that cannot be used; warns once if the packet
        was damaged: rejected by the decoder (skipped, as ffmpeg does), flagged corrupt by the
        demuxer, decoded with concealed errors, or the subject of an FFmpeg error message. A packet
        that silently yields no frame is warned about once it is clear that none will come."""
        import av
        seconds = self._time(packet.pts if packet.pts is not None else packet.dts)
        if seconds is None:  # the final flush (or a rare untimed packet): as far as reading got
            seconds = self.read_end
        at = self._position(seconds)
        flush = packet.size == 0 and packet.pts is None and packet.dts is None
        if not flush:
            self.packets += 1
            if packet.size == 0 or packet.is_discard:
                # Empty: a frame the encoder dropped on purpose (AVI's VFR padding). Discard: before
                # an edit list's start. Neither gives a frame, and neither is damage.
                self.frames_skipped += 1
            elif packet.pts is not None:
                self.pending[packet.pts] = self.packets
        try:
            frames = packet.decode()
        except av.error.FFmpegError as error:
            self._ffmpeg_errors()  # the exception already carries the last one
            self.rejected += 1
            self.pending.pop(packet.pts, None)
            self._damaged(f"skipped an undecodable packet at {at} ({error})", frames_lost=1)
            return []
        kept, concealed = [], 0
        for frame in frames:
            self.pending.pop(frame.pts, None)
            if frame.pts is not None and self.last_pts is not None and frame.pts <= self.last_pts:
                # After damage a decoder can release a delayed frame behind later ones (so can
                # H.264 with B-frames in AVI, whose pts are decode-order counters); the encoder and
                # muxer need rising timestamps, so it goes (as ffmpeg's VFR mode drops it).
                after = self._position(self._time(self.last_pts))
                self._damaged(f"dropped the frame at {self._position(frame.time)}, which the "
                              f"decoder released after the one at {after} (damaged data or broken "
                              f"timestamps)", frames_lost=1)
                continue
            kept.append(frame)
            concealed += bool(frame.is_corrupt)
            self.last_pts = frame.pts if frame.pts is not None else self.last_pts
            self._spacing(frame.time)
        self.decoded += len(kept)
        errors = self._ffmpeg_errors()
        if errors or concealed or packet.is_corrupt:
            why = errors[0] if errors else "the demuxer flagged the packet as corrupt" \
                if packet.is_corrupt else "the decoder concealed errors in the frame"
            self._damaged(f"damaged data at {at} ({why}); kept what FFmpeg could decode"
                          + (f", {concealed} frame(s) with concealed errors" if concealed else ""))
        self._silent_losses(None if flush else self.packets - self.REORDER_WINDOW)
        return kept

    def _spacing(self, seconds: float | None) -> None:
        if seconds is None:
            return
        if self.last_time is not None:
            steps = (seconds - self.last_time) * self.rate
            self.steps += 1
            self.regular_steps += 0.5 < steps < 1.5
            if steps >= 1.5 and len(self.gaps) < self.GAP_LIST:
                self.gaps.append((self.last_time, round(steps) - 1))
        self.last_time = seconds

    def _silent_losses(self, before: int | None) -> None:
        """Warn about the video packets (before packet number ``before``; None: all) that never
        gave a frame, though neither the decoder nor the demuxer said anything."""
        for pts, index in list(self.pending.items()):
            if before is None or index < before:
                del self.pending[pts]
                self._damaged(f"the packet at {self._position(self._time(pts))} gave no frame and "
                              f"no error (FFmpeg dropped damaged data silently)", frames_lost=1)

    def copyable(self, packet) -> bool:
        """Whether an audio or subtitle packet can be copied: the muxer needs rising timestamps
        per stream, and a damaged file can repeat or reverse them; such a packet is skipped with a
        warning. FFmpeg errors while reading it (the demuxer resyncing past damage) are warned
        about too."""
        kind = f"{'an' if packet.stream.type == 'audio' else 'a'} {packet.stream.type}"
        seconds = float(packet.dts * packet.time_base)
        errors = self._ffmpeg_errors()
        if errors or packet.is_corrupt:
            why = errors[0] if errors else f"the demuxer flagged {kind} packet as corrupt"
            self._damaged(f"damaged data at {self._position(seconds)} ({why})")
        last = self.last_audio_dts.get(packet.stream.index)
        if last is not None and packet.dts <= last:
            self._damaged(f"skipped {kind} packet at {self._position(seconds)} whose timestamp "
                          f"does not follow the previous one's (damaged data)")
            return False
        self.last_audio_dts[packet.stream.index] = packet.dts
        return True

    def read_error(self, error) -> None:
        self._ffmpeg_errors()
        self._damaged(f"stopped reading at {self._position(self.read_end)}: the demuxer failed "
                      f"({error}); treating that as the end of the file")

    def truncated(self) -> bool:
        """Whether the demuxer stopped more than ``TRUNCATION_TOLERANCE`` frames before the end
        the container declares."""
        if not self.declares_length or self.span is None or self.read_end is None:
            return False
        return self.span[1] - self.read_end > TRUNCATION_TOLERANCE / self.rate + 1e-3

    def _unaccounted(self) -> None:
        """One warning for the declared frames that were neither decoded nor warned about: lost
        where nothing saw them (an AVI chunk or a Matroska cluster the demuxer skipped silently).

        Where the container indexes its frames (MP4/MOV, AVI) every one is accounted for. Where the
        count is only duration × rate (Matroska, MPEG-TS, …) a variable-frame-rate stream falls
        short by design, so there the shortfall must pass ``TRUNCATION_TOLERANCE`` and the frames
        must otherwise be evenly spaced (90 % of them one frame step apart, as in a CFR stream).
        """
        if self.expected is None:
            return
        missing = self.expected - self.decoded - self.frames_lost - self.frames_skipped
        if self.exact_count:
            if missing <= 0:
                return
        elif missing <= TRUNCATION_TOLERANCE or self.regular_steps < 0.9 * self.steps:
            return
        where = [f"{count} after {self._position(before)}" for before, count in self.gaps[:5]]
        tail = 0
        if self.span is not None and self.last_time is not None:
            tail = round((self.span[1] - self.last_time) * self.rate) - 1
        if tail > 0 and not where:  # no gap shows where (AVI numbers its frames by position)
            why = f"the file ends {tail} frame{'s' * (tail != 1)} early, or the demuxer skipped " \
                  f"damaged data"
        else:
            where += [f"{tail} at the end"] if tail > 0 else []
            why = "damaged data the demuxer skipped" + (f": {', '.join(where)}" if where else "")
        self._damaged(f"decoded {self.decoded} of {self.expected} frames; {missing} "
                      f"{'is' if missing == 1 else 'are'} missing without any error ({why})",
                      frames_lost=missing)

    def finish(self, allow_partial: bool) -> None:
        """Account for every declared frame, then judge truncation (raise, or warn under
        ``allow_partial``)."""
        self._silent_losses(None)
        if self.decoded == 0:
            raise ValueError(f"{self.name}: no frame could be decoded "
                             f"({self.rejected} packets were rejected by the decoder)")
        if not self.truncated():
            self._unaccounted()
            return
        counts = f"{self.name}: decoded {self.decoded} of {self.expected} frames"
        ends = f"{self._position(self.read_end)} of {self._position(self.span[1])}"
        if not allow_partial:
            raise PartialVideoError(
                f"{counts}; the file looks truncated (reading stopped at {ends}; pass "
                f"allow_partial=True / --allow-partial to keep the {self.decoded} frames)",
                self.decoded, self.expected)
        warnings.warn(f"{counts}; wrote a partial output (reading stopped at {ends})", UserWarning)


def check_playable(path, name: str, frames: int) -> None:
    """ValueError unless the written file at ``path`` plays all ``frames`` video frames.

    A muxer keeps frames stamped before 0 but hides them behind its edit list (MP4/MOV), and
    players, ffprobe and FFmpeg's demuxer (which flags them "discard") skip them: an output can
    hold every frame and play fewer. Counting the video packets not so flagged is what a player
    decodes, without decoding."""
    import av
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        playable = sum(1 for p in container.demux(stream) if p.size and not p.is_discard)
    if playable < frames:
        raise ValueError(f"{name}: the output would play {playable} of the {frames} frames "
                         f"written (its container hides {frames - playable} before time 0); "
                         "nothing was written")


def declared_span(container, stream) -> tuple[float, float] | None:
    """(start, end) in seconds of the video stream, as the file declares it; None when it does not.

    The stream's own duration first (MP4/MOV, AVI, and FFmpeg's estimate for MPEG-TS), then the
    per-track DURATION tag that FFmpeg and mkvmerge write into Matroska, then the container's
    duration (which also covers the audio, so it can be longer than the video by its tail).
    """
    start = None if stream.start_time is None else float(stream.start_time * stream.time_base)
    if stream.duration:
        start = start or 0.0
        return start, start + float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    seconds = _parse_duration(tag) if tag else None
    if seconds:
        start = start or 0.0
        return start, start + seconds
    if container.duration:
        begin = container.start_time / 1e6 if container.start_time is not None else (start or 0.0)
        return begin, begin + container.duration / 1e6
    return None


def _parse_duration(tag: str) -> float | None:
    """Seconds of a Matroska "HH:MM:SS.nnnnnnnnn" tag (None if malformed)."""
    try:
        hours, minutes, seconds = tag.strip().split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None
