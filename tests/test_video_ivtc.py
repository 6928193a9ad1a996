"""3:2 pulldown: found by idet's repeated fields, undone by inverse telecine (``deinterlace='ivtc'``,
chosen by ``auto``), every film frame back once, in order, at 24000/1001 fps."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

av = pytest.importorskip("av")

from srkit.data.samples import sample_image  # noqa: E402
from srkit.inference.video import inspect_video, plan_video, upscale_video  # noqa: E402

W, H, FILM_FRAMES = 720, 480, 32


def _film(i: int, base: np.ndarray) -> np.ndarray:
    """Film frame i: a pan across the photo, with a white bar moving across it."""
    frame = base[:, 4 * i: 4 * i + W].copy()
    x = (i * 9) % (W - 20)
    frame[:, x:x + 20] = 255
    return np.ascontiguousarray(frame)


@pytest.fixture(scope="module")
def telecined(tmp_path_factory):
    """(MPEG-2 file, film frames): 24000/1001 fps film through FFmpeg's telecine (3:2, top field
    first), coded interlaced at 30000/1001 fps."""
    from PIL import Image
    base = np.asarray(Image.fromarray(sample_image("scene")).resize((W + 4 * FILM_FRAMES, H)))
    film = [_film(i, base) for i in range(FILM_FRAMES)]
    path = tmp_path_factory.mktemp("ivtc") / "telecined.mpg"
    graph = av.filter.Graph()
    node = graph.add("buffer", f"video_size={W}x{H}:pix_fmt=yuv420p:time_base=1001/24000:"
                               "pixel_aspect=8/9:frame_rate=24000/1001")
    for name, args in (("telecine", "first_field=top:pattern=23"), ("setfield", "tff"), ("buffersink", None)):
        nxt = graph.add(name, args) if args else graph.add(name)
        node.link_to(nxt)
        node = nxt
    graph.configure()
    with av.open(str(path), "w", format="vob") as container:
        stream = container.add_stream("mpeg2video", rate=Fraction(30000, 1001))
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.field_order = 2  # AV_FIELD_TT
        stream.options = {"b": "8000000", "maxrate": "8000000", "bufsize": "4000000", "flags": "+ilme+ildct"}
        count = 0

        def drain():
            nonlocal count
            while True:
                try:
                    frame = graph.pull()
                except (av.BlockingIOError, av.EOFError):
                    return
                frame.pts, frame.time_base = count, Fraction(1001, 30000)
                count += 1
                container.mux(stream.encode(frame))

        for i, picture in enumerate(film):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1001, 24000)
            graph.push(frame)
            drain()
        graph.push(None)
        drain()
        container.mux(stream.encode(None))
    return path, film


def test_pulldown_is_found_and_undone_by_auto(telecined, tmp_path):
    path, _ = telecined
    info = inspect_video(path)
    assert info.pulldown and info.idet["repeated"] >= 0.3 * info.idet["frames"]
    plan = plan_video(info, tmp_path / "out.mkv", codec="ffv1", scale=2)
    assert plan.deinterlace == "ivtc" and plan.rate == Fraction(24000, 1001) and plan.progressive
    assert any("3:2 pulldown" in note for note in plan.notes)
    assert plan_video(info, tmp_path / "out.mkv", codec="ffv1", scale=2, deinterlace="frame").deinterlace == "frame"


def test_ivtc_gives_back_every_film_frame_once_in_order(telecined, tmp_path):
    import torch.nn.functional as F
    from PIL import Image
    path, film = telecined

    def nearest(x):  # a ×2 "model" that adds nothing: the frames are what the filters made
        return F.interpolate(x, scale_factor=2, mode="nearest")

    out = tmp_path / "film.mkv"
    upscale_video(path, out, nearest, scale=2, codec="ffv1", progress=False)
    matched, quality = [], []
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == Fraction(24000, 1001)
        for frame in container.decode(stream):
            picture = np.asarray(Image.fromarray(frame.to_ndarray(format="rgb24"))
                                 .resize((W, H), Image.NEAREST)).astype(float)
            psnr = [10 * np.log10(255 ** 2 / np.mean((picture - f) ** 2)) for f in film]
            matched.append(int(np.argmax(psnr)))
            quality.append(max(psnr))
    # every film frame once, in order; the rest of the difference is MPEG-2 at 8 Mb/s
    assert matched == list(range(FILM_FRAMES)), matched
    assert min(quality) > 30


def test_woven_video_and_progressive_pictures_are_not_pulldown(tmp_path):
    from srkit.data.archive_clip import make_archive_clip
    clip = make_archive_clip(tmp_path / "woven.mpg", frames=24)
    info = inspect_video(clip.path)
    # every field moves (a pan per field): no field repeats the frame before's
    assert info.picture_order == "tff" and info.idet["repeated"] <= 0.1 * info.idet["frames"]
    assert not info.pulldown
