"""bench/results/: results.json (every raw figure), summary.md (the tables) and the PNG charts."""
from __future__ import annotations

import json
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first

HERE = pathlib.Path(__file__).resolve().parent
STEPS = HERE / "STEPS.md"  # the "make it fast" log, kept by hand, copied into every summary
MEMORY_GOAL_MB = 70.0
GATEWAY_CPU_GOAL_US = 400.0  # gateway CPU per GET /products/1 (P2, ours, median run)
P2_P50_GOAL_MS = 3.0  # P2's p50 at the shared half rate
SCENARIO_IDS = ("P1", "P2", "P3", "P4", "P5")
CHARTS = ("ratios.png", "throughput.png", "latency.png", "memory.png")


def _num(value, unit="") -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}{(' ' + unit) if unit else ''}"


def memory_rows(results: dict) -> list[tuple[str, str, float | None, float | None]]:
    """(service, process, idle MB, after MB) for every Python process measured."""
    idle, after = results["memory"].get("idle", {}), results["memory"].get("after", {})
    rows = []
    for service in sorted(set(idle) | set(after)):
        for proc in sorted(set(idle.get(service, {})) | set(after.get(service, {}))):
            rows.append((service, proc, idle.get(service, {}).get(proc), after.get(service, {}).get(proc)))
    return rows


def memory_met(results: dict) -> bool:
    return all((v is None or v <= MEMORY_GOAL_MB) for _, _, a, b in memory_rows(results) for v in (a, b))


def table(results: dict) -> str:
    lines = ["| scenario | ours | anchor | ratio | goal | met |", "| --- | ---: | ---: | ---: | ---: | :---: |"]
    for sid in SCENARIO_IDS:
        s = results["scenarios"].get(sid)
        if not s:
            continue
        ratio = f"{s['ratio']:.2f}" if s["ratio"] is not None else "—"
        met = "yes" if s["met"] else "no"
        if s.get("anchor_valid") is False:
            met = "no (anchor invalid: the gateway ignored MERCH_LOG_SHIPPING=off)"
        lines.append(f"| {sid} {s['title']} | {_num(s['ours_rate'], s['unit'])} | {_num(s['anchor_rate'], s['unit'])} "
                     f"| {ratio} | ≥ {s['goal']:.2f} | {met} |")
    lines += _gateway_rows(results)
    rows = memory_rows(results)
    if rows:
        worst = max((v for _, _, a, b in rows for v in (a, b) if v is not None), default=None)
        lines.append(f"| M1 resident memory of each Python process (largest) | {worst:.1f} MB | — | — "
                     f"| ≤ {MEMORY_GOAL_MB:.0f} MB | {'yes' if memory_met(results) else 'no'} |")
    return "\n".join(lines)


def _placement(meta: dict) -> str:
    """Where the services ran: the DB service's processes and which CPUs were pinned."""
    processes = meta.get("db_processes") or 1
    if not meta.get("pinned"):
        return f"The DB service runs {processes} process(es); no process pinned to a CPU. "
    if processes == 1:
        return "The DB service runs one process pinned to CPU 1, the logging service pinned to CPU 0 (`taskset`); "
    return (f"The DB service runs {processes} processes, each pinned to its own CPU; the logging service "
            "is pinned to CPU 0 (`taskset`); ")


def _gateway_rows(results: dict) -> list[str]:
    """The lean-gateway goals: its CPU per GET (P2's median run) and P2's p50 at the half rate."""
    lines = []
    p2 = results["scenarios"].get("P2")
    if p2 and p2["ours"]:
        mid = sorted(p2["ours"], key=lambda r: r["rate"])[len(p2["ours"]) // 2]
        cpu = mid.get("cpu_us_per_op", {}).get("gw_on")
        if cpu is not None:
            lines.append(f"| G1 gateway CPU per GET /products/1 (P2, median run) | {cpu:,.0f} µs | — | — "
                         f"| ≤ {GATEWAY_CPU_GOAL_US:.0f} µs | {'yes' if cpu <= GATEWAY_CPU_GOAL_US else 'no'} |")
    latency = results.get("latency", {}).get("P2")
    if latency and latency["ours_summary"].get("p50_ms") is not None:
        p50, anchor = latency["ours_summary"]["p50_ms"], latency["anchor_summary"].get("p50_ms")
        anchor_text = "—" if anchor is None else f"{anchor:.2f} ms"
        lines.append(f"| G2 P2 p50 at {latency['rate']:,} req/s, evenly spaced | {p50:.2f} ms | {anchor_text} | — "
                     f"| ≤ {P2_P50_GOAL_MS:.0f} ms | {'yes' if p50 <= P2_P50_GOAL_MS else 'no'} |")
    return lines


def latency_table(results: dict) -> str:
    lines = ["| scenario | rate (req/s) | ours p50 / p90 / p99 (ms) | anchor p50 / p90 / p99 (ms) |",
             "| --- | ---: | ---: | ---: |"]
    for sid, lat in results["latency"].items():
        def fmt(summary):
            return " / ".join("—" if summary.get(k) is None else f"{summary[k]:.2f}" for k in ("p50_ms", "p90_ms", "p99_ms"))
        lines.append(f"| {sid} | {lat['rate']:,} | {fmt(lat['ours_summary'])} | {fmt(lat['anchor_summary'])} |")
    return "\n".join(lines)


def detail_table(results: dict) -> str:
    lines = ["| scenario | side | tool | runs (rate) | pair ratios | CPU µs per operation (median run) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for sid in SCENARIO_IDS:
        s = results["scenarios"].get(sid)
        if not s:
            continue
        for side, label in (("ours", s["ours_label"]), ("anchor", s["anchor_label"])):
            runs = s[side]
            rates = ", ".join(f"{r['rate']:,.0f}" for r in runs)
            mid = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2] if runs else {}
            cpu = ", ".join(f"{k} {v:,.0f}" for k, v in mid.get("cpu_us_per_op", {}).items())
            pairs = ", ".join(f"{p:.2f}" for p in s["pair_ratios"]) if side == "ours" else ""
            lines.append(f"| {sid} | {side} | {label} | {rates} | {pairs} | {cpu} |")
    return "\n".join(lines)


def summary_md(results: dict) -> str:
    meta = results["meta"]
    parts = [
        "# Benchmarks: the store side by side with its anchors",
        "",
        f"Mode **{meta['mode']}**, {meta['started']}, commit `{meta['git']}`, {meta['machine']['cores']} cores, "
        f"Python {meta['machine']['python']}. {meta['reps']} interleaved repetition(s) per side (A, B, A, B…, "
        f"the first side alternating), {meta['duration_s']:g} s each, concurrency {meta['concurrency']} "
        f"(P4: one client stream, {meta['p4_records']:,} records of {meta['p4_record_size']} B). "
        f"PostgreSQL fsync={meta['pg_fsync']}. "
        + _placement(meta)
        + f"Ratio = median of ours / median of anchor. Took {meta.get('elapsed_s', 0):.0f} s.",
        "",
    ]
    if meta["mode"] == "quick":
        parts += ["> Quick mode: this run proves the harness works; its figures are not measurements.", ""]
    parts += ["## Result", "", table(results), "", "![ratios](ratios.png)", ""]
    if results["latency"]:
        parts += ["## Latency at about half the measured maximum (same fixed rate for both sides)", "",
                  latency_table(results), "", "![latency](latency.png)", ""]
    parts += ["## Every run", "", detail_table(results), "", "![throughput](throughput.png)", ""]
    p3 = results["scenarios"].get("P3")
    if p3:
        per_op = [r.get("log_records_per_op") for r in p3["ours"]], [r.get("log_records_per_op") for r in p3["anchor"]]
        parts += [f"P3 check: log records accepted by the logging service per order — shipped {per_op[0]}, "
                  f"shipping off {per_op[1]} (the DB service's own access logs are shipped in both).", ""]
    rows = memory_rows(results)
    if rows:
        parts += ["## M1: resident memory (VmRSS, MB)", "", "| service | process | idle | after the runs |",
                  "| --- | --- | ---: | ---: |"]
        parts += [f"| {s} | {p} | {'—' if a is None else f'{a:.1f}'} | {'—' if b is None else f'{b:.1f}'} |"
                  for s, p, a, b in rows]
        parts += ["", "![memory](memory.png)", ""]
    if results["profiles"]:
        parts += ["## Profiles (py-spy --gil: where the one core a Python process can use goes; one extra run of our side)", ""]
        for prof in results["profiles"]:
            parts.append(f"**{prof['scenario']} {prof['process']}** — [{prof['svg']}]({prof['svg']}), "
                         f"{prof['samples']} samples. Most time on top of the stack (self %): "
                         + "; ".join(f"`{f}` {p}%" for f, p in prof["self"][:6]))
            parts.append("")
    if results["pg_stat_statements"]:
        parts += ["## pg_stat_statements over the P1 runs (ours and anchor)", "",
                  "| calls | total ms | mean ms | query |", "| ---: | ---: | ---: | --- |"]
        for st in results["pg_stat_statements"]:
            query = " ".join(st["query"].split()).replace("|", "\\|")[:160]
            parts.append(f"| {st['calls']:,} | {st['total_ms']:,.0f} | {st['mean_ms']:.3f} | `{query}` |")
        parts.append("")
    if STEPS.exists():
        parts += [STEPS.read_text().strip(), ""]
    return "\n".join(parts)


def charts(results: dict, out: pathlib.Path) -> list[pathlib.Path]:
    written = []
    scen = [results["scenarios"][s] for s in SCENARIO_IDS if s in results["scenarios"]]

    fig, ax = plt.subplots(figsize=(7, 3.8))
    ids = [s["id"] for s in scen]
    ratios = [s["ratio"] or 0 for s in scen]
    colours = ["tab:green" if s["met"] else "tab:red" for s in scen]
    ax.bar(ids, ratios, color=colours)
    for i, s in enumerate(scen):
        ax.hlines(s["goal"], i - 0.4, i + 0.4, colors="black", linestyles="dashed")
        label = f"{ratios[i]:.2f}" + ("\n(anchor invalid)" if s.get("anchor_valid") is False else "")
        ax.annotate(label, (i, ratios[i]), ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("ours / anchor (dashed: goal)")
    ax.set_title(f"Ratios to the anchors ({results['meta']['mode']} run)")
    fig.tight_layout()
    written.append(_save(fig, out / "ratios.png"))

    fig, axes = plt.subplots(1, max(1, len(scen)), figsize=(3 * max(1, len(scen)), 3.6), squeeze=False)
    for ax, s in zip(axes[0], scen):
        for x, side, colour in ((0, "ours", "tab:blue"), (1, "anchor", "tab:gray")):
            rates = [r["rate"] for r in s[side]]
            ax.bar(x, s[f"{side}_rate"] or 0, color=colour)
            ax.scatter([x] * len(rates), rates, color="black", s=10, zorder=3)
        ax.set_xticks([0, 1], ["ours", "anchor"])
        ax.set_title(s["id"])
        ax.set_ylabel(s["unit"])
    fig.suptitle("Throughput (bars: median, dots: each run)")
    fig.tight_layout()
    written.append(_save(fig, out / "throughput.png"))

    lat = results["latency"]
    fig, axes = plt.subplots(1, max(1, len(lat)), figsize=(3.6 * max(1, len(lat)), 3.6), squeeze=False)
    for ax, (sid, data) in zip(axes[0], lat.items()):
        keys = ("p50_ms", "p90_ms", "p99_ms")
        for offset, side, colour in ((-0.2, "ours", "tab:blue"), (0.2, "anchor", "tab:gray")):
            values = [data[f"{side}_summary"].get(k) or 0 for k in keys]
            ax.bar([i + offset for i in range(3)], values, width=0.4, color=colour, label=side)
        ax.set_xticks(range(3), ["p50", "p90", "p99"])
        ax.set_title(f"{sid} at {data['rate']:,}/s")
        ax.set_ylabel("ms")
        ax.legend(fontsize=8)
    fig.suptitle("Latency at about half of our maximum rate")
    fig.tight_layout()
    written.append(_save(fig, out / "latency.png"))

    rows = memory_rows(results)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    labels = [f"{s}\n{p}" for s, p, _, _ in rows]
    ax.bar([i - 0.2 for i in range(len(rows))], [a or 0 for _, _, a, _ in rows], width=0.4, label="idle")
    ax.bar([i + 0.2 for i in range(len(rows))], [b or 0 for _, _, _, b in rows], width=0.4, label="after the runs")
    ax.axhline(MEMORY_GOAL_MB, color="red", linestyle="dashed", label="goal")
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set_ylabel("VmRSS (MB)")
    ax.set_title("M1: resident memory of each Python process")
    ax.legend(fontsize=8)
    fig.tight_layout()
    written.append(_save(fig, out / "memory.png"))
    return written


def _save(fig, path: pathlib.Path) -> pathlib.Path:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(results: dict, out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    charts(results, out)
    (out / "summary.md").write_text(summary_md(results))
