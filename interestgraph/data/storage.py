"""Save and load an :class:`InteractionLog` as a dataset directory (no pickle).

Layout (format ``interestgraph-dataset``, version 1)::

    DIR/
      interactions.parquet   canonical interaction columns (plus any split columns)
      items.parquet          the catalog; interest fields as list<string>
      manifest.json          format, version, checksums, interest/text fields, source, notes

Written atomically through :func:`interestgraph.artifacts.atomic_directory`;
loading verifies every checksum first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..artifacts import artifact_file, atomic_directory, check_name, read_manifest, reading, write_manifest
from ..errors import ArtifactError
from .schema import InteractionLog

LOG_FILES = ("interactions.parquet", "items.parquet")
LOG_KEYS = ("source", "interest_fields", "text_fields", "has_timestamps")
DATASET_FORMAT = "interestgraph-dataset"
DATASET_VERSION = 1


def write_log_tables(log: InteractionLog, directory: Path) -> dict:
    """Write a log's two tables into ``directory``; returns the manifest entries that describe it."""
    log.interactions.to_parquet(directory / "interactions.parquet", index=False)
    log.items.to_parquet(directory / "items.parquet", index=False)
    return {
        "source": log.source,
        "interest_fields": list(log.interest_fields),
        "text_fields": list(log.text_fields),
        "has_timestamps": log.has_timestamps,
        "notes": list(log.notes),
        "counts": {"users": log.n_users, "items": log.n_items, "interactions": len(log)},
    }


def read_log_tables(directory: Path, manifest: dict) -> InteractionLog:
    """Read the tables written by :func:`write_log_tables` (manifest already verified).

    Raises:
        ArtifactError: a table or the manifest's log entries are damaged (the file named).
    """
    tables = {}
    for name in LOG_FILES:
        path = artifact_file(directory, name)
        with reading(path):
            tables[name] = pd.read_parquet(path)
    interactions, items = tables["interactions.parquet"], tables["items.parquet"]
    with reading(directory / "items.parquet"):
        for field in manifest["interest_fields"]:
            items[field] = [list(v) if v is not None else [] for v in items[field]]
    return InteractionLog(
        interactions=interactions,
        items=items,
        interest_fields=tuple(manifest["interest_fields"]),
        text_fields=tuple(manifest["text_fields"]),
        has_timestamps=bool(manifest["has_timestamps"]),
        source=str(manifest["source"]),
        notes=tuple(manifest.get("notes", ())),
    )


def save_dataset(
    log: InteractionLog,
    directory: str | os.PathLike,
    *,
    overwrite: bool = False,
    tables: Mapping[str, pd.DataFrame] | None = None,
    metadata: dict | None = None,
    inputs=(),
) -> Path:
    """Write ``log`` to ``directory`` atomically and return the path.

    Args:
        tables: extra tables written as ``NAME.parquet`` beside the log (for
            instance a synthetic log's planted truth); read them back with
            :func:`load_table`.
        metadata: extra JSON-serialisable manifest entries.
        inputs: what the log was read from: ``directory`` must not be or contain one, and ``overwrite`` replaces
            only an interestgraph artifact (see :func:`~interestgraph.artifacts.check_target`).
    """
    directory = Path(directory)
    reserved = {"interactions", "items", "manifest"}
    clash = reserved.intersection(tables or {})
    if clash:
        raise ValueError(f"tables must not be named {sorted(clash)}")
    for name in tables or {}:
        check_name(name, "table")
    with atomic_directory(directory, overwrite=overwrite, inputs=inputs) as tmp:
        entries = write_log_tables(log, tmp)
        for name, table in (tables or {}).items():
            table.to_parquet(tmp / f"{name}.parquet", index=False)
        write_manifest(
            tmp,
            format=DATASET_FORMAT,
            format_version=DATASET_VERSION,
            metadata={**entries, "tables": sorted(tables or {}), **(metadata or {})},
        )
    return directory


def load_dataset(directory: str | os.PathLike) -> InteractionLog:
    """Read a directory written by :func:`save_dataset` (checksums verified)."""
    directory = Path(directory)
    manifest = read_manifest(
        directory,
        format=DATASET_FORMAT,
        supported_versions=(DATASET_VERSION,),
        required_files=LOG_FILES,
        required_keys=LOG_KEYS,
    )
    with reading(directory):
        return read_log_tables(directory, manifest)


def load_table(directory: str | os.PathLike, name: str) -> pd.DataFrame:
    """Read one extra table of a dataset directory (checksums verified)."""
    directory = Path(directory)
    manifest = read_manifest(directory, format=DATASET_FORMAT, supported_versions=(DATASET_VERSION,))
    if name not in manifest.get("tables", []):
        raise ArtifactError(
            f"{directory}: no table {name!r} (tables: {', '.join(manifest.get('tables', [])) or 'none'})"
        )
    path = artifact_file(directory, f"{check_name(name, 'table')}.parquet", manifest)
    with reading(path):
        return pd.read_parquet(path)
