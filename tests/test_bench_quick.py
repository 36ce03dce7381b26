"""`make bench` in quick mode: the harness brings the store up, runs every scenario against its anchor
and writes the table, the JSON and the charts. Shape only: no figure is asserted, the machine is shared."""
from __future__ import annotations

import json
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
        assert all(run["rate"] >= 0 and "cpu_us_per_op" in run for run in scenario["ours"] + scenario["anchor"])
        assert isinstance(scenario["ratio"], float) and isinstance(scenario["met"], bool), sid
    assert set(results["latency"]) == {"P1", "P2", "P3"}
    for sid, latency in results["latency"].items():
        for side in ("ours_summary", "anchor_summary"):
            assert {"p50_ms", "p90_ms", "p99_ms"} <= set(latency[side]), (sid, side)
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
