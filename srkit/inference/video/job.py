"""A video job in idempotent steps, resumable, in one process, N processes or on a Ray cluster.

Steps (each can run on its own: ``srkit upscale ... --step plan | chunk K | stitch``):

* **plan**: inspect the input, decide what to do (``plan_video``), decode it once without the model
  (``chunks.scan_video``: damage warnings, the truncation verdict, shot cuts, each picture's
  timestamp) and cut it into chunks of whole shots. Written to ``manifest.json`` in the work
  folder (JSON, a versioned schema: ``srkit.inference.video.manifest``; nothing there is unpickled,
  and a foreign, old or damaged manifest is refused naming the file).
* **chunk K**: upscale chunk K into ``chunks/NNNNN.EXT`` (video only, through a temporary name);
  done only once its frame count and timestamps match the plan, then recorded in
  ``done/NNNNN.json`` (one file per chunk, so workers on other machines never write the same file).
  A chunk already done is skipped.
* **stitch**: join the chunks by stream copy, copy audio, subtitles, chapters and metadata once
  from the source, check the frame count, timestamps and A/V offset, and write the output
  atomically. The work folder is removed afterwards.

The work folder sits beside the output (``NAME.EXT.srkit-work``). It is reused only when the
input (path, size, modification time) and every option that changes the output are the same;
otherwise the job starts over and says why. With FFV1 the frames equal those of one pass of
``upscale_video`` (tests/test_video_job.py).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from srkit.imageio import atomic_path
from srkit.inference.video.chunks import DEFAULT_CHUNK_FRAMES, scan_video, split_chunks
from srkit.inference.video.manifest import manifest_json, read_manifest
from srkit.inference.video.plan import plan_video
from srkit.inference.video.shots import ShotDetector
from srkit.inference.video.source import inspect_video, open_input
from srkit.inference.video.stitch import stitch, write_chunk
from srkit.inference.video.transcode import VideoResult, check_paths

WORK_SUFFIX = ".srkit-work"


@dataclass
class JobOptions:
    """Everything that decides the output, besides the model (see ``upscale_video`` for each).

    ``chunk_frames``: most pictures in a chunk (default 500, 20 s at 25 fps), unless one shot is
    longer (it is then a chunk of its own: no shot spans two chunks); ``max_shot_frames``: the cut
    detector's refresh (``ShotDetector``, default 250)."""
    scale: int
    codec: str = "h264"
    crf: int = 18
    preset: str = "medium"
    tile: int | None = None
    overlap: int = 16
    deinterlace: str = "auto"
    square_pixels: bool = False
    fit: str | tuple[int, int] | None = None
    keep_colour: bool = False
    allow_partial: bool = False
    chunk_frames: int = DEFAULT_CHUNK_FRAMES
    max_shot_frames: int = 250


class VideoJob:
    """One input → one output, in steps recorded in a work folder.

    Args:
        source, target: input video and output path (checked as by ``upscale_video``).
        options: ``JobOptions``.
        model_id: names the model in the fingerprint (e.g. the weights name and its digest), so
            a changed model starts the job over.
        work: the work folder (default: ``TARGET.srkit-work`` beside the output).
    """

    def __init__(self, source, target, options: JobOptions, model_id: str = "", work=None):
        self.source, self.target, self.options = Path(source), Path(target), options
        self.model_id = model_id
        self.work = Path(work) if work else self.target.with_name(self.target.name + WORK_SUFFIX)
        self.plan = self.scan = None

    # --- the manifest ---------------------------------------------------------------------------
    def fingerprint(self) -> str:
        stat = self.source.stat()
        facts = dict(source=str(self.source.resolve()), size=stat.st_size, mtime=stat.st_mtime_ns,
                     target=self.target.name, model=self.model_id,
                     options={k: list(v) if isinstance(v, tuple) else v
                              for k, v in asdict(self.options).items()})
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def manifest_path(self) -> Path:
        return self.work / "manifest.json"

    def chunk_path(self, index: int) -> Path:
        return self.work / "chunks" / f"{index:05d}{self.target.suffix}"

    def done_path(self, index: int) -> Path:
        return self.work / "done" / f"{index:05d}.json"

    def prepare(self, fresh: bool = False) -> str:
        """The plan step, or the plan read back from the work folder; returns one line saying
        which (for the start of a job)."""
        check_paths(self.source, self.target, self.options.codec)
        fingerprint = self.fingerprint()
        why = ""
        if self.manifest_path.exists() and not fresh:
            # ManifestError (foreign, old or damaged): refused, the folder is left as it is
            recorded, plan, scan = read_manifest(self.manifest_path)
            if recorded == fingerprint:
                self.plan, self.scan = plan, scan
                done = len(self.done())
                return (f"resuming {self.target.name} from {self.work}: {done} of "
                        f"{len(self.scan.chunks)} chunks done")
            why = "the input or the options changed"
        elif fresh and self.work.exists():
            why = "--fresh"
        if self.work.exists():
            shutil.rmtree(self.work)
        self._plan(fingerprint)
        start = f"starting over in {self.work} ({why})" if why else f"work folder {self.work}"
        return (f"{start}: {len(self.scan.pts)} frames, {len(self.scan.shot_starts)} shots, "
                f"{len(self.scan.chunks)} chunks"
                + (f" (one chunk: {self.scan.why_one_chunk})" if self.scan.why_one_chunk else ""))

    def _plan(self, fingerprint: str) -> None:
        import warnings
        options = self.options
        info = inspect_video(self.source)
        plan = plan_video(info, self.target, options.codec, options.scale, options.deinterlace,
                          options.square_pixels, options.fit, options.keep_colour)
        for line in plan.warnings:
            warnings.warn(line, UserWarning)
        with open_input(self.source) as src:
            scan = scan_video(src, self.source.name, plan,
                              ShotDetector(max_shot_frames=options.max_shot_frames),
                              options.allow_partial)
        scan.chunks = split_chunks(scan, options.chunk_frames)
        (self.work / "chunks").mkdir(parents=True, exist_ok=True)
        (self.work / "done").mkdir(exist_ok=True)
        _write_atomic(self.manifest_path,
                      manifest_json(fingerprint, self.source, self.target, plan, scan))
        self.plan, self.scan = plan, scan

    def load(self) -> None:
        """The plan as the plan step wrote it (a worker's view: nothing is re-planned)."""
        if self.scan is not None:
            return
        if not self.manifest_path.exists():
            raise ValueError(f"{self.work}: no plan yet; run the plan step first")
        recorded, plan, scan = read_manifest(self.manifest_path)
        if recorded != self.fingerprint():
            raise ValueError(f"{self.work}: its plan was made for another input or other options "
                             "than this command's; run the plan step again with these")
        self.plan, self.scan = plan, scan

    def done(self) -> dict[int, dict]:
        """Chunk index → its record, for the chunks done (file present with the recorded size)."""
        records = {}
        for chunk in self.scan.chunks:
            try:
                record = json.loads(self.done_path(chunk.index).read_text())
            except (OSError, ValueError):
                continue
            path = self.chunk_path(chunk.index)
            if path.exists() and path.stat().st_size == record.get("bytes"):
                records[chunk.index] = record
        return records

    def pending(self) -> list[int]:
        done = self.done()
        return [c.index for c in self.scan.chunks if c.index not in done]

    # --- the steps ------------------------------------------------------------------------------
    def process(self, index: int, runner, progress=None) -> dict:
        """Chunk ``index`` (skipped when done); returns its record."""
        if self.scan is None:
            self.prepare()
        if not 0 <= index < len(self.scan.chunks):
            raise ValueError(f"chunk {index}: the plan of {self.target.name} has chunks 0 to "
                             f"{len(self.scan.chunks) - 1}")
        done = self.done()
        if index in done:
            return done[index]
        chunk = self.scan.chunks[index]
        with open_input(self.source) as src:
            record = write_chunk(src, self.source.name, self.chunk_path(index), runner, self.plan,
                                 self.scan, chunk, self.options.crf, self.options.preset,
                                 self.options.tile, self.options.overlap, progress)
        _write_atomic(self.done_path(index), json.dumps(record).encode())
        return record

    def stitch(self, keep_work: bool = False) -> VideoResult:
        """Join the chunks into the output; ValueError naming the chunks not done yet."""
        if self.scan is None:
            self.prepare()
        done = self.done()
        missing = [c.index for c in self.scan.chunks if c.index not in done]
        if missing:
            raise ValueError(f"{self.target.name}: chunks {_ranges(missing)} of "
                             f"{len(self.scan.chunks)} are not done; run them before the stitch")
        files = [self.chunk_path(c.index) for c in self.scan.chunks]
        with open_input(self.source) as src:
            packets = stitch(src, self.source.name, self.target, files, self.plan, self.scan)
            audio = sum(n for index, n in packets.items() if src.streams[index].type == "audio")
        records = [done[c.index] for c in self.scan.chunks]
        if not keep_work:
            shutil.rmtree(self.work, ignore_errors=True)
        return VideoResult(sum(r["frames"] for r in records), len(self.scan.shot_starts),
                           self.plan.width, self.plan.height, audio,
                           corrupt_packets=self.scan.corrupt, expected_frames=self.scan.expected,
                           guard_events=sum(r["guard_events"] for r in records), plan=self.plan,
                           copied_packets=packets)


def _write_atomic(path: Path, data: bytes) -> None:
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def _ranges(indexes: list[int]) -> str:
    """[0, 1, 2, 5] → "0-2, 5"."""
    parts, start = [], None
    for i, value in enumerate(indexes):
        if start is None:
            start = value
        if i + 1 == len(indexes) or indexes[i + 1] != value + 1:
            parts.append(str(start) if start == value else f"{start}-{value}")
            start = None
    return ", ".join(parts)
