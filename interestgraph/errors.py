"""Exceptions with messages that name the problem.

``DataError`` is the error for bad input data (a file, a column, some rows);
the CLI turns it into a one-line message and exit code 1. ``ArtifactError``
is for a saved graph, model or dataset directory that is missing, corrupt, or
of an unknown format version; its subclass ``OutputError`` for an output directory that
cannot be written as asked (``--overwrite`` of something that is not ours, an input,
a concurrent writer). Both subclass ``ValueError`` so callers that
already catch ``ValueError`` keep working.
"""

from __future__ import annotations

from collections.abc import Sequence


class InterestGraphError(Exception):
    """Base class of every error raised on purpose by interestgraph."""


class DataError(InterestGraphError, ValueError):
    """The input data is unusable; the message names the column and rows."""


class ArtifactError(InterestGraphError, ValueError):
    """A saved artifact is missing, corrupt, tampered with, or of an unknown format."""


class OutputError(ArtifactError):
    """An output directory cannot be written as asked: it is not an interestgraph artifact (so ``overwrite`` will not
    delete it), it is or holds an input, or another writer is writing it now. Nothing was changed."""


class TrainingError(InterestGraphError, RuntimeError):
    """Training cannot go on (a non-finite loss, out of memory); the message says where the last good state is."""


def describe_rows(positions: Sequence[int], *, line_offset: int | None = None, limit: int = 5) -> str:
    """Describe the first offending rows for an error message.

    Args:
        positions: 0-based row positions in the table, ascending.
        line_offset: when the table came from a text file, the line number of
            row 0 (2 for a CSV with a header line, 1 for JSON lines); the
            message then gives file line numbers, which is what a user can
            find in an editor. ``None`` gives 0-based row positions.
        limit: how many rows to name at most.
    """
    shown = [int(p) for p in positions[:limit]]
    if line_offset is None:
        where = "row" if len(shown) == 1 else "rows"
        numbers = shown
    else:
        where = "line" if len(shown) == 1 else "lines"
        numbers = [p + line_offset for p in shown]
    text = f"{where} " + ", ".join(str(n) for n in numbers)
    if len(positions) > limit:
        text += ", ..."
    return text
