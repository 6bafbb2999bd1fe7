"""Frozen encoding: parity with sentence-transformers, order, batching, identity, the disk cache."""

from __future__ import annotations

import copy

import pytest
import torch

from interestgraph.encoder import EncoderConfig, TextEncoder, default_model_path, model_identity
from interestgraph.encoder.cache import CACHE_FILENAME, EmbeddingCache

TEXTS = [
    "science fiction",
    "",
    "A long, winding description of a film about time travel, paradoxes, and a family that must repair history "
    "before the timeline collapses; it mixes comedy with drama and has a memorable soundtrack. "
    * 4,  # > 128 tokens: truncated
    "café naïve — Æsir",
    "日本語のアニメ 🎉",
    "Space opera",
    "x",
    "romantic comedy set in 1920s Paris",
    "  leading and trailing spaces  ",
    "HORROR",
]


@pytest.fixture(scope="module")
def frozen() -> TextEncoder:
    return TextEncoder()


@pytest.fixture(scope="module")
def reference() -> torch.Tensor:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(default_model_path(), device="cpu")
    model.max_seq_length = 128  # the package says 256; EncoderConfig.max_length defaults to 128
    return torch.from_numpy(model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True))


class CountingBatches:
    """Wraps TextEncoder._embed_batch and records the texts of every call."""

    def __init__(self, encoder: TextEncoder, monkeypatch):
        self.calls: list[list[str]] = []
        original = encoder._embed_batch

        def counted(texts):
            self.calls.append(list(texts))
            return original(texts)

        monkeypatch.setattr(encoder, "_embed_batch", counted)

    @property
    def texts(self) -> list[str]:
        return [t for call in self.calls for t in call]


def test_encode_matches_sentence_transformers_in_input_order(frozen, reference):
    vectors = frozen.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == torch.float32 and vectors.device.type == "cpu"
    assert not vectors.requires_grad
    assert (vectors - reference).abs().max().item() < 1e-5
    assert torch.allclose(vectors.norm(dim=1), torch.ones(len(TEXTS)), atol=1e-5)
    # each row is its own text's vector, whatever the length sorting did
    for i in (0, 1, 2, 4):
        assert (frozen.encode([TEXTS[i]])[0] - reference[i]).abs().max().item() < 1e-5


def test_empty_string_is_the_cls_sep_vector(frozen, reference):
    empty = frozen.encode([""])[0]
    assert torch.isfinite(empty).all() and abs(empty.norm().item() - 1.0) < 1e-5
    assert (empty - reference[1]).abs().max().item() < 1e-5
    assert frozen.encode(["", "   "]).shape == (2, 384)


def test_batch_size_does_not_change_results(frozen):
    full = frozen.encode(TEXTS, batch_size=64)
    for batch_size in (1, 3):
        assert (frozen.encode(TEXTS, batch_size=batch_size) - full).abs().max().item() < 1e-5


def test_duplicates_empty_input_and_bad_arguments(frozen, monkeypatch):
    counter = CountingBatches(frozen, monkeypatch)
    vectors = frozen.encode(["a", "b", "a"])
    assert torch.equal(vectors[0], vectors[2]) and sorted(counter.texts) == ["a", "b"]
    assert frozen.encode([]).shape == (0, 384)
    with pytest.raises(ValueError, match="texts"):
        frozen.encode("a single string")
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        frozen.encode(["ok", None])
    with pytest.raises(ValueError, match="batch_size"):
        frozen.encode(["a"], batch_size=0)


def test_frozen_forward_equals_encode_without_parameters(frozen):
    assert frozen.trainable_parameters() == []
    out = frozen(TEXTS[:3])
    assert out.device == frozen.device and not out.requires_grad
    assert torch.equal(out.cpu(), frozen.encode(TEXTS[:3]))
    frozen.precompute(TEXTS)  # no-op outside mode "top"
    assert frozen.num_precomputed == 0


def test_progress_bar_only_on_long_runs(frozen, monkeypatch, capsys):
    monkeypatch.setenv("INTERESTGRAPH_PROGRESS", "1")
    frozen.encode(TEXTS[:2], batch_size=1)  # 2 batches: no bar
    assert "encoding" not in capsys.readouterr().err
    frozen.encode(TEXTS[:4], batch_size=1)  # 4 batches: a bar on stderr
    captured = capsys.readouterr()
    assert "encoding" in captured.err and captured.out == ""
    frozen.encode(TEXTS[:4], batch_size=1, show_progress=False)
    assert "encoding" not in capsys.readouterr().err


def test_identity_is_stable_and_depends_on_max_length(frozen):
    assert len(frozen.identity) == 64 and int(frozen.identity, 16) >= 0
    assert model_identity(default_model_path(), 128) == frozen.identity
    assert model_identity(default_model_path(), 64) != frozen.identity


def test_disk_cache(frozen, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    cached = TextEncoder(EncoderConfig(cache_dir=str(cache_dir)))
    assert cached.identity == frozen.identity  # two instances, one identity
    texts = TEXTS[:6]

    counter = CountingBatches(cached, monkeypatch)
    first = cached.encode(texts)
    assert sorted(counter.texts) == sorted(texts)
    assert (first - frozen.encode(texts)).abs().max().item() < 1e-5
    assert cached.cache.count(cached.identity) == len(texts)

    counter.calls.clear()  # same texts again: the model does not run, the vectors are identical
    assert torch.equal(cached.encode(texts), first) and counter.calls == []

    counter.calls.clear()  # one new text: only it runs, and it is added
    both = cached.encode(["brand new text", *texts])
    assert counter.texts == ["brand new text"]
    assert torch.equal(both[1:], first) and cached.cache.count() == len(texts) + 1

    # another max_length: another identity, no hits in the same directory
    short = TextEncoder(EncoderConfig(cache_dir=str(cache_dir), max_length=64))
    assert short.identity != cached.identity
    short_counter = CountingBatches(short, monkeypatch)
    short.encode(texts)
    assert sorted(short_counter.texts) == sorted(texts)

    # the cache survives reopening: a new encoder on the same directory runs nothing
    cached.cache.close()
    reopened = TextEncoder(EncoderConfig(cache_dir=str(cache_dir)))
    reopened_counter = CountingBatches(reopened, monkeypatch)
    assert torch.equal(reopened.encode(texts), first) and reopened_counter.calls == []
    with EmbeddingCache(cache_dir) as cache:
        found, vectors = cache.get_many(reopened.identity, texts)
        assert found.all() and torch.equal(vectors, first)

    # a deep copy (e.g. a best-epoch snapshot) keeps a working cache
    twin = copy.deepcopy(reopened)
    assert torch.equal(twin.encode(texts[:2]), first[:2])


def test_trainable_modes_never_use_the_disk_cache(tmp_path, monkeypatch):
    top = TextEncoder(EncoderConfig(mode="top", cache_dir=str(tmp_path)))
    assert top.cache is None
    counter = CountingBatches(top, monkeypatch)
    top.encode(TEXTS[:3])
    top.encode(TEXTS[:3])
    assert len(counter.texts) == 6
    assert not (tmp_path / CACHE_FILENAME).exists()


def test_default_encoder_is_named_in_graph_manifests_and_model_cards(frozen):
    from interestgraph.graph.build import describe_encoder
    from interestgraph.model.io import encoder_licence

    described = describe_encoder(frozen)
    assert described.startswith("all-MiniLM-L6-v2") and frozen.identity in described
    assert "Apache-2.0" in encoder_licence(described)
