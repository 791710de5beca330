"""Built-in sigma maps, registered through the ``pgpcodec`` entry-point group."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .hookspecs import hookimpl
from .interfaces import SigmaMap
from .prefilter import sigma as sigma_math


class FunctionSigmaMap(SigmaMap):
    """A SigmaMap backed by one pure function from :mod:`pgpcodec.prefilter.sigma`."""

    def __init__(self, name: str, function: Callable[[np.ndarray, float, float], np.ndarray]):
        self.name = name
        self.function = function

    def __call__(self, scores: np.ndarray, *, sigma_max: float, sigma_one: float) -> np.ndarray:
        return self.function(scores, sigma_max, sigma_one)


@hookimpl
def register_sigma_maps(register):
    for name, function in (
        ("exponential", sigma_math.exponential),
        ("linear", sigma_math.linear),
        ("reciprocal", sigma_math.reciprocal),
    ):
        register(name, lambda function=function, name=name: FunctionSigmaMap(name, function))
