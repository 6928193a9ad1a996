"""Hostile and unusual image inputs: each is converted exactly or refused with a clear error.

Files are written into tmp_path with PIL, numpy and tifffile; 16-bit colour PNGs (which PIL
cannot write) and a non-sRGB ICC profile (no profile files ship offline) are built by hand below.
"""
import io
import re
import struct
import warnings
import zlib

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image, ImageCms, ImageOps

from srkit.imageio import check_tensor_image, is_gray_file, max_image_pixels, read_image, to_float_rgb
from srkit.imageio.deepread import orient


@pytest.fixture(autouse=True)
def _no_stray_warnings():
    """Reads that should be silent must not warn (tests that expect a warning catch it); other
    libraries' deprecation warnings are not this file's business."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("error", RuntimeWarning)  # includes PIL's DecompressionBombWarning
        yield


# --- helpers -----------------------------------------------------------------------------------


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _paeth(a, b, c):
    a, b, c = (x.astype(np.int16) for x in (a, b, c))
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c)).astype(np.uint8)


def write_png16(path, arr, *, icc: bytes | None = None, orientation: int | None = None):
    """Write a 16-bit gray / gray+alpha / RGB / RGBA PNG (PIL cannot), cycling through all five
    PNG row filters so that the reader's unfiltering of 6- and 8-byte pixels is exercised."""
    arr = np.asarray(arr, np.uint16)
    if arr.ndim == 2:
        arr = arr[..., None]
    h, w, c = arr.shape
    raw = np.ascontiguousarray(arr, ">u2").view(np.uint8).reshape(h, w * c * 2)
    bpp = 2 * c
    prev = np.zeros(w * c * 2, np.uint8)
    stream = bytearray()
    for y in range(h):
        row = raw[y]
        left = np.concatenate([np.zeros(bpp, np.uint8), row[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.uint8), prev[:-bpp]])
        f = y % 5
        pred = [np.zeros_like(row), left, prev, ((left.astype(np.uint16) + prev) // 2).astype(np.uint8),
                _paeth(left, prev, upleft)][f]
        stream.append(f)
        stream += (row - pred).astype(np.uint8).tobytes()
        prev = row
    chunks = _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, {1: 0, 2: 4, 3: 2, 4: 6}[c], 0, 0, 0))
    if icc is not None:
        chunks += _chunk(b"iCCP", b"test\0\0" + zlib.compress(icc))
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        chunks += _chunk(b"eXIf", exif.tobytes()[6:])  # PNG stores the TIFF block without "Exif\0\0"
    chunks += _chunk(b"IDAT", zlib.compress(bytes(stream))) + _chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)


def _s15(x):
    return struct.pack(">i", int(round(x * 65536)))


def _xyz(x, y, z):
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def make_linear_rgb_icc(description: str = "linear RGB (test)") -> bytes:
    """ICC v2 display profile with sRGB's primaries (D50-adapted) and a gamma 1.0 tone curve:
    linear light, so a stored 128 (0.502) is sRGB-encoded as 1.055 · 0.502^(1/2.4) − 0.055 → 188."""
    d = description.encode("ascii") + b"\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(d)) + d + struct.pack(">II", 0, 0) + b"\0\0\0" + bytes(67)
    curv = b"curv\0\0\0\0" + struct.pack(">IH", 1, 256) + b"\0\0"  # one entry: gamma 1.0 (u8Fixed8)
    tags = [(b"desc", desc), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", _xyz(0.4361, 0.2225, 0.0139)), (b"gXYZ", _xyz(0.3851, 0.7169, 0.0971)),
            (b"bXYZ", _xyz(0.1431, 0.0606, 0.7141)),
            (b"rTRC", curv), (b"gTRC", curv), (b"bTRC", curv), (b"cprt", b"text\0\0\0\0none\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        data += bytes(-(offset + len(data)) % 4)  # tag data is 4-byte aligned
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    header = (struct.pack(">I", 128 + len(body)) + b"lcms" + struct.pack(">I", 0x02100000)
              + b"mntrRGB XYZ " + bytes(12) + b"acsp" + bytes(28)
              + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + bytes(48))
    return header + body


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --- 1. float TIFF and PIL mode F --------------------------------------------------------------


def test_float_tiff_and_mode_f_keep_values_exactly(tmp_path):
    gray = np.array([[0.0, 0.25, 1.0], [0.123456, 0.5, 0.999]], np.float32)
    Image.fromarray(gray, mode="F").save(tmp_path / "f.tif")  # PIL mode F
    with Image.open(tmp_path / "f.tif") as im:
        assert im.mode == "F"
    out = read_image(tmp_path / "f.tif")
    assert out.shape == (2, 3, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, np.repeat(gray[..., None], 3, 2))  # bit-exact float32
    assert is_gray_file(tmp_path / "f.tif")

    rgb = np.stack([gray, 1 - gray, np.full_like(gray, 0.25)], -1)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")  # PIL cannot open float RGB
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(rgb, -1, 0), photometric="rgb",
                     planarconfig="separate")
    tifffile.imwrite(tmp_path / "f64.tif", gray.astype(np.float64))
    tifffile.imwrite(tmp_path / "f16.tif", np.full((2, 3), 0.25, np.float16))
    with pytest.raises(Exception):
        Image.open(tmp_path / "rgb.tif")  # why tifffile is needed
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.tif"), rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "planar.tif"), rgb)
    np.testing.assert_allclose(read_image(tmp_path / "f64.tif")[..., 1], gray, atol=1e-7)
    np.testing.assert_allclose(read_image(tmp_path / "f16.tif"), 0.25, atol=1e-6)
    assert not is_gray_file(tmp_path / "rgb.tif") and is_gray_file(tmp_path / "f64.tif")

    tifffile.imwrite(tmp_path / "tol.tif", np.array([[1.0005, -0.0005]], np.float32))
    np.testing.assert_array_equal(read_image(tmp_path / "tol.tif")[0, :, 0], [1.0, 0.0])  # clipped


def test_float_out_of_range_or_nan_refused_naming_file_and_range(tmp_path):
    Image.fromarray(np.array([[0.5, 1.5]], np.float32), mode="F").save(tmp_path / "bright.tif")
    with pytest.raises(ValueError, match=r"bright\.tif.*\[0, 1\].*range \[0\.5, 1\.5\]"):
        read_image(tmp_path / "bright.tif")
    tifffile.imwrite(tmp_path / "hdr.tif", np.full((2, 2, 3), 255.0, np.float32), photometric="rgb")
    with pytest.raises(ValueError, match=r"hdr\.tif.*range \[255, 255\].*divide 0-255 data by 255"):
        read_image(tmp_path / "hdr.tif")
    tifffile.imwrite(tmp_path / "neg.tif", np.array([[-0.5, 0.5]], np.float64))
    with pytest.raises(ValueError, match=r"neg\.tif.*range \[-0\.5, 0\.5\]"):
        read_image(tmp_path / "neg.tif")
    nan = np.zeros((2, 3), np.float32)
    nan[0, 0], nan[1, 2] = np.nan, np.inf
    Image.fromarray(nan, mode="F").save(tmp_path / "nan.tif")
    with pytest.raises(ValueError, match=r"nan\.tif.*2 NaN or inf values"):
        read_image(tmp_path / "nan.tif")


# --- 2. 16-bit and 32-bit integer ---------------------------------------------------------------


def test_16bit_gray_modes_scaled_by_65535(tmp_path):
    values = np.array([[0, 1, 32768], [65535, 257, 12345]], np.uint16)
    expected = np.repeat((values.astype(np.float64) / 65535)[..., None], 3, 2)
    for mode, suffix in [("I;16", "png"), ("I;16", "tif"), ("I;16B", "png"), ("I;16B", "tif"),
                         ("I;16L", "tif")]:
        im = Image.new(mode, (3, 2))
        im.frombytes(values.astype(">u2" if mode == "I;16B" else "<u2").tobytes())
        path = tmp_path / f"{mode.replace(';', '')}.{suffix}"
        im.save(path)
        with Image.open(path) as back:
            assert back.mode.startswith("I;16"), (mode, suffix, back.mode)
        out = read_image(path)
        np.testing.assert_allclose(out, expected, atol=1e-7, err_msg=f"{mode} {suffix}")
        assert out[0, 2, 0] == np.float32(32768 / 65535)


def test_16bit_colour_png_and_tiff_keep_all_16_bits(tmp_path):
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 65536, (13, 11, 4), dtype=np.uint16)
    rgba[0, 0, :3] = (32768, 1, 65535)
    write_png16(tmp_path / "rgb16.png", rgba[..., :3])
    write_png16(tmp_path / "rgba16.png", rgba)
    write_png16(tmp_path / "la16.png", rgba[..., [0, 3]])
    with Image.open(tmp_path / "rgb16.png") as im:  # what PIL alone would give: the high bytes
        assert im.mode == "RGB" and np.asarray(im)[0, 0].tolist() == [128, 0, 255]
    exp = rgba[..., :3].astype(np.float64) / 65535
    out = read_image(tmp_path / "rgb16.png")
    np.testing.assert_array_equal(out, exp.astype(np.float32))
    assert out[0, 0].tolist() == [np.float32(32768 / 65535), np.float32(1 / 65535), 1.0]
    np.testing.assert_array_equal(read_image(tmp_path / "rgba16.png"), exp.astype(np.float32))
    np.testing.assert_array_equal(read_image(tmp_path / "la16.png"),
                                  np.repeat(exp[..., :1], 3, 2).astype(np.float32))
    assert is_gray_file(tmp_path / "la16.png") and not is_gray_file(tmp_path / "rgba16.png")

    for name, kw in [("le.tif", {}), ("be.tif", {"byteorder": ">"}), ("zip.tif", {"compression": "zlib"})]:
        tifffile.imwrite(tmp_path / name, rgba[..., :3], photometric="rgb", **kw)
        np.testing.assert_array_equal(read_image(tmp_path / name), exp.astype(np.float32), err_msg=name)
    tifffile.imwrite(tmp_path / "rgba.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.tif"), exp.astype(np.float32))


def test_32bit_integer_mode_i_holds_16bit_data_or_is_refused(tmp_path):
    Image.fromarray(np.array([[0, 40000, 65535]], np.int32)).save(tmp_path / "i.tif")
    with Image.open(tmp_path / "i.tif") as im:
        assert im.mode == "I"
    np.testing.assert_allclose(read_image(tmp_path / "i.tif")[0, :, 0], [0, 40000 / 65535, 1], atol=1e-7)
    Image.fromarray(np.array([[-5, 70000]], np.int32)).save(tmp_path / "wide.tif")
    with pytest.raises(ValueError, match=r"wide\.tif.*\[-5, 70000\].*\[0, 65535\]"):
        read_image(tmp_path / "wide.tif")
    tifffile.imwrite(tmp_path / "u32.tif", np.full((2, 2, 3), 100000, np.uint32), photometric="rgb")
    with pytest.raises(ValueError, match=r"u32\.tif.*\[100000, 100000\].*\[0, 65535\]"):
        read_image(tmp_path / "u32.tif")


# --- 3. 1-bit ----------------------------------------------------------------------------------


def test_1bit_images_read_as_exact_zero_and_one(tmp_path):
    bits = np.array([[True, False, True], [False, False, True]])
    for suffix in ("png", "tif", "bmp"):
        Image.fromarray(bits).save(tmp_path / f"b.{suffix}")
        with Image.open(tmp_path / f"b.{suffix}") as im:
            assert im.mode == "1"
        out = read_image(tmp_path / f"b.{suffix}")
        np.testing.assert_array_equal(out, np.repeat(bits[..., None], 3, 2).astype(np.float32))
        assert set(np.unique(out)) == {0.0, 1.0}


# --- 4. EXIF orientation ------------------------------------------------------------------------


def _quadrants(h=32, w=48):
    """H×W RGB with a red top-left, green top-right, blue bottom-left and white bottom-right."""
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2, : w // 2] = (255, 0, 0)
    a[: h // 2, w // 2:] = (0, 255, 0)
    a[h // 2:, : w // 2] = (0, 0, 255)
    a[h // 2:, w // 2:] = 255
    return a


def _save_with_orientation(a, path, orientation, **kw):
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.save(path, exif=exif.tobytes(), **kw)


def test_exif_orientation_is_applied(tmp_path):
    a = _quadrants()
    # 6: the camera was turned clockwise; displaying rotates 90° clockwise, so the stored top-left
    # (red) lands top-right and the stored 32×48 becomes 48×32.
    _save_with_orientation(a, tmp_path / "o6.png", 6)
    out = read_image(tmp_path / "o6.png")
    assert out.shape == (48, 32, 3)
    np.testing.assert_array_equal(out[0, -1], [1, 0, 0])   # red top-right
    np.testing.assert_array_equal(out[0, 0], [0, 0, 1])    # blue top-left
    np.testing.assert_array_equal(out[-1, -1], [0, 1, 0])  # green bottom-right
    # 8 (JPEG, lossy: compare within the quantisation error): stored top-left lands bottom-left.
    _save_with_orientation(a, tmp_path / "o8.jpg", 8, quality=95)
    out = read_image(tmp_path / "o8.jpg")
    assert out.shape == (48, 32, 3)
    np.testing.assert_allclose(out[-2, 1], [1, 0, 0], atol=0.05)   # red bottom-left
    np.testing.assert_allclose(out[1, 1], [0, 1, 0], atol=0.05)    # green top-left
    np.testing.assert_allclose(out[1, -2], [1, 1, 1], atol=0.05)   # white top-right
    np.testing.assert_allclose(out[-2, -2], [0, 0, 1], atol=0.05)  # blue bottom-right

    # files decoded outside PIL's exif_transpose: 16-bit PNG and tifffile's float RGB TIFF
    v = np.zeros((4, 6, 3), np.uint16)
    v[0, 0] = (65535, 0, 0)
    write_png16(tmp_path / "o6_16.png", v, orientation=6)
    out = read_image(tmp_path / "o6_16.png")
    assert out.shape == (6, 4, 3) and out[0, -1].tolist() == [1, 0, 0] and out.sum() == 1
    tifffile.imwrite(tmp_path / "o8.tif", v.astype(np.float32) / 65535, photometric="rgb",
                     extratags=[(274, "H", 1, 8, True)])
    out = read_image(tmp_path / "o8.tif")
    assert out.shape == (6, 4, 3) and out[-1, 0].tolist() == [1, 0, 0] and out.sum() == 1


def test_numpy_orientation_matches_pil_for_all_eight(tmp_path):
    a = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    for o in range(1, 9):
        _save_with_orientation(a, tmp_path / f"{o}.png", o)
        with Image.open(tmp_path / f"{o}.png") as im:
            ref = np.asarray(ImageOps.exif_transpose(im))
        np.testing.assert_array_equal(orient(a, o), ref, err_msg=f"orientation {o}")
        np.testing.assert_array_equal(read_image(tmp_path / f"{o}.png"), ref / np.float32(255))


# --- 5. ICC profiles ---------------------------------------------------------------------------


def test_non_srgb_icc_profile_is_converted_and_srgb_left_alone(tmp_path):
    a = np.full((4, 4, 3), 128, np.uint8)
    a[0, 0] = (255, 0, 0)
    Image.fromarray(a).save(tmp_path / "linear.png", icc_profile=make_linear_rgb_icc())
    out = np.round(read_image(tmp_path / "linear.png") * 255)
    np.testing.assert_allclose(out[1, 1], [188, 188, 188], atol=1)  # linear 0.502 → sRGB 188
    np.testing.assert_array_equal(out[0, 0], [255, 0, 0])          # same primaries: red stays red
    flat = np.full((8, 8, 3), 128, np.uint8)  # JPEG: flat, so compression keeps 128
    Image.fromarray(flat).save(tmp_path / "linear.jpg", icc_profile=make_linear_rgb_icc(), quality=100)
    np.testing.assert_allclose(read_image(tmp_path / "linear.jpg") * 255, 188, atol=1.5)
    # a gray (L) image with an RGB profile cannot be converted: warned, pixels unchanged
    Image.fromarray(a[..., 0]).save(tmp_path / "gray_rgbprofile.png", icc_profile=make_linear_rgb_icc())
    with pytest.warns(UserWarning, match=r"gray_rgbprofile\.png.*ICC profile.*ignored"):
        out = read_image(tmp_path / "gray_rgbprofile.png")
    np.testing.assert_array_equal(out[1, 1], [128 / np.float32(255)] * 3)

    rng = np.random.default_rng(2)
    b = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(b).save(tmp_path / "srgb.png", icc_profile=_srgb_icc())
    Image.fromarray(b).save(tmp_path / "plain.png")
    np.testing.assert_array_equal(read_image(tmp_path / "srgb.png"), read_image(tmp_path / "plain.png"))
    np.testing.assert_array_equal(np.round(read_image(tmp_path / "srgb.png") * 255), b)


def test_unusable_icc_profiles_warn_naming_the_file(tmp_path):
    a = np.full((4, 4, 3), 100, np.uint8)
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    Image.fromarray(a).save(tmp_path / "lab_profile.png", icc_profile=lab)
    with pytest.warns(UserWarning, match=r"lab_profile\.png.*ICC profile cannot be converted.*ignored"):
        out = read_image(tmp_path / "lab_profile.png")
    np.testing.assert_array_equal(out, np.full((4, 4, 3), 100 / np.float32(255)))
    Image.fromarray(a).save(tmp_path / "corrupt_profile.png", icc_profile=b"not a profile" * 20)
    with pytest.warns(UserWarning, match=r"corrupt_profile\.png.*ignored"):
        read_image(tmp_path / "corrupt_profile.png")
    # 16-bit and float data are not rounded to 8 bits for ImageCms: the profile is ignored
    write_png16(tmp_path / "p16.png", np.full((3, 3, 3), 32768), icc=make_linear_rgb_icc())
    with pytest.warns(UserWarning,
                      match=r"p16\.png.*'linear RGB \(test\)' is not sRGB.*ignored.*16-bit pixels"):
        out = read_image(tmp_path / "p16.png")
    np.testing.assert_array_equal(out, np.float32(32768 / 65535))
    write_png16(tmp_path / "p16_srgb.png", np.full((3, 3, 3), 32768), icc=_srgb_icc())
    np.testing.assert_array_equal(read_image(tmp_path / "p16_srgb.png"), np.float32(32768 / 65535))
    tifffile.imwrite(tmp_path / "float_icc.tif", np.full((2, 2, 3), 0.5, np.float32), photometric="rgb",
                     iccprofile=make_linear_rgb_icc())
    with pytest.warns(UserWarning, match=r"float_icc\.tif.*not sRGB.*ignored.*float32 pixels"):
        np.testing.assert_array_equal(read_image(tmp_path / "float_icc.tif"), 0.5)


# --- 6. decompression bombs ---------------------------------------------------------------------


def test_decompression_bomb_refused_with_one_readable_sentence(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(path)  # 4,096 pixels
    monkeypatch.delenv("SRKIT_MAX_PIXELS", raising=False)

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # > 2× the limit: PIL raises itself
    with pytest.raises(ValueError) as err:
        read_image(path)
    msg = str(err.value)
    assert re.fullmatch(r"[^.]*big\.png has 4,096 pixels, more than the limit of 1,000 pixels, so it "
                        r"was refused as a possible decompression bomb; if you trust this file, raise "
                        r"the limit with the environment variable SRKIT_MAX_PIXELS \(e\.g\. "
                        r"SRKIT_MAX_PIXELS=4096, or 0 for no limit\)\.", msg), msg

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)  # between 1× and 2×: PIL only warns
    with pytest.warns(Image.DecompressionBombWarning), \
            pytest.raises(ValueError, match=r"big\.png has 4,096 pixels \(64×64\).*limit of 3,000"):
        read_image(path)

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    monkeypatch.setenv("SRKIT_MAX_PIXELS", "5000")  # the user trusts bigger files
    assert max_image_pixels() == 5000
    assert read_image(path).shape == (64, 64, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000  # PIL's limit restored
    monkeypatch.setenv("SRKIT_MAX_PIXELS", "0")
    assert max_image_pixels() is None and read_image(path).shape == (64, 64, 3)

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    monkeypatch.setenv("SRKIT_MAX_PIXELS", "4095")  # lower than PIL's: srkit's own check
    with pytest.raises(ValueError, match=r"big\.png has 4,096 pixels \(64×64\), more than the limit of "
                                         r"4,095 pixels.*SRKIT_MAX_PIXELS"):
        read_image(path)
    tifffile.imwrite(tmp_path / "big.tif", np.zeros((64, 64, 3), np.float32), photometric="rgb")
    with pytest.raises(ValueError, match=r"big\.tif has 4,096 pixels \(64×64\).*4,095"):
        read_image(tmp_path / "big.tif")  # the tifffile path checks before decoding
    monkeypatch.setenv("SRKIT_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match=r"SRKIT_MAX_PIXELS='lots'.*integer"):
        read_image(path)


# --- 7. tensor checker ---------------------------------------------------------------------------


def test_check_tensor_image_names_the_problem_and_value():
    check_tensor_image(torch.rand(3, 4, 5))
    check_tensor_image(torch.rand(2, 3, 4, 5, dtype=torch.float64))
    check_tensor_image(torch.rand(1, 3, 4, 5).half())
    check_tensor_image(torch.full((1, 3, 2, 2), 1.0005))  # within the 1e-3 tolerance
    check_tensor_image(torch.full((3, 2, 2), 255, dtype=torch.uint8))  # uint8: no range check

    with pytest.raises(ValueError, match=r"lr: expected a 3×H×W or N×3×H×W tensor, "
                                         r"got 2-D shape \(4, 5\)"):
        check_tensor_image(torch.rand(4, 5), "lr")
    with pytest.raises(ValueError, match=r"got 1 in shape \(1, 1, 4, 4\).*t\.expand\(-1, 3, -1, -1\)"):
        check_tensor_image(torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"5-D shape \(1, 1, 3, 4, 5\)"):
        check_tensor_image(torch.rand(1, 1, 3, 4, 5))
    with pytest.raises(ValueError, match=r"3 channels.*got 4 in shape \(1, 4, 8, 8\)"):
        check_tensor_image(torch.rand(1, 4, 8, 8))
    with pytest.raises(ValueError, match=r"got 8 in shape \(8, 8, 3\).*H×W×C.*permute\(2, 0, 1\)"):
        check_tensor_image(torch.rand(8, 8, 3))
    with pytest.raises(ValueError, match=r"\(1, 8, 8, 3\).*H×W×C.*permute\(0, 3, 1, 2\)"):
        check_tensor_image(torch.rand(1, 8, 8, 3))
    with pytest.raises(ValueError, match=r"empty tensor of shape \(1, 3, 0, 5\)"):
        check_tensor_image(torch.rand(1, 3, 0, 5))
    with pytest.raises(ValueError, match=r"empty tensor of shape \(0, 3, 4, 5\)"):
        check_tensor_image(torch.rand(0, 3, 4, 5))
    with pytest.raises(ValueError, match=r"unsupported dtype torch\.int64"):
        check_tensor_image(torch.zeros(3, 4, 5, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"unsupported dtype torch\.bool"):
        check_tensor_image(torch.zeros(3, 4, 5, dtype=torch.bool))
    t = torch.rand(1, 3, 4, 5)
    t[0, 0, 0, 0], t[0, 1, 2, 3], t[0, 2, 1, 1] = float("nan"), float("inf"), float("-inf")
    with pytest.raises(ValueError, match=r"img: contains 3 NaN or inf values \(of 60\)"):
        check_tensor_image(t, "img")
    with pytest.raises(ValueError, match=r"range \[0, 255\].*divide 0-255 data by 255"):
        check_tensor_image(torch.tensor([0.0, 128.0, 255.0]).view(3, 1, 1))
    with pytest.raises(ValueError, match=r"range \[-0\.5, 0\.5\]"):
        check_tensor_image(torch.tensor([-0.5, 0.0, 0.5]).view(1, 3, 1, 1))
    with pytest.raises(TypeError, match="ndarray"):
        check_tensor_image(np.zeros((3, 4, 5), np.float32))


# --- 8. numpy API ----------------------------------------------------------------------------


def test_to_float_rgb_refuses_empty_and_wide_ints_and_converts_bool_exactly():
    with pytest.raises(ValueError, match=r"img: empty image of shape \(0, 5, 3\)"):
        to_float_rgb(np.zeros((0, 5, 3), np.uint8), "img")
    with pytest.raises(ValueError, match=r"empty image of shape \(4, 0\)"):
        to_float_rgb(np.zeros((4, 0), np.float32))
    for dtype in (np.int32, np.int64):
        with pytest.raises(ValueError, match=rf"unsupported dtype {np.dtype(dtype)} "
                                             r"\(values in \[0, 200\]\).*astype\(np\.uint8\)"
                                             r".*astype\(np\.uint16\)"):
            to_float_rgb(np.array([[0, 200]], dtype))
    bits = np.array([[True, False]])
    np.testing.assert_array_equal(to_float_rgb(bits), [[[1, 1, 1], [0, 0, 0]]])
    assert to_float_rgb(bits).dtype == np.float32
    big_endian = np.array([[32768]], ">u2")
    assert to_float_rgb(big_endian)[0, 0, 0] == np.float32(32768 / 65535)
    with pytest.raises(ValueError, match=r"contains 1 NaN or inf values \(of 3\)"):
        to_float_rgb(np.array([[0.0, np.nan, 1.0]]))


def test_plain_8bit_files_unchanged(tmp_path):
    """The new paths leave ordinary files alone (exact /255, no warnings)."""
    a = np.random.default_rng(3).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    for suffix in ("png", "tif", "bmp", "ppm"):
        Image.fromarray(a).save(tmp_path / f"a.{suffix}")
        np.testing.assert_array_equal(read_image(tmp_path / f"a.{suffix}"), a / np.float32(255))
    tifffile.imwrite(tmp_path / "t.tif", a, photometric="rgb")
    np.testing.assert_array_equal(read_image(tmp_path / "t.tif"), a / np.float32(255))
    buf = io.BytesIO()
    Image.fromarray(a[..., 0]).save(buf, format="PNG")
    (tmp_path / "g.png").write_bytes(buf.getvalue())
    np.testing.assert_array_equal(read_image(tmp_path / "g.png")[..., 2], a[..., 0] / np.float32(255))


# --- PPM deeper than 8 bits ------------------------------------------------------------------


@pytest.mark.parametrize("maxval", [65535, 1023, 300])
def test_deep_colour_ppm_keeps_its_precision(maxval, tmp_path):
    """PIL decodes colour PPM with maxval > 255 to 8 bits (gray PGM it reads exactly)."""
    values = np.random.default_rng(maxval).integers(0, maxval + 1, (5, 7, 3)).astype(np.uint16)
    binary = tmp_path / "binary.ppm"
    binary.write_bytes(f"P6\n# a comment\n7 5\n{maxval}\n".encode() + values.astype(">u2").tobytes())
    plain = tmp_path / "plain.ppm"
    plain.write_text(f"P3\n7 5\n{maxval}\n" + " ".join(map(str, values.ravel())) + "\n")
    for path in (binary, plain):
        np.testing.assert_allclose(read_image(path), values / maxval, atol=1e-7)


def test_truncated_deep_ppm_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "short.ppm"
    path.write_bytes(b"P6\n7 5\n65535\n" + b"\0" * 100)
    with pytest.raises(ValueError, match=re.escape(f"cannot read image {path}: 50 of the 105 samples of a "
                                                   "7×5 PPM (truncated?)")):
        read_image(path)
