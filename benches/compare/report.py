#!/usr/bin/env python3
"""Turns the comparison bench's criterion results into a table and a chart.

    cd benches/compare && cargo bench --bench compare && python3 report.py

Reads target/criterion/<group>/<pool>/new/estimates.json (the median of each
benchmark), writes results.md (a Markdown table per group: median ns/op, and
each fastalloc pool's ratio to the best peer measured in the same run) and
chart.svg (ns/op per pool, one panel per workload, log scale). Standard
library only.
"""

import html
import json
import datetime
import math
import os
import platform
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
CRITERION = HERE / "target" / "criterion"

GROUPS = [
    ("round_trip", "round trip, 1 thread"),
    ("batch_get", "get, 256 held"),
    ("batch_release", "release, 256 held"),
    ("threads_1", "1 thread sharing"),
    ("threads_2", "2 threads sharing"),
    ("threads_4", "4 threads sharing"),
    ("exhaustion", "exhaustion-heavy: 4 threads, 8 objects"),
    ("producer_consumer", "producer/consumer"),
]


def load():
    """{group: {pool: median ns}}"""
    results = {}
    for group, _ in GROUPS:
        base = CRITERION / group
        if not base.is_dir():
            continue
        for bench in sorted(base.iterdir()):
            est = bench / "new" / "estimates.json"
            bm = bench / "new" / "benchmark.json"
            if not est.is_file() or not bm.is_file():
                continue
            name = json.loads(bm.read_text())["function_id"]
            median = json.loads(est.read_text())["median"]["point_estimate"]
            results.setdefault(group, {})[name] = median
    return results


def ours(name):
    return name.startswith("fastalloc ") and not name.startswith("fastalloc 1.5")


def table(results):
    lines = [
        "Medians of one run (criterion), ns per operation (per op per thread for",
        "the threaded groups). *ratio* is the pool's time over the best peer's in",
        "the same group: below 1.00 means faster than every peer.",
        "",
    ]
    for group, title in GROUPS:
        if group not in results:
            continue
        rows = results[group]
        peers = {k: v for k, v in rows.items() if not ours(k)}
        best_name, best = min(peers.items(), key=lambda kv: kv[1])
        lines.append(f"**{title}** (`{group}`; best peer: {best_name}, {best:.2f} ns)")
        lines.append("")
        lines.append("| pool | ns/op | ratio to best peer |")
        lines.append("|---|---:|---:|")
        for name, ns in sorted(rows.items(), key=lambda kv: kv[1]):
            ratio = f"{ns / best:.2f}" if ours(name) else ""
            shown = f"**{name}**" if ours(name) else name
            lines.append(f"| {shown} | {ns:.2f} | {ratio} |")
        lines.append("")
    return "\n".join(lines)


def machine():
    """The machine and date the run was on, for the chart's caption."""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor() or platform.machine()
    cores = os.cpu_count()
    return f"{cpu}, {cores} cores, {platform.system()}; {datetime.date.today().isoformat()}"


def chart(results):
    """Horizontal bars, one panel per group, each on its own linear axis
    (0 to the slowest contender of the panel, capped at 8x the fastest so a
    slow outlier does not flatten the rest; capped bars end in an arrow)."""
    panels = [(g, t) for g, t in GROUPS if g in results]
    row_h, label_w, bar_w, pad = 16, 260, 400, 12
    out, y = [], pad + 18
    out.append(
        f'<text x="{pad}" y="{pad + 6}" fill="#495057">{html.escape(machine())}; '
        f"criterion medians of one run, ns per op (linear, each panel its own scale)</text>"
    )
    for group, title in panels:
        rows = sorted(results[group].items(), key=lambda kv: kv[1])
        top = min(rows[-1][1], 8 * rows[0][1])
        out.append(
            f'<text x="{pad}" y="{y + 12}" font-weight="bold">{html.escape(title)}</text>'
        )
        y += 20
        for name, ns in rows:
            color = "#d9480f" if ours(name) else "#868e96"
            w = bar_w * min(ns, top) / top
            out.append(
                f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{html.escape(name)}</text>'
            )
            out.append(
                f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" '
                f'height="{row_h - 4}" fill="{color}"/>'
            )
            mark = " \u203a" if ns > top else ""
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{ns:.1f}{mark}</text>')
            y += row_h
        y += pad
    width, height = label_w + bar_w + 90, y + 20
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">'
        f'<rect width="100%" height="100%" fill="white"/>'
        + "".join(out)
        + f'<text x="{label_w}" y="{height - 4}" fill="#495057">'
        f"orange: fastalloc, grey: peers</text></svg>\n"
    )


def main():
    results = load()
    if not results:
        raise SystemExit("no criterion results: run `cargo bench --bench compare` first")
    (HERE / "results.md").write_text(table(results))
    (HERE / "chart.svg").write_text(chart(results))
    print(table(results))


if __name__ == "__main__":
    main()
