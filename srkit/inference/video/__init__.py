"""Upscale video files frame by frame, keeping timing, picture geometry, colour and every other
stream, never damaging the input.

* Reading: anything PyAV/FFmpeg decodes. ``inspect_video`` reads what the stream declares (field
  order, SAR, colour matrix/primaries/transfer/range, bit depth, rotation, timecode, streams,
  chapters) and what the pictures show (FFmpeg's ``idet``, checked by a comb measure before it
  overrules a progressive flag, and the damage measures on
  ``IDET_FRAMES`` pictures with content, in stretches across a long video: its first seconds are
  often black, bars or a slate).
  ``plan_video`` turns that and the options into what the job will do (``VideoPlan``): the same
  table ``srkit probe`` prints.
* Pictures before the model (one FFmpeg filter graph per job): interlaced input is deinterlaced
  with ``bwdif`` (``deinterlace``: "auto", "off", "frame" keeps the frame rate, "field" doubles
  it); BT.601 colour is converted to BT.709 (matrix and primaries; the BT.601/709 camera curve,
  whatever BT.470 gamma it is tagged with, is kept) with the ``colorspace`` filter when the output
  is HD (height >= 720) unless ``keep_colour`` (``srkit.inference.colour``). Frames reach the model as RGB: uint8 for 8-bit input
  with nothing converted, else float from 16-bit RGB (10-bit input is never rounded to 8 bits).
* Pictures after the model: ``square_pixels`` resamples to square pixels, ``fit=(W, H)`` scales
  and pads to a delivery raster (``scale`` + ``pad``); otherwise the SAR is kept, so the display
  aspect is the input's. On 720-sample SD with an analogue SAR (ITU-R BT.601: 12:11 / 16:11 at
  625 lines, 10:11 / 40:33 at 525) the 704 active samples carry the display aspect and the 8 + 8
  samples beside them are cut when resampling; with the "digital" SARs (16:15, 64:45, 8:9, 32:27)
  all 720 carry it.
* Writing (``CODECS``): H.264 and HEVC (crf), ProRes 422 HQ and DNxHR HQX (10-bit 4:2:2, .mov /
  .mxf), FFV1 lossless RGB or 10-bit 4:2:2. ``available_codecs`` says which encoders this FFmpeg
  has. The output keeps the source timestamps, moved so that it starts at 0 (every stream by the
  same amount: ``VideoPlan.origin``; field mode: twice the rate), is tagged with the
  colour it holds, its SAR, its field order (progressive only when it is), rotation and start
  timecode. Every audio and subtitle stream is copied packet for packet with its language and
  title (text subtitles the container cannot hold, SRT in MOV/MP4, re-encoded as mov_text), and
  so are chapters, container metadata and (in Matroska) attachments; what the output container
  cannot hold is named in one warning line. An output that would play fewer frames than were
  written (hidden behind an MP4 edit list) is refused (``check_playable``).
* Kernel: the IKC loop runs once per shot (a cut detector on luma histograms of small thumbnails,
  plus a refresh every ``max_shot_frames``); frames of a shot reuse the code, so the IKC cost is paid
  per shot, not per frame.
* Safety: output == input is refused; output goes to a temporary file beside the final name and is
  renamed only when complete, so an interruption leaves nothing under the final name.
* Damaged input never ends a job silently. Each damaged packet gets one ``UserWarning`` that starts
  with the file name and gives the time ("clip.mp4: skipped an undecodable packet at 1.24 s (…)"),
  and counts once in ``VideoResult.corrupt_packets``; the output holds the surviving frames at
  their own timestamps. What counts as damage:

  - a packet the decoder rejects (``av.error.FFmpegError`` from ``packet.decode()``): skipped, as
    ffmpeg does;
  - errors FFmpeg only logs: an ERROR message of the demuxer or decoder (FFmpeg's log is
    captured while the job runs, with PyAV's log level raised to ERROR if it was lower and put
    back after), a packet the demuxer flags corrupt, a frame decoded with concealed errors
    (``frame.is_corrupt``): the frames are kept;
  - a video packet that silently gives no frame (no frame ever takes its timestamp), a frame the
    decoder releases out of order after damage, an audio or subtitle packet whose timestamp goes
    backwards (the last two are dropped: the muxer needs rising timestamps);
  - declared frames neither decoded nor accounted for above (one summary warning, "decoded 23 of
    30 frames; 7 are missing without any error (damaged data the demuxer skipped: 7 after
    0.44 s)"): always where the container indexes its frames (MP4/MOV, AVI); where the count is
    only duration × rate (Matroska, MPEG-TS, …) only beyond ``TRUNCATION_TOLERANCE`` and when
    the other frames are evenly spaced, since a variable-frame-rate stream falls short by design;
  - a read error of the demuxer: the input ends there (as ffmpeg treats it) and what is missing
    is judged like a truncated file.

  Truncation: when the demuxer stops more than ``TRUNCATION_TOLERANCE`` (2) frame durations before
  the end its container declares, ``PartialVideoError`` is raised once decoding ends (the end is
  only known there, so the frames before it have been upscaled by then), and nothing is left
  under the output name; with ``allow_partial=True`` (CLI ``--allow-partial``) the
  decoded frames are written and one warning says how many of how many. A Matroska file whose
  demuxer cannot get past damage reads the same way. Only containers that declare their length in
  a header or index can show truncation (MP4/MOV, Matroska/WebM, AVI, MXF, NUT, ASF): MPEG-TS/PS
  and Ogg lengths are read from the last timestamps present, so a cut .ts is just a shorter video.
  A file of which no frame decodes raises ``ValueError``.
* Guards (``srkit.inference.guard``): the kernel estimate of each shot and the output of each frame are
  checked as for images; one warning line per shot, "clip.mp4 shot 3 (frame 120): …", says what was
  done and in how many of its frames; ``VideoResult.guard_events`` counts the shots it acted on.

Modules, one job each: ``codecs`` (output codecs and containers), ``source`` (``inspect_video``),
``plan`` (``plan_video``), ``graphs`` (filter graphs around the model), ``mux`` (the output
container), ``integrity`` (damage and truncation), ``shots`` (cut detection), ``transcode``
(``upscale_video``: one pass); a resumable job in chunks: ``chunks`` (the plan step), ``stitch`` (a
chunk, the join), ``job`` (``VideoJob``: the work folder and its manifest), ``workers`` (worker
processes, Ray; ``upscale_video_job``), described in docs/VIDEO.md. Everything is importable
from ``srkit.inference.video``.
"""
from __future__ import annotations

# the colour tables are part of this package's interface (``srkit probe`` and tests read them here)
from srkit.inference.colour import (BT601_MATRICES, HD_HEIGHT, MATRICES, PRIMARIES,  # noqa: F401
                                    RANGES, SWS_MATRICES, TRANSFERS, colour_chain, colour_defaults,
                                    plan_colour)
from srkit.inference.video.codecs import (VIDEO_SUFFIXES, MUXERS, TEXT_SUBTITLES, CHAPTER_MUXERS,  # noqa: F401
                                          Codec, CODECS, DNXHR_MIN, INTERLACED_ENCODERS,
                                          STREAM_SAR_MUXERS, BITSTREAM_SAR_ENCODERS, _muxer_codecs,
                                          codec_support, available_codecs, codec_table)
from srkit.inference.video.integrity import (TRUNCATION_TOLERANCE, DECLARING_DEMUXERS,  # noqa: F401
                                             PartialVideoError, _demux, _Damage, declared_span,
                                             _parse_duration, check_playable)
from srkit.inference.video.source import (PULLDOWN_SHARE, PULLDOWN_MIN_FRAMES, PULLDOWN_RATES,  # noqa: F401
                                          IDET_FRAMES, IDET_MIN_HEIGHT, DAMAGE_FRAMES,
                                          SPREAD_MIN_FRAMES, SPREAD_STRETCHES, BLANK_RUN,
                                          STILL_DIFF, FIELD_ORDERS, StreamInfo, SourceInfo,
                                          require_file, open_input, _sar, _tag, inspect_video,
                                          _decodes, stretch_starts, picture_kind,
                                          _look_at_pictures, _read_tags, _idet_graph, _pull,
                                          COMB_BLOCK, COMB_RATIO, COMB_FLOOR,
                                          COMB_PROGRESSIVE_SHARE, comb_blocks)
from srkit.inference.video.plan import (DEFAULT_SCALE, DEINTERLACE_MODES, BWDIF_MIN, ANALOGUE_SARS, SD_WIDTH,  # noqa: F401
                                        VideoPlan, _parse_fit, _even, active_width, plan_video,
                                        _first_video, _ratio, ACTIVE_WIDTH)
from srkit.inference.video.graphs import (colorspace_for, _is_rgb, _Pictures, _Output,  # noqa: F401
                                          _tensor_to_frame)
from srkit.inference.video.mux import (add_video_stream, _MUXER_TAGS, _copy_tags, _copy_container,  # noqa: F401
                                       _convert_subtitle, _encoded, output_pts)
from srkit.inference.video.shots import (ShotDetector, _Shot)  # noqa: F401
from srkit.inference.video.transcode import (OnePass, VideoResult, check_paths, upscale_video,  # noqa: F401
                                             _transcode, _source_pts)
from srkit.inference.video.job import JobOptions, VideoJob  # noqa: F401
from srkit.inference.video.workers import ChunksFailed, upscale_video_job  # noqa: F401
