"""What the harness reads from the machine while a load runs: CPU time per process tree, machine CPU,
resident memory; and the py-spy profiles."""
from __future__ import annotations

import os
import pathlib
import resource
import subprocess
import sys

from bench.stack import children, rss_mb

TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from 3 (state) on


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process, its reaped children (cutime/cstime) and its live descendants."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17, i.e. indexes 11-14 here.
    own = sum(int(v) for v in fields[11:15]) / TICK
    return own + sum(tree_cpu_seconds(child) for child in children(pid))


def tree_rss_mb(pid: int) -> dict[str, float]:
    """RSS of a process and of each live child (gunicorn master and workers, for example)."""
    out = {"main": rss_mb(pid) or 0.0}
    for i, child in enumerate(children(pid)):
        out[f"child{i + 1}"] = rss_mb(child) or 0.0
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in pathlib.Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def tools_cpu_seconds() -> float:
    """CPU time of this process's reaped children: the load tools."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuWindow:
    """CPU seconds used by each named process tree, the load tools and the machine during a `with` block."""

    def __init__(self, groups: dict[str, int]):
        self.groups = groups

    def __enter__(self):
        self._start = {name: tree_cpu_seconds(pid) for name, pid in self.groups.items()}
        self._tools = tools_cpu_seconds()
        self._machine = machine_cpu()
        return self

    def __exit__(self, *exc):
        self.used = {name: round(tree_cpu_seconds(pid) - self._start[name], 3) for name, pid in self.groups.items()}
        self.used["load_tool"] = round(tools_cpu_seconds() - self._tools, 3)
        busy, total = machine_cpu()
        self.machine_busy = (busy - self._machine[0]) / max(1, total - self._machine[1])
        return False


def py_spy(pid: int, seconds: float, svg: pathlib.Path, raw: pathlib.Path, *, subprocesses: bool = False) -> list:
    """Starts two py-spy recorders on `pid` (an SVG flame graph and collapsed stacks); returns the processes."""
    exe = str(pathlib.Path(sys.executable).parent / "py-spy")
    # --gil: only the thread holding the GIL is sampled, so the graph shows where the one core a
    # Python process can use goes (waiting on the network or the database is left out).
    common = ["record", "-p", str(pid), "-d", str(int(seconds)), "-r", "97", "--nonblocking", "--gil"]
    if subprocesses:
        common.append("--subprocesses")
    return [
        subprocess.Popen([exe, *common, "-f", "flamegraph", "-o", str(svg)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([exe, *common, "-f", "raw", "-o", str(raw)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]


def top_frames(raw: pathlib.Path, limit: int = 12) -> dict:
    """From py-spy's collapsed stacks: the functions with the most samples on top (self) and anywhere (total)."""
    self_counts: dict[str, int] = {}
    total_counts: dict[str, int] = {}
    samples = 0
    if not raw.exists():
        return {"samples": 0, "self": [], "total": []}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        samples += n
        leaf = frames[-1]
        self_counts[leaf] = self_counts.get(leaf, 0) + n
        for frame in set(frames):
            total_counts[frame] = total_counts.get(frame, 0) + n

    def top(counts):
        return [(frame, round(100 * n / samples, 1))
                for frame, n in sorted(counts.items(), key=lambda kv: -kv[1])[:limit]]

    return {"samples": samples, "self": top(self_counts), "total": top(total_counts)}
