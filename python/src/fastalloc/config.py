"""Pool configuration: growth strategies and `PoolBuilder`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto
from typing import TYPE_CHECKING, Any, Callable, Generic, Optional, TypeVar, Union

from .exceptions import PoolConfigurationError

if TYPE_CHECKING:
    from .pools import FixedPool, GrowingPool, ThreadLocalPool, ThreadSafePool

T = TypeVar("T")


class GrowthStrategy(Enum):
    """How a growing pool adds capacity."""

    LINEAR = auto()
    EXPONENTIAL = auto()


class InitializationStrategy(Enum):
    """When a pool builds its objects: all at once (`EAGER`) or on first use."""

    EAGER = auto()
    LAZY = auto()


@dataclass(frozen=True)
class GrowthConfig:
    """How a `GrowingPool` grows: `increment` for linear steps, `factor` for
    exponential ones, up to `max_capacity` (when the pool itself gives none)."""

    strategy: GrowthStrategy
    increment: Optional[int] = None
    factor: Optional[float] = None
    max_capacity: Optional[int] = None

    def __post_init__(self) -> None:
        if self.strategy is GrowthStrategy.LINEAR:
            if self.increment is None or self.increment <= 0:
                raise PoolConfigurationError(
                    f"linear growth needs a positive increment, got {self.increment!r}"
                )
        elif self.strategy is GrowthStrategy.EXPONENTIAL:
            if self.factor is None or self.factor <= 1.0:
                raise PoolConfigurationError(
                    f"exponential growth needs a factor above 1.0, got {self.factor!r}"
                )
        if self.max_capacity is not None and self.max_capacity <= 0:
            raise PoolConfigurationError(
                f"max_capacity must be positive, got {self.max_capacity!r}"
            )

    def calculate_new_capacity(self, current_capacity: int) -> int:
        """The capacity after one growth step from `current_capacity`."""
        if self.strategy is GrowthStrategy.LINEAR:
            assert self.increment is not None
            grown = current_capacity + self.increment
        else:
            assert self.factor is not None
            g = current_capacity * self.factor
            grown = max(int(g) + (0 if int(g) == g else 1), current_capacity + 1)
        if self.max_capacity is not None:
            grown = min(grown, self.max_capacity)
        return grown

    def can_grow(self, current_capacity: int) -> bool:
        """Whether a pool at `current_capacity` may still grow."""
        return self.max_capacity is None or current_capacity < self.max_capacity


def linear_growth(increment: int, max_capacity: Optional[int] = None) -> GrowthConfig:
    """Grow by `increment` objects at a time."""
    return GrowthConfig(GrowthStrategy.LINEAR, increment=increment, max_capacity=max_capacity)


def exponential_growth(factor: float = 2.0, max_capacity: Optional[int] = None) -> GrowthConfig:
    """Grow by multiplying the capacity by `factor`."""
    return GrowthConfig(GrowthStrategy.EXPONENTIAL, factor=factor, max_capacity=max_capacity)


AnyPool = Union["FixedPool[Any]", "GrowingPool[Any]", "ThreadSafePool[Any]", "ThreadLocalPool[Any]"]


class PoolBuilder(Generic[T]):
    """Builds a pool step by step; `build()` checks every setting and raises
    `PoolConfigurationError` naming the one that cannot work."""

    def __init__(self) -> None:
        self._type: Optional[type[T]] = None
        self._capacity: Optional[int] = None
        self._max_capacity: Optional[int] = None
        self._growth: Optional[GrowthConfig] = None
        self._strategy: Optional[GrowthStrategy] = None
        self._increment: Optional[int] = None
        self._factor: Optional[float] = None
        self._pre_initialize = False
        self._factory: Optional[Callable[[], T]] = None
        self._reset_method: Optional[str] = None
        self._statistics = False
        self._thread_safe = False
        self._thread_local = False

    def type(self, obj_type: type[T]) -> PoolBuilder[T]:
        self._type = obj_type
        return self

    def capacity(self, capacity: int) -> PoolBuilder[T]:
        self._capacity = capacity
        return self

    def max_capacity(self, max_capacity: int) -> PoolBuilder[T]:
        self._max_capacity = max_capacity
        return self

    def growth_strategy(
        self,
        strategy: GrowthStrategy,
        *,
        increment: Optional[int] = None,
        factor: Optional[float] = None,
    ) -> PoolBuilder[T]:
        self._strategy = strategy
        self._increment = increment
        self._factor = factor
        return self

    def growth_config(self, config: GrowthConfig) -> PoolBuilder[T]:
        self._growth = config
        return self

    def pre_initialize(self, pre_initialize: bool = True) -> PoolBuilder[T]:
        self._pre_initialize = pre_initialize
        return self

    def factory(self, factory: Callable[[], T]) -> PoolBuilder[T]:
        self._factory = factory
        return self

    def reset_method(self, name: str) -> PoolBuilder[T]:
        self._reset_method = name
        return self

    def enable_statistics(self, enable: bool = True) -> PoolBuilder[T]:
        self._statistics = enable
        return self

    def thread_safe(self, thread_safe: bool = True) -> PoolBuilder[T]:
        self._thread_safe = thread_safe
        return self

    def thread_local(self, thread_local: bool = True) -> PoolBuilder[T]:
        self._thread_local = thread_local
        return self

    def build(self) -> AnyPool:
        """A `ThreadSafePool` or `ThreadLocalPool` when asked for, else a
        `GrowingPool` when a growth strategy or maximum was given, else a
        `FixedPool`."""
        from .pools import FixedPool, GrowingPool, ThreadLocalPool, ThreadSafePool

        if self._type is None:
            raise PoolConfigurationError("type: no object type given (call .type(T))")
        if self._capacity is None:
            raise PoolConfigurationError("capacity: no capacity given (call .capacity(n))")
        if not isinstance(self._capacity, int) or self._capacity <= 0:
            raise PoolConfigurationError(f"capacity must be positive, got {self._capacity!r}")
        if self._max_capacity is not None and self._max_capacity < self._capacity:
            raise PoolConfigurationError(
                f"max_capacity {self._max_capacity} is below the capacity {self._capacity}"
            )
        if self._thread_safe and self._thread_local:
            raise PoolConfigurationError(
                "thread_safe and thread_local: choose one (a shared pool, or a pool per thread)"
            )
        growth = self._growth
        if self._strategy is not None:
            if self._strategy is GrowthStrategy.LINEAR:
                if self._increment is None or self._increment <= 0:
                    raise PoolConfigurationError(
                        f"growth_strategy: linear growth needs a positive increment, "
                        f"got {self._increment!r}"
                    )
                growth = linear_growth(self._increment)
            else:
                factor = 2.0 if self._factor is None else self._factor
                if factor <= 1.0:
                    raise PoolConfigurationError(
                        f"growth_strategy: exponential growth needs a factor above 1.0, "
                        f"got {factor!r}"
                    )
                growth = exponential_growth(factor)
        common: dict[str, Any] = dict(
            factory=self._factory,
            reset_method=self._reset_method,
            enable_statistics=self._statistics,
            pre_initialize=self._pre_initialize,
        )
        grows = growth is not None or self._max_capacity is not None
        if self._thread_safe or self._thread_local:
            if grows:
                raise PoolConfigurationError(
                    "growth settings apply to a GrowingPool, not to a thread-safe or "
                    "thread-local pool"
                )
            cls = ThreadSafePool if self._thread_safe else ThreadLocalPool
            return cls(self._type, self._capacity, **common)
        if grows:
            return GrowingPool(
                self._type,
                self._capacity,
                max_capacity=self._max_capacity,
                growth_config=growth,
                **common,
            )
        return FixedPool(self._type, self._capacity, **common)


__all__ = [
    "GrowthConfig",
    "GrowthStrategy",
    "InitializationStrategy",
    "PoolBuilder",
    "exponential_growth",
    "linear_growth",
]
