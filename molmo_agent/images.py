"""Images in the agent layer: anything image-like in, an RGB ``PIL.Image`` out, or an ImageError.

    from molmo_agent.images import as_image, to_data_url, from_data_url
    image = as_image("screenshot.png")            # also bytes, numpy HxWx3 uint8, PIL images
    url = to_data_url(image)                      # "data:image/png;base64,..."
    same = from_data_url(url, max_pixels=4_000_000)
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from typing import Any

from molmo_agent.errors import ImageError

DEFAULT_MAX_PIXELS = 64 * 1024 * 1024


class ImageTooLarge(ImageError):
    """An image over the pixel limit (checked from the header, before decoding)."""


def _check_pixels(width: int, height: int, max_pixels: int, what: str) -> None:
    if width * height > max_pixels:
        raise ImageTooLarge(f"{what} is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}")


def as_image(source: Any, max_pixels: int = DEFAULT_MAX_PIXELS):
    """Path, bytes, PIL image or numpy array (HxW, HxWx3, HxWx4; uint8) -> RGB PIL image."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, Image.Image):
        _check_pixels(*source.size, max_pixels, "image")
        return source if source.mode == "RGB" else source.convert("RGB")
    if isinstance(source, (str, os.PathLike, bytes, bytearray)):
        what = f"image file {os.fspath(source)!r}" if not isinstance(source, (bytes, bytearray)) else "image bytes"
        try:
            data = source if isinstance(source, (bytes, bytearray)) else open(source, "rb").read()  # noqa: SIM115
            image = Image.open(io.BytesIO(data))
            _check_pixels(*image.size, max_pixels, what)  # from the header, before decoding
            image.load()
        except ImageTooLarge:
            raise
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as error:
            raise ImageError(f"cannot read {what}: {error}") from None
        return image.convert("RGB")
    if type(source).__module__ == "numpy":
        import numpy as np

        array = np.asarray(source)
        if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
            raise ImageError(f"an image array must be uint8 HxW, HxWx3 or HxWx4, got {array.dtype} {array.shape}")
        if array.size == 0:
            raise ImageError("an image array must not be empty")
        _check_pixels(array.shape[1], array.shape[0], max_pixels, "image array")
        return Image.fromarray(array).convert("RGB")
    raise ImageError(f"expected an image (path, bytes, PIL.Image or numpy uint8 array), got {type(source).__name__}")


def to_data_url(image: Any, format: str = "PNG") -> str:
    """An image as a ``data:`` URL (what OpenAI-compatible chat endpoints take)."""
    buffer = io.BytesIO()
    as_image(image).save(buffer, format=format)
    return f"data:image/{format.lower()};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def from_data_url(url: str, max_pixels: int = DEFAULT_MAX_PIXELS):
    """Decode a base64 ``data:image/...`` URL; anything else (http URLs included) raises ImageError."""
    if not isinstance(url, str) or not url.startswith("data:"):
        raise ImageError("images must be sent as data: URLs (base64); remote URLs are not fetched")
    header, _, payload = url.partition(",")
    if ";base64" not in header or not header[5:].startswith("image/"):
        raise ImageError(f"unsupported data URL header {header[:40]!r}; expected data:image/...;base64,")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("the data URL's base64 payload is corrupt") from None
    return as_image(data, max_pixels=max_pixels)
