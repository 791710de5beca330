"""pgpcodec: prompt-guided prefiltering in front of standard image codecs.

``import pgpcodec`` stays cheap: the pipeline and its numpy maths load on
first use of :func:`encode`, :class:`Prefilter` or :class:`Pipeline`, and pluggy on first use
of ``hookimpl`` (by a plugin module).
"""

from __future__ import annotations

from .errors import PgpcodecError

__version__ = "0.1.0"
__all__ = ["Pipeline", "Prefilter", "PrefilterSettings", "PgpcodecError", "encode", "hookimpl", "__version__"]

_LAZY = {"Pipeline": "pipeline", "Prefilter": "prefilter", "PrefilterSettings": "prefilter", "encode": "pipeline", "hookimpl": "hookspecs"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'pgpcodec' has no attribute {name!r}")
