"""What the benchmarks read and how they print it: CPU and memory from /proc, latency summaries, tables.

The parsing and formatting functions are pure (tested by tests/test_bench_measure.py); the readers below
them look at this machine's /proc.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess  # noqa: S404
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROC = Path("/proc")


# --- parsing (pure) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat the benchmarks use; CPU in clock ticks."""

    pid: int
    comm: str
    ppid: int
    user: int
    system: int
    children_user: int
    children_system: int
    start_ticks: int

    @property
    def own_ticks(self) -> int:
        return self.user + self.system

    @property
    def with_children_ticks(self) -> int:
        """This process's CPU and that of the children it has waited for (their CPU moves here when they end)."""
        return self.user + self.system + self.children_user + self.children_system


def parse_proc_stat(text: str) -> ProcStat:
    """One /proc/<pid>/stat line. The command name may hold spaces and parentheses: it ends at the last ')'."""
    opening, closing = text.index("("), text.rindex(")")
    fields = text[closing + 2 :].split()
    # fields[0] is field 3 of proc(5) (state): field n is fields[n - 3].
    return ProcStat(
        pid=int(text[:opening]),
        comm=text[opening + 1 : closing],
        ppid=int(fields[1]),
        user=int(fields[11]),
        system=int(fields[12]),
        children_user=int(fields[13]),
        children_system=int(fields[14]),
        start_ticks=int(fields[19]),
    )


def parse_status_kib(status_text: str, name: str) -> int:
    """A memory line of a /proc/<pid>/status text (VmRSS, VmHWM...), in KiB; 0 for a process without one
    (e.g. a zombie)."""
    for line in status_text.splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return 0


def parse_rss_kib(status_text: str) -> int:
    """VmRSS (resident memory now) of a /proc/<pid>/status text, in KiB."""
    return parse_status_kib(status_text, "VmRSS")


def parse_peak_rss_kib(status_text: str) -> int:
    """VmHWM (the highest resident memory the process has had) of a /proc/<pid>/status text, in KiB."""
    return parse_status_kib(status_text, "VmHWM")


def parse_memory_kib(smaps_rollup_text: str) -> tuple[int, int, int]:
    """RSS, PSS and USS of a /proc/<pid>/smaps_rollup text, in KiB: the resident pages; with each shared page divided
    among the processes that share it; the pages of this process alone (zeros for a process without any)."""
    kib = {}
    for line in smaps_rollup_text.splitlines()[1:]:
        name, _, value = line.partition(":")
        kib[name] = int(value.split()[0])
    if not kib:
        return (0, 0, 0)
    return kib["Rss"], kib["Pss"], kib["Private_Clean"] + kib["Private_Dirty"]


def descendants(parents: Mapping[int, int], root: int) -> list[int]:
    """`root` and every process below it, given each process's parent (pid -> ppid)."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid in parents or pid == root:
            found.append(pid)
            stack.extend(children.get(pid, []))
    return found


def tree_ticks(stats: Mapping[int, ProcStat], root: int) -> int:
    """CPU of a process tree: every live member's own CPU plus that of the children it has reaped.

    A member that ends is reaped by its parent, so its CPU moves into the parent's children-counts: the sum
    neither loses nor doubles it. Zero when the root is gone.
    """
    if root not in stats:
        return 0
    parents = {pid: stat.ppid for pid, stat in stats.items()}
    return sum(stats[pid].with_children_ticks for pid in descendants(parents, root) if pid in stats)


def parse_machine_cpu(stat_text: str) -> tuple[int, int]:
    """(busy, total) clock ticks of every core together, from /proc/stat's first line (idle and iowait are not busy)."""
    fields = [int(value) for value in stat_text.splitlines()[0].split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user and nice.
    total = sum(fields[:8])
    return total - fields[3] - fields[4], total


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value at `fraction` (0..1) of the sorted values, nearest rank; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99, max and mean of latencies given in seconds, in milliseconds."""
    if not seconds:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "mean_ms": 0.0}
    return {
        "p50_ms": percentile(seconds, 0.50) * 1000,
        "p95_ms": percentile(seconds, 0.95) * 1000,
        "p99_ms": percentile(seconds, 0.99) * 1000,
        "max_ms": max(seconds) * 1000,
        "mean_ms": sum(seconds) / len(seconds) * 1000,
    }


def per_report(total: float, reports: int) -> float | None:
    """A total shared out over the reports (None when there were none)."""
    return total / reports if reports else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def cell(value: Any, digits: int = 1) -> str:
    """A table cell: numbers rounded, None as 'n/a'."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], note: str = "") -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned, under a title."""
    text_rows = [[cell(value) for value in row] for row in rows]
    widths = [max([len(header), *(len(row[i]) for row in text_rows)]) for i, header in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.ljust(width) if i == 0 else value.rjust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    parts = [title, line(headers), line(["-" * width for width in widths]), *(line(row) for row in text_rows)]
    if note:
        parts.append(note)
    return "\n".join(parts)


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")


# --- reading /proc -------------------------------------------------------------------------------


def read_stats() -> dict[int, ProcStat]:
    """Every process's /proc/<pid>/stat that can be read now."""
    stats = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = parse_proc_stat((entry / "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue  # it ended meanwhile
    return stats


def read_stat(pid: int) -> ProcStat | None:
    try:
        return parse_proc_stat((PROC / str(pid) / "stat").read_text())
    except (OSError, ValueError, IndexError):
        return None


def rss_kib(pid: int) -> int:
    try:
        return parse_rss_kib((PROC / str(pid) / "status").read_text())
    except OSError:
        return 0


def peak_rss_kib(pid: int) -> int:
    try:
        return parse_peak_rss_kib((PROC / str(pid) / "status").read_text())
    except OSError:
        return 0


def memory_kib(pid: int) -> tuple[int, int, int]:
    """RSS, PSS and USS of a live process in KiB (zeros once it is gone)."""
    try:
        return parse_memory_kib((PROC / str(pid) / "smaps_rollup").read_text())
    except OSError:
        return (0, 0, 0)


def tree_members(root: int) -> list[ProcStat]:
    """The live processes of the tree under `root` (root first)."""
    stats = read_stats()
    parents = {pid: stat.ppid for pid, stat in stats.items()}
    return [stats[pid] for pid in descendants(parents, root) if pid in stats]


class CpuMeter:
    """CPU seconds used by named groups of processes, accumulated by sampling every `interval` seconds.

    A group is either a process tree (its root's pid, looked up at each sample, so a restarted process is
    followed) or a set of unrelated processes found at each sample (e.g. the PostgreSQL backends serving
    our databases, whose parent is the server's): those are followed one by one, and the CPU a process used
    between its last sample and its end is missed (at most `interval` of it).
    """

    def __init__(
        self,
        trees: Mapping[str, Callable[[], int | None]],
        loose: Mapping[str, Callable[[], Iterable[int]]],
        interval: float = 0.5,
        read: Callable[[], Mapping[int, ProcStat]] | None = None,
    ) -> None:
        self.read = read or read_stats
        self.trees = dict(trees)
        self.loose = dict(loose)
        self.interval = interval
        self.totals: dict[str, int] = {name: 0 for name in [*self.trees, *self.loose]}
        self._tree_seen: dict[str, tuple[int, int]] = {}  # name -> (root, its tree's ticks)
        self._loose_seen: dict[str, dict[int, tuple[int, int]]] = {name: {} for name in self.loose}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def start(self) -> CpuMeter:
        self.sample(first=True)
        self._thread = threading.Thread(target=self._run, name="cpu-meter", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception as exc:  # a failed look must not end the measuring; it is reported
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def sample(self, first: bool = False) -> None:
        stats = self.read()
        loose_pids = {}
        for name, find in self.loose.items():
            try:
                loose_pids[name] = set(find())
            except Exception as exc:  # e.g. the database briefly refusing the lookup
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                loose_pids[name] = set(self._loose_seen[name])
        with self._lock:
            for name, find_root in self.trees.items():
                root = find_root()
                ticks = tree_ticks(stats, root) if root else 0
                seen_root, seen_ticks = self._tree_seen.get(name, (root, ticks if first else 0))
                if root == seen_root:
                    self.totals[name] += max(0, ticks - seen_ticks)
                else:
                    # A new root (restarted process): everything it used is new.
                    self.totals[name] += ticks
                self._tree_seen[name] = (root, ticks)
            for name, pids in loose_pids.items():
                seen = self._loose_seen[name]
                for pid in pids:
                    stat = stats.get(pid)
                    if stat is None:
                        continue
                    previous = seen.get(pid)
                    if previous is not None and previous[0] == stat.start_ticks:
                        self.totals[name] += max(0, stat.own_ticks - previous[1])
                    elif not first:
                        self.totals[name] += stat.own_ticks  # a process that started since the last look
                    seen[pid] = (stat.start_ticks, stat.own_ticks)

    def seconds(self) -> dict[str, float]:
        """CPU seconds of each group since the meter started (as of the last sample)."""
        with self._lock:
            return {name: ticks / CLOCK_TICKS for name, ticks in self.totals.items()}

    def mark(self) -> dict[str, float]:
        """A fresh sample, then the totals: take one before and one after what is measured."""
        self.sample()
        return self.seconds()


def difference(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


def machine_cpu() -> tuple[int, int]:
    return parse_machine_cpu((PROC / "stat").read_text())


def busy_cores(after: tuple[int, int], before: tuple[int, int]) -> float:
    """How many cores were busy on average between two machine_cpu() readings (every process, ours or not)."""
    busy, total = after[0] - before[0], after[1] - before[1]
    return (os.cpu_count() or 1) * busy / total if total else 0.0


def own_cpu_seconds() -> float:
    """CPU of this process (every thread) so far."""
    times = os.times()
    return times.user + times.system


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def machine() -> dict:
    """This machine as a benchmark's figures need it said: cores (and how many this process may use), CPU, memory."""
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in (PROC / "cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1] for line in (PROC / "meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return {
        "cores": os.cpu_count(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu_model,
        "memory_gb": round(int(memory) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def git_commit(root: Path) -> str:
    try:
        return subprocess.run(  # noqa: S603 - a fixed command line
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
