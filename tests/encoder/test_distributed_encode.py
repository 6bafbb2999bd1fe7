"""Distributed encoding (torch.distributed, gloo, 2 spawned ranks), the cache merge, and the ``encode`` CLI verb.

One module-scoped fixture spawns 2 CPU ranks (gloo, ``file://`` rendezvous in a
temporary directory, 1 torch thread each) and runs every multi-rank scenario in
that one process group: the real all-MiniLM-L6-v2 on ~50 texts, then a fake
encoder for the logic (partial cache hits, duplicates, ``all_ranks=False``,
disagreeing ranks, a failing rank). Ranks write what they saw as ``.npy`` / JSON.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # spawned ranks import this module by its name (tests.encoder.test_distributed_encode)
    sys.path.insert(0, str(ROOT))

from interestgraph.cli import main  # noqa: E402
from interestgraph.distributed import cleanup, rank_device, world  # noqa: E402
from interestgraph.encoder.cache import CACHE_FILENAME, EmbeddingCache, text_sha256  # noqa: E402
from interestgraph.encoder.distributed import encode_distributed, run_distributed_encode  # noqa: E402
from interestgraph.errors import ArtifactError  # noqa: E402

MOVIE_TEXTS = [
    f"{title}. {genres}"
    for title, genres in [
        ("Toy Story (1995)", "Adventure|Animation|Children|Comedy|Fantasy"),
        ("Jumanji (1995)", "Adventure|Children|Fantasy"),
        ("Grumpier Old Men (1995)", "Comedy|Romance"),
        ("Waiting to Exhale (1995)", "Comedy|Drama|Romance"),
        ("Father of the Bride Part II (1995)", "Comedy"),
        ("Heat (1995)", "Action|Crime|Thriller"),
        ("Sabrina (1995)", "Comedy|Romance"),
        ("Tom and Huck (1995)", "Adventure|Children"),
        ("Sudden Death (1995)", "Action"),
        ("GoldenEye (1995)", "Action|Adventure|Thriller"),
        ("The American President (1995)", "Comedy|Drama|Romance"),
        ("Dracula: Dead and Loving It (1995)", "Comedy|Horror"),
        ("Balto (1995)", "Adventure|Animation|Children"),
        ("Nixon (1995)", "Drama"),
        ("Cutthroat Island (1995)", "Action|Adventure|Romance"),
        ("Casino (1995)", "Crime|Drama"),
        ("Sense and Sensibility (1995)", "Drama|Romance"),
        ("Four Rooms (1995)", "Comedy"),
        ("Ace Ventura: When Nature Calls (1995)", "Comedy"),
        ("Money Train (1995)", "Action|Comedy|Crime|Drama|Thriller"),
        ("Get Shorty (1995)", "Comedy|Crime|Thriller"),
        ("Copycat (1995)", "Crime|Drama|Horror|Mystery|Thriller"),
        ("Assassins (1995)", "Action|Crime|Thriller"),
        ("Powder (1995)", "Drama|Sci-Fi"),
        ("Leaving Las Vegas (1995)", "Drama|Romance"),
        ("Othello (1995)", "Drama"),
        ("Now and Then (1995)", "Children|Drama"),
        ("Persuasion (1995)", "Drama|Romance"),
        ("City of Lost Children, The (1995)", "Adventure|Drama|Fantasy|Mystery|Sci-Fi"),
        ("Shanghai Triad (1995)", "Crime|Drama"),
        ("Dangerous Minds (1995)", "Drama"),
        ("Twelve Monkeys (1995)", "Mystery|Sci-Fi|Thriller"),
        ("Babe (1995)", "Children|Drama"),
        ("Dead Man Walking (1995)", "Crime|Drama"),
        ("It Takes Two (1995)", "Children|Comedy"),
        ("Clueless (1995)", "Comedy|Romance"),
        ("Cry, the Beloved Country (1995)", "Drama"),
        ("Richard III (1995)", "Drama|War"),
        ("Dead Presidents (1995)", "Action|Crime|Drama"),
        ("Restoration (1995)", "Drama"),
        ("Mortal Kombat (1995)", "Action|Adventure|Fantasy"),
        ("To Die For (1995)", "Comedy|Drama|Thriller"),
        ("How to Make an American Quilt (1995)", "Drama|Romance"),
        ("Seven (a.k.a. Se7en) (1995)", "Mystery|Thriller"),
        ("Pocahontas (1995)", "Animation|Children|Drama|Musical|Romance"),
        ("When Night Is Falling (1995)", "Drama|Romance"),
    ]
] + [
    "",
    "日本語のアニメ 🎉",
    "Toy Story (1995). Adventure|Animation|Children|Comedy|Fantasy",
]  # an empty text, non-ASCII, a duplicate


class FakeEncoder:
    """A deterministic stand-in for TextEncoder: ``(n, 8)`` unit vectors from each text's SHA-256; records what it
    encoded."""

    def __init__(self, identity: str = "fake-8", fail: bool = False, mode: str = "frozen"):
        self.identity, self.dim, self.fail = identity, 8, fail
        self.config = SimpleNamespace(mode=mode)
        self.encoded: list[str] = []

    def encode(self, texts, *, batch_size=None, show_progress=None) -> torch.Tensor:
        if self.fail:
            raise RuntimeError("fake encoder failure")
        self.encoded.extend(texts)
        return torch.stack([fake_vector(t) for t in texts]) if texts else torch.zeros(0, self.dim)


def fake_vector(text: str) -> torch.Tensor:
    raw = (
        np.frombuffer(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest(), dtype=np.uint8)[:8].astype(
            np.float32
        )
        - 127.5
    )
    return torch.nn.functional.normalize(torch.from_numpy(raw), dim=0)


FAKE_TEXTS = [f"item {i % 17} " + "x" * (i % 5) for i in range(40)] + ["", "late item"]  # duplicates, uneven lengths
FAKE_PRECACHED = FAKE_TEXTS[:6]


# -- the spawned ranks ------------------------------------------------------------------------------------------
def _rank(rank: int, world_size: int, init_file: str, out: str, minilm_cache: str, fake_cache: str) -> None:
    """One rank of the 2-rank gloo group: every multi-rank scenario in turn; results to ``out``."""
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    out_dir = Path(out)
    report: dict = {"world": list(world())}
    try:
        from interestgraph.encoder import EncoderConfig, TextEncoder

        # the real model: vectors on every rank, cache on rank 0
        encoder = TextEncoder(EncoderConfig())
        result = run_distributed_encode(MOVIE_TEXTS, encoder, cache_dir=minilm_cache)
        np.save(out_dir / f"minilm-{rank}.npy", result.vectors.numpy(), allow_pickle=False)
        report["minilm"] = result.summary()

        # fake encoder: partial cache hits, duplicates, uneven shares
        fake = FakeEncoder()
        result = run_distributed_encode(FAKE_TEXTS, fake, cache_dir=fake_cache)
        np.save(out_dir / f"fake-{rank}.npy", result.vectors.numpy(), allow_pickle=False)
        report["fake"] = {**result.summary(), "encoded_here": fake.encoded}
        # again: everything is cached now, nobody encodes; only rank 0 gets the matrix
        fake = FakeEncoder()
        result = run_distributed_encode(FAKE_TEXTS, fake, cache_dir=fake_cache, all_ranks=False)
        report["again"] = {**result.summary(), "encoded_here": fake.encoded, "shape": list(result.vectors.shape)}

        # the ranks disagree: every rank raises, none hangs
        not_a_dir = out_dir / "a-file"
        not_a_dir.write_text("x")
        for name, texts, encoder_, cache_dir in [
            ("texts_differ", FAKE_TEXTS + (["extra"] if rank == 1 else []), FakeEncoder(), fake_cache),
            ("identity_differs", FAKE_TEXTS, FakeEncoder(identity=f"fake-{rank}"), fake_cache),
            ("rank1_fails", ["a new text", "another new text"], FakeEncoder(fail=rank == 1), fake_cache),
            ("cache_unusable", FAKE_TEXTS, FakeEncoder(), not_a_dir),  # fails on rank 0 only
        ]:
            try:
                run_distributed_encode(texts, encoder_, cache_dir=cache_dir)
                report[name] = "no error"
            except (ValueError, RuntimeError) as exc:
                report[name] = f"{type(exc).__name__}: {exc}"
    finally:
        (out_dir / f"report-{rank}.json").write_text(json.dumps(report))
        cleanup()  # a barrier first: see its docstring


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> SimpleNamespace:
    import torch.multiprocessing as mp

    base = tmp_path_factory.mktemp("two-ranks")
    out = base / "out"
    out.mkdir()
    fake_cache = base / "fake-cache"
    with EmbeddingCache(fake_cache) as cache:
        cache.put_many("fake-8", FAKE_PRECACHED, torch.stack([fake_vector(t) for t in FAKE_PRECACHED]))
    mp.spawn(
        _rank,
        args=(2, str(base / "rendezvous"), str(out), str(base / "minilm-cache"), str(fake_cache)),
        nprocs=2,
        join=True,
    )
    reports = [json.loads((out / f"report-{r}.json").read_text()) for r in range(2)]
    return SimpleNamespace(out=out, reports=reports, minilm_cache=base / "minilm-cache", fake_cache=fake_cache)


@pytest.fixture(scope="module")
def minilm():
    from interestgraph.encoder import TextEncoder

    return TextEncoder()


# -- 2 ranks ----------------------------------------------------------------------------------------------------
def test_two_ranks_match_one_process_and_fill_the_cache_for_a_plain_encode(two_ranks, minilm, monkeypatch):
    from interestgraph.encoder import EncoderConfig, TextEncoder

    single = minilm.encode(MOVIE_TEXTS)
    for rank in range(2):
        got = torch.from_numpy(np.load(two_ranks.out / f"minilm-{rank}.npy"))
        assert got.shape == (len(MOVIE_TEXTS), 384)
        assert torch.allclose(got, single, atol=1e-5)
    summary = two_ranks.reports[0]["minilm"]
    unique = len(set(MOVIE_TEXTS))
    assert two_ranks.reports[0]["world"] == [0, 2] and two_ranks.reports[1]["world"] == [1, 2]
    assert (
        summary["unique"] == unique
        and summary["encoded"] == unique
        and sorted(summary["per_rank"]) == [unique // 2, unique - unique // 2]
    )
    with EmbeddingCache(two_ranks.minilm_cache) as cache:
        assert cache.count() == unique and cache.count(minilm.identity) == unique
    # a later ordinary TextEncoder with that cache finds every text: its model never runs
    plain = TextEncoder(EncoderConfig(cache_dir=str(two_ranks.minilm_cache)))

    def no_model(texts):
        raise AssertionError(f"the model ran on {len(texts)} texts that should be cached")

    monkeypatch.setattr(plain, "_embed_batch", no_model)
    assert torch.allclose(plain.encode(MOVIE_TEXTS), single, atol=1e-5)


def test_two_ranks_split_only_the_missing_unique_texts(two_ranks):
    unique = list(dict.fromkeys(FAKE_TEXTS))
    missing = [t for t in unique if t not in FAKE_PRECACHED]
    expected = torch.stack([fake_vector(t) for t in FAKE_TEXTS])
    for rank in range(2):
        assert torch.allclose(torch.from_numpy(np.load(two_ranks.out / f"fake-{rank}.npy")), expected, atol=1e-7)
    fake = [r["fake"] for r in two_ranks.reports]
    encoded = [set(f["encoded_here"]) for f in fake]
    assert not encoded[0] & encoded[1] and encoded[0] | encoded[1] == set(
        missing
    )  # each missing text once, by one rank
    assert [len(f["encoded_here"]) for f in fake] == fake[0]["per_rank"] and abs(
        fake[0]["per_rank"][0] - fake[0]["per_rank"][1]
    ) <= 1
    assert fake[0]["cached"] == len(FAKE_PRECACHED) and fake[0]["encoded"] == len(missing)
    again = [r["again"] for r in two_ranks.reports]
    assert (
        again[0]["encoded"] == 0
        and again[0]["per_rank"] == [0, 0]
        and not again[0]["encoded_here"]
        and not again[1]["encoded_here"]
    )
    assert again[0]["shape"] == [len(FAKE_TEXTS), 8] and again[1]["shape"] == [0, 8]  # all_ranks=False
    with EmbeddingCache(two_ranks.fake_cache) as cache:
        assert cache.count("fake-8") == len(unique)


def test_disagreeing_or_failing_ranks_raise_on_every_rank(two_ranks):
    r0, r1 = two_ranks.reports
    assert r0["texts_differ"].startswith("ValueError: texts:") and r1["texts_differ"].startswith("ValueError: texts:")
    assert r0["identity_differs"].startswith("ValueError: encoder:") and r1["identity_differs"].startswith(
        "ValueError: encoder:"
    )
    assert r1["rank1_fails"] == "RuntimeError: fake encoder failure"
    assert r0["rank1_fails"].startswith("RankFailedError: encoding failed on rank(s) [1]")
    assert r0["cache_unusable"].startswith("ValueError: cache_dir=") and r1["cache_unusable"].startswith(
        "RankFailedError: the cache lookup on rank 0 failed on rank(s) [0]"
    )
    with EmbeddingCache(two_ranks.fake_cache) as cache:  # nothing of the failed call reached the cache
        assert not cache.get_many("fake-8", ["a new text"])[0].any()


# -- one process ------------------------------------------------------------------------------------------------
def test_without_a_process_group_it_is_a_cached_encode_in_this_process(tmp_path):
    assert world() == (0, 1)
    fake = FakeEncoder()
    got = encode_distributed(FAKE_TEXTS, fake, cache_dir=tmp_path / "c")
    assert torch.allclose(got, torch.stack([fake_vector(t) for t in FAKE_TEXTS]))
    assert sorted(fake.encoded) == sorted(set(FAKE_TEXTS))  # duplicates once
    fake = FakeEncoder()
    result = run_distributed_encode(FAKE_TEXTS, fake, cache_dir=tmp_path / "c")
    assert not fake.encoded and result.n_cached == len(set(FAKE_TEXTS)) and result.per_rank == [0]
    assert torch.equal(result.vectors, got)
    assert encode_distributed([], FakeEncoder()).shape == (0, 8)
    no_cache = FakeEncoder()
    assert torch.allclose(encode_distributed(["a", "b", "a"], no_cache), torch.stack([fake_vector(t) for t in "aba"]))
    assert no_cache.encoded == ["a", "b"] or no_cache.encoded == ["b", "a"]
    with pytest.raises(ValueError, match="texts must be a sequence"):
        encode_distributed("one text", FakeEncoder())
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        encode_distributed(["a", 3], FakeEncoder())
    with pytest.raises(ValueError, match="cache_dir=.*mode 'lora'"):
        encode_distributed(["a"], FakeEncoder(mode="lora"), cache_dir=tmp_path / "c")
    assert rank_device("cpu") == "cpu" and rank_device("cuda:1") == "cuda:1"


def test_single_process_uses_the_encoders_own_cache_and_writes_it_once(tmp_path, minilm, monkeypatch):
    from interestgraph.encoder import EncoderConfig, TextEncoder

    encoder = TextEncoder(EncoderConfig(cache_dir=str(tmp_path / "own")))
    puts = []
    original = EmbeddingCache.put_many
    monkeypatch.setattr(
        EmbeddingCache,
        "put_many",
        lambda self, identity, texts, vectors: (puts.append(len(texts)), original(self, identity, texts, vectors)),
    )
    got = encode_distributed(MOVIE_TEXTS[:20], encoder, batch_size=8)
    assert torch.allclose(got, minilm.encode(MOVIE_TEXTS[:20]), atol=1e-5)
    assert (
        puts == [20] and encoder.cache.count() == 20 and encoder.cache is not None
    )  # one put_many, the encoder's cache back in place


# -- the cache merge --------------------------------------------------------------------------------------------
def _vectors(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 4, generator=torch.Generator().manual_seed(seed))


def test_merge_adds_rows_keeps_existing_ones_and_repairs_invalid_ones(tmp_path):
    with EmbeddingCache(tmp_path / "other") as other:
        other.put_many("id", ["a", "b", "c", "bad"], _vectors(4, seed=1))
        other.put_many("id2", ["a"], _vectors(1, seed=2))
    with sqlite3.connect(tmp_path / "other" / CACHE_FILENAME) as conn:  # an invalid row on the other side is skipped
        conn.execute("UPDATE embeddings SET vector = ? WHERE text_sha256 = ?", (b"\x00" * 5, text_sha256("bad")))
    conn.close()
    before = (tmp_path / "other" / CACHE_FILENAME).read_bytes()
    with EmbeddingCache(tmp_path / "main") as cache:
        cache.put_many("id", ["a", "b"], _vectors(2, seed=3))
    with sqlite3.connect(tmp_path / "main" / CACHE_FILENAME) as conn:  # our "b" is invalid: the other's replaces it
        conn.execute("UPDATE embeddings SET vector = ? WHERE text_sha256 = ?", (b"\x00" * 3, text_sha256("b")))
    conn.close()
    with EmbeddingCache(tmp_path / "main") as cache:
        assert cache.merge(tmp_path / "other") == 3  # b (repaired), c, id2/a
        found, got = cache.get_many("id", ["a", "b", "c", "bad"])
        assert found.tolist() == [True, True, True, False]
        assert torch.equal(got[0], _vectors(2, seed=3)[0])  # existing valid row kept
        assert torch.equal(got[1:3], _vectors(4, seed=1)[1:3])
        assert torch.equal(cache.get_many("id2", ["a"])[1], _vectors(1, seed=2))
        assert cache.count() == 4
        assert cache.merge(tmp_path / "other" / CACHE_FILENAME) == 0  # the file itself works too; nothing new
    assert (tmp_path / "other" / CACHE_FILENAME).read_bytes() == before  # opened read-only


def test_merge_refuses_another_format_version_and_names_the_path(tmp_path):
    with EmbeddingCache(tmp_path / "v2") as other:
        other.put_many("id", ["a"], _vectors(1, seed=0))
        other._conn.execute("UPDATE meta SET value = '2' WHERE key = 'format_version'")
        other._conn.commit()
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / CACHE_FILENAME).write_bytes(b"not sqlite at all " * 200)
    with EmbeddingCache(tmp_path / "main") as cache:
        with pytest.raises(ArtifactError, match=r"v2.*format_version '2'"):
            cache.merge(tmp_path / "v2")
        with pytest.raises(ArtifactError, match="junk"):
            cache.merge(tmp_path / "junk")
        with pytest.raises(FileNotFoundError, match="other_cache_dir=.*nowhere"):
            cache.merge(tmp_path / "nowhere")
        with pytest.raises(ValueError, match="into itself"):
            cache.merge(tmp_path / "main")
        assert cache.count() == 0


# -- the CLI ----------------------------------------------------------------------------------------------------
SYNTHETIC = ["--format", "synthetic", "--n-users", "30", "--n-items", "40", "--n-events", "600"]


def test_cli_encode_then_build_encodes_no_item_text_again(tmp_path, capsys, monkeypatch):
    from interestgraph.cli.encode_verb import catalog_item_texts
    from interestgraph.data.formats import load_source
    from interestgraph.encoder import TextEncoder

    cache = tmp_path / "cache"
    assert main(["encode", *SYNTHETIC, "--encoder-cache", str(cache), "--json", "-q"]) == 0
    first = json.loads(capsys.readouterr().out)
    item_texts = catalog_item_texts(
        load_source(None, "synthetic", synthetic={"n_users": 30, "n_items": 40, "n_interactions": 600, "seed": 0})
    )
    assert (
        first["encoded"] == first["unique"] == len(set(item_texts)) > 0
        and first["cached"] == 0
        and first["world_size"] == 1
    )
    seen: list[str] = []
    original = TextEncoder._embed_batch
    monkeypatch.setattr(TextEncoder, "_embed_batch", lambda self, texts: (seen.extend(texts), original(self, texts))[1])
    assert main(["build", *SYNTHETIC, "--encoder-cache", str(cache), "--out", str(tmp_path / "g"), "-q"]) == 0
    assert not set(seen) & set(item_texts)  # the build encoded interest labels at most, no item text
    capsys.readouterr()
    assert main(["encode", *SYNTHETIC, "--encoder-cache", str(cache), "--json", "-q"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["encoded"] == 0 and again["cached"] == first["unique"]


def test_cli_merge_and_usage_errors(tmp_path, capsys):
    with EmbeddingCache(tmp_path / "w1") as w1:
        w1.put_many("id", ["a", "b"], _vectors(2, seed=0))
    with EmbeddingCache(tmp_path / "w2") as w2:
        w2.put_many("id", ["b", "c"], _vectors(2, seed=1))
    assert (
        main(
            [
                "encode",
                "--encoder-cache",
                str(tmp_path / "all"),
                "--merge",
                str(tmp_path / "w1"),
                "--merge",
                str(tmp_path / "w2"),
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["merged"] == {str(tmp_path / "w1"): 2, str(tmp_path / "w2"): 1} and "encoded" not in data
    shutil.copytree(tmp_path / "w1", tmp_path / "old")
    with sqlite3.connect(tmp_path / "old" / CACHE_FILENAME) as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'format_version'")
    conn.close()
    assert main(["encode", "--encoder-cache", str(tmp_path / "all"), "--merge", str(tmp_path / "old")]) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith("interestgraph encode: error:")
        and str(tmp_path / "old") in err
        and "format_version" in err
        and "\n" not in err
    )
    assert main(["encode", "--encoder-cache", str(tmp_path / "all")]) == 2
    assert "nothing to do" in capsys.readouterr().err
    assert main(["encode", str(tmp_path), "--encoder-cache", str(tmp_path / "all")]) == 2
    assert "needs --format" in capsys.readouterr().err
    assert main(["encode", "--encoder-cache", str(tmp_path / "all"), "--merge", str(tmp_path / "all")]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["encode", *SYNTHETIC, "--encoder-cache", str(tmp_path / "all"), "--batch-size", "0"])
    assert exit_info.value.code == 2
