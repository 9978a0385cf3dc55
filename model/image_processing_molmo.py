"""Molmo's image preprocessing: tiling, overlapping crops, the global image, patches and image tokens.

One image becomes (paper section 2, MOLMO_SPEC.md section 4):

- a low-resolution *global* view: the whole image resized (aspect kept) and padded into one
  336x336 crop, placed first;
- a grid of overlapping 336x336 high-resolution crops: the tiling (up to ``max_crops`` crops) is
  chosen so the image, minus the overlap margins, fits best; each crop contributes only its central
  patches (``overlap_margins`` patches are dropped on inner sides), so together the crops cover the
  image once, each patch seen with context;
- every crop cut into 24x24 patches of 14x14x3 values (``images`` [N, 576, 588]), normalised with
  the CLIP mean/std after zero padding (so padding is ``-mean/std``);
- the image tokens: ``<im_start>``, rows of ``<im_patch>`` each closed by ``<im_col>``,
  ``<im_end>`` for the global image, then the same for the high-resolution grid (one token per
  2x2-pooled patch, overlaps removed);
- ``image_input_idx`` [N, 144]: for each pooled feature of each crop, the position of its
  ``<im_patch>`` token (-100 for features dropped in the overlap margins);
- ``image_masks`` [N, 576]: share of each patch covered by the image. As in Ai2's code (and so as
  the released weights expect) these are the masks of the high-resolution crops *shifted by one*
  relative to ``images`` (row 0 belongs to crop 1, not to the global image) with a last row of -1.

Resizing is TensorFlow's antialiased bilinear kernel (see :mod:`molmo_agent.model.resize`), so the
output equals the reference implementation's to the bit.

Usage::

    from PIL import Image
    from molmo_agent.model import MolmoImageProcessor
    from molmo_agent.model.image_processing_molmo import ImageTokenIds

    processor = MolmoImageProcessor(token_ids=ImageTokenIds(152064, 152065, 152066, 152067, 152068))
    out = processor.preprocess(Image.new("RGB", (640, 480)))
    out.images.shape, out.image_token_ids.shape   # (7, 576, 588), (740,)
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from molmo_agent.model.errors import ProcessorError
from molmo_agent.model.image_io import DEFAULT_MAX_PIXELS, ImageSource, load_image_array
from molmo_agent.model.resize import resize_antialiased_bilinear

PREPROCESSOR_CONFIG_NAME = "preprocessor_config.json"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGE_TOKENS = ("<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<|image|>")
# "tensorflow": tf.image.resize antialiased bilinear (the 7B-D, 7B-O and 72B references);
# "torch": torch's antialiased bilinear, which MolmoE-1B's reference uses (via torchvision).
RESIZE_METHODS = ("tensorflow", "torch")
_DROPPED = -100  # image_input_idx value of a pooled feature that goes nowhere (overlap margin)


@dataclasses.dataclass(frozen=True)
class ImageTokenIds:
    """Token ids of the added image tokens; look them up in the tokenizer by string."""

    start: int  # <im_start>
    end: int  # <im_end>
    patch: int  # <im_patch>: one per pooled feature; image features are added to these
    col: int  # <im_col>: closes each row of patches
    image_prompt: int  # <|image|>: unused by the 0924 prompt format, kept for completeness


@dataclasses.dataclass
class ImageInputs:
    """One image's model inputs, before it is placed into a token sequence.

    ``image_input_idx`` positions are relative to the first element of ``image_token_ids``;
    add the offset where the image tokens start in the sequence (keeping negatives as they are).
    """

    image_token_ids: np.ndarray  # int64 [n_tokens]
    images: np.ndarray  # float32 [n_crops, n_patches, patch_dim]
    image_masks: np.ndarray  # float32 [n_crops, n_patches]
    image_input_idx: np.ndarray  # int64 [n_crops, tokens_per_crop]

    @property
    def num_crops(self) -> int:
        return self.images.shape[0]


def select_tiling(height: float, width: float, window: int, max_crops: int) -> tuple[int, int]:
    """Rows x columns of crops whose windows fit an image of ``height`` x ``width`` best.

    Among tilings with at most ``max_crops`` crops: if every tiling needs downscaling, take the one
    that downscales least; otherwise the one that needs the least upscaling. Ties go to fewer crops,
    then fewer rows. ``height``/``width`` may be <= 0 for images smaller than the margins; the
    arithmetic (float32, as in the reference) still picks a tiling.
    """
    tilings = [(i, j) for i in range(1, max_crops + 1) for j in range(1, max_crops + 1) if i * j <= max_crops]
    tilings.sort(key=lambda t: (t[0] * t[1], t[0]))
    candidates = np.array(tilings, dtype=np.int32)
    resolutions = (candidates * window).astype(np.float32)
    required = np.min(resolutions / np.array([height, width], dtype=np.float32), axis=-1)
    if np.all(required < 1):
        best = int(np.argmax(required))
    else:
        best = int(np.argmin(np.where(required < 1.0, np.float32(10e9), required)))
    return int(candidates[best, 0]), int(candidates[best, 1])


class MolmoImageProcessor:
    """Turns one RGB image into Molmo's crops, patch masks and image tokens (see the module doc).

    Settings are the fields of the official ``preprocessor_config.json``; missing ones take the
    values of the 0924 releases. ``token_ids`` (set by :class:`MolmoProcessor` from its tokenizer)
    are needed to lay out the image tokens.

    Example::

        processor = MolmoImageProcessor.from_pretrained("tests/fixtures/molmo-tiny-qwen2")
        processor.token_ids = ImageTokenIds(152064, 152065, 152066, 152067, 152068)
        inputs = processor.preprocess("photo.jpg")
    """

    def __init__(
        self,
        max_crops: int = 12,
        overlap_margins: tuple[int, int] | list[int] = (4, 4),
        base_image_input_size: tuple[int, int] | list[int] = (336, 336),
        image_token_length_w: int = 12,
        image_token_length_h: int = 12,
        image_patch_size: int = 14,
        image_padding_mask: bool = True,
        do_normalize: bool = True,
        image_mean: tuple[float, ...] | list[float] | None = None,
        image_std: tuple[float, ...] | list[float] | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        resize_method: str = "tensorflow",
        token_ids: ImageTokenIds | None = None,
        **unused: Any,
    ) -> None:
        if isinstance(base_image_input_size, int):
            base_image_input_size = (base_image_input_size, base_image_input_size)
        self.max_crops = int(max_crops)
        self.overlap_margins = (int(overlap_margins[0]), int(overlap_margins[1]))
        self.base_image_input_size = (int(base_image_input_size[0]), int(base_image_input_size[1]))
        self.image_token_length_w = int(image_token_length_w)
        self.image_token_length_h = int(image_token_length_h)
        self.image_patch_size = int(image_patch_size)
        self.image_padding_mask = bool(image_padding_mask)
        self.do_normalize = bool(do_normalize)
        self.image_mean = tuple(float(v) for v in (CLIP_MEAN if image_mean is None else image_mean))
        self.image_std = tuple(float(v) for v in (CLIP_STD if image_std is None else image_std))
        self.max_pixels = int(max_pixels)
        if resize_method not in RESIZE_METHODS:
            raise ProcessorError(f"resize_method must be one of {RESIZE_METHODS}, got {resize_method!r}")
        self.resize_method = resize_method
        self.token_ids = token_ids
        self._check_geometry()

    # ----------------------------------------------------------------------------------- config I/O

    def _check_geometry(self) -> None:
        height, width = self.base_image_input_size
        patch = self.image_patch_size
        left, right = self.overlap_margins
        if self.max_crops < 1 or patch < 1 or height != width or height % patch:
            raise ProcessorError(
                f"unsupported image geometry: base_image_input_size={self.base_image_input_size}, "
                f"image_patch_size={patch}, max_crops={self.max_crops} (square crops made of whole patches)"
            )
        crop_patches = height // patch
        if left % 2 or left < 0 or right < 0 or left + right >= crop_patches:
            raise ProcessorError(f"overlap_margins={self.overlap_margins} must be even on the left and "
                                 f"leave patches in a {crop_patches}-patch crop")
        pooled = (crop_patches + 1) // 2  # 2x2 pooling
        if (self.image_token_length_h, self.image_token_length_w) != (pooled, pooled):
            raise ProcessorError(
                f"image_token_length_h/w must be {pooled} for {crop_patches}x{crop_patches}-patch crops "
                f"with 2x2 pooling, got {self.image_token_length_h}x{self.image_token_length_w}"
            )
        if len(self.image_mean) != 3 or len(self.image_std) != 3 or min(self.image_std) <= 0:
            raise ProcessorError(f"image_mean/image_std need 3 values (std > 0), got {self.image_mean}/{self.image_std}")

    def to_dict(self) -> dict[str, Any]:
        """The official ``preprocessor_config.json`` fields."""
        return {
            "image_processor_type": "MolmoImageProcessor",
            "base_image_input_size": list(self.base_image_input_size),
            "do_normalize": self.do_normalize,
            "image_mean": list(self.image_mean),
            "image_std": list(self.image_std),
            "image_padding_mask": self.image_padding_mask,
            "image_patch_size": self.image_patch_size,
            "image_token_length_h": self.image_token_length_h,
            "image_token_length_w": self.image_token_length_w,
            "max_crops": self.max_crops,
            "overlap_margins": list(self.overlap_margins),
            "resize_method": self.resize_method,
        }

    @classmethod
    def setting_names(cls) -> frozenset[str]:
        """Names of the constructor's settings (what ``from_dict`` and overrides accept)."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        return frozenset(p.name for p in parameters if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD)

    @classmethod
    def from_dict(cls, config: dict[str, Any], **overrides: Any) -> MolmoImageProcessor:
        """Build from ``preprocessor_config.json`` contents; unknown keys (``auto_map``...) are ignored."""
        known = cls.setting_names()
        settings = {k: v for k, v in config.items() if k in known}
        settings.update(overrides)
        return cls(**settings)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **overrides: Any) -> MolmoImageProcessor:
        """Read ``preprocessor_config.json`` from a local directory (defaults if it is absent)."""
        config_file = Path(path) / PREPROCESSOR_CONFIG_NAME
        if not Path(path).is_dir():
            raise ProcessorError(f"{path}: not a directory (expected a local model directory)")
        config: dict[str, Any] = {}
        if config_file.is_file():
            try:
                config = json.loads(config_file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ProcessorError(f"{config_file}: unreadable preprocessor config ({error})") from error
            if not isinstance(config, dict):
                raise ProcessorError(f"{config_file}: expected a JSON object")
        return cls.from_dict(config, **overrides)

    def save_pretrained(self, path: str | os.PathLike) -> Path:
        """Write ``preprocessor_config.json`` (atomically) into directory ``path``."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / PREPROCESSOR_CONFIG_NAME
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, target)
        return target

    def __repr__(self) -> str:
        return f"MolmoImageProcessor({json.dumps(self.to_dict())})"

    # ------------------------------------------------------------------------------------ geometry

    @property
    def crop_size(self) -> int:
        return self.base_image_input_size[0]

    @property
    def tokens_per_crop(self) -> int:
        return self.image_token_length_h * self.image_token_length_w

    @property
    def patches_per_crop(self) -> int:
        return (self.crop_size // self.image_patch_size) ** 2

    @property
    def patch_dim(self) -> int:
        return self.image_patch_size * self.image_patch_size * 3

    @property
    def _window_patches(self) -> int:
        """Patches per side that each crop contributes once the overlap margins are removed."""
        return self.crop_size // self.image_patch_size - sum(self.overlap_margins)

    def tiling_for(self, height: int, width: int) -> tuple[int, int]:
        """Rows x columns of high-resolution crops for an image of this size."""
        margin_pixels = self.image_patch_size * sum(self.overlap_margins)
        window = self._window_patches * self.image_patch_size
        return select_tiling(height - margin_pixels, width - margin_pixels, window, self.max_crops)

    def num_image_tokens(self, height: int, width: int) -> int:
        """Length of ``image_token_ids`` for an image of this size (without preprocessing it)."""
        rows, cols = self.tiling_for(height, width)
        pooled_h, pooled_w = self._grid_pooled_size(rows, cols)
        global_tokens = self.image_token_length_h * (self.image_token_length_w + 1) + 2
        return global_tokens + pooled_h * (pooled_w + 1) + 2

    def _grid_pooled_size(self, rows: int, cols: int) -> tuple[int, int]:
        margins = sum(self.overlap_margins)
        return ((rows * self._window_patches + margins + 1) // 2, (cols * self._window_patches + margins + 1) // 2)

    # ------------------------------------------------------------------------------ preprocessing

    def preprocess(self, image: ImageSource, token_ids: ImageTokenIds | None = None) -> ImageInputs:
        """Preprocess one image (path, bytes, PIL image or uint8 array) into :class:`ImageInputs`."""
        token_ids = token_ids or self.token_ids
        if token_ids is None:
            raise ProcessorError("MolmoImageProcessor has no image token ids: use MolmoProcessor, or set "
                                 "`token_ids=ImageTokenIds(...)` from your tokenizer")
        pixels = load_image_array(image, max_pixels=self.max_pixels)
        height, width = pixels.shape[:2]
        rows, cols = self.tiling_for(height, width)
        # uint8 -> float32 in [0, 1] exactly as tf.image.convert_image_dtype does it (x * (1/255))
        unit = np.multiply(pixels, np.float32(1.0 / 255.0), dtype=np.float32)

        window = self._window_patches * self.image_patch_size
        margin_pixels = self.image_patch_size * sum(self.overlap_margins)
        grid_size = (rows * window + margin_pixels, cols * window + margin_pixels)
        grid, grid_rows, grid_cols = self._resize_and_pad(unit, grid_size)
        global_view, _, _ = self._resize_and_pad(unit, self.base_image_input_size)

        images = np.empty((rows * cols + 1, self.patches_per_crop, self.patch_dim), dtype=np.float32)
        self._cut_patches(global_view, 1, 1, out=images[:1])
        self._cut_patches(grid, rows, cols, out=images[1:])
        tokens, positions = self._image_tokens(rows, cols, token_ids)
        return ImageInputs(
            image_token_ids=tokens,
            images=images,
            image_masks=self._crop_masks(grid_rows, grid_cols, rows, cols),
            image_input_idx=positions,
        )

    def _resize_and_pad(self, unit: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Resize keeping the aspect ratio, centre-pad with 0, normalise.

        Returns the image [H, W, 3] and two bool vectors marking the rows / columns that hold image
        (not padding); the image area is their outer product.
        """
        target_h, target_w = size
        height, width = unit.shape[:2]
        # float32 arithmetic, as in the reference (it decides the size in rare rounding cases)
        scale = min(np.float32(target_h) / np.float32(height), np.float32(target_w) / np.float32(width))
        # An image far thinner than a crop could round to 0 rows; keep at least one.
        scaled_h = max(1, int(np.float32(height) * scale))
        scaled_w = max(1, int(np.float32(width) * scale))
        top, left = (target_h - scaled_h) // 2, (target_w - scaled_w) // 2
        # Pad with 0, then normalise, so padding becomes -mean/std; normalising the padding constant
        # once gives the same float32 values as normalising every padded pixel. The work is done on
        # [rows, width * 3] views with mean/std tiled along a row: broadcasting a 3-vector over
        # [H, W, 3] would run NumPy's inner loop 3 elements at a time (~10x slower).
        mean = np.tile(np.asarray(self.image_mean, dtype=np.float32), scaled_w)
        std = np.tile(np.asarray(self.image_std, dtype=np.float32), scaled_w)
        pad_value = (np.float32(0.0) - mean[:3]) / std[:3] if self.do_normalize else np.zeros(3, np.float32)
        out = np.empty((target_h, target_w * 3), dtype=np.float32)
        out[:] = np.tile(pad_value, target_w)
        out = out.reshape(target_h, target_w, 3)
        window = out[top:top + scaled_h, left:left + scaled_w]
        self._resize(unit, (scaled_h, scaled_w), out=window)
        region = window.reshape(scaled_h, scaled_w * 3)  # a view: each row of the window is contiguous
        np.clip(region, 0.0, 1.0, out=region)
        if self.do_normalize:
            region -= mean
            region /= std
        covered_rows = np.zeros(target_h, dtype=bool)
        covered_rows[top:top + scaled_h] = True
        covered_cols = np.zeros(target_w, dtype=bool)
        covered_cols[left:left + scaled_w] = True
        return out, covered_rows, covered_cols

    def _resize(self, unit: np.ndarray, size: tuple[int, int], out: np.ndarray) -> None:
        if self.resize_method == "tensorflow":
            resize_antialiased_bilinear(unit, size, out=out)
            return
        import torch  # only this option needs it

        channels_first = torch.from_numpy(np.ascontiguousarray(unit)).permute(2, 0, 1)[None]
        resized = torch.nn.functional.interpolate(channels_first, size=size, mode="bilinear", antialias=True,
                                                  align_corners=False)
        np.copyto(out, resized[0].permute(1, 2, 0).numpy())

    def _cut_patches(self, grid: np.ndarray, rows: int, cols: int, out: np.ndarray) -> None:
        """Cut ``rows x cols`` overlapping crops (row-major, one window apart) into patches.

        Writes ``out`` [rows*cols, patches, patch*patch*3]: patches row-major, each patch's values
        in (y, x, channel) order. One strided view, copied straight into ``out``.
        """
        p = self.image_patch_size
        side = self.crop_size // p
        step = self._window_patches * p
        stride_y, stride_x, stride_c = grid.strides
        view = np.lib.stride_tricks.as_strided(
            grid,
            shape=(rows, cols, side, side, p, p, 3),
            strides=(step * stride_y, step * stride_x, p * stride_y, p * stride_x, stride_y, stride_x, stride_c),
            writeable=False,
        )
        np.copyto(out.reshape(rows, cols, side, side, p, p, 3), view)

    def _crop_masks(self, covered_rows: np.ndarray, covered_cols: np.ndarray, rows: int, cols: int) -> np.ndarray:
        """Per-patch image coverage of each high-resolution crop, plus the reference's trailing -1 row."""
        p, step, side = self.image_patch_size, self._window_patches * self.image_patch_size, self.crop_size // self.image_patch_size
        n_patches = side * side
        if not self.image_padding_mask:
            return np.ones((rows * cols + 1, n_patches), dtype=np.float32)
        # Covered pixel rows per patch row of each crop row: [rows, side]; same for columns.
        row_counts = np.stack([covered_rows[i * step:i * step + self.crop_size].reshape(side, p).sum(1) for i in range(rows)])
        col_counts = np.stack([covered_cols[j * step:j * step + self.crop_size].reshape(side, p).sum(1) for j in range(cols)])
        counts = row_counts[:, None, :, None] * col_counts[None, :, None, :]  # [rows, cols, side, side]
        masks = counts.reshape(rows * cols, n_patches).astype(np.float32) / np.float32(p * p)
        # The reference pads the crop masks (not the global image's) with one row of -1, which
        # shifts them by one crop relative to ``images``; the released weights were trained so.
        return np.concatenate([masks, np.full((1, n_patches), -1.0, dtype=np.float32)], axis=0)

    def _image_tokens(self, rows: int, cols: int, ids: ImageTokenIds) -> tuple[np.ndarray, np.ndarray]:
        """The image token sequence and, per crop and pooled feature, its ``<im_patch>`` position."""
        th, tw = self.image_token_length_h, self.image_token_length_w
        pooled_h, pooled_w = self._grid_pooled_size(rows, cols)

        def block(height: int, width: int) -> np.ndarray:
            row = np.append(np.full(width, ids.patch, dtype=np.int64), ids.col)
            return np.concatenate([[ids.start], np.tile(row, height), [ids.end]]).astype(np.int64)

        tokens = np.concatenate([block(th, tw), block(pooled_h, pooled_w)])
        global_positions = 1 + np.arange(th)[:, None] * (tw + 1) + np.arange(tw)[None, :]
        grid_start = th * (tw + 1) + 2 + 1  # after the global block and the grid's <im_start>

        row_index, row_valid = self._pooled_layout(rows, th, pooled_h)  # [rows, th]
        col_index, col_valid = self._pooled_layout(cols, tw, pooled_w)  # [cols, tw]
        positions = grid_start + row_index[:, None, :, None] * (pooled_w + 1) + col_index[None, :, None, :]
        valid = row_valid[:, None, :, None] & col_valid[None, :, None, :]
        positions = np.where(valid, positions, _DROPPED).reshape(rows * cols, th * tw)
        return tokens, np.concatenate([global_positions.reshape(1, -1), positions]).astype(np.int64)

    def _pooled_layout(self, n_crops: int, pooled_per_crop: int, total: int) -> tuple[np.ndarray, np.ndarray]:
        """For crops along one axis: each pooled slot's index in the whole grid, and whether it is kept.

        Crop ``i`` keeps the pooled slots outside the overlap margins: the first crop keeps its
        leading margin, the last its trailing one, inner crops start ``left_margin / 2`` slots in.
        """
        left, right = self.overlap_margins
        index = np.zeros((n_crops, pooled_per_crop), dtype=np.int64)
        valid = np.zeros((n_crops, pooled_per_crop), dtype=bool)
        offset = 0
        for i in range(n_crops):
            kept_patches = self._window_patches + (left if i == 0 else 0) + (right if i == n_crops - 1 else 0)
            kept = (kept_patches + 1) // 2
            first = 0 if i == 0 else left // 2
            index[i, first:first + kept] = offset + np.arange(kept)
            valid[i, first:first + kept] = True
            offset += kept
        if offset != total:
            raise ProcessorError(f"overlap_margins={self.overlap_margins} give {offset} pooled rows/columns "
                                 f"but the token grid has {total}; use even margins")
        return index, valid


__all__ = ["IMAGE_TOKENS", "ImageInputs", "ImageTokenIds", "MolmoImageProcessor", "select_tiling"]
