"""Pool statistics: `pool.stats()` is a `StatsCollector`; `StatsReporter`
formats one."""

from __future__ import annotations

from typing import Any, Optional, Protocol

#: The snapshot keys of the guides, in order.
SNAPSHOT_KEYS = (
    "total_allocations",
    "total_releases",
    "total_resets",
    "growth_events",
    "peak_in_use",
    "peak_capacity",
    "current_in_use",
    "current_capacity",
    "total_allocation_time_ns",
    "total_release_time_ns",
    "avg_allocation_time_ns",
    "avg_release_time_ns",
)


class _Source(Protocol):
    def _snapshot(self) -> dict[str, int]: ...

    def reset_stats(self) -> None: ...


class StatsCollector:
    """The statistics of one pool (or the sum of several, from `merge`).

    Counters and timings stay 0 unless the pool was built with
    `enable_statistics=True`; `current_in_use` and `current_capacity` are
    always filled. Timings are sampled by the Rust pool (1 call in 64, the
    clock's own cost subtracted); the totals are the sampled mean times the
    count, estimates rather than sums of every call.
    """

    def __init__(
        self,
        source: Optional[_Source] = None,
        enabled: bool = False,
        *,
        fixed: Optional[dict[str, int]] = None,
    ) -> None:
        self._source = source
        self.enabled = enabled
        self._fixed = fixed

    def snapshot(self) -> dict[str, int]:
        """The figures now: a dict with (at least) the keys of `SNAPSHOT_KEYS`."""
        if self._source is not None:
            return self._source._snapshot()
        return dict(self._fixed or {key: 0 for key in SNAPSHOT_KEYS})

    def reset(self) -> None:
        """Counters to zero and peaks to the figures now; the next snapshot
        covers what happens from here."""
        if self._source is not None:
            self._source.reset_stats()
        elif self._fixed is not None:
            for key in self._fixed:
                if key not in ("current_in_use", "current_capacity"):
                    self._fixed[key] = 0

    def merge(self, other: StatsCollector) -> StatsCollector:
        """A collector holding the sum of this one's figures and `other`'s
        now (peaks summed too: an upper bound of the combined peak)."""
        a, b = self.snapshot(), other.snapshot()
        merged = {key: a.get(key, 0) + b.get(key, 0) for key in set(a) | set(b)}
        allocations = merged.get("total_allocations", 0)
        releases = merged.get("total_releases", 0)
        merged["avg_allocation_time_ns"] = (
            merged.get("total_allocation_time_ns", 0) // allocations if allocations else 0
        )
        merged["avg_release_time_ns"] = (
            merged.get("total_release_time_ns", 0) // releases if releases else 0
        )
        return StatsCollector(enabled=self.enabled or other.enabled, fixed=merged)

    # The guides read figures from the snapshot; these are shortcuts.
    @property
    def current_in_use(self) -> int:
        return self.snapshot()["current_in_use"]

    @property
    def peak_in_use(self) -> int:
        return self.snapshot()["peak_in_use"]

    def __repr__(self) -> str:
        s = self.snapshot()
        return (
            f"StatsCollector(enabled={self.enabled}, in_use={s['current_in_use']}, "
            f"capacity={s['current_capacity']}, allocations={s['total_allocations']})"
        )


class StatsReporter:
    """Formats a collector's snapshot."""

    def __init__(self, collector: StatsCollector) -> None:
        self.collector = collector

    def to_dict(self) -> dict[str, int]:
        return self.collector.snapshot()

    def to_text(self) -> str:
        s = self.collector.snapshot()
        width = max(len(key) for key in SNAPSHOT_KEYS)
        return "\n".join(f"{key:<{width}}  {s.get(key, 0):>14,}" for key in SNAPSHOT_KEYS)

    def print_report(self, file: Any = None) -> None:
        print(self.to_text(), file=file)

    def summary(self) -> str:
        s = self.collector.snapshot()
        return (
            f"{s['current_in_use']}/{s['current_capacity']} in use "
            f"(peak {s['peak_in_use']}), {s['total_allocations']} allocations, "
            f"avg get {s['avg_allocation_time_ns']} ns, "
            f"avg release {s['avg_release_time_ns']} ns"
        )


__all__ = ["SNAPSHOT_KEYS", "StatsCollector", "StatsReporter"]
