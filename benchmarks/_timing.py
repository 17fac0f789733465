"""Timing and machine-state helpers shared by the benchmarks (``make bench``).

Factored out of ``bench_xent.py``'s protocol so every benchmark measures the same way:

* :class:`LoadMeter` -- the share of the machine's CPU used by *other* processes while a block
  ran: busy jiffies from ``/proc/stat`` minus this process's own ``os.times()``, over the
  machine's total jiffies (all CPUs). 0.5 on a 2-CPU machine = one whole core taken by others.
* :func:`sample` -- wall and process-CPU milliseconds per call over back-to-back calls.
* :func:`settle_blas` -- wait until NumPy's OpenBLAS worker threads stop spinning, so that
  the next implementation timed (TensorFlow's) gets both cores.
* :func:`cpu_model`, :func:`versions` -- what the run was made on, for the results files.
* :func:`md_table` -- a Markdown table from a header and rows of strings.

The names and behaviour of ``cpu_jiffies``, ``LoadMeter``, ``cpu_model`` and ``sample`` are
those of the copies inside ``bench_xent.py``, so that script can import them from here.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


class LoadMeter:
    """Share of the machine's CPU time used by other processes: /proc/stat minus os.times()."""

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK")
        self.other = float("nan")

    def __enter__(self) -> LoadMeter:
        self.start = cpu_jiffies()
        times = os.times()
        self.own_start = times.user + times.system
        return self

    def __exit__(self, *exc) -> None:
        busy, total = cpu_jiffies()
        times = os.times()
        own = (times.user + times.system - self.own_start) * self.tick
        elapsed = max(total - self.start[1], 1)
        self.other = max(0.0, (busy - self.start[0] - own) / elapsed)


def sample(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """(wall ms, process CPU ms) per call over ``calls`` back-to-back calls."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return wall / calls * 1e3, cpu / calls * 1e3


# After each multi-threaded BLAS call, OpenBLAS's worker threads busy-wait for about 2^28
# cycles (~0.1 s here) before sleeping: measured, a 256x128x513 float32 matmul followed by
# time.sleep(0.2) costs the process ~98 ms of CPU (0.7 ms with OPENBLAS_NUM_THREADS=1). On a
# 2-core machine that takes one core away from whatever is timed next.
BLAS_SPIN_S = 0.15


def settle_blas(seconds: float = BLAS_SPIN_S) -> None:
    """Sleep until OpenBLAS's spinning worker threads have gone to sleep (call it untimed)."""
    time.sleep(seconds)


def cpu_model() -> str:
    """The ``model name`` line of /proc/cpuinfo (or what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions(tf=None) -> dict[str, str]:
    """Python, NumPy, TensorFlow and Keras (if ``tf`` is given) and course_lib versions."""
    from importlib.metadata import PackageNotFoundError, version

    import numpy as np

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "unknown"

    out = {"python": platform.python_version(), "numpy": np.__version__}
    if tf is not None:
        out["tensorflow"] = tf.__version__
        out["keras"] = installed("keras")
    out["course_lib"] = installed("course_lib")
    return out


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown pipe table (no escaping: keep ``|`` out of the cells)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
