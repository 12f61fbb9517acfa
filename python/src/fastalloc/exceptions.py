"""The exceptions of fastalloc: every one derives from `FastAllocError`."""

from __future__ import annotations

from typing import Any


class FastAllocError(Exception):
    """Base class of every fastalloc error."""


class PoolEmptyError(FastAllocError):
    """Every object of the pool is in use (a growing pool is at its maximum)."""


class PoolClosedError(FastAllocError):
    """The pool was closed: it hands out no more objects."""


class TypeMismatchError(FastAllocError):
    """An object released into a pool is not an instance of the pool's type."""

    def __init__(self, expected_type: type, actual_type: type, message: str = "") -> None:
        self.expected_type = expected_type
        self.actual_type = actual_type
        if not message:
            message = (
                f"type mismatch: expected {expected_type.__name__}, got {actual_type.__name__}"
            )
        super().__init__(message)


class InvalidCapacityError(FastAllocError, ValueError):
    """A capacity that is not a positive integer (also a `ValueError`)."""

    def __init__(self, capacity: Any, message: str = "") -> None:
        self.capacity = capacity
        super().__init__(message or f"invalid capacity: {capacity!r}")


class AlreadyReleasedError(FastAllocError):
    """An object released twice, or released into a pool it did not come from."""


class PoolConfigurationError(FastAllocError):
    """Pool settings that cannot work; the message names the setting."""


__all__ = [
    "AlreadyReleasedError",
    "FastAllocError",
    "InvalidCapacityError",
    "PoolClosedError",
    "PoolConfigurationError",
    "PoolEmptyError",
    "TypeMismatchError",
]
