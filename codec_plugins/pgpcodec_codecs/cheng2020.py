"""Cheng2020-anchor, a learned image codec, through CompressAI (optional extra ``cheng2020``).

Quality 1–6 selects one of CompressAI's MSE-trained models. Pretrained
weights come from the CompressAI zoo on first use (a progress bar on
stderr) into torch hub's cache, ``<torch hub dir>/checkpoints/``; offline,
a clear :class:`MissingResourceError` says which file to copy there.

``pretrained=False`` builds the same architecture with random weights drawn
from ``seed`` and makes its entropy coder ready with ``update(force=True)``:
real arithmetic coding of real latents, good for testing the plumbing and
timing, meaningless for rate–distortion. Streams record which weights made
them, and decoding rebuilds the same model, so ``pgpcodec decode`` needs no
options.

Bitstream container (all integers big-endian)::

    magic        8 bytes  b"PGPC2020"
    version      u8       1
    quality      u8       1–6
    weights      u8       0 = CompressAI zoo (pretrained), 1 = random
    seed         u32      the random-weights seed (0 for pretrained)
    width        u32      original image width
    height       u32      original image height
    latent       2 × u16  height, width of the latent grid (``shape`` of compress())
    groups       u8       number of string groups (2: y and z)
    per group:   u8 count, then per string: u32 length + the bytes

The image is padded to a multiple of 64 by edge replication (right and
bottom) before coding and cropped after decoding.
"""

from __future__ import annotations

import contextlib
import io
import struct
import threading
import warnings

import numpy as np

from pgpcodec.codec_options import parse_bool
from pgpcodec.errors import CodecError, MissingResourceError, UsageError
from pgpcodec.imaging import check_pixel_limit
from pgpcodec.interfaces import Codec

MAGIC = b"PGPC2020"
VERSION = 1
ALIGN = 64
LATENT_STRIDE = 16
"""Pixels per position of the latent y (four stride-2 layers); the hyper-latent z is 4x coarser."""
ARCHITECTURE = "cheng2020-anchor"
INSTALL_HINT = "pip install 'pgpcodec[cheng2020]' && pip install --no-deps compressai==1.2.0 (make install does both)"
_HEADER = struct.Struct(">8sBBBIIIHHB")


def _import_compressai():
    try:
        import torch

        with warnings.catch_warnings():  # CompressAI 1.2.0's video models use a deprecated torch.cuda.amp API
            warnings.simplefilter("ignore", FutureWarning)
            from compressai.zoo import cheng2020_anchor
    except ImportError as exc:
        raise MissingResourceError(f"cheng2020: CompressAI is not installed ({exc})", INSTALL_HINT) from None
    return torch, cheng2020_anchor


def weights_url(quality: int) -> str:
    from compressai.zoo.image import model_urls

    return model_urls[ARCHITECTURE]["mse"][quality]


def pack_stream(quality: int, pretrained: bool, seed: int, size: tuple[int, int], latent: tuple[int, int], strings) -> bytes:
    """The container described in the module docstring."""
    out = io.BytesIO()
    out.write(_HEADER.pack(MAGIC, VERSION, quality, 0 if pretrained else 1, seed, size[0], size[1], latent[0], latent[1], len(strings)))
    for group in strings:
        out.write(struct.pack(">B", len(group)))
        for string in group:
            out.write(struct.pack(">I", len(string)))
            out.write(string)
    return out.getvalue()


def unpack_stream(data: bytes) -> dict:
    """Parse a container; raise :class:`CodecError` on anything malformed."""
    try:
        magic, version, quality, weights, seed, width, height, lat_h, lat_w, groups = _HEADER.unpack_from(data, 0)
    except struct.error:
        raise CodecError("cheng2020: stream is too short for its header") from None
    if magic != MAGIC:
        raise CodecError("cheng2020: not a pgpcodec cheng2020 stream (bad magic)")
    if version != VERSION:
        raise CodecError(f"cheng2020: stream version {version} is not supported (this pgpcodec reads {VERSION})", "upgrade pgpcodec")
    if not 1 <= quality <= 6 or weights not in (0, 1) or width == 0 or height == 0:
        raise CodecError("cheng2020: corrupt stream header")
    offset = _HEADER.size
    strings = []
    try:
        for _ in range(groups):
            (count,) = struct.unpack_from(">B", data, offset)
            offset += 1
            group = []
            for _ in range(count):
                (length,) = struct.unpack_from(">I", data, offset)
                offset += 4
                if offset + length > len(data):
                    raise struct.error("string runs past the end")
                group.append(data[offset : offset + length])
                offset += length
            strings.append(group)
    except struct.error:
        raise CodecError("cheng2020: stream is truncated") from None
    if offset != len(data):
        raise CodecError("cheng2020: stream has trailing bytes")
    return {
        "quality": quality,
        "pretrained": weights == 0,
        "seed": seed,
        "size": (width, height),
        "latent": (lat_h, lat_w),
        "strings": strings,
    }


class Cheng2020Codec(Codec):
    """CompressAI cheng2020-anchor (MSE), quality 1–6, higher is better."""

    name = "cheng2020"
    extension = ".c2020"
    mime_type = "application/x-pgpcodec-cheng2020"
    quality_range = (1, 6)
    bench_qualities = (1, 2, 3, 4, 5, 6)  # the settings pgpcodec bench sweeps, worst to best
    default_quality = 3

    def __init__(self, *, pretrained: bool | str = True, seed: int = 0, threads: int | None = None):
        self.pretrained = parse_bool(pretrained, "cheng2020: pretrained")
        self.random_weights = not self.pretrained
        self.seed = int(seed)
        if not 0 <= self.seed < 2**32:
            raise UsageError(f"cheng2020: seed must be from 0 to {2**32 - 1}, got {seed}")
        self.threads = None if threads is None else int(threads)
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"cheng2020: threads must be at least 1, got {threads}")
        self._models: dict[tuple[int, bool, int], object] = {}
        self._lock = threading.Lock()

    def model(self, quality: int, pretrained: bool, seed: int):
        """The ready-to-code network for these settings, built once per codec instance."""
        key = (quality, pretrained, seed)
        with self._lock:
            if key not in self._models:
                self._models[key] = self._build(quality, pretrained, seed)
            return self._models[key]

    def _build(self, quality: int, pretrained: bool, seed: int):
        torch, cheng2020_anchor = _import_compressai()
        if self.threads:
            torch.set_num_threads(self.threads)
        if pretrained:
            try:
                net = cheng2020_anchor(quality=quality, metric="mse", pretrained=True, progress=True)
            except Exception as exc:  # offline: URLError/OSError; a damaged file: RuntimeError from torch.load
                raise MissingResourceError(
                    f"cheng2020: cannot get the pretrained weights for quality {quality} ({type(exc).__name__}: {exc})",
                    f"on a connected machine download {weights_url(quality)} and copy it into "
                    f"{torch.hub.get_dir()}/checkpoints/; the codec option pretrained=False runs random weights, for tests only",
                    parameter="codec_options.pretrained",
                ) from None
            net = net.eval()
            net.update()
            return net
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = cheng2020_anchor(quality=quality, metric="mse", pretrained=False).eval()
        net.update(force=True)
        return net

    def _encode(self, image: np.ndarray, quality: int) -> bytes:
        torch, _ = _import_compressai()
        net = self.model(quality, self.pretrained, self.seed)
        height, width = image.shape[:2]
        pad_h, pad_w = -height % ALIGN, -width % ALIGN
        padded = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        x = torch.from_numpy(np.ascontiguousarray(padded.transpose(2, 0, 1))).float().div_(255.0).unsqueeze(0)
        positions = (padded.shape[0] // LATENT_STRIDE) * (padded.shape[1] // LATENT_STRIDE)
        with torch.no_grad(), self._reporting(net, "cheng2020 encode", positions):
            result = net.compress(x)
        latent = tuple(int(v) for v in result["shape"])
        return pack_stream(quality, self.pretrained, self.seed, (width, height), latent, result["strings"])

    def decode(self, data: bytes) -> np.ndarray:
        stream = unpack_stream(bytes(data))
        check_pixel_limit(*stream["size"], "cheng2020 bitstream")
        width, height = stream["size"]
        expected = (-(-height // ALIGN), -(-width // ALIGN))  # the hyper-latent of the padded image: 1/64 of it
        if stream["latent"] != expected:
            raise CodecError(
                f"cheng2020: the stream's latent grid {stream['latent'][0]}x{stream['latent'][1]} (rows x columns) does not fit "
                f"its {width}x{height} image, which needs {expected[0]}x{expected[1]}",
                "the stream is corrupt or was not made by pgpcodec",
            )
        torch, _ = _import_compressai()
        net = self.model(stream["quality"], stream["pretrained"], stream["seed"])
        lat_h, lat_w = stream["latent"]
        try:
            with torch.no_grad(), self._reporting(net, "cheng2020 decode", 16 * lat_h * lat_w):
                x_hat = net.decompress(stream["strings"], list(stream["latent"]))["x_hat"]
        except Exception as exc:  # a corrupt payload fails deep inside the entropy decoder
            raise CodecError(f"cheng2020: cannot decode the stream ({type(exc).__name__}: {exc})") from None
        pixels = x_hat.clamp_(0, 1).mul_(255).round_().to(torch.uint8)[0].permute(1, 2, 0).numpy()
        if pixels.shape[0] < height or pixels.shape[1] < width:
            raise CodecError("cheng2020: decoded picture is smaller than the size in the header")
        return np.ascontiguousarray(pixels[:height, :width])

    def accepts(self, data: bytes) -> bool:
        return data[:8] == MAGIC

    @contextlib.contextmanager
    def _reporting(self, net, task: str, positions: int):
        """Report ``self.progress(task, done, positions)`` as the autoregressive coder visits each latent position.

        CompressAI's context model runs ``entropy_parameters`` once per position of the
        latent grid (stride 16 in pixels), in encode and decode alike: a forward hook
        counts those calls, reported about a hundred times in all.
        """
        progress = self.progress
        if progress is None:
            yield
            return
        step, done = max(1, positions // 100), [0]

        def count(module, inputs, output):
            done[0] += 1
            if done[0] % step == 0 and done[0] < positions:
                progress(task, done[0], positions)

        progress(task, 0, positions)
        handle = net.entropy_parameters.register_forward_hook(count)
        try:
            yield
        finally:
            handle.remove()
            progress(task, positions, positions)
