import numpy as np
import pytest
from PIL import Image

from srkit.imageio import is_gray_file, modcrop, read_image, to_float_rgb, write_image


def test_converts_gray_rgba_16bit_and_palette(tmp_path):
    rng = np.random.default_rng(0)
    rgb = (rng.random((9, 7, 3)) * 255).astype(np.uint8)
    cases = {
        "gray.png": Image.fromarray(rgb[..., 0]),
        "rgba.png": Image.fromarray(np.dstack([rgb, np.full((9, 7), 128, np.uint8)])),
        "pal.png": Image.fromarray(rgb).convert("P"),
        "g16.png": Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)),
        "la.png": Image.fromarray(rgb[..., 0]).convert("LA"),
    }
    for name, im in cases.items():
        im.save(tmp_path / name)
        out = read_image(tmp_path / name)
        assert out.shape == (9, 7, 3) and out.dtype == np.float32, name
        assert 0 <= out.min() and out.max() <= 1, name
    np.testing.assert_allclose(read_image(tmp_path / "rgba.png"), rgb / 255, atol=1e-6)
    np.testing.assert_allclose(read_image(tmp_path / "g16.png")[..., 0], rgb[..., 0] / 255, atol=1e-6)
    assert is_gray_file(tmp_path / "gray.png") and not is_gray_file(tmp_path / "rgba.png")


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_image(tmp_path / "nope.png")
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match="corrupt.png"):
        read_image(bad)


def test_array_conversion_errors():
    with pytest.raises(ValueError, match="NaN"):
        to_float_rgb(np.full((4, 4, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="range"):
        to_float_rgb(np.full((4, 4, 3), 200.0, np.float32))
    with pytest.raises(ValueError, match="dtype"):
        to_float_rgb(np.zeros((4, 4, 3), np.int32))
    with pytest.raises(ValueError, match="channel-first"):
        to_float_rgb(np.zeros((3, 16, 16), np.float32))
    with pytest.raises(ValueError, match="smaller than the scale"):
        modcrop(np.zeros((3, 3, 3)), 4)
    assert modcrop(np.zeros((481, 321, 3)), 4).shape == (480, 320, 3)


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    write_image(path, np.zeros((4, 4, 3), np.uint8))
    good = path.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError):
        write_image(path, np.ones((4, 4, 3), np.uint8))
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temp file left behind


def test_atomic_path_leaves_nothing_when_a_signal_lands_as_the_temporary_file_is_made(tmp_path, monkeypatch):
    """Ctrl-C delivered the instant the temporary file has been created (before the call that
    creates it returns): the file is removed. atomic_path records the name before creating the
    file, so no moment exists where the file is there and the cleanup does not know it (blocking
    the signals instead only held them back from the main thread: another thread could take one)."""
    import os
    import signal

    from srkit.imageio import atomic_path
    real = os.open

    def open_then_interrupted(file, flags, *args, **kwargs):
        made = real(file, flags, *args, **kwargs)
        if str(file).endswith(".part.png"):
            os.kill(os.getpid(), signal.SIGINT)  # Python raises it at once, in the main thread
        return made

    # Python's own Ctrl-C handler, also where the test runner was started with SIGINT ignored
    # (a background job of a non-interactive shell).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for _ in range(20):
            monkeypatch.setattr(os, "open", open_then_interrupted)
            try:
                with pytest.raises(KeyboardInterrupt):
                    with atomic_path(tmp_path / "out.png") as tmp:
                        tmp.write_bytes(b"x")
            finally:
                monkeypatch.setattr(os, "open", real)
            assert list(tmp_path.iterdir()) == []
    finally:
        signal.signal(signal.SIGINT, previous)
