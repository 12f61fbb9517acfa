"""`Resettable`: what a pooled class with a `reset` method looks like."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Resettable(Protocol):
    """An object the pool can clear on release: `reset_method='reset'`."""

    def reset(self) -> None: ...


__all__ = ["Resettable"]
