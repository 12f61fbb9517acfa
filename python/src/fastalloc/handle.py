"""Handles around pooled objects: `ContextHandle` (a `with` block),
`OwnedHandle` (released when dropped), `WeakHandle` (a weak reference)."""

from __future__ import annotations

import weakref
from typing import Callable, Generic, Optional, TypeVar

from ._native import ContextHandle
from .exceptions import AlreadyReleasedError

T = TypeVar("T")


class OwnedHandle(Generic[T]):
    """Holds an object and releases it when the handle is released or
    garbage-collected, whichever comes first."""

    def __init__(self, obj: T, release_func: Callable[[T], None]) -> None:
        self._obj: Optional[T] = obj
        self._release_func = release_func

    def get(self) -> T:
        if self._obj is None:
            raise AlreadyReleasedError("this handle's object was already released")
        return self._obj

    def release(self) -> None:
        obj, self._obj = self._obj, None
        if obj is None:
            raise AlreadyReleasedError("this handle's object was already released")
        self._release_func(obj)

    def is_released(self) -> bool:
        return self._obj is None

    def __enter__(self) -> T:
        return self.get()

    def __exit__(self, *exc: object) -> None:
        if self._obj is not None:
            self.release()

    def __del__(self) -> None:
        if getattr(self, "_obj", None) is not None:
            try:
                self.release()
            except Exception:  # noqa: BLE001 - a finaliser must not raise
                pass


class WeakHandle(Generic[T]):
    """A weak reference to a pooled object: `get()` returns it while it is
    alive, `None` after."""

    def __init__(self, obj: T) -> None:
        self._ref: weakref.ReferenceType[T] = weakref.ref(obj)

    def get(self) -> Optional[T]:
        return self._ref()

    def is_alive(self) -> bool:
        return self._ref() is not None


__all__ = ["ContextHandle", "OwnedHandle", "WeakHandle"]
