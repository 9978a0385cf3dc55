"""Image loading: unusual-but-valid images give the right pixels, bad ones a clear ImageError.

Every image is made with PIL in tmp_path; expected pixels are worked out by hand.
"""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from molmo_agent.model import ImageError, MolmoProcessor
from molmo_agent.model.image_io import DEFAULT_MAX_PIXELS, load_image, load_image_array
from tests.conftest import TINY_QWEN2

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


@pytest.fixture(scope="module")
def processor() -> MolmoProcessor:
    return MolmoProcessor.from_pretrained(TINY_QWEN2)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` but that holds almost no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def two_colour_image(width: int = 40, height: int = 20) -> Image.Image:
    """Left half red, right half blue, a green top-left corner: any rotation or flip shows."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 2] = (255, 0, 0)
    pixels[:, width // 2:] = (0, 0, 255)
    pixels[:3, :3] = (0, 255, 0)
    return Image.fromarray(pixels)


# ---------------------------------------------------------------------------------- bad files

def test_missing_empty_and_non_image_files(tmp_path):
    with pytest.raises(ImageError, match="no such image file"):
        load_image(tmp_path / "nope.png")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty\.png: the file is empty"):
        load_image(empty)
    text = tmp_path / "notes.jpg"
    text.write_text("this is not an image")
    with pytest.raises(ImageError, match=r"notes\.jpg: not an image"):
        load_image(text)
    with pytest.raises(ImageError, match="not an image"):
        load_image(b"GIF89a? no, just text")
    with pytest.raises(ImageError, match="0 bytes"):
        load_image(b"")
    with pytest.raises(ImageError, match="cannot load an image from int"):
        load_image(42)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file_names_file_and_problem(tmp_path, fmt):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    path = tmp_path / f"cut.{fmt.lower()}"
    Image.fromarray(noise).save(path, format=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=rf"cut\.{fmt.lower()}: cannot decode the image, the file may be truncated"):
        load_image(path)


def test_huge_image_rejected_from_header_before_decoding(tmp_path):
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_header_only(20000, 20000))
    started = time.perf_counter()
    with pytest.raises(ImageError, match=r"huge\.png: image is too large"):
        load_image(huge)
    assert time.perf_counter() - started < 1.0  # 1.2 GB of pixels were never allocated


def test_pixel_limit_is_configurable_and_checked_before_decoding(tmp_path):
    claimed = tmp_path / "claims_9000x9000.png"
    claimed.write_bytes(png_header_only(9000, 9000))  # 81 M pixels: over the default limit
    assert 9000 * 9000 > DEFAULT_MAX_PIXELS
    with pytest.raises(ImageError, match=r"9000x9000 = 81,000,000 pixels, over the limit of 67,108,864"):
        load_image(claimed)
    # Raise the limit and the same file gets as far as decoding, which then fails: so it was the
    # limit, from the header alone, that stopped it before.
    with pytest.raises(ImageError, match="cannot decode"):
        load_image(claimed, max_pixels=100_000_000)
    small = Image.new("RGB", (100, 100))
    with pytest.raises(ImageError, match="10,000 pixels, over the limit of 9,999"):
        load_image(small, max_pixels=9_999)
    with pytest.raises(ImageError, match="over the limit"):
        load_image(np.zeros((100, 100, 3), np.uint8), max_pixels=9_999)
    assert load_image(small, max_pixels=10_000).size == (100, 100)


def test_processor_pixel_limit_setting(tmp_path):
    strict = MolmoProcessor.from_pretrained(TINY_QWEN2, max_pixels=5_000)
    with pytest.raises(ImageError, match="image 0: .*over the limit of 5,000"):
        strict(images=Image.new("RGB", (100, 100)), text="x")
    assert strict(images=Image.new("RGB", (70, 70)), text="x")["images"].shape[1] == 2


# ------------------------------------------------------------------------- unusual but valid

def test_one_pixel_image_processes_to_its_colour(processor):
    inputs = processor(images=Image.new("RGB", (1, 1), (255, 0, 0)), text="What colour?")
    global_crop = inputs["images"][0, 0].numpy().reshape(24, 24, 14, 14, 3)
    red = (np.array([1.0, 0.0, 0.0], dtype=np.float32) - CLIP_MEAN) / CLIP_STD
    np.testing.assert_allclose(global_crop, np.broadcast_to(red, global_crop.shape), atol=1e-6)
    assert inputs["image_masks"].shape == (1, 2, 576) and (inputs["image_masks"][0, 0] == 1).all()


def test_exif_rotation_applied(tmp_path, processor):
    upright = two_colour_image()
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # how a camera stores a rotated shot
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.png"
    stored.save(path, exif=exif)

    loaded = load_image(path)
    assert loaded.size == (40, 20)
    np.testing.assert_array_equal(np.asarray(loaded), np.asarray(upright))
    from_file = processor(images=str(path), text="x")
    from_upright = processor(images=upright, text="x")
    assert np.array_equal(from_file["images"].numpy(), from_upright["images"].numpy())
    assert np.array_equal(from_file["input_ids"].numpy(), from_upright["input_ids"].numpy())


def test_cmyk_converted(tmp_path):
    cmyk = Image.new("CMYK", (4, 2), (255, 0, 0, 0))  # pure cyan
    cmyk.putpixel((0, 0), (0, 0, 0, 255))  # pure black
    path = tmp_path / "cmyk.tiff"
    cmyk.save(path)
    pixels = np.asarray(load_image(path))
    assert pixels.shape == (2, 4, 3)
    assert pixels[0, 0].tolist() == [0, 0, 0]
    assert pixels[1, 3].tolist() == [0, 255, 255]


def test_sixteen_bit_grayscale_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257 * 128, 65535, 1000]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    pixels = np.asarray(load_image(path))
    assert pixels[0, :, 0].tolist() == [0, 128, 255, 4]  # 1000 / 257 = 3.9 -> 4, not clipped to 255
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()


def test_palette_with_transparency_composited_on_white(tmp_path):
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([255, 0, 0, 0, 128, 0] + [0] * 762)  # 0: red, 1: green
    palette_image.putpixel((0, 0), 0)
    palette_image.putpixel((1, 0), 1)
    path = tmp_path / "palette.png"
    palette_image.save(path, transparency=1)  # green is the transparent colour
    pixels = np.asarray(load_image(path))
    assert pixels[0, 0].tolist() == [255, 0, 0]
    assert pixels[0, 1].tolist() == [255, 255, 255]


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_composited_on_white(tmp_path, mode):
    rgba = np.array([[[0, 0, 0, 0], [200, 200, 200, 255], [0, 0, 0, 128]]], dtype=np.uint8)
    image = Image.fromarray(rgba, "RGBA")
    if mode == "LA":
        image = image.convert("LA")
    path = tmp_path / f"alpha_{mode}.png"
    image.save(path)
    pixels = np.asarray(load_image(path)).astype(int)
    assert pixels[0, 0].tolist() == [255, 255, 255]  # fully transparent -> background
    assert pixels[0, 1].tolist() == [200, 200, 200]  # opaque -> itself
    # half-transparent black over white: 255 * (1 - 128/255) = 127
    assert np.abs(pixels[0, 2] - 127).max() <= 1


def test_grayscale_and_bytes_and_file_objects(tmp_path):
    gray = Image.fromarray(np.array([[0, 100, 255]], dtype=np.uint8), "L")
    buffer = io.BytesIO()
    gray.save(buffer, format="PNG")
    expected = [[[0, 0, 0], [100, 100, 100], [255, 255, 255]]]
    assert np.asarray(load_image(buffer.getvalue())).tolist() == expected
    buffer.seek(0)
    assert np.asarray(load_image(buffer)).tolist() == expected
    assert load_image(buffer.getvalue()).mode == "RGB"


def test_arrays(processor):
    rgb = np.random.default_rng(1).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    assert np.array_equal(load_image_array(rgb), rgb)
    assert np.array_equal(load_image_array(rgb.astype(np.float32) / 255.0), rgb)
    assert np.array_equal(load_image_array(rgb[:, :, 0]), np.repeat(rgb[:, :, :1], 3, axis=2))
    from_array = processor(images=rgb, text="x")
    from_pil = processor(images=Image.fromarray(rgb), text="x")
    assert np.array_equal(from_array["images"].numpy(), from_pil["images"].numpy())
    with pytest.raises(ImageError, match="uint8"):
        load_image_array(rgb.astype(np.int32))
    with pytest.raises(ImageError, match=r"\[H, W, 3\]"):
        load_image_array(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ImageError, match=r"finite values in \[0, 1\]"):
        load_image_array(np.full((4, 4, 3), np.nan, np.float32))
    with pytest.raises(ImageError, match="no pixels"):
        load_image_array(np.zeros((0, 4, 3), np.uint8))


def test_float_mode_images_refused():
    with pytest.raises(ImageError, match="mode F"):
        load_image(Image.new("F", (3, 3), 0.5))
