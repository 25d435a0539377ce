"""Reading and writing photos, label maps and masks, with validation and atomic saves.

Conventions (one place, used by the whole project):

* Photos load as ``RGBImage``: ``uint8 (H, W, 3)`` RGB with the EXIF orientation applied.
  - grayscale (``L``, ``I;16``, ``I``, ``F``) is replicated to three channels;
  - 16-bit data is reduced to 8 bits by rounding ``v / 257`` (so 65535 -> 255);
  - an alpha channel is composited over white (what a photo editor shows for transparent
    pixels) -- the alpha itself is not kept;
  - palette and CMYK images are converted to RGB with Pillow's colour conversion.
* Label maps load as ``LabelMap``: ``uint8 (H, W)`` with values 0..150. Single-channel PNGs are
  read as indices (wider integer images too, when every value is in 0..150); colour PNGs (RGB, or
  palette-mode) must use the ADE20K palette exactly. Lossy files (JPEG, lossy WebP) are refused:
  their compression noise turns edges into other classes.
* Masks load as ``Mask``: ``bool (H, W)``; any non-zero pixel of the first channel is True.
* Sizes: every side at least ``MIN_SIDE`` pixels, at most ``MAX_PIXELS`` pixels in all.
* Saving: the suffix picks the format (``SAVE_SUFFIXES``). JPEG, and WebP below quality 100, are
  lossy: pixels outside an edit are then not bit-identical to the photo (see
  :func:`lossy_format_note`); WebP at quality 100 is written lossless.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inference.arrays import LabelMap, Mask, RGBImage
from inference.atomic import atomic_write_bytes  # also re-exported: app writes through it
from inference.errors import ImageError, LabelMapError
from inference.labels import colorize, decolorize, validate_label_values

MIN_SIDE = 16
MAX_PIXELS = 100_000_000
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
_SAVE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP",
                 ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}
SAVE_SUFFIXES = tuple(_SAVE_FORMATS)
_LOSSY_LABEL_FORMATS = ("JPEG", "MPO", "JPEG2000")
# EXIF orientations that swap width and height (transpose, rotate 90° / 270°, transverse).
_EXIF_SWAPS = {5: "transposed", 6: "rotated 90°", 7: "transversed", 8: "rotated 270°"}

# We check the size ourselves (with a better message) before decoding anything.
Image.MAX_IMAGE_PIXELS = None


def _open(path: str | os.PathLike, kind: str) -> Image.Image:
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{kind} file not found: {path}")
    if path.is_dir():
        raise ImageError(f"{kind} path is a folder, not a file: {path}")
    if path.stat().st_size == 0:
        raise ImageError(f"{kind} file is empty (0 bytes): {path}")
    try:
        img = Image.open(path)
    except UnidentifiedImageError:
        raise ImageError(f"{kind} file is not a readable image: {path}") from None
    except OSError as exc:
        raise ImageError(f"cannot open {kind} file {path}: {exc}") from None
    w, h = img.size
    if w < MIN_SIDE or h < MIN_SIDE:
        raise ImageError(f"{kind} {path} is {w}×{h}; each side must be at least {MIN_SIDE} px")
    if w * h > MAX_PIXELS:
        raise ImageError(
            f"{kind} {path} is {w}×{h} ({w * h / 1e6:.1f} MP); "
            f"the limit is {MAX_PIXELS / 1e6:.0f} MP"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{kind} file {path} is truncated or corrupt: {exc}") from None
    return img


def _webp_is_lossy(path: str | os.PathLike) -> bool:
    """True when the WebP file's image chunk is ``VP8 `` (lossy) rather than ``VP8L``."""
    with open(path, "rb") as fh:
        if fh.read(12)[8:12] != b"WEBP":
            return False
        while True:
            header = fh.read(8)
            if len(header) < 8:
                return False
            kind, size = header[:4], int.from_bytes(header[4:], "little")
            if kind in (b"VP8 ", b"VP8L"):
                return kind == b"VP8 "
            fh.seek(size + (size & 1), os.SEEK_CUR)


def exif_size_hint(photo: str | os.PathLike | None, other_shape: tuple[int, ...]) -> str:
    """A sentence for a size-mismatch message when ``photo``'s EXIF orientation explains it.

    Photos load with their EXIF orientation applied, so a label map drawn on the stored
    (unrotated) pixels has the photo's width and height swapped.
    """
    if photo is None:
        return ""
    try:
        with Image.open(photo) as img:
            orientation = img.getexif().get(0x0112)
            stored = img.size
    except Exception:  # a hint only: never let it hide the real error
        return ""
    if orientation not in _EXIF_SWAPS or tuple(other_shape[:2]) != (stored[1], stored[0]):
        return ""
    return (f"; the photo's EXIF orientation ({orientation}: {_EXIF_SWAPS[orientation]}) is "
            f"applied when it loads, turning its stored {stored[0]}×{stored[1]} pixels into "
            f"{stored[1]}×{stored[0]}: rotate the label map the same way")


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        hi = 1.0 if float(np.nanmax(arr)) <= 1.0 else 255.0
        return np.clip(np.nan_to_num(arr) * (255.0 / hi) + 0.5, 0, 255).astype(np.uint8)
    # Integer data wider than 8 bits: treat as 16-bit.
    return np.clip((arr.astype(np.float64) / 257.0) + 0.5, 0, 255).astype(np.uint8)


def load_image(path: str | os.PathLike) -> RGBImage:
    """Load a photo as an ``RGBImage`` (see the module doc for the conversions applied)."""
    img = _open(path, "image")
    # A broken EXIF block should not stop us loading the pixels.
    with contextlib.suppress(Exception):
        img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:4] / 255.0
        rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        gray = _to_uint8(np.asarray(img))
        return np.repeat(gray[..., None], 3, axis=2)
    if mode != "RGB":
        img = img.convert("RGB")
    arr = np.asarray(img)
    return np.ascontiguousarray(_to_uint8(arr))


def load_label_map(path: str | os.PathLike, shape: tuple[int, int] | None = None,
                   photo: str | os.PathLike | None = None) -> LabelMap:
    """Load a ``LabelMap``; ``shape`` ``(H, W)`` is the size of the photo (file ``photo``) it
    must match."""
    try:
        img = _open(path, "label map")
    except ImageError as exc:
        raise LabelMapError(str(exc)) from None
    if img.format in _LOSSY_LABEL_FORMATS or (img.format == "WEBP" and _webp_is_lossy(path)):
        raise LabelMapError(
            f"label map {path} is a lossy {img.format} file, whose compression noise changes "
            f"labels along every edge; save label maps as PNG (lossless)")
    if img.mode in ("L", "I;16", "I;16B", "I;16L", "I"):
        raw = np.asarray(img)
        bad = (raw < 0) | (raw > 150)
        if bad.any():
            # The true value, before any cast: -1 must not read as 255, nor -106 as 150.
            y, x = (int(v[0]) for v in np.nonzero(bad))
            raise LabelMapError(
                f"label map {path}: value {int(raw[y, x])} at (x={x}, y={y}) is outside 0..150"
            )
        labels = raw.astype(np.uint8)
    elif img.mode in ("RGB", "P", "RGBA"):
        rgba = np.asarray(img.convert("RGBA"))
        if (rgba[..., 3] != 255).any():
            raise LabelMapError(
                f"label map {path} has transparent pixels; label maps must be opaque"
            )
        try:
            labels = decolorize(np.ascontiguousarray(rgba[..., :3]))
        except LabelMapError as exc:
            raise LabelMapError(f"label map {path}: {exc}") from None
    else:
        raise LabelMapError(f"label map {path} has unsupported image mode {img.mode}")
    if shape is not None and labels.shape != tuple(shape):
        raise LabelMapError(
            f"label map {path} is {labels.shape[1]}×{labels.shape[0]} but the photo is "
            f"{shape[1]}×{shape[0]}{exif_size_hint(photo, labels.shape)}"
        )
    return labels


def load_mask(path: str | os.PathLike, shape: tuple[int, int] | None = None,
              photo: str | os.PathLike | None = None) -> Mask:
    """Load a ``Mask`` (non-zero = edited); ``shape`` ``(H, W)`` of the photo it must match."""
    img = _open(path, "mask")
    arr = np.asarray(img.convert("RGBA") if img.mode in ("P", "PA") else img)
    if arr.ndim == 3:
        arr = arr[..., 3] if arr.shape[2] in (2, 4) and (arr[..., -1] != 255).any() else arr[..., 0]
    mask = arr > 0
    if shape is not None and mask.shape != tuple(shape):
        raise ImageError(
            f"mask {path} is {mask.shape[1]}×{mask.shape[0]} but the photo is {shape[1]}×{shape[0]}"
            f"{exif_size_hint(photo, mask.shape)}"
        )
    return mask


def _save_pil(img: Image.Image, path: Path, **params) -> None:
    fmt = _SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImageError(
            f"cannot save {path}: unknown file type {path.suffix!r} "
            f"(use one of {', '.join(_SAVE_FORMATS)})"
        )
    # Encoded in memory first: the one atomic write path, and a failed encode touches no file.
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt, **params)
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot save {path}: {fmt} encoding failed ({exc})") from None
    atomic_write_bytes(path, buf.getvalue())


def save_image(path: str | os.PathLike, rgb: RGBImage, quality: int = 95) -> None:
    """Atomically save an ``RGBImage``; the suffix picks the format, ``quality`` for JPEG/WebP."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ImageError(f"image to save must be uint8 H×W×3, got {rgb.dtype} {rgb.shape}")
    if not 1 <= quality <= 100:
        raise ImageError(f"quality must be 1..100, got {quality}")
    path = Path(path)
    params: dict[str, object] = {}
    if path.suffix.lower() in (".jpg", ".jpeg", ".webp"):
        params["quality"] = quality
    if path.suffix.lower() == ".webp" and quality == 100:
        params["lossless"] = True
    _save_pil(Image.fromarray(np.ascontiguousarray(rgb), "RGB"), path, **params)


def lossy_format_note(path: str | os.PathLike, quality: int = 95) -> str | None:
    """One sentence when saving to ``path`` at ``quality`` loses pixels, else ``None``."""
    suffix = Path(path).suffix.lower()
    if suffix in (".jpg", ".jpeg") or (suffix == ".webp" and quality < 100):
        kind = "JPEG" if suffix != ".webp" else f"WebP at quality {quality}"
        return (f"{path}: {kind} is lossy, so pixels outside the edit are not bit-identical to "
                f"the photo; write PNG, TIFF or WebP at --quality 100 (lossless) to keep them")
    return None


def save_label_map(path: str | os.PathLike, labels: LabelMap, color: bool = False) -> None:
    """Atomically save a ``LabelMap`` as an 8-bit PNG (indices, or palette colours if ``color``)."""
    validate_label_values(labels)
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise LabelMapError(f"label maps are saved as PNG (lossless), not {path.suffix!r}: {path}")
    img = Image.fromarray(colorize(labels), "RGB") if color else Image.fromarray(labels, "L")
    _save_pil(img, path)


def save_mask(path: str | os.PathLike, mask: Mask) -> None:
    """Atomically save a ``Mask`` as an 8-bit PNG (0 / 255)."""
    if mask.ndim != 2:
        raise ImageError(f"mask must be 2-D (H×W), got shape {mask.shape}")
    _save_pil(Image.fromarray((mask > 0).astype(np.uint8) * 255, "L"), Path(path))


def check_same_size(image: np.ndarray, other: np.ndarray, what: str) -> None:
    """Raise :class:`LabelMapError` unless ``other`` has the photo's height and width."""
    if image.shape[:2] != other.shape[:2]:
        raise LabelMapError(
            f"{what} is {other.shape[1]}×{other.shape[0]} but the photo is "
            f"{image.shape[1]}×{image.shape[0]}"
        )
