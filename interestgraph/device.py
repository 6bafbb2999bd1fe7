"""Where tensors live: one place that turns a device setting into a torch device, and recognises running out of memory.

Every part of the package that takes a ``device`` setting (the encoder, the trainer, the BPR
baselines, the benchmarks) resolves it here, so ``"auto"``, ``"cpu"``, ``"cuda"`` and
``"cuda:N"`` mean the same everywhere and a missing GPU is the same clear error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def resolve_device(device: str | torch.device) -> str:
    """Turn a configured device into a concrete torch device string.

    ``"auto"`` gives ``"cuda"`` when CUDA is available, else ``"cpu"``.

    Raises:
        ValueError: naming ``device`` when CUDA (or the given CUDA index) is
            requested but not available, or the setting is not a device.
    """
    import torch  # here, not at import time: the CLI's --help stays fast

    device = str(device).strip().lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} but CUDA is not available here; use device='cpu' or 'auto'")
        if ":" in device:
            index = int(device.split(":", 1)[1])
            if index >= torch.cuda.device_count():
                raise ValueError(f"device={device!r} but only {torch.cuda.device_count()} CUDA device(s) are visible")
        return device
    if device != "cpu":
        raise ValueError(f"device={device!r} is not one of 'auto', 'cpu', 'cuda', 'cuda:N'")
    return device


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocator failure: CUDA's ``OutOfMemoryError``, Python's ``MemoryError``, or torch's
    CPU allocator failing (a plain ``RuntimeError`` saying it "can't allocate memory")."""
    import torch

    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)
