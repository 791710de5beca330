"""Reading images safely, converting them to RGB, and writing outputs atomically."""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import logging
import os
import stat
import struct
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

from .errors import InputError, OutputError

DEFAULT_MAX_PIXELS = 100_000_000
"""Largest image accepted by default (100 MP); overridable per call and by PGPCODEC_MAX_PIXELS."""


INPUT_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "HEIF", "AVIF", "PPM")
"""Pillow formats :func:`load_image` opens by default.

Every other Pillow format is refused before its plugin sees the bytes.
Overridable per call (``formats=``) and by ``PGPCODEC_INPUT_FORMATS``
(comma-separated Pillow format names)."""

NEVER_FORMATS = frozenset({"EPS", "PS", "PDF"})
"""Formats never opened, whatever the configuration: Pillow hands them to Ghostscript, an external program."""


def input_formats(formats=None) -> tuple[str, ...]:
    """The allow-list in force: ``formats``, else ``PGPCODEC_INPUT_FORMATS``, else :data:`INPUT_FORMATS`."""
    from .errors import UsageError

    if formats is None:
        configured = os.environ.get("PGPCODEC_INPUT_FORMATS", "").strip()
        formats = configured.split(",") if configured else INPUT_FORMATS
    chosen = tuple(dict.fromkeys(str(name).strip().upper() for name in formats if str(name).strip()))
    refused = sorted(NEVER_FORMATS.intersection(chosen))
    if refused:
        raise UsageError(f"input formats {', '.join(refused)} are never opened (Pillow runs Ghostscript for them)", "remove them from PGPCODEC_INPUT_FORMATS")
    if not chosen:
        raise UsageError("the list of input formats is empty", f"set PGPCODEC_INPUT_FORMATS to e.g. {','.join(INPUT_FORMATS)}")
    from PIL import Image

    _register_heif()
    Image.init()
    unknown = [name for name in chosen if name not in Image.OPEN]
    if unknown and chosen != INPUT_FORMATS:  # the defaults may name a format this Pillow build lacks
        raise UsageError(f"input format {unknown[0]} is not one Pillow can open here", f"known: {', '.join(sorted(Image.OPEN))}")
    return tuple(name for name in chosen if name in Image.OPEN)


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
            f"{width}x{height} is {width * height:,} pixels, over the limit of {limit:,}",
            "raise the pixel limit, or PGPCODEC_MAX_PIXELS, if the image is trusted",
            parameter="max_pixels",
        ).locate(name)


def load_image(source: str | os.PathLike | bytes, *, limit: int | None = None, formats=None) -> tuple[np.ndarray, list[str]]:
    """Decode a file or bytes to (H, W, 3) uint8 RGB, honouring EXIF orientation.

    Only the Pillow formats of :func:`input_formats` are opened (``formats``
    overrides the allow-list for this call); EPS, PS and PDF never are.

    Returns the array and notes about what was done to it (first frame of an
    animation, alpha dropped, …). Raises :class:`InputError` for anything
    that is not a readable image or exceeds the pixel limit.
    """
    _register_heif()
    limit = max_pixels() if limit is None else limit
    allowed = input_formats(formats)
    name = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    if not isinstance(source, (bytes, bytearray)):
        path = Path(source)
        if not path.exists():
            raise InputError("no such file").locate(name)
        if path.is_dir():
            raise InputError("is a directory, not an image").locate(name)
        if path.stat().st_size == 0:
            raise InputError("file is empty").locate(name)
    notes: list[str] = []
    # Pillow reports oddities it works around (corrupt EXIF, …) as warnings;
    # they become notes on this image instead of stray lines on stderr.
    # (catch_warnings is process-wide: under threads a warning may still
    # print or be missed, never worse.)
    with warnings.catch_warnings(record=True) as caught, _pillow_log() as logged:
        warnings.simplefilter("always")
        try:
            array = _decode(source, name, limit, notes, allowed)
        except InputError as exc:
            if logged:  # what Pillow logged on the way (a TIFF with 7 samples per pixel, …) goes into the one line
                exc.extend(f": Pillow: {'; '.join(logged)}")
            raise
    notes.extend(f"Pillow: {text}" for text in logged)
    from PIL import Image

    # Pillow's bomb *warning* is dropped: pgpcodec's own limit above decides (its hard error stays on).
    ignored = (DeprecationWarning, Image.DecompressionBombWarning)
    notes.extend(f"Pillow: {' '.join(str(w.message).split())}" for w in caught if not issubclass(w.category, ignored))
    return array, notes


class _LogCapture(logging.Handler):
    def __init__(self, records: list[str]):
        super().__init__(logging.WARNING)
        self.records = records
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:  # this call's records, not another thread's
            self.records.append(" ".join(record.getMessage().split()))


@contextlib.contextmanager
def _pillow_log():
    """Pillow's log records while an image is read, instead of a stray stderr line (Python's last-resort handler)."""
    records: list[str] = []
    handler = _LogCapture(records)
    logger = logging.getLogger("PIL")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def _decode(source, name: str, limit: int, notes: list[str], formats: tuple[str, ...]) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        # Pillow's own bomb guard stays on (it raises past 2x Image.MAX_IMAGE_PIXELS);
        # our limit is checked from the header before any pixel is decoded.
        handle = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source, formats=formats)
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
        raise exc.locate(name) from None  # unless it already names its input (the pixel limit does)
    except Image.DecompressionBombError as exc:
        raise InputError(f"refused by Pillow's decompression-bomb guard ({exc})").locate(name) from None
    except UnidentifiedImageError:
        raise InputError(
            "not a readable image (not an image, or not one of the accepted formats)",
            f"accepted formats: {', '.join(formats)}; the list is set by PGPCODEC_INPUT_FORMATS",
        ).locate(name) from None
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError, struct.error, IndexError, KeyError, MemoryError) as exc:
        # Pillow's decoders report corrupt data with a variety of exception types.
        raise InputError(f"cannot decode image ({type(exc).__name__}: {exc})", "the file may be truncated or corrupt").locate(name) from None
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


STREAM_KINDS = {stat.S_IFCHR: "character device", stat.S_IFIFO: "FIFO", stat.S_IFSOCK: "socket"}
"""Special files an output is streamed into directly (no temporary file, no rename)."""


def output_exists(path: str | os.PathLike) -> bool:
    """Whether writing ``path`` would replace an existing file (a regular file, through symlinks too).

    Character devices, FIFOs and sockets are streamed into, not replaced, so
    they do not count: ``-o /dev/null`` needs no ``--force``.
    """
    try:
        return not stat.S_ISCHR(mode := os.stat(path).st_mode) and not stat.S_ISFIFO(mode) and not stat.S_ISSOCK(mode)
    except OSError:
        return False


def output_error(target: Path, exc: OSError) -> OutputError:
    """One clear line for an output that cannot be written (read-only folder, disk full, …)."""
    folder = target.parent if str(target.parent) else Path(".")
    reasons = {
        errno.EACCES: (f"cannot write in {folder}: permission denied", "choose a folder you can write to with -o"),
        errno.EPERM: (f"cannot write in {folder}: operation not permitted", "choose a folder you can write to with -o"),
        errno.EROFS: (f"cannot write in {folder}: read-only file system", "choose a folder on a writable file system with -o"),
        errno.ENOSPC: ("disk full (no space left on device)", "free some space or choose another -o folder"),
        errno.EDQUOT: ("disk quota exceeded", "free some space or choose another -o folder"),
        errno.EFBIG: ("file too large (over the file-size limit: ulimit -f, or the file system's maximum)", "raise the limit or choose a smaller output"),
        errno.ENAMETOOLONG: ("file name too long for the file system", "choose a shorter -o name"),
        errno.EPIPE: ("the reader closed the pipe", "keep the reading end open until pgpcodec finishes"),
    }
    message, hint = reasons.get(exc.errno, (f"cannot write: {exc.strerror or exc}", None))
    return OutputError(f"{target}: {message}", hint)


def _name_fits(target: Path, folder: Path) -> None:
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return
    if limit and len(os.fsencode(target.name)) > limit:
        raise OutputError(f"{target}: file name too long for the file system ({len(os.fsencode(target.name))} bytes, at most {limit})", "choose a shorter -o name")


def check_output_name(path: str | os.PathLike) -> None:
    """Refuse, before any work, an output whose name the file system cannot hold."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    while not folder.exists() and folder != folder.parent:  # a folder still to be created: its nearest parent decides
        folder = folder.parent
    _name_fits(target, folder)


def _write_stream(target: Path, data: bytes, mode: int) -> None:
    """Write straight into a character device, FIFO or socket: nothing is created, renamed or removed."""
    try:
        if stat.S_ISSOCK(mode):
            import socket

            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(os.fspath(target))
                sock.sendall(data)
            return
        with open(target, "wb") as handle:  # a FIFO blocks here until a reader opens it
            handle.write(data)
    except OSError as exc:
        raise output_error(target, exc) from None


def write_atomic(path: str | os.PathLike, data: bytes, *, force: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    Refuses to replace an existing file unless ``force``. The temporary file
    is removed if anything fails. Only regular files are ever replaced:

    - a character device, FIFO or socket (``/dev/null``, a named pipe,
      ``/dev/stdout`` on a pipe) is written directly, streaming, with no
      temporary file and no rename;
    - a symlink is followed: its target is written atomically, next to the
      target, and the link stays a link;
    - a block device or any other special file is refused.

    OS failures (read-only folder, disk full, file-size limit, a name too
    long) raise :class:`OutputError` with one clear line.
    """
    target = Path(path)
    try:
        mode = os.stat(target).st_mode  # follows symlinks: what a write would reach
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise output_error(target, exc) from None
    if mode is not None:
        if stat.S_IFMT(mode) in STREAM_KINDS:
            _write_stream(target, data, mode)
            return
        if stat.S_ISDIR(mode):
            raise InputError(f"{target}: is a directory")
        if not stat.S_ISREG(mode):
            raise OutputError(f"{target}: is a block device or another special file; pgpcodec never writes into one", "choose a regular file as the output")
        if not force:
            raise InputError(f"{target}: already exists", "allow overwriting it", parameter="force")
    if target.is_symlink():  # to a regular file, or dangling: write the file it names, next to it
        target = Path(os.path.realpath(target))
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{target}: folder {folder} does not exist")
    _name_fits(target, folder)
    tmp = None
    try:
        # The temporary name is kept short, so that a name which fits also fits with the temporary decoration.
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:32]}.", suffix=".tmp", dir=folder)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; outputs get the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise output_error(target, exc) from None
    except BaseException:  # Ctrl-C, SIGTERM, SIGHUP (pgpcodec.cli turns these into exceptions)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()
