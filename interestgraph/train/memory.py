"""What a training run will hold, estimated before its first step, against the memory the machine has free.

A step of the path model propagates dense ``(N, B)`` float32 blocks (``N`` = users + items + interests, ``B`` the
step's users) through ``max_length`` walk steps and keeps them for the backward pass: about 20 of them live. With
glibc's default allocator a CPU run keeps several times that resident, because blocks of a few MiB are served from
the heap, whose freed space fragments and is not returned, until the allocator's dynamic mmap threshold grows past
them. Serving every allocation of 4 MiB or more by ``mmap`` (:func:`compact_allocator`) keeps the resident memory
at the live size. The constants below come from ``python benchmarks/step_memory.py`` (its figures:
benchmarks/README.md, "Training-step memory").

:func:`plan_memory` turns that into a decision made before training: run as is when the retained size fits the
free memory, switch the allocator to the compact mode when only the live size fits, and otherwise stop with the
largest ``user_batch`` that fits: nothing is lost, where an out-of-memory kill hours later loses the run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import TrainingError

#: bytes per node and user column of one training step: the live blocks, with a margin
LIVE_BYTES_PER_NODE_COLUMN = 96
#: the same, resident with glibc's default allocator on the CPU, with a margin
RETAINED_BYTES_PER_NODE_COLUMN = 320
#: memory of a step that does not grow with the batch, and blocks too small for the compact mode (they stay on the
#: heap)
STEP_OVERHEAD_BYTES = 128 * 2**20
#: the allocator's mmap threshold in the compact mode
COMPACT_MMAP_THRESHOLD = 4 * 2**20
#: ``INTERESTGRAPH_MEMORY_CHECK=0`` skips the check (a machine whose free memory the process cannot read right)
CHECK_VARIABLE = "INTERESTGRAPH_MEMORY_CHECK"

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


@dataclass(frozen=True)
class MemoryPlan:
    """The decision :func:`plan_memory` made (bytes).

    Attributes:
        live: what a step holds (``n_nodes × user_batch`` live blocks, plus what calibration keeps).
        retained: what the process may keep resident with the default allocator (the CPU; ``live`` on a GPU).
        available: the free memory read, or None when it could not be read (then nothing is refused).
        source: where ``available`` came from.
        mode: ``"default"`` (the retained size fits), ``"compact"`` (only the live size fits: use
            :func:`compact_allocator`) or ``"unchecked"``.
    """

    live: int
    retained: int
    available: int | None
    source: str
    mode: str


def step_bytes(n_nodes: int, user_batch: int, *, retained: bool = False) -> int:
    """Estimated memory of one training step over ``user_batch`` users on a graph of ``n_nodes`` nodes (bytes)."""
    per = RETAINED_BYTES_PER_NODE_COLUMN if retained else LIVE_BYTES_PER_NODE_COLUMN
    return STEP_OVERHEAD_BYTES + per * int(n_nodes) * int(user_batch)


def calibration_bytes(draws: int, users: int, candidates: int, softmax: bool) -> int:
    """What cold-item calibration keeps across its draws: every sampled user's float64 logits over the candidates
    (softmax), or a few float64 values per sampled pair (BPR, small)."""
    if not softmax or draws == 0:
        return 0
    return int(draws) * int(users) * int(candidates) * 8


def _read_number(path: str, index: int = 0) -> int | None:
    """The ``index``-th whitespace-separated integer of a file (None when missing or not a number, e.g. "max")."""
    try:
        return int(Path(path).read_text().split()[index])
    except (OSError, IndexError, ValueError):
        return None


def available_bytes(device: torch.device) -> tuple[int | None, str]:
    """``(bytes this process can still allocate, where that came from)``; ``(None, reason)`` when unknown.

    CUDA: the device's free memory. CPU: the smallest of ``MemAvailable`` (``/proc/meminfo``), the cgroup's
    ``memory.max`` less its ``memory.current`` and the soft ``RLIMIT_AS`` less the address space mapped now.
    """
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free), f"free memory of {device}"
    limits: list[tuple[int, str]] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                limits.append((int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"))
    except OSError:
        pass
    cap, used = _read_number("/sys/fs/cgroup/memory.max"), _read_number("/sys/fs/cgroup/memory.current")
    if cap is not None and used is not None:
        limits.append((max(cap - used, 0), "the cgroup's memory.max less memory.current"))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        mapped = _read_number("/proc/self/statm")
        if mapped is not None:
            limits.append((max(soft - mapped * os.sysconf("SC_PAGE_SIZE"), 0), "RLIMIT_AS less the mapped memory"))
    if not limits:
        return None, "no readable memory figure on this system"
    return min(limits)


def plan_memory(
    n_nodes: int,
    user_batch: int,
    calibration: int,
    device: torch.device,
    available: tuple[int | None, str] | None = None,
) -> MemoryPlan:
    """Decide how to run a training of ``user_batch`` users per step on ``n_nodes`` nodes, ``calibration`` bytes
    kept by the cold-item calibration at the end (:func:`calibration_bytes`).

    Args:
        available: ``(bytes, source)`` as :func:`available_bytes` returns (read from the system when None).

    Raises:
        TrainingError: not even the live size fits: names both sizes, the free memory and where it was read, and
            the largest ``user_batch`` that fits.
    """
    if os.environ.get(CHECK_VARIABLE, "1") == "0":
        return MemoryPlan(0, 0, None, f"{CHECK_VARIABLE}=0", "unchecked")
    free, source = available if available is not None else available_bytes(device)
    live = step_bytes(n_nodes, user_batch) + calibration
    retained = step_bytes(n_nodes, user_batch, retained=True) + calibration if device.type == "cpu" else live
    if free is None:
        return MemoryPlan(live, retained, None, source, "unchecked")
    if retained <= free:
        return MemoryPlan(live, retained, free, source, "default")
    if live <= free:
        return MemoryPlan(live, retained, free, source, "compact")
    fits = (free - STEP_OVERHEAD_BYTES - calibration) // (LIVE_BYTES_PER_NODE_COLUMN * max(int(n_nodes), 1))
    advice = (
        f"lower user_batch to {int(fits)} or less"
        if fits >= 1
        else "no user_batch fits (lower calibration_users or cold_draws, or free memory)"
    )
    kept = f" and the cold-item calibration keeps {calibration / 2**30:.2f} GiB" if calibration else ""
    raise TrainingError(
        f"not enough memory to train: a step over user_batch={user_batch} users on {n_nodes:,} nodes holds about "
        f"{step_bytes(n_nodes, user_batch) / 2**30:.2f} GiB{kept}, but {free / 2**30:.2f} GiB is free ({source}); "
        f"{advice}, or train on a machine with more memory (set {CHECK_VARIABLE}=0 to try anyway)"
    )


def compact_allocator() -> bool:
    """Serve every allocation of :data:`COMPACT_MMAP_THRESHOLD` bytes or more by ``mmap`` (glibc's ``mallopt``), so
    freed blocks go back to the system at once. Process-wide and kept for the process's life (glibc then stops
    adapting the threshold). Returns whether it took effect (False off glibc)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, COMPACT_MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False
