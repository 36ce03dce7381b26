"""The load generators, each a real tool of its field, run as subprocesses with parsed results.

- ghz (gRPC):                 max rate (`-c N -z T`) or a fixed rate (`--rps R`); JSON report.
- pgbench (PostgreSQL):       a custom script, `-M prepared`; fixed rate with `-R` and a per-transaction log.
- ProducerPerformance (Kafka): `--record-size S --command-property acks=all`.
- wrk (HTTP, max rate):       a Lua script that writes its summary as JSON.
- vegeta (HTTP, fixed rate):  an open-loop attack, requests evenly spaced at the rate; JSON report.
                             (Not hey: its `-q` is per worker and every worker ticks at the same moment,
                             so a "fixed rate" arrives as bursts of `-c` requests; measured here, that
                             alone raised the gateway's p50 from 6 ms to 30 ms at the same 160 req/s.)

Every function returns a dict with `rate` (operations per second) and, where measured,
`p50_ms`, `p90_ms`, `p99_ms`, `errors` (failed operations) and `count`.
"""
from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

from bench.stack import SERVICE_TOKEN

REPO = pathlib.Path(__file__).resolve().parent.parent
GHZ = str(REPO / ".tools/bin/ghz")


class ToolError(RuntimeError):
    pass


def _run(argv: list[str], timeout: float, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired as error:
        raise ToolError(f"{argv[0]} did not finish in {timeout:.0f}s") from error
    if result.returncode != 0:
        raise ToolError(f"{' '.join(argv[:3])}… exited {result.returncode}:\n{result.stderr[-2000:]}{result.stdout[-1000:]}")
    return result


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(round(q / 100 * len(sorted_values) + 0.5 - 1e-9)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _percentiles_ms(latencies_ms: list[float]) -> dict:
    values = sorted(latencies_ms)
    return {f"p{q}_ms": percentile(values, q) for q in (50, 90, 99)}


# --- ghz -------------------------------------------------------------------------------------------


def ghz(address: str, call: str, data: str, *, proto: str, concurrency: int, duration: float,
        rps: float | None = None, connections: int = 1) -> dict:
    """`call` is `package.Service/Method`; `data` a JSON template (ghz's template functions allowed)."""
    # .tools/protovalidate: buf/validate/validate.proto, which the protos import (scripts/tools.sh fetches it).
    argv = [GHZ, "--insecure", f"--proto={REPO / 'proto' / proto}",
            f"--import-paths={REPO / 'proto'},{REPO / '.tools' / 'protovalidate'}",
            f"--call={call}", f"--data={data}", f"--concurrency={concurrency}", f"--connections={connections}",
            f"--duration={duration:g}s", "--duration-stop=wait", "--timeout=10s", "--format=json",
            "--metadata=" + json.dumps({"authorization": f"Bearer {SERVICE_TOKEN}"}),
            "--skipFirst=0", address]
    if rps:
        argv.insert(1, f"--rps={int(rps)}")
    report = json.loads(_run(argv, timeout=duration + 60).stdout)
    ok = report.get("statusCodeDistribution", {}).get("OK", 0)
    total = report.get("count", 0)
    wall_s = report["total"] / 1e9
    lat = {int(p["percentage"]): p["latency"] / 1e6 for p in report.get("latencyDistribution") or ()}
    return {
        "rate": ok / wall_s if wall_s else 0.0,
        "count": total,
        "errors": total - ok,
        "error_sample": list((report.get("errorDistribution") or {}).keys())[:3],
        "p50_ms": lat.get(50), "p90_ms": lat.get(90), "p99_ms": lat.get(99),
    }


# --- pgbench ---------------------------------------------------------------------------------------


def pgbench(pgbench_bin: str, url: str, script: str, *, concurrency: int, duration: float,
            rate: float | None = None, defines: dict | None = None, threads: int = 2) -> dict:
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-pgbench-"))
    try:
        (work / "script.sql").write_text(script)
        argv = [pgbench_bin, "-n", "-M", "prepared", "-c", str(concurrency), "-j", str(threads),
                "-T", str(max(1, int(round(duration)))), "-f", str(work / "script.sql")]
        for name, value in (defines or {}).items():
            argv += ["-D", f"{name}={value}"]
        if rate:
            argv += ["-R", str(int(rate)), "--log", f"--log-prefix={work / 'txlog'}"]
        argv.append(url)
        out = _run(argv, timeout=duration + 60, cwd=work).stdout
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
        processed = re.search(r"number of transactions actually processed: (\d+)", out)
        failed = re.search(r"number of failed transactions: (\d+)", out)
        result = {
            "rate": float(tps.group(1)) if tps else 0.0,
            "count": int(processed.group(1)) if processed else 0,
            "errors": int(failed.group(1)) if failed else 0,
        }
        if rate:
            # Per-transaction log: client_id transaction_no time(us) script_no time_epoch time_us [schedule_lag]
            latencies = []
            for log in work.glob("txlog*"):
                for line in log.read_text().splitlines():
                    parts = line.split()
                    if len(parts) >= 3 and parts[2].isdigit():
                        latencies.append(int(parts[2]) / 1000)
            result.update(_percentiles_ms(latencies))
        else:
            lat = re.search(r"latency average = ([\d.]+) ms", out)
            result["mean_ms"] = float(lat.group(1)) if lat else None
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- Kafka's ProducerPerformance ------------------------------------------------------------------


def producer_perf(kafka_script, *, records: int, record_size: int, topic: str = "log-channel") -> dict:
    """`kafka_script(*args)` runs scripts/kafka.sh with the bench broker's environment."""
    result = kafka_script("producer-perf", "--topic", topic, "--num-records", str(records),
                          "--record-size", str(record_size), "--throughput", "-1",
                          "--command-property", "acks=all", timeout=300)
    if result.returncode != 0:
        raise ToolError(f"ProducerPerformance failed:\n{result.stderr[-2000:]}")
    # The final line: "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, p50 ..."
    final = [line for line in result.stdout.splitlines() if "records sent" in line and "50th" in line]
    if not final:
        raise ToolError(f"no summary in ProducerPerformance output:\n{result.stdout[-2000:]}")
    match = re.search(r"(\d+) records sent, ([\d.]+) records/sec", final[-1])
    return {"rate": float(match.group(2)), "count": int(match.group(1)), "errors": 0, "summary": final[-1].strip()}


# --- wrk -------------------------------------------------------------------------------------------

_WRK_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


def wrk_lua(method: str = "GET", path: str = "/", body: str | None = None, tokens: list[str] | None = None) -> str:
    """A wrk script: one request shape, rotating over bearer tokens if given."""
    lines = []
    if tokens:
        lines.append("local tokens = {" + ", ".join(json.dumps(t) for t in tokens) + "}")
        lines.append("local n = 0")
        lines.append(f"local body = {json.dumps(body) if body else 'nil'}")
        lines.append("request = function()")
        lines.append("  n = n + 1")
        lines.append("  local headers = {['Authorization'] = 'Bearer ' .. tokens[(n % #tokens) + 1]}")
        lines.append("  if body then headers['Content-Type'] = 'application/json' end")
        lines.append(f"  return wrk.format({json.dumps(method)}, {json.dumps(path)}, headers, body)")
        lines.append("end")
    else:
        lines.append(f"wrk.method = {json.dumps(method)}")
        lines.append(f"wrk.path = {json.dumps(path)}")
        if body:
            lines.append(f"wrk.body = {json.dumps(body)}")
            lines.append("wrk.headers['Content-Type'] = 'application/json'")
    return "\n".join(lines) + "\n" + _WRK_DONE


def wrk(base_url: str, lua: str, *, concurrency: int, duration: float, threads: int = 2) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua)
        script = handle.name
    try:
        out = _run(["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{duration:g}s", "--timeout", "10s",
                    "-s", script, base_url], timeout=duration + 60).stdout
    finally:
        os.unlink(script)
    line = [l for l in out.splitlines() if l.startswith("WRK_JSON ")]
    if not line:
        raise ToolError(f"no summary from wrk:\n{out[-2000:]}")
    s = json.loads(line[-1][len("WRK_JSON "):])
    errors = s["connect"] + s["read"] + s["write"] + s["status"] + s["timeout"]
    seconds = s["duration_us"] / 1e6
    return {
        "rate": (s["requests"] - errors) / seconds if seconds else 0.0,
        "count": s["requests"],
        "errors": errors,
        "p50_ms": s["p50_us"] / 1000, "p90_ms": s["p90_us"] / 1000, "p99_ms": s["p99_us"] / 1000,
    }


# --- vegeta ----------------------------------------------------------------------------------------

VEGETA = str(REPO / ".tools/bin/vegeta")


def vegeta(url: str, *, rate: float, concurrency: int, duration: float, method: str = "GET",
           body: str | None = None, tokens: list[str] | tuple[str, ...] = (), ok_status: int = 200) -> dict:
    """`rate` requests per second, evenly spaced (open loop: a slow answer does not delay the next
    request), round-robin over `tokens`; latency percentiles of every request."""
    targets = []
    for token in tokens or (None,):
        target = {"method": method, "url": url, "header": {"Content-Type": ["application/json"]}}
        if token:
            target["header"]["Authorization"] = [f"Bearer {token}"]
        if body is not None:
            target["body"] = base64.b64encode(body.encode()).decode()
        targets.append(json.dumps(target))
    with tempfile.TemporaryDirectory() as work:
        targets_file = pathlib.Path(work) / "targets.jsonl"
        targets_file.write_text("\n".join(targets) + "\n")
        results = pathlib.Path(work) / "results.bin"
        _run([VEGETA, "attack", "-format", "json", "-targets", str(targets_file), "-rate", f"{rate:.0f}/1s",
              "-duration", f"{duration:g}s", "-workers", str(concurrency), "-max-workers", str(4 * concurrency),
              "-timeout", "10s", "-output", str(results)], timeout=duration + 60)
        report = json.loads(_run([VEGETA, "report", "-type", "json", str(results)], timeout=60).stdout)
    latencies = report["latencies"]
    total = report["requests"]
    ok = report.get("status_codes", {}).get(str(ok_status), 0)
    return {"rate": ok / duration, "count": total, "errors": total - ok,
            "p50_ms": latencies["50th"] / 1e6, "p90_ms": latencies["90th"] / 1e6, "p99_ms": latencies["99th"] / 1e6}
