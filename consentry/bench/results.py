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


def _cpu_change(row: dict[str, Any]) -> str:
    """Server and load-generator CPU per operation, empty → scaled: the data's cost apart from the machine's pace."""
    server, load = row.get("server_cpu_ms_per_op") or [None, None], row.get("load_cpu_ms_per_op") or [None, None]
    if not all(server) or not all(load):
        return ""
    return (
        f"   server CPU/op {(server[1] / server[0] - 1) * 100:>+4.0f} %"
        f"   load CPU/op {(load[1] / load[0] - 1) * 100:>+4.0f} %"
    )


def table(report: dict[str, Any]) -> str:
    """One row per scenario and database: rate, latencies, errors, target and the two ratios."""
    hello = (report.get("hello") or {}).get("rate")
    head = (
        f"{'scenario':<22} {'db':<10} {'rate/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
        f"{'target':>8} {'×target':>8} {'×hello':>7}  "
    )
    out = [head, "-" * len(head)]
    if hello:
        h = report["hello"]
        out.append(
            f"{'hello world (limit)':<22} {'-':<10} {hello:>9,.0f} {h['p50_ms']:>8.1f} {h['p99_ms']:>8.1f} "
            f"{h['errors']:>6} {'-':>8} {'-':>8} {1:>7.2f}"
        )
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
            out.append(
                f"{name:<22} {db:<10} {m['rate']:>9,.0f} {m['p50_ms']:>8.1f} {m['p99_ms']:>8.1f} "
                f"{m['errors']:>6} {_fmt_rate(target):>8} {ratio:>8} {vs_hello:>7}{flag}"
            )
            if "cpu_per_hash" in row:
                met = "" if row["cpu_per_hash"] <= 1.3 else "  MISS"
                out.append(
                    f"{'  login flow / hash':<22} {db:<10} {row['cpu_per_hash']:>9.2f}  "
                    f"({row['server_cpu_ms_per_op']:.1f} ms per login flow under load, "
                    f"{row['argon2_verify_cpu_ms']:.1f} ms per argon2id verification; target ≤ 1.3){met}"
                )
            if "login_request_per_hash" in row:
                ratio = row["login_request_per_hash"]
                steps = ", ".join(f"{k} {v:.1f}" for k, v in row["step_cpu_ms"].items())
                out.append(
                    f"{'  login request / hash':<22} {db:<10} {ratio:>9.2f}  (one flow at a time, ms: {steps}; "
                    f"target ≤ 1.3){'' if ratio <= 1.3 else '  MISS'}"
                )
        rss = block.get("rss_mb")
        if rss:
            pss = block.get("pss_mb") or []
            out.append(
                f"{'memory (RSS/worker)':<22} {db:<10} {max(rss):>7.0f} MB  (workers: "
                f"{', '.join(f'{r:.0f}' for r in rss)} MB; PSS {', '.join(f'{r:.0f}' for r in pss)} MB; "
                f"target ≤ 100 MB){'' if max(rss) <= 100 else '  MISS'}"
            )
    for db, block in report.get("scale", {}).items():
        out.append("")
        out.append(f"data scale on {db}: {block.get('summary', '')}")
        for name, row in block.get("scenarios", {}).items():
            empty, scaled = row.get("empty"), row.get("scaled")
            if empty and scaled:
                out.append(
                    f"  {name:<20} empty {empty:>9,.0f}/s   scaled {scaled:>9,.0f}/s   "
                    f"{(scaled / empty - 1) * 100:>+6.1f} %{_cpu_change(row)}"
                    f"{'' if row.get('met') else '  MISS'}"
                )
    scaling = report.get("scaling")
    if scaling:
        out.append("")
        out.append(
            f"client_credentials on {scaling['db']}: 1 worker {scaling['one']:,.0f}/s, "
            f"{scaling['workers']} workers {scaling['many']:,.0f}/s = ×{scaling['ratio']:.2f} "
            f"(target ≥ ×1.7){'' if scaling['met'] else '  MISS'}"
        )
        runs = scaling.get("runs")
        if runs:
            out.append(
                f"  means of runs made back to back, 1 worker {_rates(runs['one'])} and "
                f"{scaling['workers']} workers {_rates(runs['many'])}"
            )
    return "\n".join(out)


def _rates(values: list[float]) -> str:
    return " / ".join(f"{v:,.0f}" for v in values)


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")


REFERENCES = {  # per vCPU, from the sources (Keycloak 26 sizing guide; Ory Hydra's 2-core benchmark)
    "password_login": "Keycloak 15/s",
    "client_credentials": "Keycloak 120/s · Hydra 256/s (bcrypt on the secret)",
    "refresh_token": "Keycloak 120/s",
    "introspection": "Hydra 2,555/s (opaque tokens, in-memory store)",
}


def markdown(report: dict[str, Any], scale: dict[str, Any] | None = None) -> str:
    """The results as Markdown tables (docs/performance.md)."""
    dbs = list(report.get("databases", {}))
    hello = (report.get("hello") or {}).get("rate") or 0.0
    cpus = (report.get("machine") or {}).get("cpus") or 2
    head = (
        "| scenario | target | "
        + " | ".join(f"{db}: rate/s (p50 / p99 ms; server CPU per op)" for db in dbs)
        + " | ×target | ×hello |"
    )
    out = [head, "|" + "---|" * (4 + len(dbs))]
    blanks = "".join(" |" for _ in dbs[1:])
    out.append(f"| hello world (limit) | – | {hello:,.0f} |{blanks} – | 1 |")
    first = report["databases"][dbs[0]]["scenarios"] if dbs else {}
    for name in first:
        cells = []
        for db in dbs:
            row = report["databases"][db]["scenarios"].get(name, {})
            m = row.get("result")
            if not m:
                cells.append("skipped")
                continue
            err = f", **{m['errors']} errors**" if m["errors"] else ""
            cpu = row.get("server_cpu_ms_per_op")
            cpu_text = f"; {cpu:.2f} ms CPU" if cpu is not None else ""
            cells.append(f"{m['rate']:,.0f} ({m['p50_ms']:.1f} / {m['p99_ms']:.1f}{cpu_text}){err}")
        m0 = first[name].get("result") or {}
        target = first[name].get("target") or 0
        rate = m0.get("rate", 0)
        out.append(
            f"| {name} | {target:,.0f} | "
            + " | ".join(cells)
            + f" | {rate / target:.2f} | {rate / hello if hello else 0:.3f} |"
        )
    for db in dbs:
        block = report["databases"][db]
        if block.get("rss_mb"):
            out.append(
                f"\nMemory after the run on {db}: RSS {', '.join(f'{r:.0f}' for r in block['rss_mb'])} MB "
                f"per worker (PSS {', '.join(f'{r:.0f}' for r in block.get('pss_mb', []))} MB)."
            )
    scaling = report.get("scaling")
    if scaling:
        out.append(
            f"\nclient_credentials on {scaling['db']}: 1 worker {scaling['one']:,.0f}/s, {scaling['workers']} "
            f"workers {scaling['many']:,.0f}/s (×{scaling['ratio']:.2f}; target ×1.7)."
        )
    out.append("\n| per vCPU | Consentry (" + dbs[0] + ") | reference |" if dbs else "")
    out.append("|---|---|---|")
    for name, reference in REFERENCES.items():
        m = (first.get(name) or {}).get("result")
        if m:
            out.append(f"| {name} | {m['rate'] / cpus:,.0f}/s | {reference} |")
    if scale:
        for db, block in scale.get("scale", {}).items():
            out.append(f"\nData scale on {db}: {block['summary']}.\n")
            out.append("| scenario | empty rate/s | scaled rate/s | change |\n|---|---|---|---|")
            for name, row in block["scenarios"].items():
                out.append(
                    f"| {name} | {row['empty']:,.0f} | {row['scaled']:,.0f} | "
                    f"{(row['scaled'] / row['empty'] - 1) * 100 if row['empty'] else 0:+.1f} % |"
                )
    return "\n".join(out)


if __name__ == "__main__":  # python -m consentry.bench.results latest.json [scale.json]
    import sys

    main = json.loads(Path(sys.argv[1]).read_text())
    extra = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) > 2 else None
    print(markdown(main, extra))
