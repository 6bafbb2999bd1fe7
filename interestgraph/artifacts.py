"""Atomic artifact directories with a checksummed JSON manifest.

Every artifact interestgraph writes (a dataset, a built graph, a trained
model) is a directory of plain files: tables as Parquet or CSV, tensors as
safetensors, and ``manifest.json``. Nothing is pickled, and loading never
runs code from the directory.

Writes are atomic: :func:`atomic_directory` hands out a temporary directory
*beside* the target (same file system, so ``rename`` is atomic), the caller
writes into it, every file and the directory are fsynced, and only then is it
renamed into place. A process killed at any point before the rename leaves the
previous artifact untouched; an exception removes the temporary directory.

Replacing an existing directory takes two renames (old aside, new in); if the
process dies between them, the previous artifact survives under
``<name>.replaced-<random>`` next to the target. Reading such a target fails
with a message that names the surviving copy; :func:`recover_replaced` moves it
back (an explicit call: a reader never moves files, so it cannot race a writer).

Manifest (``manifest.json``)::

    {
      "format": "interestgraph-dataset",   # kind of artifact
      "format_version": 1,                 # integer; readers refuse newer versions
      "created_by": "interestgraph 0.1.0",
      "created_at": "2026-11-23T17:40:00Z",
      "files": {"interactions.parquet": {"sha256": "...", "bytes": 123}},
      ... any JSON-serialisable metadata the writer adds ...
    }

:func:`read_manifest` checks the format name, the version, that every listed
file exists with the recorded size and SHA-256, and refuses anything else with
an :class:`~interestgraph.errors.ArtifactError` that says what is wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import ArtifactError

MANIFEST_NAME = "manifest.json"
_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_path(path: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write one file atomically: a temporary file beside ``path``, fsynced, then renamed over it.

    A crash leaves either the old file or the new one, never half of either; the
    parent directory is created when missing. Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Write a directory atomically: yield a temporary directory, then rename it to ``target``.

    Args:
        target: the final directory path.
        overwrite: replace an existing ``target``; without it an existing
            target raises ``FileExistsError`` before anything is written.

    Yields:
        An empty directory beside ``target``; write every file of the artifact there.

    On an exception inside the ``with`` block the temporary directory is
    removed and ``target`` is left as it was.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a directory")
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = parent / f".{target.name}.tmp-{secrets.token_hex(6)}"
    staging.mkdir()
    try:
        yield staging
        _fsync_tree(staging)
        if target.exists():
            aside = parent / f"{target.name}.replaced-{secrets.token_hex(6)}"
            os.rename(target, aside)
            os.rename(staging, target)
            _fsync_path(parent)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.rename(staging, target)
            _fsync_path(parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def recover_replaced(target: str | os.PathLike) -> bool:
    """Move a previous artifact back if a replace was killed between its two renames.

    Returns True when something was recovered. Does nothing when ``target`` exists.
    """
    target = Path(target)
    if target.exists():
        return False
    candidates = sorted(target.parent.glob(f"{target.name}.replaced-*"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        return False
    os.rename(candidates[-1], target)
    return True


def artifact_format(directory: str | os.PathLike) -> str | None:
    """The ``format`` named by ``directory/manifest.json`` (``"interestgraph-graph"``, ...), or None when there is no
    readable manifest. Only a peek: :func:`read_manifest` is what verifies an artifact."""
    try:
        data = json.loads((Path(directory) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("format") if isinstance(data, dict) else None


def write_manifest(
    directory: str | os.PathLike, *, format: str, format_version: int, metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Checksum every file in ``directory`` (recursively) and write ``manifest.json``.

    Call it last, inside :func:`atomic_directory`. ``metadata`` must be
    JSON-serialisable; its keys must not clash with the manifest's own keys.
    Returns the manifest as written.
    """
    from . import __version__

    directory = Path(directory)
    files = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST_NAME):
        rel = path.relative_to(directory).as_posix()
        files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest: dict[str, Any] = {
        "format": format,
        "format_version": int(format_version),
        "created_by": f"interestgraph {__version__}",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": files,
    }
    for key, value in (metadata or {}).items():
        if key in manifest:
            raise ValueError(f"metadata key {key!r} clashes with a manifest field")
        manifest[key] = value
    text = json.dumps(manifest, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False)
    (directory / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")
    return manifest


def read_manifest(
    directory: str | os.PathLike,
    *,
    format: str,
    supported_versions: tuple[int, ...],
    verify: bool = True,
    required_files: tuple[str, ...] = (),
    required_keys: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Read and check ``manifest.json``: format, version, and every file's size and SHA-256.

    Raises:
        ArtifactError: the directory or manifest is missing or unreadable, the
            format is another kind of artifact, the version is unknown (newer
            than this interestgraph), a listed file is missing, or a file's
            size or checksum differs (truncated or tampered).
    """
    directory = Path(directory)
    if not directory.is_dir():
        survivors = sorted(directory.parent.glob(f"{directory.name}.replaced-*"))
        if survivors:
            raise ArtifactError(
                f"{directory}: missing, but a previous copy survives at {survivors[-1]} (a replace was interrupted); "
                f"restore it with interestgraph.artifacts.recover_replaced({str(directory)!r})"
            )
        raise ArtifactError(f"{directory}: no such artifact directory")
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise ArtifactError(f"{directory}: no {MANIFEST_NAME}; not an interestgraph artifact, or an interrupted write")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: manifest is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path}: manifest must be a JSON object")
    found = manifest.get("format")
    if found != format:
        raise ArtifactError(f"{directory}: expected a {format!r} artifact, found format {found!r}")
    version = manifest.get("format_version")
    if version not in supported_versions:
        newest = max(supported_versions)
        hint = (
            " (written by a newer interestgraph; upgrade to read it)"
            if isinstance(version, int) and version > newest
            else ""
        )
        raise ArtifactError(
            f"{directory}: unsupported {format} format_version {version!r}; this interestgraph reads "
            f"{list(supported_versions)}{hint}"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(e, dict) and isinstance(e.get("sha256"), str) and isinstance(e.get("bytes"), int)
        for e in files.values()
    ):
        raise ArtifactError(f"{path}: manifest has no valid 'files' table (each entry needs 'sha256' and 'bytes')")
    unlisted = [f for f in required_files if f not in files]
    if unlisted:
        raise ArtifactError(f"{directory}: manifest does not list required file(s) {', '.join(unlisted)}")
    absent = [k for k in required_keys if k not in manifest]
    if absent:
        raise ArtifactError(f"{path}: manifest lacks required key(s) {', '.join(absent)}")
    if verify:
        for rel, entry in files.items():
            file_path = directory / rel
            if not file_path.is_file():
                raise ArtifactError(f"{directory}: file {rel!r} listed in the manifest is missing")
            size = file_path.stat().st_size
            if size != entry.get("bytes"):
                raise ArtifactError(
                    f"{directory}: file {rel!r} has {size} bytes, the manifest says {entry.get('bytes')} (truncated or "
                    "modified)"
                )
            if sha256_file(file_path) != entry.get("sha256"):
                raise ArtifactError(f"{directory}: file {rel!r} fails its SHA-256 check (modified or corrupt)")
    return manifest
