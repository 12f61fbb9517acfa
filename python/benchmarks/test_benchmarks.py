"""`pytest benchmarks/ --benchmark-only`: a get + release, `with
allocate()`, the thread-safe pool, against constructing the object, a bare
`list.pop()` + `list.append()` (the floor) and the pure-Python fastalloc
0.1.1, in one run. Each round runs `OPS` operations: divide a time by it
for the time per operation. `benchmarks/report.py` turns the JSON of a run
into the table of medians and ratios in the README."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable

import pytest

import fastalloc

OPS = 1000


class MyObject:
    """The guides' object: some state and a list, and a reset method."""

    def __init__(self) -> None:
        self.state: Any = None
        self.data: list[int] = []

    def reset(self) -> None:
        self.state = None
        self.data.clear()


def loop(op: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        for _ in range(OPS):
            op()

    return run


def test_floor_list_pop_append(benchmark: Any) -> None:
    free = [MyObject() for _ in range(100)]
    pop, append = free.pop, free.append

    def op() -> None:
        append(pop())

    benchmark(loop(op))


def test_naive_construct(benchmark: Any) -> None:
    def op() -> None:
        obj = MyObject()
        del obj

    benchmark(loop(op))


@pytest.mark.parametrize(
    "kind", [fastalloc.FixedPool, fastalloc.ThreadSafePool, fastalloc.ThreadLocalPool],
    ids=lambda k: k.__name__,
)
def test_get_release(benchmark: Any, kind: Any) -> None:
    pool = kind(MyObject, 100, pre_initialize=True)
    get, release = pool.get, pool.release

    def op() -> None:
        release(get())

    benchmark(loop(op))


def test_get_release_with_reset(benchmark: Any) -> None:
    pool = fastalloc.FixedPool(MyObject, 100, pre_initialize=True, reset_method="reset")
    get, release = pool.get, pool.release

    def op() -> None:
        release(get())

    benchmark(loop(op))


def test_with_allocate(benchmark: Any) -> None:
    pool = fastalloc.FixedPool(MyObject, 100, pre_initialize=True)
    allocate = pool.allocate

    def op() -> None:
        with allocate() as obj:
            del obj

    benchmark(loop(op))


def test_reference_get_release(benchmark: Any, reference: ModuleType) -> None:
    pool = reference.FixedPool(MyObject, 100, pre_initialize=True)
    get, release = pool.get, pool.release

    def op() -> None:
        release(get())

    benchmark(loop(op))


def test_reference_thread_safe_get_release(benchmark: Any, reference: ModuleType) -> None:
    pool = reference.ThreadSafePool(MyObject, 100, pre_initialize=True)
    get, release = pool.get, pool.release

    def op() -> None:
        release(get())

    benchmark(loop(op))


def test_reference_with_allocate(benchmark: Any, reference: ModuleType) -> None:
    pool = reference.FixedPool(MyObject, 100, pre_initialize=True)
    allocate = pool.allocate

    def op() -> None:
        with allocate() as obj:
            del obj

    benchmark(loop(op))
