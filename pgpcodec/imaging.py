"""Reading images safely, converting them to RGB, and writing outputs atomically."""

from __future__ import annotations

import functools
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import InputError

DEFAULT_MAX_PIXELS = 100_000_000
"""Largest image accepted by default (100 MP); overridable per call and by PGPCODEC_MAX_PIXELS."""


def max_pixels() -> int:
    value = os.environ.get("PGPCODEC_MAX_PIXELS")
    return int(value) if value else DEFAULT_MAX_PIXELS


def _register_heif() -> None:
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # pillow-heif is a base dependency; tolerate a broken install
        pass


def load_image(source: str | os.PathLike | bytes, *, limit: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Decode a file or bytes to (H, W, 3) uint8 RGB, honouring EXIF orientation.

    Returns the array and notes about what was done to it (first frame of an
    animation, alpha dropped, …). Raises :class:`InputError` for anything
    that is not a readable image or exceeds the pixel limit.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    _register_heif()
    limit = max_pixels() if limit is None else limit
    name = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    if not isinstance(source, (bytes, bytearray)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{name}: no such file")
        if path.is_dir():
            raise InputError(f"{name}: is a directory, not an image")
        if path.stat().st_size == 0:
            raise InputError(f"{name}: file is empty")
    notes: list[str] = []
    try:
        # Pillow's own bomb guard stays on (it raises past 2x Image.MAX_IMAGE_PIXELS);
        # our limit is checked from the header before any pixel is decoded.
        handle = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
        with handle as img:
            width, height = img.size
            if width * height > limit:
                raise InputError(
                    f"{name}: {width}x{height} is {width * height:,} pixels, over the limit of {limit:,}",
                    "raise it with --max-pixels or PGPCODEC_MAX_PIXELS if the image is trusted",
                )
            if getattr(img, "n_frames", 1) > 1:
                notes.append(f"animated ({img.n_frames} frames): encoded the first frame only")
                img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img)
            array = as_rgb_array(img, notes)
    except InputError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise InputError(f"{name}: not a readable image ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"{name}: cannot decode image ({exc})", "the file may be truncated or corrupt") from None
    return array, notes


def as_rgb_array(image, notes: list[str] | None = None) -> np.ndarray:
    """Any Pillow image or array to (H, W, 3) uint8 RGB.

    Alpha is composited over white; 16-bit and float data are scaled to 8
    bits; CMYK, palette and grayscale are converted by Pillow.
    """
    from PIL import Image

    if isinstance(image, np.ndarray):
        array = image
        if array.ndim == 2:
            array = np.repeat(array[..., None], 3, axis=2)
        if array.ndim != 3 or array.shape[2] not in (3, 4):
            raise InputError(f"expected an (H, W, 3) image array, got shape {image.shape}")
        if array.dtype != np.uint8:
            raise InputError(f"expected a uint8 image array, got {array.dtype}")
        if array.shape[2] == 4:
            return as_rgb_array(Image.fromarray(array, "RGBA"), notes)
        if array.shape[0] == 0 or array.shape[1] == 0:
            raise InputError("image has no pixels")
        return np.ascontiguousarray(array)
    if image.width == 0 or image.height == 0:
        raise InputError("image has no pixels")
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        data = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(data.max()), 1.0)
        if mode == "I" and data.max() <= 65535:
            top = 65535.0 if data.max() > 255 else 255.0
        gray = np.clip(np.rint(data / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        if notes is not None:
            notes.append("alpha channel composited over white")
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


@functools.cache
def _umask() -> int:
    # os.umask can only be read by setting it; done once, at first write.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    Refuses to replace an existing file unless ``force``. The temporary file
    is removed if anything fails.
    """
    target = Path(path)
    if target.exists() and not force:
        raise InputError(f"{target}: already exists", "pass --force to overwrite it")
    if target.is_dir():
        raise InputError(f"{target}: is a directory")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{target}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; outputs get the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()
