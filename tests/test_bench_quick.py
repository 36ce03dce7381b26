"""`make bench` in quick mode: the harness brings the store up, runs every scenario against its anchor
and writes the table, the JSON and the charts. The machine is shared, so no speed is asserted; what is:
every measured run did work (operations counted, CPU used by each process it names, no more than 1 % errors),
and the figures agree with each other (rate and count over the run's time, the ratio of the medians,
latency percentiles in order)."""
from __future__ import annotations

import json
import statistics
import subprocess

import pytest

from tests import support

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SCENARIOS = ("P1", "P2", "P3", "P4", "P5")
CHARTS = ("ratios.png", "throughput.png", "latency.png", "memory.png")


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-results")
    run = subprocess.run([str(support.REPO / "scripts/bench.sh"), "--quick", "--out", str(out)],
                         cwd=support.REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"bench.sh --quick failed:\n{run.stderr[-4000:]}"
    return out, run


def test_results_json_holds_every_scenario_with_both_sides_and_a_ratio(quick_bench):
    out, _ = quick_bench
    results = json.loads((out / "results.json").read_text())
    assert results["meta"]["mode"] == "quick"
    assert set(results["scenarios"]) == set(SCENARIOS)
    for sid, scenario in results["scenarios"].items():
        assert scenario["id"] == sid and scenario["goal"] > 0
        assert scenario["ours"] and scenario["anchor"], sid
        for run in scenario["ours"] + scenario["anchor"]:
            assert run["count"] > 0 and run["rate"] > 0 and run["errors"] <= run["count"] / 100, (sid, run)
            # The tool times its own run, within the harness's wall time: never fewer operations per second.
            assert run["rate"] >= 0.95 * run["count"] / run["wall_s"], (sid, run)
            used = {name: us for name, us in run["cpu_us_per_op"].items() if name != "load_tool"}
            assert used and all(us > 0 for us in used.values()), (sid, run["cpu_us_per_op"])
        for side in ("ours", "anchor"):
            assert scenario[f"{side}_rate"] == statistics.median(r["rate"] for r in scenario[side]), (sid, side)
        assert scenario["ratio"] == scenario["ours_rate"] / scenario["anchor_rate"], sid
        assert scenario["met"] == (scenario["ratio"] >= scenario["goal"] and scenario.get("anchor_valid", True)), sid
    assert set(results["latency"]) == {"P1", "P2", "P3"}
    for sid, latency in results["latency"].items():
        for side in ("ours_summary", "anchor_summary"):
            summary = latency[side]
            assert 0 < summary["p50_ms"] <= summary["p90_ms"] <= summary["p99_ms"], (sid, side, summary)
    for phase in ("idle", "after"):
        assert {"db_service", "logging_service", "gw_on"} <= set(results["memory"][phase])
        assert all(mb > 0 for procs in results["memory"][phase].values() for mb in procs.values())


def test_summary_has_the_table_with_every_scenario_and_memory(quick_bench):
    out, run = quick_bench
    summary = (out / "summary.md").read_text()
    assert "| scenario | ours | anchor | ratio | goal | met |" in summary
    for sid in (*SCENARIOS, "M1"):
        assert f"\n| {sid} " in summary, sid
        assert f"| {sid} " in run.stdout, f"the table is printed too: {sid}"
    assert "p50 / p90 / p99" in summary


def test_charts_are_png_files(quick_bench):
    out, _ = quick_bench
    for name in CHARTS:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
