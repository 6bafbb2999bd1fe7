"""Contrastive fine-tuning of the encoder's top layers: it pulls texts toward their documents, records a fine-tuned
identity and refuses what it cannot train."""

from __future__ import annotations

import pytest
import torch

from interestgraph.encoder import EncoderConfig, TextEncoder, describe_encoder
from interestgraph.encoder.contrastive import fine_tune_contrastive

PAIRS = [
    ("scary", "The Haunting. A horror film about a house of ghosts"),
    ("funny", "Laugh Out Loud. A comedy of errors at a wedding"),
    ("space", "Orbit. Astronauts stranded on a station around Mars"),
    ("cooking", "Salt and Fire. A chef's guide to grilling fish"),
    ("romance", "Letters. Two strangers fall in love by mail"),
    ("war", "The Front. Soldiers hold a bridge in 1944"),
]


def _margin(encoder) -> float:
    """Mean cosine of each text with its own document minus its mean with the others."""
    texts = encoder.encode([a for a, _ in PAIRS])
    documents = encoder.encode([b for _, b in PAIRS])
    cosine = texts @ documents.T
    own = cosine.diagonal().mean()
    return float(own - (cosine.sum() - cosine.diagonal().sum()) / (len(PAIRS) * (len(PAIRS) - 1)))


def test_fine_tuning_pulls_texts_to_their_documents_and_changes_the_identity():
    encoder = TextEncoder(EncoderConfig(mode="top", top_layers=1))
    before, identity = _margin(encoder), describe_encoder(encoder)
    report = fine_tune_contrastive(encoder, PAIRS, epochs=4, batch_size=6, lr=1e-4, seed=0)
    assert report["pairs"] == 6 and report["steps"] == 4 and len(report["loss_per_epoch"]) == 4
    assert report["loss_per_epoch"][-1] < report["loss_per_epoch"][0]
    assert _margin(encoder) > before + 0.01
    assert describe_encoder(encoder) != identity and "fine-tuned" in describe_encoder(encoder)
    assert not encoder.training  # left in eval mode


def test_fine_tuning_refuses_a_frozen_encoder_and_bad_pairs():
    with pytest.raises(ValueError, match="no trainable parameters"):
        fine_tune_contrastive(TextEncoder(), PAIRS)
    encoder = TextEncoder(EncoderConfig(mode="top", top_layers=1))
    state = {k: v.clone() for k, v in encoder.trainable_state_dict().items()}
    with pytest.raises(ValueError, match="at least one"):
        fine_tune_contrastive(encoder, [])
    with pytest.raises(ValueError, match="non-empty"):
        fine_tune_contrastive(encoder, [("a", " ")])
    with pytest.raises(ValueError, match="batch_size"):
        fine_tune_contrastive(encoder, PAIRS, batch_size=1)
    assert all(torch.equal(state[k], v) for k, v in encoder.trainable_state_dict().items())  # nothing moved


def test_an_item_path_query_index_keeps_its_fine_tuned_encoder(tmp_path):
    import numpy as np

    from interestgraph.data import generate_synthetic
    from interestgraph.encoder.lexical import LexicalEncoder
    from interestgraph.evaluate.intents import text_document_pairs
    from interestgraph.graph.build import build_interest_graph
    from interestgraph.model import ItemPathModel

    log = generate_synthetic(n_users=60, n_items=80, n_interactions=1_500, seed=3).log
    graph = build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())
    encoder = TextEncoder(EncoderConfig(mode="top", top_layers=1))
    pairs = text_document_pairs(graph.split)
    fine_tune_contrastive(encoder, pairs[:64], epochs=1, batch_size=32)
    model = ItemPathModel().fit(graph).index_queries(graph, encoder)
    assert "fine-tuned" in model.query_encoder_
    expected = model.query_scores(["space adventure"], encoder=encoder).numpy()
    model.save(tmp_path / "m")
    loaded = ItemPathModel.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.query_scores(["space adventure"]).numpy(), expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="query index was made by"):
        loaded.query_scores(["space adventure"], encoder=TextEncoder())  # the base encoder is not the tuned one
