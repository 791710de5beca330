"""Codecs as the registry hands them out: every call guarded (:func:`pgpcodec.guard.call_plugin`).

The CLI, the sidecar, the bench and :class:`~pgpcodec.pipeline.Pipeline`
all encode and decode through a :class:`GuardedCodec`, so a codec that
raises, hangs past the plugin timeout or returns something malformed is
reported the same way everywhere: one :class:`~pgpcodec.errors.PluginError`
naming the codec and its plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .guard import PluginRef, call_plugin, malformed
from .interfaces import EncodedImage

if TYPE_CHECKING:
    import numpy as np

    from .interfaces import Codec


def encode_pixels(
    codec: "Codec", pixels: "np.ndarray", quality: float | None = None, *, target_bytes: int | None = None, target_bpp: float | None = None
) -> EncodedImage:
    """Encode at ``quality``, or at the best quality that fits ``target_bytes``/``target_bpp``
    (searched by :mod:`pgpcodec.ratecontrol`)."""
    if target_bytes is None and target_bpp is None:
        return codec.encode(pixels, quality)
    from .ratecontrol import bytes_for_bpp, check_rate_target, fit_to_size

    check_rate_target(quality, target_bytes, target_bpp)

    height, width = pixels.shape[:2]
    budget = int(target_bytes) if target_bytes is not None else bytes_for_bpp(target_bpp, width, height)
    return fit_to_size(codec, pixels, budget)


class GuardedCodec:
    """A codec whose ``encode`` and ``decode`` go through the plugin guard; everything else is the codec's.

    ``encode`` also takes the rate targets (``target_bytes``/``target_bpp``):
    the whole quality search is one guarded call, bounded by one timeout.
    Setting an attribute (``progress``) sets it on the codec.
    """

    def __init__(self, codec: "Codec", ref: PluginRef, plugin_timeout: float | None = None):
        object.__setattr__(self, "codec", codec)
        object.__setattr__(self, "ref", ref)
        object.__setattr__(self, "plugin_timeout", plugin_timeout)

    def with_timeout(self, plugin_timeout: float | None) -> "GuardedCodec":
        return GuardedCodec(self.codec, self.ref, plugin_timeout)

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy and pickle probe these before __init__ has run
            raise AttributeError(name)
        return getattr(self.__dict__["codec"], name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self.codec, name, value)

    def __repr__(self) -> str:
        return f"GuardedCodec({self.codec!r}, timeout={self.plugin_timeout})"

    def encode(self, pixels, quality: float | None = None, **targets) -> EncodedImage:
        encoded = call_plugin(self.ref, encode_pixels, self.codec, pixels, quality, timeout=self.plugin_timeout, **targets)
        if not isinstance(encoded, EncodedImage):
            raise malformed(self.ref, f"{type(encoded).__name__}, not an EncodedImage")
        if not isinstance(encoded.data, bytes) or not encoded.data:
            raise malformed(self.ref, "an empty bitstream")
        return encoded

    def decode(self, data: bytes):
        return call_plugin(self.ref, self.codec.decode, data, timeout=self.plugin_timeout)


def guarded(codec, ref: PluginRef, plugin_timeout: float | None = None) -> GuardedCodec:
    """``codec`` guarded with ``plugin_timeout``; an already guarded codec keeps its own ref."""
    if isinstance(codec, GuardedCodec):
        return codec if codec.plugin_timeout == plugin_timeout else codec.with_timeout(plugin_timeout)
    return GuardedCodec(codec, ref, plugin_timeout)
