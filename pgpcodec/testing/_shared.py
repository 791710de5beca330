"""What the contract suites share."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def once_per_class(test: object, key: str, make: Callable[[], T]) -> T:
    """``make()`` once per test class (a model loads once), then the same object for every test."""
    cls = type(test)
    if key not in cls.__dict__:
        setattr(cls, key, make())
    return cls.__dict__[key]
