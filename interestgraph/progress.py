"""Progress of long operations, always on stderr.

One place decides how progress is shown, so every stage behaves the same (stdout stays clean for ``--json``):

* stderr is a terminal: a tqdm bar that redraws itself;
* stderr is not a terminal (CI, a log file, ``2>&1 | tee``, a notebook): one line at a time with a timestamp, e.g.
  ``2026-12-05T07:40:12 train: 30/60 epoch (50%), 0:24 elapsed, 1.2 epoch/s, ETA 0:25``, when the operation has
  run 2 s, then at each further 10% and at least every 30 s (``INTERESTGRAPH_PROGRESS_INTERVAL`` seconds), and a last
  line when it ends; an operation done within 2 s prints nothing;
* ``INTERESTGRAPH_PROGRESS=0`` hides progress everywhere (``-q`` sets it), ``=1`` forces bars, ``=lines`` forces
  lines.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Iterable
from typing import TypeVar

from tqdm import TqdmWarning
from tqdm.std import tqdm as text_tqdm

with warnings.catch_warnings():  # in Jupyter without ipywidgets tqdm.auto warns, then falls back to text bars: fine
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm

T = TypeVar("T")

#: seconds an operation runs before its first progress line (a quicker one prints none)
FIRST_LINE_AFTER = 2.0
#: most seconds between two progress lines (``INTERESTGRAPH_PROGRESS_INTERVAL`` overrides)
LINE_INTERVAL = 30.0
#: the clock progress lines are timed with (a test replaces it)
_clock = time.monotonic


def progress_mode() -> str:
    """``"bar"``, ``"lines"`` or ``"off"``: from ``INTERESTGRAPH_PROGRESS``, else bars on a terminal and lines
    elsewhere."""
    setting = os.environ.get("INTERESTGRAPH_PROGRESS", "").strip().lower()
    if setting in {"0", "false", "no", "off"}:
        return "off"
    if setting in {"1", "true", "yes", "on", "bar", "bars"}:
        return "bar"
    if setting in {"line", "lines"}:
        return "lines"
    return "bar" if sys.stderr.isatty() else "lines"


def progress_enabled() -> bool:
    """Whether progress is shown at all (bars or lines; see :func:`progress_mode`)."""
    return progress_mode() != "off"


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get("INTERESTGRAPH_PROGRESS_INTERVAL", LINE_INTERVAL)))
    except ValueError:
        return LINE_INTERVAL


class LineProgress(text_tqdm):
    """A tqdm whose display is a timestamped line now and then instead of a redrawn bar (see the module docstring);
    the rest of tqdm's interface (iteration, ``update``, ``set_postfix_str``, ``close``, context manager) is tqdm's."""

    def __init__(self, *args, **kwargs):
        self._t0 = _clock()
        self._last_line: float | None = None
        self._last_step = 0
        self._every = _interval()
        kwargs.update(mininterval=0, miniters=1, dynamic_ncols=False)  # display() itself decides when
        super().__init__(*args, **kwargs)

    def _line(self, final: bool = False) -> str:
        elapsed = _clock() - self._t0
        unit = self.unit
        count = f"{self.n:,}" + (f"/{self.total:,}" if self.total else "") + f" {unit}"
        if self.total:
            count += f" ({100 * self.n / self.total:.0f}%)"
        parts = [count, f"{self.format_interval(elapsed)} elapsed"]
        if elapsed > 0 and self.n:
            rate = self.n / elapsed
            parts.append(f"{rate:,.3g} {unit}/s" if rate >= 1 else f"{elapsed / self.n:,.3g} s/{unit}")
            if self.total and not final and self.n < self.total:
                parts.append(f"ETA {self.format_interval((self.total - self.n) / rate)}")
        postfix = f" [{self.postfix}]" if self.postfix else ""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        return f"{stamp} {self.desc or 'progress'}{' done' if final else ''}: {', '.join(parts)}{postfix}\n"

    def display(self, msg=None, pos=None):  # tqdm calls this to draw; here it decides whether a line is due
        if msg is not None or self.disable:
            return None
        now = _clock()
        if now - self._t0 < FIRST_LINE_AFTER or (self.total and self.n >= self.total):  # the end: close() says it
            return None
        step = int(10 * self.n / self.total) if self.total else 0
        if self._last_line is None or now - self._last_line >= self._every or step > self._last_step:
            self._last_line, self._last_step = now, step
            self.fp.write(self._line())
            self.fp.flush()
        return None

    def close(self):
        if not getattr(self, "disable", True) and (
            self._last_line is not None or _clock() - self._t0 >= FIRST_LINE_AFTER
        ):
            self.fp.write(self._line(final=True))
            self.fp.flush()
        super().close()


def progress(
    iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "", unit: str = "it"
) -> tqdm:
    """Progress on stderr that follows :func:`progress_mode`: a tqdm bar, timestamped lines, or nothing.

    Use as an iterable wrapper, or with ``iterable=None`` and ``total=`` as a
    manual bar (``bar.update(n)``; close it or use it as a context manager).
    """
    mode = progress_mode()
    if mode == "lines":
        return LineProgress(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=mode == "off",
        dynamic_ncols=True,
        leave=False,
    )
