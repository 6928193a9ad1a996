"""The swscale flags of every RGB ↔ YUV conversion srkit asks PyAV for (:func:`sws_exact`)."""
from __future__ import annotations

import functools


@functools.cache  # one value, asked for on every frame
def sws_exact():
    """The swscale flags of every RGB ↔ YUV conversion srkit asks PyAV for (``reformat`` and
    ``to_ndarray``'s ``interpolation``): bicubic, accurate rounding, full chroma interpolation.

    Why not the default: swscale's default RGB ↔ YUV path rounds down, so a yuv420p → rgb24 decode
    darkens a picture by about 1.2 levels on average (astronaut, BT.601: mean RGB error −1.26 for
    the round trip; Y = 100 decodes to 97 where 97.81 is exact), and every frame srkit reads from
    a video or passes through its MPEG-2 degradation would carry that bias. With these flags the
    round trip's mean error is +0.005 and its mean absolute error 1.08 (was 1.79); tested in
    tests/test_video_colour.py.
    """
    from av.video.reformatter import Interpolation
    return Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
