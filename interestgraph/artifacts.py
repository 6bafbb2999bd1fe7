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
back (an explicit call: a reader never moves files, so it cannot race a writer),
choosing only a copy whose every file matches its manifest.

What a write may destroy (:func:`check_target`): ``overwrite`` replaces only a directory
whose manifest names an interestgraph format (or an empty one), never a directory of
other files, never an input of the write (``inputs=``, compared through symbolic links),
and never an artifact of another format. One writer per target at a time: a lock file
``.<name>.lock`` beside it is held for the whole write, and a second writer fails at once
with :class:`~interestgraph.errors.OutputError`; the staging directory carries a marker
while unfinished (it never loads), and the next successful write of the same target
removes what killed writes left beside it.

What a read may reach: every file a manifest lists must lie inside the directory (no
absolute names, no ``..``, no link that leaves), checked before the file is looked at;
:func:`artifact_file` gives loaders checked paths, :func:`check_name` vets names that
become file names, :func:`load_tensors` refuses NaN and infinity in any tensor, and
:func:`reading` turns a damaged part into an :class:`~interestgraph.errors.ArtifactError`
naming the file.

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
import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import ArtifactError, OutputError

MANIFEST_NAME = "manifest.json"
#: inside a ``.<name>.tmp-<hex>`` staging directory while it is written (removed just before it is published)
STAGING_MARKER = ".interestgraph-unfinished"
#: inside a ``<name>.replaced-<hex>`` copy while it is deleted (so it is never taken for a whole artifact)
DISCARD_MARKER = ".interestgraph-discarded"
#: names an artifact's files and tables may have (no separators, no leading dot)
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
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


def is_artifact(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` holds a ``manifest.json`` naming an interestgraph format (``"interestgraph-..."``): the
    only kind of directory :func:`atomic_directory` will replace. A peek, not a verification."""
    found = artifact_format(directory)
    return isinstance(found, str) and found.startswith("interestgraph-")


def _real(path: str | os.PathLike) -> Path:
    """``path`` absolute with every symbolic link resolved (the part that does not exist is kept as written)."""
    return Path(os.path.realpath(os.path.abspath(path)))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_target(
    target: str | os.PathLike,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
    replaceable: Callable[[Path], bool] | None = None,
) -> Path:
    """Check, before anything is computed or written, that an artifact may be written to ``target``; returns it.

    A verb calls it first (so a long build does not end in a refusal); :func:`atomic_directory` calls it again.

    Args:
        target: the output directory.
        overwrite: whether an existing ``target`` may be replaced.
        inputs: the paths the output is made from (files or directories; None entries are skipped). ``target``
            must not be one of them nor contain one, compared with symbolic links resolved and as written; an
            output inside an input's folder is fine.
        replaceable: what an existing ``target`` must satisfy to be replaced (default :func:`is_artifact`); an
            empty directory may always be replaced.

    Raises:
        OutputError: ``target`` is empty or ``.``, is or contains an input, or exists and is not replaceable (the
            message says what was refused and why).
        FileExistsError: ``target`` exists (or a previous copy of it survives an interrupted replace) and
            ``overwrite`` is False.
    """
    raw = os.fspath(target)
    path = Path(raw)
    if raw.strip() == "" or path.name in ("", ".", ".."):
        raise OutputError(f"output directory {raw!r}: name a new or existing artifact directory, not {raw!r}")
    real, plain = _real(path), Path(os.path.abspath(path))
    for source in inputs:
        if source is None or os.fspath(source) == "" or "://" in os.fspath(source):
            continue
        for out, given in ((real, _real(source)), (plain, Path(os.path.abspath(source)))):
            if _inside(given, out):
                what = "is" if given == out else "contains"
                raise OutputError(
                    f"{raw}: refusing to write there: it {what} the input {os.fspath(source)} (write the output to "
                    "another directory; one inside the input's folder is fine)"
                )
    if os.path.lexists(path):
        if not overwrite:
            raise FileExistsError(f"{raw} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
        if not real.is_dir():
            raise FileExistsError(f"{raw} exists and is not a directory")
        entries = sorted(p.name for p in real.iterdir())
        if entries and not (replaceable or is_artifact)(real):
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise OutputError(
                f"{raw}: refusing to replace a directory that is not an interestgraph artifact (no manifest.json "
                f"naming an interestgraph format; it holds {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}: "
                f"{shown}); move it away or choose another output directory"
            )
    elif not overwrite:
        survivors = [p for p in _survivors(real) if _complete(p) is None]
        if survivors:
            raise FileExistsError(
                f"{raw} is missing but a previous copy survives at {survivors[0]} (a replace was interrupted); restore "
                f"it with interestgraph.artifacts.recover_replaced({raw!r}), or pass overwrite=True (CLI: "
                "--overwrite) to write anew"
            )
    return path


@contextlib.contextmanager
def _writer_lock(target: Path) -> Iterator[bool]:
    """Hold ``.<name>.lock`` beside ``target`` exclusively, or fail at once: one writer per output at a time.
    Yields whether a lock is held (False where the platform has none)."""
    try:
        import fcntl
    except ImportError:  # no advisory locks (Windows): the rename that refuses to replace still guards a new target
        yield False
        return
    lock = target.parent / f".{target.name}.lock"
    for _attempt in range(5):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(
                f"{target}: another process is writing it now (lock {lock} is held); wait for it to finish or choose "
                "another output directory"
            ) from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino  # the holder before us may have unlinked it
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    else:  # pragma: no cover - five lost races in a row
        raise OutputError(f"{target}: could not take the writer lock {lock}; retry")
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


@contextlib.contextmanager
def atomic_directory(
    target: str | os.PathLike,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
    replaceable: Callable[[Path], bool] | None = None,
) -> Iterator[Path]:
    """Write a directory atomically: yield a temporary directory, then rename it to ``target``.

    Args:
        target: the final directory path (a symbolic link to a directory: that directory).
        overwrite: replace an existing ``target``; without it an existing
            target raises ``FileExistsError`` before anything is written.
        inputs, replaceable: see :func:`check_target`: ``target`` must not be or contain an input, and an
            existing ``target`` is replaced only when it is an interestgraph artifact (or ``replaceable``
            says so, or it is empty); a directory of other files is never deleted.

    Yields:
        An empty directory beside ``target`` (``.<name>.tmp-<hex>``, marked as unfinished); write every file of
        the artifact there.

    One writer per ``target`` at a time: a second one fails at once with
    :class:`~interestgraph.errors.OutputError` (a lock file beside it), and a ``target``
    that appears meanwhile is never replaced without ``overwrite``. On an exception inside the ``with`` block the
    temporary directory is removed and ``target`` is left as it was. After a successful write, the temporary and
    replaced copies that killed writes of the same ``target`` left behind are removed.
    """
    target = Path(target)
    if target.is_symlink():
        target = _real(target)
    check_target(target, overwrite=overwrite, inputs=inputs, replaceable=replaceable)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock(target) as locked:
        check_target(target, overwrite=overwrite, inputs=inputs, replaceable=replaceable)  # as it is now, locked
        staging = parent / f".{target.name}.tmp-{secrets.token_hex(6)}"
        staging.mkdir()
        try:
            (staging / STAGING_MARKER).write_text(f"unfinished write of {target.name} by process {os.getpid()}\n")
            yield staging
            (staging / STAGING_MARKER).unlink()
            _fsync_tree(staging)
            _publish(staging, target, overwrite)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if locked:  # only under the lock: without it a leftover may be a live writer's staging directory
            _remove_leftovers(target)


def _publish(staging: Path, target: Path, overwrite: bool) -> None:
    parent = target.parent
    if not os.path.lexists(target):
        try:
            os.rename(staging, target)  # refuses to replace a directory with entries: a writer beside us won
        except OSError as exc:
            if os.path.lexists(target):
                raise OutputError(
                    f"{target}: another writer created it meanwhile; refusing to replace it (pass overwrite=True "
                    "to replace it)"
                ) from exc
            raise
        _fsync_path(parent)
        return
    if not overwrite:
        raise OutputError(
            f"{target}: another writer created it meanwhile; refusing to replace it (pass overwrite=True to replace it)"
        )
    old, new = artifact_format(target), artifact_format(staging)
    if old is not None and new is not None and old != new:
        raise OutputError(
            f"{target}: holds an {old}; refusing to replace it with an {new} (remove it first or choose another "
            "output directory)"
        )
    aside = parent / f"{target.name}.replaced-{secrets.token_hex(6)}"
    os.rename(target, aside)
    os.rename(staging, target)
    _fsync_path(parent)
    _discard(aside)


def _discard(aside: Path) -> None:
    """Delete a replaced copy so that no moment of it looks complete: mark it, drop its manifest, then the rest."""
    with contextlib.suppress(OSError):
        (aside / DISCARD_MARKER).write_text("being deleted: the replaced copy of a newer artifact\n")
    with contextlib.suppress(OSError):
        (aside / MANIFEST_NAME).unlink()
    shutil.rmtree(aside, ignore_errors=True)


def _survivors(target: Path) -> list[Path]:
    """The ``<name>.replaced-*`` directories beside ``target``."""
    if not target.parent.is_dir():
        return []
    return sorted(p for p in target.parent.glob(f"{glob.escape(target.name)}.replaced-*") if p.is_dir())


def _complete(copy: Path) -> str | None:
    """None when ``copy`` is a whole artifact (not being discarded, manifest naming an interestgraph format, every
    listed file present with its size and SHA-256), else what is wrong with it."""
    if (copy / DISCARD_MARKER).exists():
        return "it was being deleted"
    if not is_artifact(copy):
        return "it has no readable interestgraph manifest"
    try:
        files = json.loads((copy / MANIFEST_NAME).read_text(encoding="utf-8")).get("files")
        problem = _check_files(copy, files, verify=True)
    except (OSError, ValueError, AttributeError) as exc:
        return f"its manifest is unreadable ({exc})"
    return problem


def _remove_leftovers(target: Path) -> None:
    """Remove what killed writes of ``target`` left beside it: our staging directories (marked unfinished, or empty)
    and replaced copies being deleted or superseded. Called under the writer lock, after a successful write."""
    staging = re.compile(rf"^\.{re.escape(target.name)}\.tmp-[0-9a-f]{{12}}$")
    replaced = re.compile(rf"^{re.escape(target.name)}\.replaced-[0-9a-f]{{12}}$")
    for entry in target.parent.iterdir():
        if entry.is_symlink() or not entry.is_dir():
            continue
        if staging.match(entry.name):
            ours = (entry / STAGING_MARKER).exists() or is_artifact(entry) or not any(entry.iterdir())
        elif replaced.match(entry.name):
            ours = (entry / DISCARD_MARKER).exists() or is_artifact(entry)
        else:
            continue
        if ours:
            shutil.rmtree(entry, ignore_errors=True)


def recover_replaced(target: str | os.PathLike) -> bool:
    """Move a previous artifact back if a replace was killed between its two renames.

    Only a complete copy is chosen (every file checked against its manifest's sizes and checksums; a copy whose
    deletion had begun never is); of several complete ones, the newest. Returns True when something was
    recovered, False when ``target`` exists or nothing survives.

    Raises:
        ArtifactError: copies survive but none is complete (each named with what is wrong).
    """
    target = Path(target)
    if os.path.lexists(target):
        return False
    candidates = _survivors(target)
    if not candidates:
        return False
    complete, broken = [], []
    for copy in candidates:
        problem = _complete(copy)
        (broken.append(f"{copy.name}: {problem}") if problem else complete.append(copy))
    if not complete:
        raise ArtifactError(f"{target}: no surviving copy is complete ({'; '.join(broken)}); nothing to recover")
    newest = max(complete, key=lambda p: (p / MANIFEST_NAME).stat().st_mtime)
    os.rename(newest, target)
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
    skip = {MANIFEST_NAME, STAGING_MARKER, DISCARD_MARKER}
    listed = (p for p in directory.rglob("*") if p.is_file() and not (p.parent == directory and p.name in skip))
    for path in sorted(listed):
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
    """Read and check ``manifest.json``: format, version, and every file's place, size and SHA-256.

    Every file the manifest lists must lie inside ``directory``: a relative name without ``..`` whose symbolic
    links, if any, resolve inside it (checked before anything about the file is read, so the error says nothing
    about a file elsewhere). ``verify=False`` skips only the sizes and checksums.

    Raises:
        ArtifactError: the directory or manifest is missing or unreadable, the directory is an unfinished write
            (a ``.tmp-`` staging directory), the format is another kind of artifact, the version is unknown
            (newer than this interestgraph), a listed file lies outside the directory or is missing, or a
            file's size or checksum differs (truncated or tampered).
    """
    directory = Path(directory)
    if not directory.is_dir():
        survivors = _survivors(_real(directory))
        if survivors:
            complete = [p for p in survivors if _complete(p) is None]
            if complete:
                raise ArtifactError(
                    f"{directory}: missing, but a previous copy survives at {complete[-1]} (a replace was "
                    f"interrupted); restore it with interestgraph.artifacts.recover_replaced({str(directory)!r})"
                )
            raise ArtifactError(
                f"{directory}: missing; the copies a replace left ({', '.join(p.name for p in survivors)}) are "
                "incomplete, so there is nothing to recover"
            )
        raise ArtifactError(f"{directory}: no such artifact directory")
    if (directory / STAGING_MARKER).exists() or re.match(r"^\..+\.tmp-[0-9a-f]{12}$", _real(directory).name):
        raise ArtifactError(
            f"{directory}: an unfinished write's staging directory, not an artifact (the write was interrupted; it "
            "is removed by the next successful write of the same output)"
        )
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise ArtifactError(f"{directory}: no {MANIFEST_NAME}; not an interestgraph artifact, or an interrupted write")
    if not _inside(_real(path), _real(directory)):
        raise ArtifactError(f"{path}: a link that leaves the artifact directory; refusing to read it")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ArtifactError(f"{path}: manifest is not valid JSON ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path}: manifest must be a JSON object")
    found = manifest.get("format")
    if found != format:
        raise ArtifactError(f"{directory}: expected a {format!r} artifact, found format {_short(found)}")
    version = manifest.get("format_version")
    if isinstance(version, bool) or version not in supported_versions:
        newest = max(supported_versions)
        hint = (
            " (written by a newer interestgraph; upgrade to read it)"
            if isinstance(version, int) and not isinstance(version, bool) and version > newest
            else ""
        )
        raise ArtifactError(
            f"{directory}: unsupported {format} format_version {_short(version)}; this interestgraph reads "
            f"{list(supported_versions)}{hint}"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(e, dict)
        and isinstance(e.get("sha256"), str)
        and isinstance(e.get("bytes"), int)
        and not isinstance(e.get("bytes"), bool)
        for e in files.values()
    ):
        raise ArtifactError(f"{path}: manifest has no valid 'files' table (each entry needs 'sha256' and 'bytes')")
    unlisted = [f for f in required_files if f not in files]
    if unlisted:
        raise ArtifactError(f"{directory}: manifest does not list required file(s) {', '.join(unlisted)}")
    absent = [k for k in required_keys if k not in manifest]
    if absent:
        raise ArtifactError(f"{path}: manifest lacks required key(s) {', '.join(absent)}")
    problem = _check_files(directory, files, verify=verify)
    if problem:
        raise ArtifactError(f"{directory}: {problem}")
    return manifest


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _member_problem(root: Path, rel: Any) -> str | None:
    """Why ``rel`` is not a name inside the directory whose resolved path is ``root`` (None when it is)."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel or rel.startswith("/"):
        return f"the manifest lists {_short(rel)}, which is not a relative file name inside the artifact"
    if any(part in ("", ".", "..") for part in rel.split("/")) or os.path.isabs(rel):
        return f"the manifest lists {_short(rel)}, a path that leaves the artifact directory"
    if not _inside(_real(root / rel), root):
        return f"file {_short(rel)} is a link that leaves the artifact directory"
    return None


def _check_files(directory: Path, files: Any, *, verify: bool) -> str | None:
    """What is wrong with the listed ``files`` of ``directory`` (None: every one is inside, present and intact)."""
    if not isinstance(files, dict):
        return "the manifest has no 'files' table"
    root = _real(directory)
    for rel in files:  # every place first: nothing outside is looked at, even when an earlier file is damaged
        problem = _member_problem(root, rel)
        if problem:
            return problem
    for rel, entry in files.items():
        file_path = directory / rel
        if not file_path.is_file():
            return f"file {rel!r} listed in the manifest is missing"
        if not verify:
            continue
        size = file_path.stat().st_size
        if size != entry.get("bytes"):
            return f"file {rel!r} has {size} bytes, the manifest says {entry.get('bytes')} (truncated or modified)"
        if sha256_file(file_path) != entry.get("sha256"):
            return f"file {rel!r} fails its SHA-256 check (modified or corrupt)"
    return None


def check_name(name: Any, what: str) -> str:
    """``name`` when it may name a file of an artifact (letters, digits, ``_ . + -``; no separator, no leading dot).

    Raises:
        ArtifactError: it may not (``what`` says which name it is, e.g. ``"edge type"``).
    """
    if not isinstance(name, str) or not SAFE_NAME.match(name) or ".." in name:
        raise ArtifactError(
            f"{what} {_short(name)}: not usable as a file name in an artifact (letters, digits and _ . + - only, "
            "no path separators)"
        )
    return name


def artifact_file(directory: str | os.PathLike, rel: str, manifest: Mapping[str, Any] | None = None) -> Path:
    """The path of the artifact's file ``rel``, checked to lie inside ``directory`` (and, given the ``manifest``,
    to be listed in it).

    Raises:
        ArtifactError: ``rel`` leaves the directory, or is not listed.
    """
    directory = Path(directory)
    problem = _member_problem(_real(directory), rel)
    if problem:
        raise ArtifactError(f"{directory}: {problem}")
    if manifest is not None and rel not in (manifest.get("files") or {}):
        raise ArtifactError(f"{directory}: the manifest does not list {rel!r}")
    return directory / rel


@contextlib.contextmanager
def reading(path: str | os.PathLike) -> Iterator[None]:
    """Turn any failure while reading part of an artifact into an :class:`ArtifactError` naming ``path``.

    ``SafetensorError``, Arrow errors, ``KeyError``, ``IndexError``, ``AttributeError``, ``TypeError``,
    ``ValueError``, ``RuntimeError`` and ``OSError``: a damaged file whose checksum was recomputed reaches the
    loaders as one of these."""
    try:
        yield
    except ArtifactError:
        raise
    except (OSError, ValueError, KeyError, IndexError, AttributeError, TypeError, RuntimeError) as exc:
        raise ArtifactError(f"{path}: damaged or inconsistent artifact file ({_describe(exc)})") from exc
    except Exception as exc:
        if any(c.__name__ in ("SafetensorError", "ArrowException") for c in type(exc).__mro__):
            raise ArtifactError(f"{path}: damaged or inconsistent artifact file ({_describe(exc)})") from exc
        raise


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def load_tensors(path: str | os.PathLike) -> dict[str, Any]:
    """Read a safetensors file (no code runs) and refuse a non-finite value in any floating-point tensor.

    Returns:
        name → CPU ``torch.Tensor``.

    Raises:
        ArtifactError: the file is unreadable, or tensor ``name`` holds NaN or infinity (both named).
    """
    import torch
    from safetensors.torch import load_file

    with reading(path):
        tensors = load_file(os.fspath(path))
    for name, tensor in tensors.items():
        if not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        flat, bad = tensor.reshape(-1), 0
        for at in range(0, flat.numel(), 1 << 24):  # in blocks: the check never doubles a big tensor's memory
            bad += int((~torch.isfinite(flat[at : at + (1 << 24)])).sum())
        if bad:
            raise ArtifactError(
                f"{path}: tensor {name!r} holds {bad} non-finite value(s) (NaN or infinity) of {flat.numel()}; the "
                "file is corrupt"
            )
    return tensors


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: read it by setting it (restored at once)
    os.umask(mask)
    return mask


def save_tensors(tensors: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write ``tensors`` as safetensors with the permissions of any other file written here (``0o666`` less the
    umask, as ``open`` gives; safetensors itself writes ``0o600``)."""
    from safetensors.torch import save_file

    save_file(dict(tensors), os.fspath(path))
    os.chmod(path, 0o666 & ~_umask())
    return Path(path)
