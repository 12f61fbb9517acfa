"""The pools. Each is a subclass of the native pool of the same name, whose
`get`, `release`, `allocate`, `size` and `available` run in Rust, over the
pool of the same name in the `fastalloc` crate."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Generic, Optional, TypeVar

from . import _native
from .exceptions import PoolEmptyError

if TYPE_CHECKING:
    from .config import PoolBuilder

T = TypeVar("T")


def _builder() -> PoolBuilder[Any]:
    from .config import PoolBuilder

    return PoolBuilder()


class FixedPool(_native.FixedPool[T]):
    """A pool of at most `capacity` objects, used on the thread that built it.

    `get()` returns the most recently released object (or builds one with
    the factory, by default `obj_type()`); `release(obj)` runs the reset
    method and takes it back. Using the pool from another thread raises an
    error: share a `ThreadSafePool` instead.
    """

    __slots__ = ()

    @staticmethod
    def builder() -> PoolBuilder[Any]:
        """A `PoolBuilder`."""
        return _builder()


#: The guides' name for `FixedPool`.
Pool = FixedPool


class GrowingPool(_native.GrowingPool[T]):
    """A pool that starts at `capacity` objects and grows, following
    `growth_config` (default: linear steps of half the capacity), up to
    `max_capacity` (default: no limit), used on the thread that built it."""

    __slots__ = ()

    @staticmethod
    def builder() -> PoolBuilder[Any]:
        return _builder()


class ThreadSafePool(_native.ThreadSafePool[T]):
    """A pool shared by threads: per-thread caches in front of a lock-free
    stack, in Rust."""

    __slots__ = ()

    @staticmethod
    def builder() -> PoolBuilder[Any]:
        return _builder()


class ThreadLocalPool(_native.ThreadLocalPool[T]):
    """A pool that gives each thread its own `capacity` objects; release an
    object on the thread that got it. `size()`, `capacity()` and
    `available()` are the calling thread's; `stats()` sums every thread's."""

    __slots__ = ()

    @staticmethod
    def builder() -> PoolBuilder[Any]:
        return _builder()


class AsyncPool(_native.AsyncPool[T]):
    """A pool for asyncio: `await pool.get_async()` waits (first come, first
    served) while every object is out, without blocking the event loop.
    `get()` and `release()` work without awaiting too. `close()` makes
    waiting tasks raise `PoolClosedError`."""

    def __init__(
        self,
        obj_type: type[T],
        capacity: int,
        *,
        factory: Optional[Callable[[], T]] = None,
        reset_method: Optional[str] = None,
        enable_statistics: bool = False,
        pre_initialize: bool = False,
    ) -> None:
        # The native constructor took the arguments; this keeps the futures
        # of waiting tasks, so `close()` can wake them.
        self._pending: set[asyncio.Future[None]] = set()

    @staticmethod
    def builder() -> PoolBuilder[Any]:
        return _builder()

    async def get_async(self, timeout: Optional[float] = None) -> T:
        """An object, waiting while every object is out; after `timeout`
        seconds, `PoolEmptyError` (a free object is taken even with a timeout
        of 0). A cancelled wait loses no object."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter()
        try:
            ready = self._ready(loop)
            obj = waiter.poll(self._wake(loop, ready))
            if obj is not None:
                return obj
            if timeout is None:
                return await self._wait(waiter, loop, ready)
            try:
                return await asyncio.wait_for(self._wait(waiter, loop, ready), timeout)
            except (asyncio.TimeoutError, TimeoutError):
                raise PoolEmptyError(
                    f"AsyncPool: no object came free within {timeout} s "
                    f"(all {self.capacity()} in use)"
                ) from None
        finally:
            waiter.cancel()

    def _ready(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        ready: asyncio.Future[None] = loop.create_future()
        self._pending.add(ready)
        ready.add_done_callback(self._pending.discard)
        return ready

    @staticmethod
    def _wake(loop: asyncio.AbstractEventLoop, ready: asyncio.Future[None]) -> Callable[[], None]:
        def wake() -> None:
            loop.call_soon_threadsafe(_resolve, ready)

        return wake

    async def _wait(
        self,
        waiter: _native.Waiter[T],
        loop: asyncio.AbstractEventLoop,
        ready: asyncio.Future[None],
    ) -> T:
        while True:
            await ready
            ready = self._ready(loop)
            obj = waiter.poll(self._wake(loop, ready))
            if obj is not None:
                ready.cancel()
                return obj

    def close(self) -> None:
        """Refuses further gets; waiting tasks raise `PoolClosedError`."""
        super().close()
        for fut in list(self._pending):
            fut.get_loop().call_soon_threadsafe(_resolve, fut)

    async def release_async(self, obj: T) -> None:
        """Gives `obj` back (the first waiting task is woken)."""
        self.release(obj)

    def allocate(self) -> _Allocation[T]:  # type: ignore[override]
        """`async with pool.allocate() as obj:` waits for an object;
        `with pool.allocate() as obj:` takes one now (or raises
        `PoolEmptyError`)."""
        return _Allocation(self)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class _Allocation(Generic[T]):
    """`pool.allocate()` of an `AsyncPool`: a context manager, sync or async."""

    __slots__ = ("_pool", "_obj")

    def __init__(self, pool: AsyncPool[T]) -> None:
        self._pool = pool
        self._obj: Optional[T] = None

    def __enter__(self) -> T:
        self._obj = self._pool.get()
        return self._obj

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self._give_back()

    async def __aenter__(self) -> T:
        self._obj = await self._pool.get_async()
        return self._obj

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self._give_back()

    def _give_back(self) -> None:
        obj, self._obj = self._obj, None
        if obj is not None:
            self._pool.release(obj)


__all__ = [
    "AsyncPool",
    "FixedPool",
    "GrowingPool",
    "Pool",
    "ThreadLocalPool",
    "ThreadSafePool",
]
