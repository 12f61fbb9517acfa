"""Turns the JSON of a benchmark run (`--benchmark-json=FILE`) into the
table of medians and ratios of `python/README.md`:

    python -m pytest benchmarks/ --benchmark-only --benchmark-json=bench.json
    python benchmarks/report.py bench.json
"""

from __future__ import annotations

import json
import sys

OPS = 1000


def main(path: str) -> int:
    with open(path) as f:
        run = json.load(f)
    ns: dict[str, float] = {}
    gc_counts: dict[str, float] = {}
    for bench in run["benchmarks"]:
        name = bench["name"].removeprefix("test_")
        if name == "gc_gen0_collections":
            gc_counts = bench["extra_info"]
            continue
        ns[name] = bench["stats"]["median"] * 1e9 / OPS
    machine = run.get("machine_info", {})
    print(f"Run of {run.get('datetime', '?')} on {machine.get('cpu', {}).get('brand_raw', '?')}, "
          f"Python {machine.get('python_version', '?')}; medians, ns per operation.\n")
    print("| benchmark | median (ns) |")
    print("|---|---|")
    for name, value in sorted(ns.items(), key=lambda kv: kv[1]):
        print(f"| `{name}` | {value:.1f} |")
    fixed = ns["get_release[FixedPool]"]
    rows = [
        ("get + release ≤ 3× `list.pop()` + `list.append()`",
         fixed / ns["floor_list_pop_append"], 3.0, "≤"),
        ("get + release ≥ 20× faster than fastalloc 0.1.1",
         ns["reference_get_release"] / fixed, 20.0, "≥"),
        ("get + release ≤ 0.5× constructing the object",
         fixed / ns["naive_construct"], 0.5, "≤"),
        ("`with pool.allocate()` ≤ 2× get + release",
         ns["with_allocate"] / fixed, 2.0, "≤"),
        ("`ThreadSafePool` get + release ≤ 1.5× `FixedPool`",
         ns["get_release[ThreadSafePool]"] / fixed, 1.5, "≤"),
    ]
    if gc_counts:
        rows.append(("gen-0 collections ≥ 80% fewer with the pool",
                     float(gc_counts["reduction"]), 0.8, "≥"))
    print("\n| target | ratio | met? |")
    print("|---|---|---|")
    for label, ratio, bound, op in rows:
        met = ratio <= bound if op == "≤" else ratio >= bound
        print(f"| {label} | {ratio:.2f} | {'yes' if met else 'no'} |")
    if gc_counts:
        print(f"\ngen-0 collections over 100 000 iterations: {gc_counts['naive']} without the pool, "
              f"{gc_counts['pooled']} with it.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "bench.json"))
