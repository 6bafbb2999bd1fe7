"""How many CPU threads a CLI run uses: ``--threads N``, else ``INTERESTGRAPH_THREADS``, else ``OMP_NUM_THREADS``, else
a default that leaves room for what else runs on the machine.

The default is ``min(physical cores, 8, free cores)``, at least 1: the physical cores this process may run on (its
CPU affinity and cgroup quota), capped at 8 (so a large shared machine is not taken whole by default: a choice, not a
measured optimum), and reduced by the one-minute load average, so two busy programs on a 2-core machine do not each
start two threads per library (what that costs, measured: docs/getting-started.md, "Threads").

The count is applied before the numerical libraries load (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``; torch, numpy and scipy read them when imported) and, where they are already loaded (a
``main()`` called from Python), through ``torch.set_num_threads`` and threadpoolctl for the run only.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path

#: most threads the default picks
DEFAULT_CAP = 8
#: environment variables the thread count is written to (read by OpenMP, MKL, OpenBLAS when they load)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity set, bounded by a cgroup v2 quota (``/sys/fs/cgroup/cpu.max``)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text(encoding="ascii").split()[:2]
        if quota != "max":
            count = min(count, max(1, math.floor(int(quota) / int(period))))
    return max(1, count)


def physical_cores() -> int:
    """Physical cores among the usable CPUs (hyper-threads counted once; the CPU count where that is unknown)."""
    usable = usable_cpus()
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    cores, cpu, package = set(), None, "0"
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "processor":
                    cpu = int(value)
                elif key == "physical id":
                    package = value
                elif key == "core id" and (allowed is None or cpu in allowed):
                    cores.add((package, value))
    except (OSError, ValueError):
        return usable
    return max(1, min(usable, len(cores))) if cores else usable


def default_threads(load: float | None = None) -> int:
    """``min(physical cores, 8, usable CPUs − one-minute load)``, at least 1 (see the module docstring)."""
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (OSError, AttributeError):
            load = 0.0
    free = math.floor(usable_cpus() - load + 0.5)
    return max(1, min(physical_cores(), DEFAULT_CAP, free))


def _positive(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {text!r}")
    return value


def resolve_threads(flag: int | None = None) -> tuple[int, str]:
    """``(threads, where the number came from)``: ``--threads``, ``INTERESTGRAPH_THREADS``, ``OMP_NUM_THREADS`` or
    ``default``.

    Raises:
        ValueError: ``INTERESTGRAPH_THREADS`` is not a whole number >= 1 (an unusable ``OMP_NUM_THREADS`` is ignored,
            as OpenMP itself does).
    """
    if flag is not None:
        return flag, "--threads"
    given = os.environ.get("INTERESTGRAPH_THREADS", "").strip()
    if given:
        return _positive(given, "INTERESTGRAPH_THREADS"), "INTERESTGRAPH_THREADS"
    with contextlib.suppress(ValueError):
        return _positive(os.environ.get("OMP_NUM_THREADS", "").strip(), "OMP_NUM_THREADS"), "OMP_NUM_THREADS"
    return default_threads(), "default"


@contextlib.contextmanager
def thread_limit(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` CPU threads in torch, OpenMP, MKL and OpenBLAS.

    Sets the environment variables (for libraries not loaded yet, and for child processes); where torch or numpy is
    already loaded, limits them for the block. Everything is restored after.
    """
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    limiter = contextlib.nullcontext()
    if "numpy" in sys.modules:
        with contextlib.suppress(ImportError):
            from threadpoolctl import threadpool_limits

            limiter = threadpool_limits(limits=threads)
    try:
        if torch is not None:
            torch.set_num_threads(threads)
        with limiter:
            yield
    finally:
        if torch is not None and before is not None:
            torch.set_num_threads(before)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
