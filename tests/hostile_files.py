"""Broken, hostile and unusual image files, built in memory for the reliability tests.

Each maker returns the file's bytes; :data:`HOSTILE` says which ones must be
refused with a clear error and which must encode.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def gradient(width: int, height: int) -> np.ndarray:
    """A smooth RGB test picture with some structure (so codecs have work to do)."""
    y, x = np.mgrid[0:height, 0:width]
    red = (x * 255 // max(width - 1, 1)).astype(np.uint8)
    green = (y * 255 // max(height - 1, 1)).astype(np.uint8)
    blue = (((x // 8 + y // 8) % 2) * 200).astype(np.uint8)
    return np.dstack([red, green, blue])


def save(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def rgb(width: int = 96, height: int = 64) -> Image.Image:
    return Image.fromarray(gradient(width, height))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width × height but carries (almost) no pixel data: a decompression bomb's header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png_rgb16(width: int = 48, height: int = 32) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one, so the chunks are built here)."""
    pixels = (gradient(width, height).astype(">u2") * 257).astype(">u2")
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def exif_rotated_jpeg(orientation: int = 6) -> bytes:
    """A 40×20 JPEG, left half red and right half blue, tagged with an EXIF orientation."""
    array = np.zeros((20, 40, 3), np.uint8)
    array[:, :20] = (255, 0, 0)
    array[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(Image.fromarray(array), "JPEG", quality=95, exif=exif.tobytes())


def swapped_primaries_profile() -> bytes:
    """An RGB ICC profile whose red and blue colorants are swapped (so conversion is visible).

    Built from LittleCMS's sRGB profile by exchanging the rXYZ and bXYZ tag
    data and renaming it, so no ICC file has to ship with the tests.
    """
    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", profile[128:132])[0]
    tags = {}
    for i in range(count):
        sig, offset, size = struct.unpack(">4sII", profile[132 + 12 * i : 144 + 12 * i])
        tags[sig] = (offset, size)
    (r_off, r_size), (b_off, b_size) = tags[b"rXYZ"], tags[b"bXYZ"]
    red, blue = bytes(profile[r_off : r_off + r_size]), bytes(profile[b_off : b_off + b_size])
    profile[r_off : r_off + r_size], profile[b_off : b_off + b_size] = blue, red
    for encoding in ("utf-16-be", "ascii"):
        profile = profile.replace("sRGB".encode(encoding), "Swap".encode(encoding))
    profile[84:100] = bytes(16)  # the profile ID (an MD5) no longer matches; zero means "not computed"
    return bytes(profile)


def red_with_swapped_profile() -> bytes:
    array = np.zeros((32, 32, 3), np.uint8)
    array[...] = (255, 0, 0)
    return save(Image.fromarray(array), "PNG", icc_profile=swapped_primaries_profile())


def animated(fmt: str) -> bytes:
    frames = [Image.fromarray(np.full((32, 48, 3), value, np.uint8)) for value in (30, 120, 220)]
    options = {"save_all": True, "append_images": frames[1:], "duration": 100, "loop": 0}
    if fmt == "WEBP":
        options["lossless"] = True
    return save(frames[0], fmt, **options)


def heic() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return save(rgb(64, 48), "HEIF", quality=80)


def jpeg_bytes() -> bytes:
    return save(rgb(96, 64), "JPEG", quality=90)


def png_bytes() -> bytes:
    return save(rgb(96, 64), "PNG")


def palette_with_transparency() -> bytes:
    image = rgb(48, 32).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return save(image, "PNG", transparency=0)


def rgba() -> bytes:
    array = np.dstack([gradient(48, 32), np.linspace(0, 255, 48 * 32).reshape(32, 48).astype(np.uint8)])
    return save(Image.fromarray(array), "PNG")


# name -> (maker, outcome): "ok" must encode, "error" must be refused with a clear message.
HOSTILE = {
    "empty.jpg": (lambda: b"", "error"),
    "truncated.jpg": (lambda: jpeg_bytes()[: len(jpeg_bytes()) // 2], "error"),
    "truncated.png": (lambda: png_bytes()[: len(png_bytes()) // 2], "error"),
    "header_only.jpg": (lambda: jpeg_bytes()[:20], "error"),
    "text.png": (lambda: b"this is not an image, it is text\n" * 10, "error"),
    "random.jpg": (lambda: np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes(), "error"),
    "script.jpg": (lambda: b"#!/bin/sh\nrm -rf /\n", "error"),
    "html.webp": (lambda: b"<html><body>hi</body></html>", "error"),
    "bomb_pillow.png": (lambda: png_header_only(50_000, 50_000), "error"),
    "bomb_limit.png": (lambda: png_header_only(12_000, 9_000), "error"),
    "png_named.jpg": (png_bytes, "ok"),
    "jpeg_named.png": (jpeg_bytes, "ok"),
    "tall_1x10000.png": (lambda: save(rgb(1, 10_000), "PNG"), "ok"),
    "wide_10000x1.png": (lambda: save(rgb(10_000, 1), "PNG"), "ok"),
    "tiny_5x3.png": (lambda: save(rgb(5, 3), "PNG"), "ok"),
    "one_pixel.png": (lambda: save(rgb(1, 1), "PNG"), "ok"),
    "gray16.png": (lambda: save(Image.fromarray(gradient(48, 32)[..., 0].astype(np.uint16) * 257), "PNG"), "ok"),
    "rgb16.png": (png_rgb16, "ok"),
    "cmyk.jpg": (lambda: save(rgb(48, 32).convert("CMYK"), "JPEG"), "ok"),
    "cmyk.tif": (lambda: save(rgb(48, 32).convert("CMYK"), "TIFF"), "ok"),
    "palette.png": (lambda: save(rgb(48, 32).convert("P", palette=Image.Palette.ADAPTIVE), "PNG"), "ok"),
    "palette_transparent.png": (palette_with_transparency, "ok"),
    "rgba.png": (rgba, "ok"),
    "la.png": (lambda: save(rgb(48, 32).convert("LA"), "PNG"), "ok"),
    "gray.jpg": (lambda: save(rgb(48, 32).convert("L"), "JPEG"), "ok"),
    "bilevel.png": (lambda: save(rgb(48, 32).convert("1"), "PNG"), "ok"),
    "float.tif": (lambda: save(Image.fromarray(gradient(48, 32)[..., 1].astype(np.float32) / 255.0), "TIFF"), "ok"),
    "exif_rotated.jpg": (exif_rotated_jpeg, "ok"),
    "animated.gif": (lambda: animated("GIF"), "ok"),
    "animated.webp": (lambda: animated("WEBP"), "ok"),
    "photo.heic": (heic, "ok"),
    "photo.avif": (lambda: save(rgb(64, 48), "AVIF", quality=80), "ok"),
    "icc_swapped.png": (red_with_swapped_profile, "ok"),
}


def write_hostile(folder) -> dict[str, str]:
    """Write every hostile file into ``folder``; returns name -> expected outcome."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, (maker, _) in HOSTILE.items():
        (folder / name).write_bytes(maker())
    return {name: outcome for name, (_, outcome) in HOSTILE.items()}
