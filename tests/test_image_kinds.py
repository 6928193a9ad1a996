"""What kind of picture goes in comes out: black-and-white stays black-and-white, transparency is
carried (or its loss named), and a multi-page file says that only its first page is read."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from srkit.cli import main
from srkit.data.samples import sample_image
from srkit.imageio import read_alpha, read_image
from srkit.resize import imresize_np


@pytest.fixture(scope="module")
def photo():
    return sample_image("scene", multiple=8)[:64, :80]  # 64×80 RGB photograph


def _run(*args) -> int:
    return main(["upscale", *map(str, args), "--weights", "x2", "--device", "cpu", "--quiet"])


def test_grey_input_gives_grey_output_and_colour_keeps_its_colour(photo):
    """The bundled x2 gives a grey picture false colour (up to 12 levels between channels at ×4 on
    a photo); the result of a grey LR has identical channels, a colour LR keeps its colour."""
    import srkit
    grey = np.repeat(np.asarray(Image.fromarray(photo).convert("L"))[..., None], 3, axis=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kernel-estimate notes on a small crop
        sr = srkit.upscale(grey, "x2", device="cpu")
        colour = srkit.upscale(photo, "x2", device="cpu")
    assert sr.shape == (128, 160, 3)
    assert np.array_equal(sr[..., 0], sr[..., 1]) and np.array_equal(sr[..., 1], sr[..., 2])
    assert np.abs(colour[..., 0].astype(int) - colour[..., 2]).mean() > 5


def test_grey_file_gives_a_one_channel_file_and_rgb_grey_stays_rgb(photo, tmp_path):
    grey = np.asarray(Image.fromarray(photo).convert("L"))
    Image.fromarray(grey).save(tmp_path / "bw.png")
    Image.fromarray(grey).convert("RGB").save(tmp_path / "bw_rgb.png")
    assert _run(tmp_path / "bw.png", "-o", tmp_path / "bw_x2.png") == 0
    assert _run(tmp_path / "bw_rgb.png", "-o", tmp_path / "bw_rgb_x2.png") == 0
    assert Image.open(tmp_path / "bw_x2.png").mode == "L"
    rgb = np.asarray(Image.open(tmp_path / "bw_rgb_x2.png"))
    assert rgb.shape == (128, 160, 3) and (rgb == rgb[..., :1]).all()
    assert np.array_equal(np.asarray(Image.open(tmp_path / "bw_x2.png")), rgb[..., 0])


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_upscaled_and_kept(photo, tmp_path, mode):
    alpha = np.tile(np.linspace(0, 255, photo.shape[1]).round().astype(np.uint8), (photo.shape[0], 1))
    picture = photo if mode == "RGBA" else np.asarray(Image.fromarray(photo).convert("L"))[..., None]
    Image.fromarray(np.dstack([picture, alpha]), mode).save(tmp_path / "logo.png")
    assert _run(tmp_path / "logo.png", "-o", tmp_path / "logo_x2.png") == 0
    out = Image.open(tmp_path / "logo_x2.png")
    assert out.mode == mode and out.size == (160, 128)
    assert np.array_equal(read_alpha(tmp_path / "logo_x2.png"), imresize_np(alpha, size=(128, 160)))
    # the colour is what the same picture without alpha gives
    Image.fromarray(picture[..., 0] if mode == "LA" else picture).save(tmp_path / "plain.png")
    assert _run(tmp_path / "plain.png", "-o", tmp_path / "plain_x2.png") == 0
    assert np.array_equal(read_image(tmp_path / "logo_x2.png"), read_image(tmp_path / "plain_x2.png"))


def test_alpha_a_format_cannot_hold_is_named_and_opaque_alpha_is_not_written(photo, tmp_path, capsys):
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:8] = 0
    Image.fromarray(np.dstack([photo, alpha])).save(tmp_path / "logo.png")
    assert main(["upscale", str(tmp_path / "logo.png"), "-o", str(tmp_path / "logo.jpg"), "--weights", "x2",
                 "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "logo.png: its transparency (alpha channel) cannot be stored in a .jpg file" in err
    assert Image.open(tmp_path / "logo.jpg").mode == "RGB"
    Image.fromarray(photo).convert("RGBA").save(tmp_path / "opaque.png")
    assert read_alpha(tmp_path / "opaque.png") is None
    assert _run(tmp_path / "opaque.png", "-o", tmp_path / "opaque_x2.png") == 0
    assert Image.open(tmp_path / "opaque_x2.png").mode == "RGB"


def test_a_multi_page_file_says_only_its_first_page_is_read(photo, tmp_path):
    pages = [Image.fromarray(np.roll(photo, 10 * i, axis=1)) for i in range(3)]
    pages[0].save(tmp_path / "scan.tif", save_all=True, append_images=pages[1:])
    with pytest.warns(UserWarning, match=r"scan.tif: holds 3 pages; only the first is read"):
        image = read_image(tmp_path / "scan.tif")
    assert np.array_equal((image * 255).round().astype(np.uint8), photo)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pages[0].save(tmp_path / "one.tif")
        read_image(tmp_path / "one.tif")  # one page: no warning


def _grey_clip(path, picture: np.ndarray, frames: int = 4) -> None:
    import av
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = picture.shape[1], picture.shape[0], "yuv420p"
        stream.options = {"crf": "12"}
        for i in range(frames):
            rgb = np.repeat(np.roll(picture, 2 * i, axis=1)[..., None], 3, axis=2)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _colour_spread(path) -> int:
    """Largest difference between two channels of any pixel of any frame (0 for black-and-white)."""
    import av
    with av.open(str(path)) as container:
        spread = 0
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24").astype(int)
            spread = max(spread, int(np.abs(rgb - rgb[..., 1:2]).max()))
    return spread


def test_black_and_white_video_stays_black_and_white(photo, tmp_path, monkeypatch):
    """Lossless output (FFV1, RGB) shows every level of false colour; h264 at crf 18 hides ±3."""
    pytest.importorskip("av")
    grey = np.asarray(Image.fromarray(photo).convert("L"))
    _grey_clip(tmp_path / "bw.mp4", grey)
    assert _colour_spread(tmp_path / "bw.mp4") == 0
    assert _run(tmp_path / "bw.mp4", "-o", tmp_path / "bw_x2.mkv", "--codec", "ffv1") == 0
    assert _colour_spread(tmp_path / "bw_x2.mkv") == 0
    # without the grey rule the network's false colour reaches the file
    from srkit.inference import guard
    monkeypatch.setattr(guard, "grey_images", lambda images: [False] * images.shape[0])
    assert _run(tmp_path / "bw.mp4", "-o", tmp_path / "bw_colour.mkv", "--codec", "ffv1") == 0
    assert _colour_spread(tmp_path / "bw_colour.mkv") > 2
