"""RGB ↔ Y'CbCr 4:2:0, the one place where codecs fed raw YUV convert colour.

The choices, which the VVC codec also signals in its bitstream:

- **matrix**: BT.709 (Kr = 0.2126, Kb = 0.0722);
- **range**: limited ("tv"), 10 bits: Y' in 64–940, Cb/Cr in 64–960;
- **chroma siting**: type 0 ("left", MPEG-2), the default that H.264, HEVC
  and VVC decoders assume when a stream does not say: a chroma sample sits
  on the even luma columns and half-way between two luma rows.

Downsampling filters with [1, 2, 1]/4 across columns and [1, 1]/2 across
rows, centred on each chroma sample; upsampling interpolates linearly from
the same positions. Both are pure numpy functions on whole arrays.
Samples are ``uint16`` planes (the layout of ffmpeg's ``yuv420p10le``).
"""

from __future__ import annotations

import numpy as np

KR, KB = 0.2126, 0.0722
KG = 1.0 - KR - KB
BIT_DEPTH = 10
_SCALE = 1 << (BIT_DEPTH - 8)
LUMA_OFFSET, LUMA_RANGE = 16 * _SCALE, 219 * _SCALE
CHROMA_OFFSET, CHROMA_RANGE = 128 * _SCALE, 224 * _SCALE
MAX_SAMPLE = (1 << BIT_DEPTH) - 1


def _quantise(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, MAX_SAMPLE).astype(np.uint16)


def downsample_chroma(plane: np.ndarray) -> np.ndarray:
    """(H, W) float plane, H and W even → (H/2, W/2) at left siting."""
    left = np.concatenate([plane[:, :1], plane[:, 1:-1:2]], axis=1)  # column 2j-1, clamped at the edge
    centre = plane[:, 0::2]
    right = plane[:, 1::2]
    columns = 0.25 * left + 0.5 * centre + 0.25 * right
    return 0.5 * (columns[0::2] + columns[1::2])


def upsample_chroma(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H/2, W/2) plane at left siting → (height, width), linear interpolation, edges clamped."""
    plane = plane.astype(np.float64)
    above = np.concatenate([plane[:1], plane[:-1]], axis=0)
    below = np.concatenate([plane[1:], plane[-1:]], axis=0)
    rows = np.empty((2 * plane.shape[0], plane.shape[1]))
    rows[0::2] = 0.75 * plane + 0.25 * above  # luma row 2i sits a quarter chroma row above sample i
    rows[1::2] = 0.75 * plane + 0.25 * below
    following = np.concatenate([rows[:, 1:], rows[:, -1:]], axis=1)
    full = np.empty((rows.shape[0], 2 * rows.shape[1]))
    full[:, 0::2] = rows  # even luma columns are co-sited with chroma
    full[:, 1::2] = 0.5 * (rows + following)
    return full[:height, :width]


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 RGB with H, W even → 10-bit limited-range BT.709 planes Y (H, W), Cb, Cr (H/2, W/2)."""
    height, width = rgb.shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"4:2:0 needs even dimensions, got {width}x{height}")
    r, g, b = (rgb[..., i].astype(np.float64) / 255.0 for i in range(3))
    luma = KR * r + KG * g + KB * b
    cb = (b - luma) / (2.0 * (1.0 - KB))
    cr = (r - luma) / (2.0 * (1.0 - KR))
    return (
        _quantise(LUMA_OFFSET + LUMA_RANGE * luma),
        _quantise(CHROMA_OFFSET + CHROMA_RANGE * downsample_chroma(cb)),
        _quantise(CHROMA_OFFSET + CHROMA_RANGE * downsample_chroma(cr)),
    )


def yuv420_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """The inverse of :func:`rgb_to_yuv420`: planes → (H, W, 3) uint8 RGB."""
    height, width = y.shape
    luma = (y.astype(np.float64) - LUMA_OFFSET) / LUMA_RANGE
    pb = (upsample_chroma(cb, width, height) - CHROMA_OFFSET) / CHROMA_RANGE
    pr = (upsample_chroma(cr, width, height) - CHROMA_OFFSET) / CHROMA_RANGE
    r = luma + 2.0 * (1.0 - KR) * pr
    b = luma + 2.0 * (1.0 - KB) * pb
    g = (luma - KR * r - KB * b) / KG
    rgb = np.stack([r, g, b], axis=-1) * 255.0
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def planes_to_bytes(planes: tuple[np.ndarray, ...]) -> bytes:
    """Planar little-endian 16-bit samples, as ffmpeg's ``yuv420p10le`` expects."""
    return b"".join(np.ascontiguousarray(p, dtype="<u2").tobytes() for p in planes)


def bytes_to_planes(data: bytes, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split one ``yuv420p10le`` frame of ``width`` × ``height`` (even) into its planes."""
    samples = np.frombuffer(data, dtype="<u2")
    luma_count, chroma_count = width * height, (width // 2) * (height // 2)
    if samples.size != luma_count + 2 * chroma_count:
        raise ValueError(f"a {width}x{height} 4:2:0 frame has {luma_count + 2 * chroma_count} samples, got {samples.size}")
    y = samples[:luma_count].reshape(height, width)
    cb = samples[luma_count : luma_count + chroma_count].reshape(height // 2, width // 2)
    cr = samples[luma_count + chroma_count :].reshape(height // 2, width // 2)
    return y, cb, cr
