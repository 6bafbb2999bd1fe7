"""Encoder identities (:mod:`interestgraph.encoder.identity`): readable names, exact digests, fine-tuned suffixes."""

from types import SimpleNamespace

import pytest

from interestgraph.encoder import LexicalEncoder
from interestgraph.encoder.identity import describe_encoder, fine_tuned_identity, identity_digest, same_encoder


def test_identity_digest_is_the_part_after_the_last_sha256():
    assert identity_digest("all-MiniLM sha256:abc") == "abc"
    assert identity_digest("base sha256:abc fine-tuned lora sha256:def ") == "def"
    assert identity_digest("lexical-64") == "lexical-64"


def test_describe_encoder_names_and_fine_tuned_suffix():
    assert describe_encoder(SimpleNamespace(identity="h1", name="mini")) == "mini sha256:h1"
    assert describe_encoder(SimpleNamespace(identity="h1")) == "h1"
    tuned = SimpleNamespace(identity="h1", name="mini", tuned_digest="t9", config=SimpleNamespace(mode="lora"))
    assert describe_encoder(tuned) == fine_tuned_identity("mini sha256:h1", "lora", "t9")
    assert describe_encoder(tuned) == "mini sha256:h1 fine-tuned lora sha256:t9"


@pytest.mark.parametrize("dim,other,same", [(64, 64, True), (64, 32, False)])
def test_same_encoder_compares_exact_parts_only(dim, other, same):
    recorded = describe_encoder(LexicalEncoder(dim))
    assert same_encoder(LexicalEncoder(other), recorded) is same
    # a different readable name in front of the same hash is the same encoder
    assert same_encoder(SimpleNamespace(identity="h1", name="a"), "b sha256:h1")
    assert not same_encoder(SimpleNamespace(identity="h1", name="a"), "a sha256:h2")


def test_old_homes_still_resolve():
    from interestgraph.encoder.text import fine_tuned_identity as old
    from interestgraph.graph.build import describe_encoder as old_describe

    assert old is fine_tuned_identity
    assert old_describe is describe_encoder
