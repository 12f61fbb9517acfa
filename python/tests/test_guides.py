"""Every code snippet of the two guides (the performance guide and the
migration guide), run as written, with the small classes they use defined
here. The snippets' own lines are kept; only what they leave undefined
(`MyObject`, `items`, `results`, capacities) is filled in around them."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from fastalloc import (
    AsyncPool,
    FixedPool,
    GrowingPool,
    Pool,
    ThreadLocalPool,
    ThreadSafePool,
    exponential_growth,
    linear_growth,
)


class MyObject:
    def __init__(self) -> None:
        self.state: Any = None
        self.data: list[int] = []
        self.processed = 0

    def reset(self) -> None:
        self.state = None
        self.data = []

    def process(self) -> None:
        self.processed += 1


class MyClass:
    def __init__(self) -> None:
        self.data: list[int] = []
        self.state: Any = None

    def reset(self) -> None:
        """Called by pool when object is released."""
        self.data.clear()
        self.state = None

    def use(self) -> None:
        self.state = "used"

    def compute(self) -> int:
        return len(self.data)

    async def async_operation(self) -> None:
        await asyncio.sleep(0)
        self.state = "awaited"


class DataProcessor:
    def process(self, item: int) -> int:
        return item * 2


# === performance guide ===


def test_perf_pre_initialization() -> None:
    pool = Pool(MyObject, capacity=1000, pre_initialize=True)
    assert pool.available() == 1000
    assert pool.size() == 0


def test_perf_reset_methods() -> None:
    class MyObject:
        def reset(self) -> None:
            self.state: Any = None
            self.data: list[int] = []

    pool = Pool(MyObject, capacity=1000, reset_method="reset")
    obj = pool.get()
    obj.state = "dirty"
    obj.data = [1]
    pool.release(obj)
    again = pool.get()
    assert again is obj and again.state is None and again.data == []


def test_perf_thread_local_pools() -> None:
    pool = ThreadLocalPool(MyObject, capacity=100)
    seen: list[int] = []

    def worker() -> None:
        obj = pool.get()
        seen.append(pool.size())
        pool.release(obj)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [1, 1, 1, 1]
    assert pool.capacity() == 100


def test_perf_capacity_planning() -> None:
    exact_needed, typical_load, peak_load = 50, 100, 400
    # For known workloads
    pool = FixedPool(MyObject, capacity=exact_needed)
    assert pool.capacity() == 50

    # For variable workloads
    pool2 = GrowingPool(
        MyObject,
        capacity=typical_load,
        max_capacity=peak_load,
        growth_config=linear_growth(increment=100),
    )
    held = [pool2.get() for _ in range(250)]
    assert pool2.capacity() == 300
    for obj in held:
        pool2.release(obj)


def test_perf_growth_strategies() -> None:
    growth_config = linear_growth(increment=100)
    assert growth_config.calculate_new_capacity(100) == 200

    growth_config = exponential_growth(factor=2.0)
    assert growth_config.calculate_new_capacity(100) == 200


def test_perf_benchmarking_pool_and_naive_versions() -> None:
    pool = Pool(MyObject, capacity=10)
    # Pool version
    with pool.allocate() as obj:
        obj.process()

    # Naive version
    obj = MyObject()
    obj.process()
    del obj
    assert pool.size() == 0 and pool.available() == 1


def test_perf_profiling() -> None:
    pool = Pool(MyObject, capacity=1000, enable_statistics=True)

    # ... use pool ...
    for _ in range(100):
        with pool.allocate() as o:
            o.process()

    stats = pool.stats().snapshot()
    print(f"Avg allocation time: {stats['avg_allocation_time_ns']} ns")
    assert stats["total_allocations"] == 100
    assert isinstance(stats["avg_allocation_time_ns"], int)


# === migration guide ===


def test_migration_from_naive_allocation() -> None:
    items = [1, 2, 3]
    results: list[int] = []

    def process_data_before(items: list[int]) -> None:
        for item in items:
            processor = DataProcessor()
            result = processor.process(item)
            results.append(result)
            del processor  # May not help GC immediately

    process_data_before(items)

    processor_pool = Pool(DataProcessor, capacity=100)

    def process_data(items: list[int]) -> None:
        for item in items:
            with processor_pool.allocate() as processor:
                result = processor.process(item)
                results.append(result)

    process_data(items)
    assert results == [2, 4, 6, 2, 4, 6]
    assert processor_pool.size() == 0


def test_migration_from_reusable() -> None:
    pool = Pool(MyClass, capacity=100)
    obj = pool.get()
    # use obj
    pool.release(obj)
    assert pool.available() == 1


def test_migration_from_object_pool() -> None:
    pool = Pool(MyClass, capacity=100)
    with pool.allocate() as obj:
        obj.use()
    assert pool.size() == 0


def test_migration_adding_reset_methods() -> None:
    pool = Pool(MyClass, capacity=100, reset_method="reset")
    obj = pool.get()
    obj.data.append(3)
    obj.state = "busy"
    pool.release(obj)
    assert obj.data == [] and obj.state is None


def test_migration_thread_safety() -> None:
    lock = threading.Lock()

    def get_processor_before() -> DataProcessor:
        with lock:
            return DataProcessor()

    assert isinstance(get_processor_before(), DataProcessor)

    pool = ThreadSafePool(DataProcessor, capacity=100)

    def get_processor() -> DataProcessor:
        return pool.get()  # Thread-safe automatically

    got: list[DataProcessor] = []
    threads = [threading.Thread(target=lambda: got.append(get_processor())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pool.size() == 8
    for p in got:
        pool.release(p)
    assert pool.size() == 0


@pytest.mark.asyncio
async def test_migration_async() -> None:
    async def process_before() -> None:
        obj = MyClass()
        await obj.async_operation()
        del obj

    await process_before()

    pool = AsyncPool(MyClass, capacity=100)

    async def process() -> None:
        async with pool.allocate() as obj:
            await obj.async_operation()

    await asyncio.gather(*(process() for _ in range(10)))
    assert pool.size() == 0


def test_migration_performance_tuning() -> None:
    estimated_max = 100
    # 1. Start with Fixed Pool
    pool = Pool(MyClass, capacity=estimated_max)

    # 2. Add Statistics
    pool = Pool(MyClass, capacity=100, enable_statistics=True)
    held = [pool.get() for _ in range(30)]
    for obj in held:
        pool.release(obj)

    # Later, check actual usage
    stats = pool.stats().snapshot()
    print(f"Peak usage: {stats['peak_in_use']}")
    assert stats["peak_in_use"] == 30

    # 3. Adjust Configuration
    peak_in_use = stats["peak_in_use"]
    typical_usage, peak_usage = 10, peak_in_use
    # If peak < capacity: Fixed is good
    pool = FixedPool(MyClass, capacity=peak_in_use)

    # If peak varies: Use growing
    pool2 = GrowingPool(MyClass, capacity=typical_usage, max_capacity=int(peak_usage * 1.2))
    assert pool.capacity() == 30 and pool2.max_capacity() == 36


def test_migration_pitfalls() -> None:
    pool = Pool(MyClass, capacity=100)
    # 1. Forgetting to release (bad): the object stays out.
    obj = pool.get()
    obj.use()
    assert pool.size() == 1
    pool.release(obj)

    # Good:
    with pool.allocate() as obj:
        obj.use()
    # Auto-released
    assert pool.size() == 0

    # 2. Holding references (bad): still holding it after release.
    class Holder:
        cached_obj: MyClass

    self = Holder()
    self.cached_obj = pool.get()  # Holding reference
    pool.release(self.cached_obj)  # But still holding it!
    assert pool.size() == 0

    # Good:
    with pool.allocate() as obj:
        result = obj.compute()
    assert result == 0

    # 3. Wrong pool type: a FixedPool for single-threaded code.
    pool = FixedPool(MyClass, capacity=100)
    assert pool.capacity() == 100
