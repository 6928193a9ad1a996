"""Reading and writing images under srkit's conventions (float32 RGB in [0, 1]).

Every input is either converted exactly or refused with an error that names the file (or the
array / tensor) and the shape or value at fault:

* 8-bit files (gray, gray+alpha, RGB, RGBA, palette, CMYK, ...) are divided by 255.
* 16-bit files (PIL modes I;16 / I;16B / I;16L, 16-bit gray, gray+alpha, RGB and RGBA PNG,
  16-bit RGB TIFF) keep all 16 bits and are divided by 65535. PIL decodes 16-bit colour PNG and
  TIFF to 8 bits, so those are decoded here (PNG) or by ``tifffile`` (TIFF) instead.
* 32-bit integer files (PIL mode I) must hold 16-bit data, in [0, 65535]; they are divided by
  65535.
* Float files (PIL mode F, float16/32/64 gray or RGB TIFF) must hold finite values in [0, 1]
  (within 1e-3, which is clipped) and keep their values exactly.
* 1-bit files map 0 → 0.0 and 1 → 1.0.
* Only the first page of a multi-page file is read, with a ``UserWarning`` naming the file.
* Alpha is dropped (:func:`read_alpha` reads it on its own); EXIF orientation is applied; an
  embedded ICC profile other than sRGB is converted to sRGB (8-bit images) or ignored with a
  ``UserWarning`` naming the file.
* Images with more pixels than :func:`max_image_pixels` (PIL's ``MAX_IMAGE_PIXELS``, 89,478,485
  by default, or the environment variable ``SRKIT_MAX_PIXELS``) are refused as possible
  decompression bombs.

Writes are atomic.

This package's public names are imported from here (``from srkit.imageio import read_image``);
each lives in the submodule of its concern, which imports its siblings directly, never this file:

* ``read``: image files → arrays (:func:`read_image`, :func:`read_image_bits`, :func:`read_alpha`,
  :func:`is_gray_file`, :func:`list_images`)
* ``deepread`` / ``deepwrite``: the files PIL reads short or cannot write (16-bit colour PNG,
  deep PPM, 16-bit and float TIFF)
* ``pil``: the pixels of a PIL image of any mode (:func:`pil_pixels`), ``icc``: ICC profiles → sRGB
* ``limits``: the largest image read (:func:`max_image_pixels`)
* ``convert``: arrays and tensors (:func:`to_float_rgb`, :func:`to_uint8`, :func:`as_tensor`,
  :func:`check_tensor_image`, :func:`modcrop`)
* ``write``: :func:`write_image` at the precision the format holds; ``atomic``: atomic writes
  (:func:`atomic_path`), their temporary names and leftovers
* ``swscale``: the RGB ↔ YUV conversion flags of every video frame (:func:`sws_exact`)
"""
from srkit.imageio.atomic import (TEMPORARY_TOKEN_BYTES, atomic_path, leftover_parts, temporary_files,
                                  temporary_name, temporary_name_extra)
from srkit.imageio.convert import as_tensor, check_tensor_image, modcrop, to_float_rgb, to_uint8
from srkit.imageio.limits import MAX_PIXELS_ENV, max_image_pixels
from srkit.imageio.pil import PIL_MODES, pil_alpha, pil_pixels
from srkit.imageio.read import (IMAGE_SUFFIXES, is_gray_file, list_images, read_alpha, read_image,
                                read_image_bits, read_image_uint8)
from srkit.imageio.swscale import sws_exact
from srkit.imageio.write import ALPHA_FORMATS, FORMAT_BITS, format_bits, holds_alpha, write_image

__all__ = ["ALPHA_FORMATS", "FORMAT_BITS", "IMAGE_SUFFIXES", "MAX_PIXELS_ENV", "PIL_MODES",
           "TEMPORARY_TOKEN_BYTES", "as_tensor", "atomic_path", "check_tensor_image", "format_bits",
           "holds_alpha", "is_gray_file", "leftover_parts", "list_images", "max_image_pixels", "modcrop",
           "pil_alpha", "pil_pixels", "read_alpha", "read_image", "read_image_bits", "read_image_uint8",
           "sws_exact", "temporary_files", "temporary_name", "temporary_name_extra", "to_float_rgb",
           "to_uint8", "write_image"]
