"""Built-in sigma maps, registered through the ``pgpcodec`` entry-point group."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pgpcodec.hookspecs import hookimpl
from pgpcodec.interfaces import SigmaMap

if TYPE_CHECKING:
    import numpy as np

NAMES = ("exponential", "linear", "reciprocal")
"""Each is the function of that name in :mod:`pgpcodec.maths.sigma`, imported when a map is made."""


class FunctionSigmaMap(SigmaMap):
    """A SigmaMap backed by one pure function from :mod:`pgpcodec.maths.sigma`."""

    def __init__(self, name: str, function: Callable[[np.ndarray, float, float], np.ndarray]):
        self.name = name
        self.function = function

    def __call__(self, scores: np.ndarray, *, sigma_max: float, sigma_one: float) -> np.ndarray:
        return self.function(scores, sigma_max, sigma_one)


def _factory(name: str) -> Callable[[], FunctionSigmaMap]:
    def factory() -> FunctionSigmaMap:
        from pgpcodec.maths import sigma as sigma_math

        return FunctionSigmaMap(name, getattr(sigma_math, name))

    return factory


@hookimpl
def register_sigma_maps(register):
    for name in NAMES:
        register(name, _factory(name))
