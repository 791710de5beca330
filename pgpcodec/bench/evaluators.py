"""Evaluators: how good a decoded image is for its question (a plugin type).

An evaluator returns a ``score`` for each benchmark sample; the BD-rate
table compares variants at equal mean score. The built-in evaluators are
a plugin package like third-party ones (docs/bench.md); this module holds
what every evaluator needs.

An evaluator registers ``register("name", factory)`` in a
``register_evaluators`` hook; ``factory(**options)`` returns an
:class:`Evaluator`. ``evaluate`` may be called from several threads at
once (up to ``concurrency``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ..errors import PluginError
from .dataset import Row


class EvaluatorError(PluginError):
    """An evaluator could not score a sample (unreachable endpoint, bad reply)."""


@dataclass(frozen=True)
class Sample:
    """One decoded image for one manifest row, with the fidelity metrics already measured."""

    row: Row
    decoded: np.ndarray
    metrics: dict
    variant: str
    codec: str
    quality: float


class Evaluator(ABC):
    name: str = ""
    metric: str = "score"
    """Label of the score in tables and plots."""
    higher_is_better: bool = True
    concurrency: int = 1
    shared_limit: bool = False
    """True when ``concurrency`` limits a shared service (a VLM server): on a Dask
    cluster it then holds across all workers together, not per worker."""
    keeps_replies: bool = False
    """True for an evaluator whose factory takes ``cache`` (a JSONL reply cache): the bench gives it OUT/replies.jsonl."""

    def settings(self) -> dict:
        """What the scores depend on, recorded in the results and compared when resuming."""
        return {"name": self.name}

    def check(self, row: Row) -> None:
        """Raise a PgpcodecError if this evaluator cannot score ``row``; called on every row before the run."""

    @abstractmethod
    def evaluate(self, sample: Sample) -> dict:
        """A dict with at least ``score`` (a float); other keys are stored with the row result."""
