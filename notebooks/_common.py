"""Settings shared by the notebooks: the size parameter, the data choice and where outputs go.

The test suite executes every notebook with ``IG_NOTEBOOK_SIZE=small`` (seconds per notebook on CPU);
``IG_NOTEBOOK_SIZE=full`` uses the synthetic default's full size; ``IG_NOTEBOOK_DATA=movielens`` reads
``../shared/datasets/ml-latest-small`` (or ``$IG_MOVIELENS``) when it is present.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SIZES = {
    "small": {"n_users": 300, "n_items": 400, "n_interactions": 12_000, "epochs": 12, "baseline_epochs": 200},
    "full": {"n_users": 1_000, "n_items": 2_000, "n_interactions": 60_000, "epochs": 60, "baseline_epochs": 1000},
}
ROOT = Path(__file__).resolve().parent.parent


def size() -> str:
    value = os.environ.get("IG_NOTEBOOK_SIZE", "small")
    if value not in SIZES:
        raise ValueError(f"IG_NOTEBOOK_SIZE must be one of {', '.join(SIZES)}, got {value!r}")
    return value


def movielens_dir() -> Path | None:
    """ml-latest-small when ``IG_NOTEBOOK_DATA=movielens`` asks for it and it is present, else None."""
    if os.environ.get("IG_NOTEBOOK_DATA", "synthetic") != "movielens":
        return None
    path = Path(os.environ.get("IG_MOVIELENS", ROOT.parent / "shared" / "datasets" / "ml-latest-small"))
    return path if path.is_dir() else None


def output_dir(name: str) -> Path:
    """Where a notebook writes its files (``$IG_NOTEBOOK_OUT/<name>`` or a fresh temporary folder)."""
    base = os.environ.get("IG_NOTEBOOK_OUT")
    path = Path(base) / name if base else Path(tempfile.mkdtemp(prefix=f"interestgraph-{name}-"))
    path.mkdir(parents=True, exist_ok=True)
    return path
