"""Draw load-test results (bench/load/run.py JSON files) as one SVG: successful
throughput and p99 latency against users, one line per run. No plotting library:
the SVG is written by hand, so the plot needs nothing beyond the standard library.

    .venv/bin/python bench/load/plot.py bench/results/load-*.json -o docs/performance-load.svg
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

WIDTH, HEIGHT, PAD = 460, 300, 60
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def _panel(runs, key: str, title: str, unit: str, x0: int) -> list[str]:
    users = sorted({s["users"] for run in runs for s in run["steps"]})
    top = max((s[key] or 0) for run in runs for s in run["steps"]) or 1
    top = 10 ** math.floor(math.log10(top)) * math.ceil(top / 10 ** math.floor(math.log10(top)))
    left, bottom = x0 + PAD, HEIGHT - PAD
    w, h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def x(u: int) -> float:  # log2 of users: the steps double
        span = math.log2(users[-1] / users[0]) or 1
        return left + w * math.log2(u / users[0]) / span

    def y(v: float) -> float:
        return bottom - h * v / top

    out = [f'<text x="{left + w / 2}" y="20" text-anchor="middle" font-weight="bold">{title}</text>',
           f'<line x1="{left}" y1="{bottom}" x2="{left + w}" y2="{bottom}" stroke="#444"/>',
           f'<line x1="{left}" y1="{bottom}" x2="{left}" y2="{bottom - h}" stroke="#444"/>']
    for u in users:
        out.append(f'<text x="{x(u):.1f}" y="{bottom + 16}" text-anchor="middle">{u}</text>')
    for i in range(5):
        v = top * i / 4
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        out.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{left + w}" y2="{y(v):.1f}"'
                   ' stroke="#ddd"/>')
    out.append(f'<text x="{left + w / 2}" y="{HEIGHT - 12}" text-anchor="middle">users</text>')
    out.append(f'<text x="{x0 + 14}" y="{bottom - h / 2}" text-anchor="middle"'
               f' transform="rotate(-90 {x0 + 14} {bottom - h / 2})">{unit}</text>')
    for color, run in zip(COLORS, runs, strict=False):
        points = " ".join(f"{x(s['users']):.1f},{y(s[key] or 0):.1f}" for s in run["steps"])
        out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for s in run["steps"]:
            out.append(f'<circle cx="{x(s["users"]):.1f}" cy="{y(s[key] or 0):.1f}" r="3"'
                       f' fill="{color}"/>')
    return out


def draw(runs: list[dict]) -> str:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * WIDTH}" height="{HEIGHT + 30}"'
             ' font-family="sans-serif" font-size="11">',
             f'<rect width="{2 * WIDTH}" height="{HEIGHT + 30}" fill="white"/>']
    parts += _panel(runs, "ok_rps", "successful requests/s", "requests/s", 0)
    parts += _panel(runs, "p99_ms", "p99 latency (all answers)", "ms", WIDTH)
    for i, (color, run) in enumerate(zip(COLORS, runs, strict=False)):
        lx = PAD + i * 300
        parts.append(f'<rect x="{lx}" y="{HEIGHT + 8}" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{lx + 16}" y="{HEIGHT + 18}">{run["label"]}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--labels", help="comma-separated names for the runs (default: theirs)")
    args = parser.parse_args()
    runs = [json.loads(p.read_text()) for p in args.results]
    for run, label in zip(runs, (args.labels or "").split(",") if args.labels else [], strict=False):
        run["label"] = label
    args.output.write_text(draw(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
