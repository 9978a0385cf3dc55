"""Loading and validating images for Molmo: anything image-like in, an RGB image out, or an ImageError.

Accepted sources: a path (``str`` / ``os.PathLike``), encoded bytes (PNG, JPEG, ...), a binary file
object, a ``PIL.Image.Image``, or a NumPy array (uint8, or floats in [0, 1]; ``[H, W]``,
``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]``).

What happens to unusual but valid images:

- the EXIF orientation is applied (a phone photo comes out the way it is shown);
- transparency (RGBA, LA, PA, palette or RGB/L with a transparent colour) is composited onto a
  white background; palette, grayscale, CMYK and YCbCr images are converted to RGB;
- 16-bit images (``I;16*``, ``I``) are scaled to 8 bits (``round(v / 257)``), not clipped;
- a 1x1 image is fine.

What is refused with :class:`~molmo_agent.model.errors.ImageError` (the message names the file
and the problem): missing, empty, truncated or non-image files, undecodable data, float (``F``)
images, arrays of the wrong shape or type, and images with more than ``max_pixels`` pixels. The
pixel limit is checked from the header, *before* the pixel data is decoded, so a small file that
claims to be 20000x20000 costs nothing.

Usage::

    from molmo_agent.model.image_io import load_image
    image = load_image("photo.jpg")                         # PIL.Image in mode "RGB"
    image = load_image(png_bytes, max_pixels=4_000_000)      # stricter limit
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import IO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from molmo_agent.model.errors import ImageError

#: Default pixel limit: 64 Mi pixels (a 48 MP phone photo or an 8K frame pass; 20000x20000 does not).
DEFAULT_MAX_PIXELS = 64 * 1024 * 1024

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes], Image.Image, np.ndarray]  # noqa: UP007

_EXIF_ORIENTATION = 0x0112
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


def load_image(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Load ``source`` as an RGB ``PIL.Image`` (see the module doc for what is accepted)."""
    if isinstance(source, np.ndarray):
        return Image.fromarray(_array_to_rgb(source, max_pixels))
    if isinstance(source, Image.Image):
        return _to_rgb(source, _describe(source), max_pixels)
    name, opened = _open(source)
    with opened:
        return _to_rgb(opened, name, max_pixels)


def load_image_array(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Like :func:`load_image` but returns a C-contiguous uint8 array ``[H, W, 3]``."""
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source, max_pixels)
    return np.asarray(load_image(source, max_pixels))


# ---------------------------------------------------------------------------------------- opening

def _describe(source: object) -> str:
    if isinstance(source, Image.Image):
        return f"<PIL image mode={source.mode} size={source.width}x{source.height}>"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    if isinstance(source, np.ndarray):
        return f"<array shape={source.shape} dtype={source.dtype}>"
    return str(getattr(source, "name", None) or f"<{type(source).__name__}>")


def _open(source: ImageSource) -> tuple[str, Image.Image]:
    """Open lazily (header only) and return a name for error messages with the image."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise ImageError(f"{name}: no such image file")
        if path.stat().st_size == 0:
            raise ImageError(f"{name}: the file is empty")
        stream: str | IO[bytes] = str(path)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        name = _describe(source)
        if len(source) == 0:
            raise ImageError("empty image data (0 bytes)")
        stream = io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        name = _describe(source)
        stream = source  # type: ignore[assignment]
    else:
        raise ImageError(f"cannot load an image from {type(source).__name__}; pass a path, bytes, "
                         "a PIL image or a uint8 array")
    try:
        return name, Image.open(stream)
    except Image.DecompressionBombError as error:
        raise ImageError(f"{name}: image is too large to decode safely ({error})") from error
    except UnidentifiedImageError as error:
        raise ImageError(f"{name}: not an image file PIL can read (unknown or corrupt format)") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{name}: cannot read the image header ({error})") from error


def _check_size(width: int, height: int, name: str, max_pixels: int) -> None:
    if width < 1 or height < 1:
        raise ImageError(f"{name}: image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: image is {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,} (max_pixels); downscale it first or raise max_pixels"
        )


# ------------------------------------------------------------------------------------- converting

def _to_rgb(image: Image.Image, name: str, max_pixels: int) -> Image.Image:
    _check_size(image.width, image.height, name, max_pixels)  # header only, nothing decoded yet
    try:
        image.load()
        if image.getexif().get(_EXIF_ORIENTATION, 1) != 1:  # exif_transpose would copy even when upright
            image = ImageOps.exif_transpose(image)
        return _convert_mode(image, name)
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, TypeError, KeyError) as error:
        raise ImageError(f"{name}: cannot decode the image, the file may be truncated or corrupt ({error})") from error


def _convert_mode(image: Image.Image, name: str) -> Image.Image:
    mode = image.mode
    if mode == "RGB" and "transparency" not in image.info:
        return image
    if mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(image).astype(np.float64)
        gray = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode == "F":
        raise ImageError(f"{name}: floating-point (mode F) images have no defined value range; "
                         "convert to 8-bit RGB first")
    if mode in _ALPHA_MODES or "transparency" in image.info:
        return _composite_on_white(image.convert("RGBA"))
    return image.convert("RGB")  # L, 1, P, CMYK, YCbCr, ...


def _composite_on_white(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _array_to_rgb(array: np.ndarray, max_pixels: int) -> np.ndarray:
    name = _describe(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"{name}: expected an image array [H, W], [H, W, 1], [H, W, 3] or [H, W, 4]")
    _check_size(array.shape[1], array.shape[0], name, max_pixels)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
            raise ImageError(f"{name}: float image arrays must hold finite values in [0, 1]")
        array = np.rint(array * 255.0).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ImageError(f"{name}: image arrays must be uint8 (0-255) or float in [0, 1]")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.shape[2] == 4:
        return np.asarray(_composite_on_white(Image.fromarray(np.ascontiguousarray(array))))
    return np.ascontiguousarray(array)


__all__ = ["DEFAULT_MAX_PIXELS", "ImageSource", "load_image", "load_image_array"]
