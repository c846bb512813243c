"""Measurements, the printed table and ``bench/results/latest.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Measurement:
    requests: int  # requests (wrk) or completed flows (driver)
    seconds: float
    rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_kinds: dict[str, int] = field(default_factory=dict)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("seconds", "rate", "p50_ms", "p90_ms", "p99_ms", "max_ms"):
            d[k] = round(d[k], 2)
        return d


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def _fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table(report: dict[str, Any]) -> str:
    """One row per scenario and database: rate, latencies, errors, target and the two ratios."""
    hello = (report.get("hello") or {}).get("rate")
    head = (f"{'scenario':<22} {'db':<10} {'rate/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
            f"{'target':>8} {'×target':>8} {'×hello':>7}  ")  # fmt: skip
    out = [head, "-" * len(head)]
    if hello:
        h = report["hello"]
        out.append(f"{'hello world (limit)':<22} {'-':<10} {hello:>9,.0f} {h['p50_ms']:>8.1f} {h['p99_ms']:>8.1f} "
                   f"{h['errors']:>6} {'-':>8} {'-':>8} {1:>7.2f}")  # fmt: skip
    for db, block in report.get("databases", {}).items():
        for name, row in block.get("scenarios", {}).items():
            m = row.get("result")
            if m is None:
                out.append(f"{name:<22} {db:<10} {'skipped: ' + row.get('skipped', '')}")
                continue
            target = row.get("target")
            ratio = f"{m['rate'] / target:.2f}" if target else "-"
            vs_hello = f"{m['rate'] / hello:.3f}" if hello else "-"
            flag = "" if row.get("met") else "  MISS"
            if m["errors"]:
                flag += f"  ERRORS {m['error_kinds']}"
            out.append(f"{name:<22} {db:<10} {m['rate']:>9,.0f} {m['p50_ms']:>8.1f} {m['p99_ms']:>8.1f} "
                       f"{m['errors']:>6} {_fmt_rate(target):>8} {ratio:>8} {vs_hello:>7}{flag}")  # fmt: skip
        rss = block.get("rss_mb")
        if rss:
            out.append(f"{'memory (RSS/worker)':<22} {db:<10} {max(rss):>7.0f} MB  (workers: "
                       f"{', '.join(f'{r:.0f}' for r in rss)} MB; target ≤ 100 MB)")  # fmt: skip
    for db, block in report.get("scale", {}).items():
        out.append("")
        out.append(f"data scale on {db}: {block.get('summary', '')}")
        for name, row in block.get("scenarios", {}).items():
            empty, scaled = row.get("empty"), row.get("scaled")
            if empty and scaled:
                out.append(f"  {name:<20} empty {empty:>9,.0f}/s   scaled {scaled:>9,.0f}/s   "
                           f"{(scaled / empty - 1) * 100:>+6.1f} %{'' if row.get('met') else '  MISS'}")  # fmt: skip
    scaling = report.get("scaling")
    if scaling:
        out.append("")
        out.append(f"client_credentials on {scaling['db']}: 1 worker {scaling['one']:,.0f}/s, "
                   f"{scaling['workers']} workers {scaling['many']:,.0f}/s = ×{scaling['ratio']:.2f} "
                   f"(target ≥ ×1.7){'' if scaling['met'] else '  MISS'}")  # fmt: skip
    return "\n".join(out)


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
