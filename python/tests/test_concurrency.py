"""Threads sharing a ThreadSafePool, a ThreadLocalPool per thread, and many
asyncio tasks waiting on few objects (some cancelled, some timing out)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from fastalloc import AsyncPool, PoolEmptyError, ThreadLocalPool, ThreadSafePool


class Slot:
    def __init__(self) -> None:
        self.owner: Any = None
        self.uses = 0

    def reset(self) -> None:
        self.owner = None


def test_threads_share_a_thread_safe_pool_without_double_hand_outs() -> None:
    pool = ThreadSafePool(Slot, 6, reset_method="reset", enable_statistics=True)
    errors: list[str] = []
    rounds = 3000

    def worker(me: int) -> None:
        held: list[Slot] = []
        for i in range(rounds):
            try:
                obj = pool.get()
            except PoolEmptyError:
                if held:
                    pool.release(held.pop())
                continue
            if obj.owner is not None:
                errors.append(f"object handed to {me} while held by {obj.owner}")
            obj.owner = me
            obj.uses += 1
            held.append(obj)
            if len(held) > 2 or i % 3 == 0:
                victim = held.pop(0)
                if victim.owner != me:
                    errors.append("owner changed while held")
                pool.release(victim)
        for obj in held:
            pool.release(obj)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert pool.size() == 0
    s = pool.stats().snapshot()
    assert s["total_allocations"] == s["total_releases"] > 0
    assert s["peak_in_use"] <= 6


def test_objects_released_on_another_thread() -> None:
    pool = ThreadSafePool(Slot, 4)
    objs = [pool.get() for _ in range(4)]
    t = threading.Thread(target=lambda: [pool.release(o) for o in objs])
    t.start()
    t.join()
    assert pool.size() == 0 and pool.available() == 4


def test_each_thread_has_its_own_thread_local_pool() -> None:
    pool = ThreadLocalPool(Slot, 2)
    results: dict[int, tuple[int, int, bool]] = {}

    def worker(me: int) -> None:
        a = pool.get()
        b = pool.get()
        try:
            pool.get()
            exhausted = False
        except PoolEmptyError:
            exhausted = True
        results[me] = (pool.size(), pool.capacity(), exhausted)
        pool.release(a)
        pool.release(b)
        assert pool.get() is b  # LIFO within the thread
        pool.release(b)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {n: (2, 2, True) for n in range(4)}
    assert pool.size() == 0, "the main thread has nothing out"


@pytest.mark.asyncio
async def test_many_tasks_wait_on_few_objects_first_come_first_served() -> None:
    pool = AsyncPool(Slot, 2, reset_method="reset")
    order: list[int] = []
    held = [pool.get(), pool.get()]

    async def task(n: int) -> None:
        obj = await pool.get_async()
        order.append(n)
        await asyncio.sleep(0)
        await pool.release_async(obj)

    tasks = [asyncio.create_task(task(n)) for n in range(20)]
    while pool.waiting() < 20:
        await asyncio.sleep(0)
    for obj in held:
        pool.release(obj)
    await asyncio.gather(*tasks)
    assert order == list(range(20)), "served in arrival order"
    assert pool.size() == 0 and pool.waiting() == 0


@pytest.mark.asyncio
async def test_cancelled_and_timed_out_waiters_lose_no_object() -> None:
    pool = AsyncPool(Slot, 3)
    held = [pool.get() for _ in range(3)]
    done: list[int] = []

    async def waiter(n: int) -> None:
        async with pool.allocate() as obj:
            assert isinstance(obj, Slot)
            done.append(n)
            await asyncio.sleep(0.001)

    tasks = [asyncio.create_task(waiter(n)) for n in range(30)]
    while pool.waiting() < 30:
        await asyncio.sleep(0)
    for t in tasks[::3]:
        t.cancel()
    with pytest.raises(PoolEmptyError):
        await pool.get_async(timeout=0.01)
    for obj in held:
        await pool.release_async(obj)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    cancelled = sum(isinstance(r, asyncio.CancelledError) for r in results)
    assert cancelled == 10
    assert sorted(done) == [n for n in range(30) if n % 3]
    assert pool.size() == 0 and pool.waiting() == 0
    assert pool.available() == 3, "every object came back"


@pytest.mark.asyncio
async def test_release_from_another_thread_wakes_the_loop() -> None:
    pool = AsyncPool(Slot, 1)
    obj = pool.get()
    loop_task = asyncio.create_task(pool.get_async(timeout=10))
    while pool.waiting() < 1:
        await asyncio.sleep(0)
    t = threading.Thread(target=pool.release, args=(obj,))
    t.start()
    got = await loop_task
    t.join()
    assert got is obj


@pytest.mark.asyncio
async def test_a_factory_exception_reaches_the_awaiting_task() -> None:
    fail = [True]

    def factory() -> Slot:
        if fail[0]:
            raise ConnectionError("cannot connect")
        return Slot()

    pool = AsyncPool(Slot, 1, factory=factory)
    with pytest.raises(ConnectionError):
        await pool.get_async()
    fail[0] = False
    obj = await pool.get_async()
    assert isinstance(obj, Slot)
    await pool.release_async(obj)
    assert pool.waiting() == 0


@pytest.mark.asyncio
async def test_close_makes_waiting_tasks_raise() -> None:
    from fastalloc import PoolClosedError

    pool = AsyncPool(Slot, 1)
    held = pool.get()
    tasks = [asyncio.create_task(pool.get_async()) for _ in range(3)]
    while pool.waiting() < 3:
        await asyncio.sleep(0)
    pool.close()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, PoolClosedError) for r in results), results
    assert pool.waiting() == 0
    pool.release(held)
    with pytest.raises(PoolClosedError):
        await pool.get_async()


@pytest.mark.asyncio
async def test_a_zero_timeout_still_takes_a_free_object() -> None:
    pool = AsyncPool(Slot, 1)
    obj = await pool.get_async(timeout=0)
    assert isinstance(obj, Slot)
    with pytest.raises(PoolEmptyError):
        await pool.get_async(timeout=0)
    assert pool.waiting() == 0
    pool.release(obj)
