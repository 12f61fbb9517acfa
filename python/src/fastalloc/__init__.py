"""fastalloc: object pools for Python whose hot path is the fastalloc Rust
crate.

    from fastalloc import Pool

    pool = Pool(MyObject, capacity=100)
    with pool.allocate() as obj:
        obj.process()
"""

from __future__ import annotations

from .config import (
    GrowthConfig,
    GrowthStrategy,
    InitializationStrategy,
    PoolBuilder,
    exponential_growth,
    linear_growth,
)
from .decorators import pooled
from .exceptions import (
    AlreadyReleasedError,
    FastAllocError,
    InvalidCapacityError,
    PoolClosedError,
    PoolConfigurationError,
    PoolEmptyError,
    TypeMismatchError,
)
from .handle import ContextHandle, OwnedHandle, WeakHandle
from .pools import AsyncPool, FixedPool, GrowingPool, Pool, ThreadLocalPool, ThreadSafePool
from .protocols import Resettable
from .stats import StatsCollector, StatsReporter

__version__ = "0.2.0"

__all__ = [
    "AlreadyReleasedError",
    "AsyncPool",
    "ContextHandle",
    "FastAllocError",
    "FixedPool",
    "GrowingPool",
    "GrowthConfig",
    "GrowthStrategy",
    "InitializationStrategy",
    "InvalidCapacityError",
    "OwnedHandle",
    "Pool",
    "PoolBuilder",
    "PoolClosedError",
    "PoolConfigurationError",
    "PoolEmptyError",
    "Resettable",
    "StatsCollector",
    "StatsReporter",
    "ThreadLocalPool",
    "ThreadSafePool",
    "TypeMismatchError",
    "WeakHandle",
    "__version__",
    "exponential_growth",
    "linear_growth",
    "pooled",
]
