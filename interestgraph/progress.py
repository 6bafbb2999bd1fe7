"""Progress bars for long operations, always on stderr.

One place decides how progress is shown, so every stage behaves the same:
bars go to stderr (stdout stays clean for ``--json``), they are hidden when
stderr is not a terminal (CI logs) unless ``INTERESTGRAPH_PROGRESS=1``, and
``INTERESTGRAPH_PROGRESS=0`` hides them everywhere.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable
from typing import TypeVar

from tqdm import TqdmWarning

with warnings.catch_warnings():  # in Jupyter without ipywidgets tqdm.auto warns, then falls back to text bars: fine
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled() -> bool:
    """Whether progress bars are shown (env ``INTERESTGRAPH_PROGRESS`` or a TTY on stderr)."""
    setting = os.environ.get("INTERESTGRAPH_PROGRESS", "").strip().lower()
    if setting in {"0", "false", "no", "off"}:
        return False
    if setting in {"1", "true", "yes", "on"}:
        return True
    return sys.stderr.isatty()


def progress(
    iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "", unit: str = "it"
) -> tqdm:
    """A tqdm bar on stderr that follows :func:`progress_enabled`.

    Use as an iterable wrapper, or with ``iterable=None`` and ``total=`` as a
    manual bar (``bar.update(n)``; close it or use it as a context manager).
    """
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not progress_enabled(),
        dynamic_ncols=True,
        leave=False,
    )
