"""Shared helpers for the benchmarks: machine description, medians, peak memory."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys


def machine() -> str:
    """One line describing this machine and Python."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count() or 0
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {cores} cores{mem}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def command_line() -> str:
    """The command that ran this benchmark."""
    return " ".join([os.path.relpath(sys.executable), *sys.argv])


def median(xs: list[float]) -> float:
    """Median, or NaN for no values."""
    return statistics.median(xs) if xs else float("nan")


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident memory of this process (or its finished children), MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024
