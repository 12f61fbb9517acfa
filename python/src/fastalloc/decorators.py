"""`@pooled`: gives a class its own pool, as `cls.pool`."""

from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar, Union

from .config import GrowthConfig, GrowthStrategy, exponential_growth, linear_growth
from .exceptions import PoolConfigurationError
from .pools import FixedPool, GrowingPool, ThreadLocalPool, ThreadSafePool

C = TypeVar("C", bound=type)


def pooled(
    capacity: int,
    *,
    thread_safe: bool = False,
    thread_local: bool = False,
    max_capacity: Optional[int] = None,
    growth_strategy: Union[GrowthStrategy, GrowthConfig, None] = None,
    pre_initialize: bool = False,
    reset_method: Optional[str] = None,
    enable_statistics: bool = False,
) -> Callable[[C], C]:
    """Class decorator: `Entity.pool` becomes a pool of `Entity` objects
    (a `ThreadSafePool` or `ThreadLocalPool` when asked for, a `GrowingPool`
    when a maximum or growth strategy is given, else a `FixedPool`)."""
    if thread_safe and thread_local:
        raise PoolConfigurationError("thread_safe and thread_local: choose one")

    def decorate(cls: C) -> C:
        common: dict[str, Any] = dict(
            reset_method=reset_method,
            enable_statistics=enable_statistics,
            pre_initialize=pre_initialize,
        )
        pool: Any
        if thread_safe or thread_local:
            if max_capacity is not None or growth_strategy is not None:
                raise PoolConfigurationError(
                    "growth settings apply to a GrowingPool, not to a thread-safe or "
                    "thread-local pool"
                )
            kind = ThreadSafePool if thread_safe else ThreadLocalPool
            pool = kind(cls, capacity, **common)
        elif max_capacity is not None or growth_strategy is not None:
            growth: Optional[GrowthConfig]
            if isinstance(growth_strategy, GrowthConfig) or growth_strategy is None:
                growth = growth_strategy
            elif growth_strategy is GrowthStrategy.LINEAR:
                growth = linear_growth(max(1, capacity // 2))
            else:
                growth = exponential_growth(2.0)
            pool = GrowingPool(
                cls, capacity, max_capacity=max_capacity, growth_config=growth, **common
            )
        else:
            pool = FixedPool(cls, capacity, **common)
        setattr(cls, "pool", pool)
        return cls

    return decorate


__all__ = ["pooled"]
