"""Disk cache of frozen text encodings: one sqlite file, raw float32 bytes, no pickle.

Re-building a graph re-encodes nothing that was encoded before with the same
model: vectors are keyed by the encoder's ``identity`` (a digest of the model
files, ``max_length``, pooling and normalisation; see
:attr:`~interestgraph.encoder.TextEncoder.identity`) and the SHA-256 of the
text's UTF-8 bytes. The texts themselves are not stored.

File ``<cache_dir>/embeddings.sqlite``, table ``embeddings``::

    identity     TEXT     encoder identity (hex digest)
    text_sha256  TEXT     sha256 of the text (hex)
    dim          INTEGER  vector length
    vector       BLOB     dim little-endian float32 values (4 * dim bytes)
    PRIMARY KEY (identity, text_sha256)

plus a ``meta`` table holding ``format_version``. The database runs in WAL
mode, so readers do not block while another process writes; every
:meth:`EmbeddingCache.put_many` is one transaction. A row whose byte length
does not match its ``dim`` is treated as a miss (and replaced on the next
write), never returned.

Caches written on separate machines (workers that each encoded a part of a
catalog) are combined with :meth:`EmbeddingCache.merge`: the other file is
attached read-only and its rows copied in one transaction.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ArtifactError

if TYPE_CHECKING:
    import torch

CACHE_FILENAME = "embeddings.sqlite"
CACHE_FORMAT_VERSION = 1
_CHUNK = 500  # keys per SELECT ... IN (...), under every sqlite variable limit
_FLOAT32_LE = np.dtype("<f4")


def _sqlite_uri(path: Path, **query: str) -> str:
    """``file:`` URI of a local path (percent-quoted, so ``?``, ``#`` and ``%`` in names are safe) with query
    parameters."""
    uri = "file:" + urllib.parse.quote(str(path.resolve()), safe="/")
    return uri + ("?" + urllib.parse.urlencode(query) if query else "")


def text_sha256(text: str) -> str:
    """Hex SHA-256 of a text's UTF-8 bytes (lone surrogates kept via ``surrogatepass``)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class EmbeddingCache:
    """Vectors keyed by ``(identity, text)`` in ``<cache_dir>/embeddings.sqlite``.

    Args:
        cache_dir: the directory (created if missing). Reopening the same
            directory sees everything written before.

    Use as a context manager or call :meth:`close`.
    """

    def __init__(self, cache_dir: str | os.PathLike):
        self.cache_dir = Path(cache_dir)
        if self.cache_dir.exists() and not self.cache_dir.is_dir():
            raise ValueError(f"cache_dir={str(cache_dir)!r} exists and is not a directory")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.cache_dir / CACHE_FILENAME
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(self.path, timeout=60.0, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(
                "PRAGMA synchronous=NORMAL"
            )  # WAL + NORMAL: never corrupt; a power cut may lose the last writes
            with self._conn:
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS embeddings (identity TEXT NOT NULL, text_sha256 TEXT NOT NULL, "
                    "dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (identity, text_sha256)) WITHOUT ROWID"
                )
                self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self._conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('format_version', ?)", (str(CACHE_FORMAT_VERSION),)
                )
            (version,) = self._conn.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            if hasattr(self, "_conn"):
                self._conn.close()
            raise ArtifactError(
                f"{self.path}: not a usable embedding cache ({exc}); delete the file to start a new cache"
            ) from None
        if version != str(CACHE_FORMAT_VERSION):
            self._conn.close()
            raise ArtifactError(
                f"{self.path}: embedding cache format_version {version!r}; this interestgraph reads "
                f"{CACHE_FORMAT_VERSION}"
            )

    # -- reading -------------------------------------------------------------------------------------------------
    def get_many(
        self, identity: str, texts: Sequence[str], *, dim: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Look up the vectors of ``texts`` under ``identity``.

        Args:
            identity: the encoder identity.
            texts: n texts (duplicates allowed).
            dim: the expected vector length; rows of another length are misses.
                ``None`` takes it from the rows found.

        Returns:
            ``(found, vectors)``: ``found`` a bool tensor ``(n,)``; ``vectors`` a
            float32 tensor ``(n, dim)`` with zeros in the rows not found (``(n, 0)``
            when nothing was found and ``dim`` is ``None``).
        """
        import torch

        keys = [text_sha256(t) for t in texts]
        rows: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT text_sha256, dim, vector FROM embeddings WHERE identity = ? AND text_sha256 IN ({marks})"
            with self._lock:
                found_rows = self._conn.execute(query, (identity, *chunk)).fetchall()
            for key, row_dim, blob in found_rows:
                if dim is not None and row_dim != dim:
                    continue
                if len(blob) != 4 * row_dim:
                    continue  # corrupt row: a miss, replaced on the next put
                rows[key] = np.frombuffer(blob, dtype=_FLOAT32_LE)
        if dim is None:  # rows of one identity share a length (put_many writes whole batches); keep the commonest
            lengths = Counter(v.shape[0] for v in rows.values())
            dim = lengths.most_common(1)[0][0] if lengths else 0
            rows = {k: v for k, v in rows.items() if v.shape[0] == dim}
        found = np.array([k in rows for k in keys], dtype=bool)
        vectors = np.zeros((len(keys), dim), dtype=np.float32)
        for i, key in enumerate(keys):
            if found[i]:
                vectors[i] = rows[key]
        return torch.from_numpy(found), torch.from_numpy(vectors)

    # -- writing -------------------------------------------------------------------------------------------------
    def put_many(self, identity: str, texts: Sequence[str], vectors: torch.Tensor | np.ndarray) -> None:
        """Store ``vectors[i]`` for ``texts[i]`` under ``identity`` (replacing existing rows), in one transaction.

        Args:
            identity: the encoder identity.
            texts: n texts.
            vectors: ``(n, dim)`` floats; stored as float32.
        """
        if hasattr(vectors, "detach"):
            vectors = vectors.detach().to("cpu").float().numpy()
        array = np.ascontiguousarray(np.asarray(vectors), dtype=_FLOAT32_LE)
        if array.ndim != 2 or array.shape[0] != len(texts):
            raise ValueError(
                f"vectors must have shape (len(texts), dim) = ({len(texts)}, dim), got {tuple(array.shape)}"
            )
        dim = int(array.shape[1])
        rows = [(identity, text_sha256(t), dim, array[i].tobytes()) for i, t in enumerate(texts)]
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO embeddings (identity, text_sha256, dim, vector) VALUES (?, ?, ?, ?)", rows
            )

    def merge(self, other_cache_dir: str | os.PathLike) -> int:
        """Copy the rows of another cache into this one, in one transaction; returns the rows written.

        The other ``embeddings.sqlite`` is opened read-only (sqlite ``ATTACH``
        of a ``mode=ro`` URI; it is never modified) and every row is copied
        under its own ``(identity, text_sha256)`` key, whatever the identity.
        On a key present in both, this cache's row is kept, unless it is
        invalid (byte length not ``4 * dim``), in which case the other's row
        replaces it. Invalid rows of the other cache are skipped. Vectors are
        copied as stored bytes: no float conversion.

        Args:
            other_cache_dir: the other cache's directory (the one holding
                ``embeddings.sqlite``), or that file itself.

        Returns:
            The number of rows written into this cache: keys it did not have,
            plus invalid rows repaired. ``0`` when the other cache adds nothing.

        Raises:
            FileNotFoundError: naming ``other_cache_dir`` when there is no such cache file.
            ValueError: naming ``other_cache_dir`` when it is this cache itself.
            ArtifactError: naming the other file's path when it is not an
                embedding cache, or its ``format_version`` differs from this
                interestgraph's (:data:`CACHE_FORMAT_VERSION`).
        """
        other = Path(other_cache_dir)
        other_file = other / CACHE_FILENAME if other.is_dir() else other
        if not other_file.is_file():
            raise FileNotFoundError(
                f"other_cache_dir={str(other_cache_dir)!r}: no embedding cache file {other_file} (expected a directory "
                f"holding {CACHE_FILENAME})"
            )
        if other_file.resolve() == self.path.resolve():
            raise ValueError(
                f"other_cache_dir={str(other_cache_dir)!r} is this cache ({self.path}); merging a cache into itself "
                "adds nothing"
            )
        # A connection of its own: URI filenames in ATTACH need a connection opened with uri=True.
        conn = sqlite3.connect(_sqlite_uri(self.path), uri=True, timeout=60.0)
        try:
            try:
                conn.execute("ATTACH DATABASE ? AS other", (_sqlite_uri(other_file, mode="ro"),))
                tables = {name for (name,) in conn.execute("SELECT name FROM other.sqlite_master WHERE type = 'table'")}
                if not {"embeddings", "meta"} <= tables:
                    raise ArtifactError(f"{other_file}: not an embedding cache (no embeddings / meta table)")
                row = conn.execute("SELECT value FROM other.meta WHERE key = 'format_version'").fetchone()
            except sqlite3.DatabaseError as exc:
                raise ArtifactError(f"{other_file}: not a readable embedding cache ({exc})") from None
            version = None if row is None else row[0]
            if version != str(CACHE_FORMAT_VERSION):
                raise ArtifactError(
                    f"{other_file}: embedding cache format_version {version!r}; this interestgraph reads and merges "
                    f"{CACHE_FORMAT_VERSION} only"
                )
            with conn:  # one transaction: all rows or none
                cursor = conn.execute(
                    "INSERT OR REPLACE INTO main.embeddings (identity, text_sha256, dim, vector) SELECT o.identity, "
                    "o.text_sha256, o.dim, o.vector FROM other.embeddings AS o WHERE o.dim > 0 AND typeof(o.vector) = "
                    "'blob' AND length(o.vector) = 4 * o.dim AND NOT EXISTS (SELECT 1 FROM main.embeddings AS m WHERE "
                    "m.identity = o.identity AND m.text_sha256 = o.text_sha256 AND typeof(m.vector) = 'blob' AND "
                    "length(m.vector) = 4 * m.dim)"
                )
                written = int(cursor.rowcount)
            conn.execute("DETACH DATABASE other")
        finally:
            conn.close()
        return written

    def count(self, identity: str | None = None) -> int:
        """Number of stored vectors (under ``identity`` when given)."""
        with self._lock:
            if identity is None:
                return int(self._conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
            return int(
                self._conn.execute("SELECT COUNT(*) FROM embeddings WHERE identity = ?", (identity,)).fetchone()[0]
            )

    def close(self) -> None:
        """Close the database connection (the object is unusable afterwards)."""
        self._conn.close()

    # copy.deepcopy (and multiprocessing) of an encoder reopens the same file; nothing is pickled to disk
    def __getstate__(self) -> dict[str, str]:
        return {"cache_dir": str(self.cache_dir)}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.__init__(state["cache_dir"])

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.cache_dir)!r})"
