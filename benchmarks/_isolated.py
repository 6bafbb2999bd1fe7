"""Run one benchmark case in a fresh process, so its peak memory is its own."""

from __future__ import annotations

import multiprocessing as mp
import queue as queues
import resource
from collections.abc import Callable
from typing import Any


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_isolated(case: Callable[..., None], *args: Any) -> dict:
    """Run ``case(*args, queue)`` in a spawned process and return the dict it puts on ``queue``.

    ``case`` must be a module-level function (spawn imports it by name).
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=case, args=(*args, queue))
    proc.start()
    while True:  # a case that dies before putting its result must not leave the caller waiting forever
        try:
            result = queue.get(timeout=1.0)
            break
        except queues.Empty:
            if not proc.is_alive() and queue.empty():
                proc.join()
                raise RuntimeError(
                    f"benchmark case {case.__name__}{args} exited with code {proc.exitcode} before its result"
                ) from None
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"benchmark case {case.__name__}{args} exited with code {proc.exitcode}")
    return result
