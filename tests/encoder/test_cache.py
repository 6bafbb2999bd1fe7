"""EmbeddingCache: sqlite rows of raw float32 bytes keyed by (identity, sha256(text)); no model needed."""

from __future__ import annotations

import copy
import sqlite3

import numpy as np
import pytest
import torch

from interestgraph.encoder.cache import CACHE_FILENAME, EmbeddingCache, text_sha256
from interestgraph.errors import ArtifactError


def _vectors(n: int, dim: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_put_then_get_round_trip_is_exact_and_in_order(tmp_path):
    texts = ["b", "a", "", "日本語 🎉", "a"]
    vectors = _vectors(5)
    vectors[4] = vectors[1]  # same text, same vector
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("id1", texts, vectors)
        found, got = cache.get_many("id1", list(reversed(texts)) + ["missing"])
        assert found.tolist() == [True] * 5 + [False]
        assert got.dtype == torch.float32 and got.shape == (6, 4)
        assert torch.equal(got[:5], vectors.flip(0))
        assert torch.equal(got[5], torch.zeros(4))
        assert cache.count() == 4 and cache.count("id1") == 4
    assert (tmp_path / CACHE_FILENAME).is_file()


def test_identities_are_separate_and_nothing_found_gives_zero_width(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("id1", ["x"], _vectors(1))
        found, got = cache.get_many("id2", ["x", "y"])
        assert found.tolist() == [False, False] and got.shape == (2, 0)
        found, got = cache.get_many("id2", ["x"], dim=4)
        assert got.shape == (1, 4)
        found, got = cache.get_many("id1", [])
        assert found.shape == (0,) and got.shape == (0, 0)


def test_survives_reopening_and_put_replaces(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("id", ["x", "y"], _vectors(2, seed=1))
    with EmbeddingCache(tmp_path) as cache:
        found, got = cache.get_many("id", ["x", "y"])
        assert found.all() and torch.equal(got, _vectors(2, seed=1))
        cache.put_many("id", ["x"], _vectors(1, seed=2))
        assert torch.equal(cache.get_many("id", ["x"])[1], _vectors(1, seed=2))
        assert cache.count() == 2


def test_many_keys_cross_the_query_chunk(tmp_path):
    texts = [f"text {i}" for i in range(1234)]
    vectors = _vectors(1234, dim=8)
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("id", texts, vectors)
        found, got = cache.get_many("id", texts[::-1])
        assert found.all() and torch.equal(got, vectors.flip(0))


def test_wrong_dim_and_corrupt_rows_are_misses(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("id", ["x", "y"], _vectors(2))
        assert not cache.get_many("id", ["x"], dim=5)[0].any()
    with sqlite3.connect(tmp_path / CACHE_FILENAME) as conn:  # truncate one row's bytes
        conn.execute("UPDATE embeddings SET vector = ? WHERE text_sha256 = ?", (b"\x00" * 7, text_sha256("x")))
    conn.close()
    with EmbeddingCache(tmp_path) as cache:
        found, _got = cache.get_many("id", ["x", "y"])
        assert found.tolist() == [False, True]
        cache.put_many("id", ["x"], _vectors(1))  # the next write repairs it
        assert cache.get_many("id", ["x"])[0].all()


def test_vectors_are_raw_little_endian_float32(tmp_path):
    vec = np.array([[1.0, -2.5, 3.25]], dtype=np.float32)
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("id", ["x"], vec)
    with sqlite3.connect(tmp_path / CACHE_FILENAME) as conn:
        dim, blob = conn.execute("SELECT dim, vector FROM embeddings").fetchone()
    conn.close()
    assert dim == 3 and blob == vec.astype("<f4").tobytes()


def test_bad_input_and_bad_files(tmp_path):
    with EmbeddingCache(tmp_path / "c") as cache, pytest.raises(ValueError, match="vectors"):
        cache.put_many("id", ["x", "y"], _vectors(1))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="cache_dir"):
        EmbeddingCache(tmp_path / "file")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / CACHE_FILENAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ArtifactError, match="embedding cache"):
        EmbeddingCache(junk)
    with EmbeddingCache(tmp_path / "v") as cache:
        cache._conn.execute("UPDATE meta SET value = '99' WHERE key = 'format_version'")
        cache._conn.commit()
    with pytest.raises(ArtifactError, match="format_version"):
        EmbeddingCache(tmp_path / "v")


def test_deepcopy_reopens_the_same_file(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many("id", ["x"], _vectors(1))
        twin = copy.deepcopy(cache)
        assert twin.path == cache.path and twin.get_many("id", ["x"])[0].all()
        twin.close()
