"""The behaviours of the Python interface: constructors, get/release,
errors, LIFO reuse, growth, statistics, handles, the builder, `@pooled`."""

from __future__ import annotations

import gc
import sys
import threading
import weakref
from typing import Any

import pytest

import fastalloc
from fastalloc import (
    AlreadyReleasedError,
    AsyncPool,
    ContextHandle,
    FastAllocError,
    FixedPool,
    GrowingPool,
    GrowthStrategy,
    InvalidCapacityError,
    OwnedHandle,
    Pool,
    PoolBuilder,
    PoolClosedError,
    PoolConfigurationError,
    PoolEmptyError,
    Resettable,
    StatsReporter,
    ThreadLocalPool,
    ThreadSafePool,
    TypeMismatchError,
    WeakHandle,
    exponential_growth,
    linear_growth,
    pooled,
)
from fastalloc.stats import SNAPSHOT_KEYS

KINDS: list[Any] = [FixedPool, GrowingPool, ThreadSafePool, ThreadLocalPool, AsyncPool]


class Item:
    built = 0

    def __init__(self) -> None:
        Item.built += 1
        self.value = 0

    def reset(self) -> None:
        self.value = 0


class Other:
    pass


@pytest.fixture(params=KINDS, ids=lambda k: k.__name__)
def kind(request: pytest.FixtureRequest) -> Any:
    return request.param


def test_module_layout() -> None:
    for name in [
        "Pool", "FixedPool", "GrowingPool", "ThreadSafePool", "ThreadLocalPool", "AsyncPool",
        "PoolBuilder", "GrowthStrategy", "GrowthConfig", "InitializationStrategy", "pooled",
        "StatsCollector", "StatsReporter", "Resettable", "linear_growth", "exponential_growth",
        "__version__", "FastAllocError", "PoolEmptyError", "PoolClosedError",
        "TypeMismatchError", "InvalidCapacityError", "AlreadyReleasedError",
        "PoolConfigurationError",
    ]:
        assert hasattr(fastalloc, name), name
    from fastalloc.config import PoolBuilder as B  # noqa: F401
    from fastalloc.handle import ContextHandle as C, OwnedHandle as O, WeakHandle as W  # noqa: F401
    from fastalloc.stats import StatsCollector as S, StatsReporter as R  # noqa: F401
    assert Pool is FixedPool
    assert issubclass(InvalidCapacityError, ValueError)
    for e in (PoolEmptyError, PoolClosedError, TypeMismatchError, InvalidCapacityError,
              AlreadyReleasedError, PoolConfigurationError):
        assert issubclass(e, FastAllocError)


def test_get_returns_the_object_and_reuse_is_lifo(kind: Any) -> None:
    pool = kind(Item, 4)
    a = pool.get()
    b = pool.get()
    assert isinstance(a, Item) and a is not b
    pool.release(a)
    assert pool.get() is a, "the object released last comes back first"
    pool.release(b)
    pool.release(a)
    assert pool.get() is a


def test_factory_reset_and_counts(kind: Any) -> None:
    made: list[Item] = []

    def factory() -> Item:
        item = Item()
        item.value = 7
        made.append(item)
        return item

    pool = kind(Item, 3, factory=factory, reset_method="reset")
    assert (pool.size(), pool.capacity(), pool.available()) == (0, 3, 0)
    obj = pool.get()
    assert obj.value == 7 and made == [obj]
    assert (pool.size(), pool.available()) == (1, 0)
    obj.value = 99
    pool.release(obj)
    assert obj.value == 0, "reset ran on release"
    assert (pool.size(), pool.available()) == (0, 1)


def test_pre_initialize_builds_every_object(kind: Any) -> None:
    before = Item.built
    pool = kind(Item, 5, pre_initialize=True)
    if kind is ThreadLocalPool:
        pool.size()  # a thread's pool is made on its first use
    assert pool.available() == 5
    assert Item.built - before == 5


def test_exhaustion_raises_pool_empty(kind: Any) -> None:
    if kind is GrowingPool:
        pool = kind(Item, 2, max_capacity=2)
    else:
        pool = kind(Item, 2)
    held = [pool.get(), pool.get()]
    with pytest.raises(PoolEmptyError, match="2"):
        pool.get()
    pool.release(held.pop())
    assert pool.get() is not None


def test_double_and_foreign_releases_are_refused_and_change_nothing(kind: Any) -> None:
    pool = kind(Item, 3)
    other = kind(Item, 3)
    a = pool.get()
    pool.release(a)
    with pytest.raises(AlreadyReleasedError):
        pool.release(a)
    with pytest.raises(AlreadyReleasedError):
        pool.release(Item())  # never taken from it
    b = other.get()
    with pytest.raises(AlreadyReleasedError):
        pool.release(b)  # from another pool
    with pytest.raises(TypeMismatchError) as err:
        pool.release(Other())
    assert err.value.expected_type is Item and err.value.actual_type is Other
    assert (pool.size(), pool.available()) == (0, 1)
    other.release(b)


@pytest.mark.parametrize("bad", [0, -3, "10", 2.5, None])
def test_invalid_capacity(kind: Any, bad: Any) -> None:
    with pytest.raises(InvalidCapacityError):
        kind(Item, bad)
    with pytest.raises(ValueError):
        kind(Item, bad)


def test_allocate_releases_on_exit_exceptions_included(kind: Any) -> None:
    pool = kind(Item, 2)
    with pool.allocate() as obj:
        assert isinstance(obj, Item) and pool.size() == 1
    assert pool.size() == 0
    with pytest.raises(RuntimeError):
        with pool.allocate() as obj:
            raise RuntimeError("inside the block")
    assert pool.size() == 0 and pool.available() == 1


def test_close(kind: Any) -> None:
    pool = kind(Item, 2)
    a = pool.get()
    assert not pool.is_closed()
    pool.close()
    assert pool.is_closed()
    with pytest.raises(PoolClosedError):
        pool.get()
    pool.release(a)  # objects out may still come back
    assert pool.size() == 0


def test_repr(kind: Any) -> None:
    pool = kind(Item, 2)
    pool.get()
    text = repr(pool)
    assert kind.__name__ in text and "type=Item" in text and "in_use=1" in text


def test_statistics(kind: Any) -> None:
    pool = kind(Item, 4, reset_method="reset", enable_statistics=True)
    held = [pool.get() for _ in range(3)]
    for obj in held:
        pool.release(obj)
    s = pool.stats().snapshot()
    for key in SNAPSHOT_KEYS:
        assert isinstance(s[key], int), key
    assert s["total_allocations"] == 3
    assert s["total_releases"] == 3
    assert s["total_resets"] == 3
    assert s["peak_in_use"] == 3
    assert s["current_in_use"] == 0
    assert s["current_capacity"] == 4 or kind is GrowingPool
    pool.stats().reset()
    s = pool.stats().snapshot()
    assert (s["total_allocations"], s["total_releases"], s["peak_in_use"]) == (0, 0, 0)
    text = StatsReporter(pool.stats()).to_text()
    assert "total_allocations" in text
    assert "in use" in StatsReporter(pool.stats()).summary()


def test_statistics_off_keeps_counters_zero(kind: Any) -> None:
    pool = kind(Item, 4)
    obj = pool.get()
    s = pool.stats().snapshot()
    assert s["total_allocations"] == 0 and s["current_in_use"] == 1
    assert s["current_capacity"] == pool.capacity()
    pool.release(obj)


def test_merge_sums_two_collectors() -> None:
    a = FixedPool(Item, 4, enable_statistics=True)
    b = FixedPool(Item, 4, enable_statistics=True)
    a.release(a.get())
    b.release(b.get())
    b.release(b.get())
    merged = a.stats().merge(b.stats()).snapshot()
    assert merged["total_allocations"] == 3
    assert merged["current_capacity"] == 8


def test_growing_pool_grows_to_its_maximum() -> None:
    pool = GrowingPool(Item, capacity=2, max_capacity=5, growth_config=linear_growth(increment=2))
    held = [pool.get() for _ in range(5)]
    assert pool.capacity() == 5 and pool.max_capacity() == 5
    with pytest.raises(PoolEmptyError):
        pool.get()
    for obj in held:
        pool.release(obj)
    unbounded = GrowingPool(Item, capacity=4)
    assert unbounded.max_capacity() is None
    many = [unbounded.get() for _ in range(100)]
    assert unbounded.capacity() >= 100
    for obj in many:
        unbounded.release(obj)
    doubling = GrowingPool(Item, capacity=2, growth_config=exponential_growth(factor=2.0))
    held = [doubling.get() for _ in range(5)]
    assert doubling.capacity() == 8
    for obj in held:
        doubling.release(obj)


def test_growth_config_errors() -> None:
    with pytest.raises(PoolConfigurationError, match="increment"):
        linear_growth(increment=0)
    with pytest.raises(PoolConfigurationError, match="factor"):
        exponential_growth(factor=1.0)
    with pytest.raises(PoolConfigurationError, match="max_capacity"):
        GrowingPool(Item, capacity=10, max_capacity=5)


def test_builder() -> None:
    pool = (
        PoolBuilder[Item]()
        .type(Item)
        .capacity(10)
        .max_capacity(20)
        .growth_strategy(GrowthStrategy.LINEAR, increment=5)
        .pre_initialize(True)
        .reset_method("reset")
        .enable_statistics(True)
        .build()
    )
    assert isinstance(pool, GrowingPool) and pool.available() == 10
    assert isinstance(Pool.builder().type(Item).capacity(3).build(), FixedPool)
    assert isinstance(
        Pool.builder().type(Item).capacity(3).thread_safe(True).build(), ThreadSafePool
    )
    assert isinstance(
        Pool.builder().type(Item).capacity(3).thread_local(True).build(), ThreadLocalPool
    )
    for builder, setting in [
        (PoolBuilder[Item]().capacity(3), "type"),
        (PoolBuilder[Item]().type(Item).capacity(0), "capacity"),
        (PoolBuilder[Item]().type(Item).capacity(5).max_capacity(2), "max_capacity"),
        (
            PoolBuilder[Item]().type(Item).capacity(5)
            .growth_strategy(GrowthStrategy.EXPONENTIAL, factor=0.5),
            "factor",
        ),
        (
            PoolBuilder[Item]().type(Item).capacity(5)
            .growth_strategy(GrowthStrategy.LINEAR, increment=0),
            "increment",
        ),
        (PoolBuilder[Item]().type(Item).capacity(5).thread_safe().thread_local(), "thread_"),
    ]:
        with pytest.raises(PoolConfigurationError, match=setting):
            builder.build()


def test_pooled_decorator() -> None:
    @pooled(capacity=8, reset_method="reset")
    class Entity:
        pool: FixedPool[Any]

        def __init__(self) -> None:
            self.hp = 100

        def reset(self) -> None:
            self.hp = 100

    e = Entity.pool.get()
    e.hp = 3
    Entity.pool.release(e)
    assert Entity.pool.get().hp == 100

    @pooled(capacity=2, thread_safe=True)
    class Shared:
        pool: ThreadSafePool[Any]

    assert isinstance(Shared.pool, ThreadSafePool)

    @pooled(capacity=2, max_capacity=4)
    class Grows:
        pool: GrowingPool[Any]

    assert isinstance(Grows.pool, GrowingPool)


def test_handles() -> None:
    pool = FixedPool(Item, 2)
    released: list[Item] = []
    h = ContextHandle(pool.get(), lambda o: (released.append(o), pool.release(o)))
    with h as obj:
        assert isinstance(obj, Item)
    assert released == [obj] and h.is_released() and pool.size() == 0
    with pytest.raises(AlreadyReleasedError):
        h.release()

    owned = OwnedHandle(pool.get(), pool.release)
    assert pool.size() == 1 and not owned.is_released()
    del owned
    gc.collect()
    assert pool.size() == 0, "an owned handle releases when collected"

    target = Item()
    weak = WeakHandle(target)
    assert weak.is_alive() and weak.get() is target
    del target
    gc.collect()
    assert not weak.is_alive()


def test_resettable_protocol() -> None:
    assert isinstance(Item(), Resettable)
    assert not isinstance(Other(), Resettable)


def test_factory_exception_reaches_the_caller_and_the_pool_stays_usable(kind: Any) -> None:
    fail = [True]

    def factory() -> Item:
        if fail[0]:
            raise KeyError("factory failed")
        return Item()

    pool = kind(Item, 2, factory=factory)
    with pytest.raises(KeyError, match="factory failed"):
        pool.get()
    assert pool.size() == 0
    fail[0] = False
    obj = pool.get()
    assert isinstance(obj, Item) and pool.size() == 1
    pool.release(obj)


def test_pre_initialize_exception_reaches_the_constructor() -> None:
    def factory() -> Item:
        raise OSError("no resource")

    with pytest.raises(OSError, match="no resource"):
        FixedPool(Item, 3, factory=factory, pre_initialize=True)


def test_reset_exception_reaches_release_and_the_object_is_dropped(kind: Any) -> None:
    class Fragile:
        alive = 0

        def __init__(self) -> None:
            Fragile.alive += 1
            self.broken = False

        def __del__(self) -> None:
            Fragile.alive -= 1

        def reset(self) -> None:
            if self.broken:
                raise ValueError("reset failed")

    pool = kind(Fragile, 2, reset_method="reset")
    obj = pool.get()
    obj.broken = True
    with pytest.raises(ValueError, match="reset failed"):
        pool.release(obj)
    assert (pool.size(), pool.available()) == (0, 0), "dropped, not kept half-reset"
    del obj
    gc.collect()
    assert Fragile.alive == 0
    fresh = pool.get()
    assert not fresh.broken
    pool.release(fresh)


def test_reference_counts_come_back_after_the_pool_is_dropped(kind: Any) -> None:
    target = Item()
    start = sys.getrefcount(target)
    pool = kind(Item, 4, factory=lambda: target)
    got = pool.get()
    assert got is target
    assert sys.getrefcount(target) > start
    pool.release(got)
    del got
    del pool
    gc.collect()
    assert sys.getrefcount(target) == start

    class Tracked:
        pass

    pool2 = kind(Tracked, 8, pre_initialize=True)
    if kind is ThreadLocalPool:
        pool2.size()
    refs = []
    held = [pool2.get() for _ in range(3)]
    refs = [weakref.ref(o) for o in held]
    for o in held:
        pool2.release(o)
    del held, o
    assert all(r() is not None for r in refs), "idle objects live in the pool"
    del pool2
    gc.collect()
    assert all(r() is None for r in refs), "and die with it"


def test_objects_out_when_the_pool_is_dropped_are_not_leaked(kind: Any) -> None:
    class Tracked:
        pass

    pool = kind(Tracked, 4)
    out = pool.get()
    ref = weakref.ref(out)
    del pool
    gc.collect()
    assert ref() is out, "the caller's reference keeps it"
    del out
    gc.collect()
    assert ref() is None


def test_the_same_object_from_the_factory_twice() -> None:
    shared = Item()
    pool = FixedPool(Item, 3, factory=lambda: shared)
    a, b = pool.get(), pool.get()
    assert a is b is shared and pool.size() == 2
    pool.release(a)
    pool.release(b)
    with pytest.raises(AlreadyReleasedError):
        pool.release(a)
    assert pool.size() == 0


def test_single_thread_pools_refuse_other_threads() -> None:
    pool = FixedPool(Item, 2)
    errors: list[BaseException] = []

    def use() -> None:
        try:
            pool.get()
        except BaseException as e:  # noqa: BLE001 - the panic exception is a BaseException
            errors.append(e)

    t = threading.Thread(target=use)
    t.start()
    t.join()
    assert len(errors) == 1 and "thread" in str(errors[0]).lower()
    assert pool.size() == 0


class Brittle:
    """A reset method that always raises."""

    def reset(self) -> None:
        raise ValueError("reset failed (test)")


def test_dropping_a_pool_with_objects_whose_reset_raises_does_not_abort(
    kind: Any,
) -> None:
    import subprocess
    import textwrap

    # In a child process: an abort would kill it, not the test run.
    code = textwrap.dedent(f"""
        import gc, fastalloc
        class Brittle:
            def reset(self):
                raise ValueError("reset failed (test)")
        pool = fastalloc.{kind.__name__}(Brittle, 4, reset_method="reset")
        held = [pool.get(), pool.get()]
        del pool
        gc.collect()
        print("alive")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "alive" in out.stdout


def test_a_thread_exiting_with_objects_whose_reset_raises_does_not_abort() -> None:
    import subprocess
    import textwrap

    code = textwrap.dedent("""
        import threading, fastalloc
        class Brittle:
            def reset(self):
                raise ValueError("reset failed (test)")
        pool = fastalloc.ThreadLocalPool(Brittle, 4, reset_method="reset")
        def work():
            pool.get()
            pool.get()
        t = threading.Thread(target=work)
        t.start()
        t.join()
        print("alive", pool.size())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "alive 0" in out.stdout


def test_capacity_must_be_a_true_int() -> None:
    with pytest.raises(InvalidCapacityError, match="integer"):
        FixedPool(Item, True)
    with pytest.raises(InvalidCapacityError, match="largest"):
        FixedPool(Item, 1 << 70)


def test_release_checks_the_type_first() -> None:
    pool = FixedPool(Item, 2, factory=Other)  # type: ignore[arg-type]
    obj = pool.get()
    with pytest.raises(TypeMismatchError):
        pool.release(obj)
    assert pool.size() == 1, "a failed release changes nothing"


def test_a_context_handle_keeps_its_object_when_the_release_fails() -> None:
    calls: list[Any] = []

    def flaky(obj: Any) -> None:
        calls.append(obj)
        if len(calls) == 1:
            raise RuntimeError("not now")

    h = ContextHandle(Item(), flaky)
    with pytest.raises(RuntimeError):
        h.release()
    assert not h.is_released()
    h.release()
    assert h.is_released() and len(calls) == 2


def test_max_capacity_is_what_was_given() -> None:
    pool = GrowingPool(Item, capacity=2, growth_config=linear_growth(increment=2, max_capacity=6))
    assert pool.max_capacity() is None
    held = [pool.get() for _ in range(6)]
    with pytest.raises(PoolEmptyError):
        pool.get()  # the growth config's maximum still bounds it
    for obj in held:
        pool.release(obj)


def test_thread_local_pre_initialize_factory_error_reaches_size() -> None:
    def factory() -> Item:
        raise LookupError("no item")

    pool = ThreadLocalPool(Item, 2, factory=factory, pre_initialize=True)
    with pytest.raises(LookupError):
        pool.size()
