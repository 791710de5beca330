"""Reading images safely, converting them to RGB, and writing outputs atomically."""

from __future__ import annotations

import functools
import io
import os
import struct
import tempfile
import warnings
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


def check_pixel_limit(width: int, height: int, name: str, limit: int | None = None) -> None:
    """Refuse a picture of more than ``limit`` pixels (default :func:`max_pixels`) before it is decoded."""
    limit = max_pixels() if limit is None else limit
    if width * height > limit:
        raise InputError(
            f"{name}: {width}x{height} is {width * height:,} pixels, over the limit of {limit:,}",
            "raise it with --max-pixels or PGPCODEC_MAX_PIXELS if the image is trusted",
        )


def load_image(source: str | os.PathLike | bytes, *, limit: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Decode a file or bytes to (H, W, 3) uint8 RGB, honouring EXIF orientation.

    Returns the array and notes about what was done to it (first frame of an
    animation, alpha dropped, …). Raises :class:`InputError` for anything
    that is not a readable image or exceeds the pixel limit.
    """
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
    # Pillow reports oddities it works around (corrupt EXIF, …) as warnings;
    # they become notes on this image instead of stray lines on stderr.
    # (catch_warnings is process-wide: under threads a warning may still
    # print or be missed, never worse.)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        array = _decode(source, name, limit, notes)
    from PIL import Image

    # Pillow's bomb *warning* is dropped: pgpcodec's own limit above decides (its hard error stays on).
    ignored = (DeprecationWarning, Image.DecompressionBombWarning)
    notes.extend(f"Pillow: {' '.join(str(w.message).split())}" for w in caught if not issubclass(w.category, ignored))
    return array, notes


def _decode(source, name: str, limit: int, notes: list[str]) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        # Pillow's own bomb guard stays on (it raises past 2x Image.MAX_IMAGE_PIXELS);
        # our limit is checked from the header before any pixel is decoded.
        handle = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
        with handle as img:
            check_pixel_limit(*img.size, name, limit)
            frames = frame_count(img)
            if frames is not None:
                notes.append(f"{frames} frames (animated or multi-page): encoded the first frame only")
                img.seek(0)
            img.load()
            orientation = img.getexif().get(EXIF_ORIENTATION, 1)
            img = ImageOps.exif_transpose(img)
            if orientation not in (None, 1):
                notes.append(f"EXIF orientation {orientation} applied")
            img = to_srgb(img, notes)
            array = as_rgb_array(img, notes)
    except InputError as exc:
        if exc.message.startswith(name):
            raise
        raise InputError(f"{name}: {exc.message}", exc.hint) from None
    except Image.DecompressionBombError as exc:
        raise InputError(f"{name}: refused by Pillow's decompression-bomb guard ({exc})") from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not a readable image (not an image, or a format Pillow cannot read)", "formats: JPEG, PNG, WebP, GIF, TIFF, BMP, HEIC, AVIF, …") from None
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError, struct.error, IndexError, KeyError, MemoryError) as exc:
        # Pillow's decoders report corrupt data with a variety of exception types.
        raise InputError(f"{name}: cannot decode image ({type(exc).__name__}: {exc})", "the file may be truncated or corrupt") from None
    return array


def frame_count(img) -> str | None:
    """``None`` for a single-frame image, else the frame count as text, found without walking the file.

    Pillow computes ``n_frames`` of a GIF or TIFF by visiting every frame
    (a 30 000-page TIFF took 7.6 s); ``is_animated`` only looks for a second
    one. The exact count is given only where Pillow already knows it.
    """
    animated = getattr(img, "is_animated", None)
    if not (animated if animated is not None else getattr(img, "n_frames", 1) > 1):
        return None
    if isinstance(getattr(type(img), "n_frames", None), property):  # counting walks the frames: stop at two
        return "2 or more"
    return str(img.n_frames)


EXIF_ORIENTATION = 0x0112
SRGB_NAMES = ("srgb", "sRGB")


def to_srgb(image, notes: list[str]):
    """Convert an image with an embedded ICC profile to sRGB, which is what codecs and VLMs assume.

    The encoders write no profile, so without this a wide-gamut (Display P3,
    Adobe RGB) or CMYK photo would come out with shifted colours. An sRGB
    profile is left alone (a round trip through LittleCMS can move values by
    one); a profile LittleCMS cannot read is ignored with a note.
    """
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK", "L", "LA"):
        return image
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = (ImageCms.getProfileDescription(source) or "").strip()
        if any(tag.lower() in description.lower() for tag in SRGB_NAMES):
            return image
        if image.mode == "LA":
            image = image.convert("RGBA")
        out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        notes.append(f"ICC profile ignored ({exc})")
        return image
    notes.append(f"converted from ICC profile {description or 'unnamed'!r} to sRGB")
    return converted


ACCEPTED_IMAGES = "a path (str or os.PathLike), encoded bytes or bytearray, a numpy uint8 array or a PIL image"


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
    if not isinstance(image, Image.Image):
        raise TypeError(f"an image must be {ACCEPTED_IMAGES}, got {type(image).__name__}")
    if image.width == 0 or image.height == 0:
        raise InputError("image has no pixels")
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        data = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
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
