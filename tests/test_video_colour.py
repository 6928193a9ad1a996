"""RGB ↔ YUV conversions through PyAV keep the mean level: no darkening on decode or in MPEG-2."""
import numpy as np
import pytest
import torch

av = pytest.importorskip("av", reason="PyAV missing: pip install av")


def _picture():
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[:128, :128])


def test_yuv420p_round_trip_is_unbiased():
    from srkit.imageio import sws_exact
    img = _picture()
    yuv = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p", interpolation=sws_exact())
    back = yuv.to_ndarray(format="rgb24", interpolation=sws_exact()).astype(np.float64)
    assert abs((back - img).mean()) < 0.05
    default = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p").to_ndarray(format="rgb24")
    assert (default.astype(np.float64) - img).mean() < -0.8  # the bias the flags remove


@pytest.mark.parametrize("y, rgb", [(16, 0), (100, 98), (235, 255)])  # (Y − 16)·255/219, rounded
def test_flat_grey_decodes_to_the_rounded_level(y, rgb):
    from srkit.imageio import sws_exact
    plane = np.full((96, 64), 128, np.uint8)
    plane[:64] = y
    frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
    assert (frame.to_ndarray(format="rgb24", interpolation=sws_exact()) == rgb).all()


def test_mpeg2_degradation_keeps_the_mean_level():
    from srkit.degrade import mpeg2
    x = torch.from_numpy(_picture()).permute(2, 0, 1)[None].float() / 255
    y = mpeg2(x, torch.tensor([2]))
    assert abs(float((y - x).mean()) * 255) < 0.2
