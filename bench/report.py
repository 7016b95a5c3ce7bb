"""The results as JSON (``bench/results/latest.json``) and as the markdown table the
README shows: one row per measurement, its baseline beside it, the ratio and the target."""

from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = next(int(re.findall(r"\d+", line)[0]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "memory_gib": round(mem_kib / 1024 / 1024, 1),
            "python": platform.python_version(), "kernel": platform.release()}


def write_json(results: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / "latest.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    return path


def _lat(summary: dict[str, Any]) -> str:
    errors = f" ({summary['errors']} errors)" if summary.get("errors") else ""
    return f"{summary['p50_ms']:.1f} / {summary['p99_ms']:.1f}{errors}"


def _check(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**not met**")


def markdown(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str, str]] = []  # what, measured, baseline, ratio, target
    s = results.get("scenarios", {})
    if "read_path" in s:
        r = s["read_path"]
        base = f"{r['baseline']['rps']:.0f} req/s, {_lat(r['baseline'])} ms"
        rows.append(("1. GET order (detail)", f"{r['order_detail']['rps']:.0f} req/s, {_lat(r['order_detail'])} ms",
                     base, f"{r['detail_throughput_ratio']:.2f}×",
                     f"≥ 0.50× baseline: {_check(r['detail_throughput_ratio'] >= 0.5)}"))
        rows.append(("1. GET orders (list, 25)", f"{r['order_list']['rps']:.0f} req/s, {_lat(r['order_list'])} ms",
                     base, f"{r['list_throughput_ratio']:.2f}×", "—"))
    if "passthrough" in s:
        r = s["passthrough"]
        rows.append((f"2. GET packages, TestDome (c={r['concurrency']})",
                     f"{r['gateway']['rps']:.0f} req/s, {_lat(r['gateway'])} ms",
                     f"direct: {r['direct']['rps']:.0f} req/s, {_lat(r['direct'])} ms",
                     f"{r['throughput_ratio']:.2f}×", "—"))
        rows.append(("2. GET packages, TestDome (c=1)",
                     f"{_lat(r['gateway_c1'])} ms; adds {r['added_p50_ms_c1']:.1f} / {r['added_p99_ms_c1']:.1f} ms",
                     f"direct: {_lat(r['direct_c1'])} ms", "—",
                     f"adds ≤ 5 ms p50: {_check(r['added_p50_ms_c1'] <= 5)}"))
        if "baseline_c1" in r:
            rows.append(("2. minimal authenticated endpoint (c=1)", f"{_lat(r['baseline_c1'])} ms", "—", "—",
                         "what any API request pays"))
        rows.append(("2. token requests", f"{r['token_requests']} for {r['gateway_calls']} calls", "—", "—", "—"))
    if "pipeline" in s:
        for number, r in enumerate(s["pipeline"]["phases"], 1):
            rate = f"{r['deliveries_per_s']} deliveries/s"
            if r["offered_rate"] == "backlog":
                rows.append((f"3.{number} callbacks: a backlog of {r['results']:,} results, drained",
                             rate, f"committed at {r['commit_rate']:.0f}/s, worker stopped", "—",
                             f"≥ 300/s: {_check((r['deliveries_per_s'] or 0) >= 300)}"))
            else:
                ok = (r["deliveries_per_s"] or 0) >= 300 and r["p99_ms"] < 2000 and r["lost"] == 0
                rows.append((f"3.{number} callbacks: {r['results']:,} results offered at {r['offered_rate']:.0f}/s",
                             f"{rate}, {r['p50_ms']:.0f} / {r['p99_ms']:.0f} ms",
                             f"commits at {r['commit_rate']:.0f}/s", "—",
                             f"≥ 300/s, p99 < 2 s, 0 lost: {_check(ok)}" if number == 1 else "—"))
            rows.append((f"3.{number} lost / duplicates / bad signatures",
                         f"{r['lost']} / {r['duplicates']} / {r['bad_signatures']}", "—", "—",
                         f"0 lost: {_check(r['lost'] == 0)}"))
    if "scale" in s:
        r = s["scale"]
        rows.append((f"4. list, {r['orders']:,} orders: deep page (#{r['deep_position']:,})",
                     f"{r['deep_page']['rps']:.0f} req/s, {_lat(r['deep_page'])} ms",
                     f"first page: {r['first_page']['rps']:.0f} req/s, {_lat(r['first_page'])} ms",
                     f"{r['deep_over_first_p50']:.2f}× (p50)",
                     f"≤ 1.5×: {_check(r['deep_over_first_p50'] <= 1.5)}"))
        rows.append(("4. web worker RSS (MiB)", f"after: {r['worker_rss_mib_after']}",
                     f"before: {r['worker_rss_mib_before']}", "—", "—"))
    if "partner" in s:
        r = s["partner"]
        for name in ("greenhouse_send_test", "softgarden_invitations"):
            rows.append((f"5. {name.replace('_', ' ', 1)}", f"{r[name]['rps']:.0f} req/s, {_lat(r[name])} ms",
                         "—", "—", "—"))
    m = results["machine"]
    head = (f"Machine: {m['cpus']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}; "
            f"gunicorn {results['config']['gunicorn']}, Celery {results['config']['celery']}; "
            f"load: {results['config']['load']}. Latencies are p50 / p99.\n\n")
    table = ["| measurement | gateway | baseline | ratio | target |", "|---|---|---|---|---|"]
    table += [f"| {' | '.join(row)} |" for row in rows]
    foot = f"\n\nTotal run time: {results['total_seconds']:.0f} s."
    for name, why in results.get("disturbed", {}).items():
        foot += f" **{name}: {why}.**"
    for name in results.get("errors", {}):
        foot += f" **{name} failed; see the JSON.**"
    share = other_load(results)
    if share is not None:
        foot += (f" Other processes on the machine (not the benchmark's) used {share:.0%} of its CPU "
                 "during the measurements.")
    return head + "\n".join(table) + foot + "\n"


def _cpu_records(value: Any) -> list[dict[str, float]]:
    """Every ``cpu_seconds`` record in the results, wherever it sits."""
    if isinstance(value, dict):
        found = [value["cpu_seconds"]] if isinstance(value.get("cpu_seconds"), dict) else []
        return found + [r for k, v in value.items() if k != "cpu_seconds" for r in _cpu_records(v)]
    if isinstance(value, list):
        return [r for v in value for r in _cpu_records(v)]
    return []


def other_load(results: dict[str, Any]) -> float | None:
    """The share of the machine's CPU that other people's work took while we measured."""
    records = _cpu_records(results.get("scenarios", {}))
    capacity = sum(r["wall"] for r in records) * (results["machine"]["cpus"] or 1)
    if not capacity:
        return None
    ours = sum(v for r in records for k, v in r.items() if k not in ("machine_busy", "wall", "postgres (all)",
                                                                       "redis (all)"))
    ours += sum(max(0.0, r.get("postgres (all)", 0.0)) + max(0.0, r.get("redis (all)", 0.0)) for r in records)
    busy = sum(r["machine_busy"] for r in records)
    return max(0.0, busy - ours) / capacity
