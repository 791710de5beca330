"""VVC / H.266 intra coding with VVenC, run through ffmpeg.

The ffmpeg binary is the static build inside ``imageio-ffmpeg`` 0.8.1
(libvvenc 1.15 encoder, native ``vvc`` decoder; GPLv3, run as a separate
program), or the one named by ``PGPCODEC_FFMPEG``. Argument lists are built
with ffmpeg-python. Colour conversion is :mod:`pgpcodec.colour` (BT.709,
limited range, 10 bits, left chroma siting) on both sides; ffmpeg only
moves raw ``yuv420p10le`` frames, so encode and decode agree exactly.

VVenC needs even dimensions of at least 16: the image is padded by edge
replication on the right and bottom. The even part of the padding is
removed by the stream's conformance window (any decoder applies it); the
exact original size also travels in a user-data SEI message that
``pgpcodec decode`` uses to drop a last odd column or row.
"""

from __future__ import annotations

import functools
import os
import re
import struct
import subprocess

import numpy as np

from pgpcodec.colour import bytes_to_planes, planes_to_bytes, rgb_to_yuv420, yuv420_to_rgb
from pgpcodec.codec_options import parse_bool
from pgpcodec.errors import CodecError, MissingResourceError, UsageError
from pgpcodec.extras import require
from pgpcodec.imaging import max_pixels
from pgpcodec.subprocess_codec import SubprocessCodec

FFMPEG_ENV = "PGPCODEC_FFMPEG"
PRESETS = ("faster", "fast", "medium", "slow", "slower")
MIN_SIDE = 16
PIXEL_FORMAT = "yuv420p10le"
INSTALL_HINT = (
    "pip install 'pgpcodec[vvenc]' (its imageio-ffmpeg==0.8.1 bundles an ffmpeg with libvvenc and the vvc decoder), "
    f"or point {FFMPEG_ENV} at an ffmpeg built with --enable-libvvenc"
)
# Colour description written into the stream's VUI, matching pgpcodec.colour.
COLOUR_TAGS = {"colorspace": "bt709", "color_range": "tv"}

SIZE_SEI_UUID = bytes.fromhex("7067706364656302a3f0c1a85e4b9d17")
"""UUID of the user-data-unregistered SEI that carries the original width and height."""
PREFIX_SEI_NUT = 23
USER_DATA_UNREGISTERED = 5
VCL_OR_PICTURE_HEADER = set(range(0, 12)) | {19}
START_CODE = re.compile(b"\x00\x00\x01")
BUFFER_FULL = "Error submitting video frame to the encoder"
"""What ffmpeg's libvvenc wrapper says when an access unit outgrows its width × height byte buffer."""
ROOM_BYTES_PER_PIXEL = 4


def ffmpeg_executable() -> str:
    """``PGPCODEC_FFMPEG`` if set, else the binary bundled with imageio-ffmpeg."""
    configured = os.environ.get(FFMPEG_ENV)
    if configured:
        return configured
    try:
        import imageio_ffmpeg
    except ImportError:
        raise MissingResourceError("vvenc: imageio-ffmpeg is not installed", INSTALL_HINT) from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise MissingResourceError(f"vvenc: no ffmpeg binary found ({exc})", INSTALL_HINT) from None


@functools.lru_cache(maxsize=8)
def _listing(executable: str, kind: str) -> str:
    try:
        result = subprocess.run(
            [executable, "-hide_banner", f"-{kind}"], stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MissingResourceError(f"vvenc: cannot run ffmpeg {executable!r} ({exc})", INSTALL_HINT) from None
    return result.stdout.decode("utf-8", "replace")


def require_ffmpeg_support(executable: str, kind: str, name: str) -> None:
    """Raise a clear error if ``executable`` lacks encoder/decoder ``name`` (kind: encoders/decoders)."""
    if not re.search(rf"^\s*\S+\s+{re.escape(name)}\s", _listing(executable, kind), re.MULTILINE):
        raise MissingResourceError(f"vvenc: the ffmpeg at {executable} has no {name} {kind[:-1]}", INSTALL_HINT)


# -- Annex-B NAL units and the size SEI ----------------------------------------


def _escape(payload: bytes) -> bytes:
    """Insert emulation-prevention bytes (00 00 0x with x ≤ 3 → 00 00 03 0x)."""
    out = bytearray()
    zeros = 0
    for byte in payload:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _unescape(payload: bytes) -> bytes:
    return re.sub(b"\x00\x00\x03", b"\x00\x00", payload)


def nal_units(stream: bytes) -> list[tuple[int, int]]:
    """(start, end) of each NAL unit (header included, start code excluded) in an Annex-B stream."""
    starts = [m.end() for m in START_CODE.finditer(stream)]
    units = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(stream)
        while end > start and stream[end - 1] == 0:  # trailing zeros belong to the next 4-byte start code
            end -= 1
        units.append((start, end))
    return units


def nal_type(unit: bytes) -> int:
    return unit[1] >> 3 if len(unit) >= 2 else -1


def size_sei(width: int, height: int) -> bytes:
    """A prefix SEI NAL unit (with start code) holding the original size."""
    body = SIZE_SEI_UUID + struct.pack(">II", width, height)
    message = bytes([USER_DATA_UNREGISTERED, len(body)]) + body + b"\x80"  # rbsp trailing bits
    return b"\x00\x00\x00\x01" + bytes([0, (PREFIX_SEI_NUT << 3) | 1]) + _escape(message)


def insert_size_sei(stream: bytes, width: int, height: int) -> bytes:
    """Put the size SEI in front of the first picture header or slice."""
    for start, _ in nal_units(stream):
        if nal_type(stream[start : start + 2]) in VCL_OR_PICTURE_HEADER:
            begin = start - 4 if stream[max(0, start - 4) : start] == b"\x00\x00\x00\x01" else start - 3
            return stream[:begin] + size_sei(width, height) + stream[begin:]
    raise CodecError("vvenc: the encoder wrote no picture")


def read_size_sei(stream: bytes) -> tuple[int, int] | None:
    """The original (width, height) from pgpcodec's SEI, or None if the stream has none."""
    for start, end in nal_units(stream):
        unit = stream[start:end]
        if nal_type(unit) != PREFIX_SEI_NUT:
            continue
        message = _unescape(unit[2:])
        if len(message) >= 2 + 24 and message[0] == USER_DATA_UNREGISTERED and message[2:18] == SIZE_SEI_UUID:
            return struct.unpack(">II", message[18:26])
    return None


def check_sei_size(size: tuple[int, int], width: int, height: int) -> None:
    """The SEI's size must be a real picture that the decoded (padded) one holds, within one odd column/row."""
    sei_w, sei_h = size
    if not (0 < sei_w <= width and 0 < sei_h <= height and width - sei_w <= 1 and height - sei_h <= 1):
        raise CodecError(
            f"vvenc: damaged stream: its size SEI says {sei_w}x{sei_h}, but the picture it holds is {width}x{height}",
            "the .266 file is corrupt or was edited; encode the image again",
        )


# -- the codec ------------------------------------------------------------------------


def padded_size(width: int, height: int) -> tuple[int, int]:
    """Smallest even size ≥ 16 that holds ``width`` × ``height``."""
    return max(MIN_SIDE, width + width % 2), max(MIN_SIDE, height + height % 2)


def roomy_height(pad_w: int, pad_h: int) -> int:
    """A padded height whose picture gives ffmpeg's access-unit buffer (one byte per pixel) room for
    ``ROOM_BYTES_PER_PIXEL`` per pixel of the original: enough for 10-bit noise at QP 0."""
    needed = -(-ROOM_BYTES_PER_PIXEL * pad_w * pad_h // pad_w)
    return max(pad_h, needed + needed % 2)


class VvencCodec(SubprocessCodec):
    """VVC intra (VVenC through ffmpeg), raw Annex-B ``.266``; quality is the QP, 0–63, lower is better."""

    name = "vvenc"
    extension = ".266"
    mime_type = "video/vvc"
    quality_range = (0, 63)
    bench_qualities = (42, 37, 32, 27)  # the settings pgpcodec bench sweeps, worst to best
    default_quality = 32
    higher_is_better = False
    quality_label = "QP"
    install_hint = INSTALL_HINT

    def __init__(self, *, preset: str = "faster", qpa: bool | str | int = False, timeout: float | None = None, ffmpeg: str | None = None):
        super().__init__(timeout=timeout)
        # ffmpeg-python drives ffmpeg either way; the bundled ffmpeg (imageio-ffmpeg) is checked
        # when one is needed (ffmpeg_executable), since PGPCODEC_FFMPEG may name another.
        require({"ffmpeg": "ffmpeg-python"}, "vvenc", "the vvenc codec")
        if preset not in PRESETS:
            raise UsageError(f"vvenc: unknown preset {preset!r}", f"choose one of: {', '.join(PRESETS)}")
        self.preset = preset
        self.qpa = parse_bool(qpa, "vvenc: qpa")
        self._ffmpeg = ffmpeg

    @property
    def ffmpeg(self) -> str:
        return self._ffmpeg or ffmpeg_executable()

    def _encode(self, image: np.ndarray, quality: int) -> bytes:
        executable = self.ffmpeg
        require_ffmpeg_support(executable, "encoders", "libvvenc")
        height, width = image.shape[:2]
        pad_w, pad_h = padded_size(width, height)
        try:
            stream = self._run_encoder(executable, image, quality, pad_w, pad_h)
        except CodecError as exc:
            if BUFFER_FULL not in (exc.output or ""):  # ffmpeg's own words for it, in what it wrote
                raise
            # ffmpeg's libvvenc wrapper holds an access unit in width × height bytes of the (padded)
            # picture: a small, detailed picture at a low QP needs more. Padding rows (cropped again by
            # the conformance window) enlarges that buffer; replicated rows cost few bits.
            stream = self._run_encoder(executable, image, quality, pad_w, roomy_height(pad_w, pad_h))
        return insert_size_sei(stream, width, height)

    def _run_encoder(self, executable: str, image: np.ndarray, quality: int, pad_w: int, pad_h: int) -> bytes:
        import ffmpeg as ffmpeg_python

        height, width = image.shape[:2]
        padded = np.pad(image, ((0, pad_h - height), (0, pad_w - width), (0, 0)), mode="edge")
        # The conformance window crops in chroma units (2 pixels), so an odd last column/row stays; the SEI has it.
        crop_right, crop_bottom = (pad_w - width) // 2 * 2, (pad_h - height) // 2 * 2
        params = ["IntraQPOffset=0", f"ConfWinRight={crop_right}", f"ConfWinBottom={crop_bottom}"]
        with self.workdir() as folder:
            source, target = folder / "input.yuv", folder / "output.266"
            source.write_bytes(planes_to_bytes(rgb_to_yuv420(padded)))
            args = (
                ffmpeg_python.input(str(source), f="rawvideo", pix_fmt=PIXEL_FORMAT, s=f"{pad_w}x{pad_h}", **COLOUR_TAGS)
                .output(
                    str(target),
                    vcodec="libvvenc",
                    pix_fmt=PIXEL_FORMAT,
                    preset=self.preset,
                    qp=quality,
                    qpa=int(self.qpa),
                    frames=1,
                    f="vvc",
                    **COLOUR_TAGS,
                    **{"vvenc-params": ":".join(params)},
                )
                .global_args("-hide_banner", "-nostdin", "-loglevel", "error")
                .compile(cmd=executable, overwrite_output=True)
            )
            self.run(args, what="encode")
            stream = target.read_bytes() if target.exists() else b""
        if not stream:
            raise CodecError("vvenc: ffmpeg wrote an empty stream")
        return stream

    def decode(self, data: bytes) -> np.ndarray:
        import ffmpeg as ffmpeg_python

        executable = self.ffmpeg
        require_ffmpeg_support(executable, "decoders", "vvc")
        with self.workdir() as folder:
            source, target = folder / "input.266", folder / "output.y4m"
            source.write_bytes(data)
            args = (
                # The decoder refuses pictures over the pixel limit before allocating them.
                ffmpeg_python.input(str(source), f="vvc", max_pixels=max_pixels())
                .output(str(target), f="yuv4mpegpipe", pix_fmt=PIXEL_FORMAT, strict=-1, frames=1)
                .global_args("-hide_banner", "-nostdin", "-loglevel", "error")
                .compile(cmd=executable, overwrite_output=True)
            )
            self.run(args, what="decode")
            frame = target.read_bytes() if target.exists() else b""
        width, height, pixels = _parse_y4m(frame)
        rgb = yuv420_to_rgb(*bytes_to_planes(pixels, width, height))
        size = read_size_sei(data)
        if size:
            check_sei_size(size, width, height)
            rgb = rgb[: size[1], : size[0]]
        return np.ascontiguousarray(rgb)

    def accepts(self, data: bytes) -> bool:
        units = nal_units(data[:4096])
        if not units or not (data.startswith(b"\x00\x00\x01") or data.startswith(b"\x00\x00\x00\x01")):
            return False
        first = data[units[0][0] : units[0][0] + 2]
        # VVC's first header byte is 0 for layer 0; HEVC/H.264 headers start otherwise.
        return len(first) == 2 and first[0] == 0 and nal_type(first) in {12, 13, 14, 15, 16, 19, 20, 23} | set(range(7, 11))


def _parse_y4m(frame: bytes) -> tuple[int, int, bytes]:
    header_end = frame.find(b"\n")
    frame_start = frame.find(b"FRAME", header_end)
    if not frame.startswith(b"YUV4MPEG2") or header_end < 0 or frame_start < 0:
        raise CodecError("vvenc: ffmpeg decoded no picture from this stream")
    fields = {token[:1]: token[1:] for token in frame[:header_end].split(b" ")[1:]}
    width, height = int(fields[b"W"]), int(fields[b"H"])
    if width % 2 or height % 2:
        raise CodecError(f"vvenc: decoded picture is {width}x{height}; only even 4:2:0 sizes are supported")
    pixels_start = frame.index(b"\n", frame_start) + 1
    return width, height, frame[pixels_start:]
