"""Where the CPU went during a run: gunicorn (master and workers), PostgreSQL and Redis, from /proc.

On a 2-core machine the server, the database and the load generator share the same cores, so
the throughput of a route is bounded by the sum of their CPU per request; this makes it visible.
Linux only; elsewhere it reports nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> list[tuple[int, int, str, int]]:
    """(pid, parent pid, command name, utime + stime ticks) of every readable process."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name sits in parentheses and may itself contain spaces.
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found.append((int(entry.name), int(fields[1]), name, int(fields[11]) + int(fields[12])))
    return found


def _group(pid: int, parent: int, name: str, server_pid: int) -> str | None:
    if pid == server_pid or parent == server_pid:
        return "gunicorn"
    if name.startswith("postgres"):
        return "postgres"
    if name.startswith("redis-server"):
        return "redis"
    return None


class CpuMeter:
    """CPU ticks per group since construction; `cores()` divides them by the wall time.

    `group(pid, parent pid, command name)` names a process's group, or None to leave it out;
    by default gunicorn (the server `server_pid` and its workers), PostgreSQL and Redis.
    """

    def __init__(self, server_pid: int = 0, group=None) -> None:
        self.server_pid = server_pid
        self.group = group or (lambda pid, parent, name: _group(pid, parent, name, server_pid))
        self.start = self._snapshot()
        self.wall = time.perf_counter()

    def _snapshot(self) -> dict[int, tuple[str, int]]:
        if not Path("/proc/self/stat").exists():
            return {}
        snapshot = {}
        for pid, parent, name, ticks in _processes():
            group = self.group(pid, parent, name)
            if group is not None:
                snapshot[pid] = (group, ticks)
        return snapshot

    def seconds(self) -> dict[str, float]:
        """CPU seconds per group since construction, of processes still running now."""
        totals: dict[str, float] = {}
        for pid, (group, ticks) in self._snapshot().items():
            # A process born during the run (a new PostgreSQL backend) started from zero.
            used = ticks - self.start.get(pid, (group, 0))[1]
            totals[group] = totals.get(group, 0.0) + used / TICKS
        return totals

    def cores(self) -> dict[str, float]:
        wall = time.perf_counter() - self.wall
        return {group: used / wall for group, used in self.seconds().items()}
