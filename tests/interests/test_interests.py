"""Interest points: normalisation, keyword mining, free-text mapping, leakage of tags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from interestgraph.data import InteractionLog, generate_synthetic, split_log
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.graph.build import all_train_split
from interestgraph.interests.extract import InterestConfig, extract_interests, map_texts_to_interests
from interestgraph.interests.normalise import normalise_label


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Sci-Fi", "sci-fi"),
        ("  ROCK &amp; Roll ", "rock & roll"),
        ("C++", "c++"),
        ("node.js.", "node.js"),
        ("(no genres listed)", "no genres listed"),
        ("Ｆｕｌｌｗｉｄｔｈ", "fullwidth"),
        ("dark_comedy", "dark comedy"),
        ("space/opera", "space opera"),
        ("Director's Cut!", "director's cut"),
        ("-- weird --", "weird"),
        ("...", ""),
        ("ÉCOLE", "école"),
        ("مرحبا بالعالم", "مرحبا بالعالم"),
        (None, ""),
        (42, "42"),
    ],
)
def test_normalise_label(raw, expected):
    assert normalise_label(raw) == expected


def test_normalise_is_idempotent():
    for text in ["Sci-Fi", "rock & roll", "C#", "a.b.c", "  x  y  "]:
        once = normalise_label(text)
        assert normalise_label(once) == once


@pytest.fixture(scope="module")
def synthetic():
    return generate_synthetic(n_users=200, n_items=600, n_interactions=8_000, seed=9)


def test_keywords_mined_from_item_text_carry_interest(synthetic):
    """Mined keywords should be interest words: taxonomy keywords, or words of interest names.

    Measured (seed 9, 600 items): 426 keywords, 202 taxonomy keywords + 171 interest-name
    words = 0.876; the rest are title adjectives (25) and title-template words (28, e.g.
    'chronicles', 'deluxe'), which TF-IDF cannot tell from topical words. Floor: 0.8.
    """
    vocab = extract_interests(all_train_split(synthetic.log), InterestConfig(merge_threshold=None, keywords_per_item=3))
    keywords = vocab.interests[vocab.interests["sources"].map(lambda s: "keyword" in s)]["label"]
    taxonomy = synthetic.truth.interests
    interest_words = {w for words in taxonomy["keywords"] for w in words} | {
        w for name in taxonomy["interest"] for w in name.split()
    }
    share = np.mean([k in interest_words for k in keywords])
    print(f"mined keywords that are interest words: {share:.3f} of {len(keywords)}")
    assert len(keywords) > 300
    assert share >= 0.8


def test_stored_keyword_terms_score_a_text_as_the_build_did(synthetic):
    """A new item's keywords come from the training catalog's TF-IDF terms: scoring the catalog's own texts with
    the stored terms gives back exactly the keywords (and weights) the build mined."""
    from interestgraph.interests.extract import _keywords, keywords_of_texts

    config = InterestConfig(merge_threshold=None, keywords_per_item=3)
    split = all_train_split(synthetic.log)
    mined, terms = _keywords(split, config)
    assert list(terms.columns) == ["term", "idf"] and len(terms) > 100 and (terms["idf"] > 1).all()
    again = keywords_of_texts(split.log.item_texts(), terms, config)
    pd.testing.assert_frame_equal(again.reset_index(drop=True), mined.reset_index(drop=True))
    assert len(keywords_of_texts(["nothing in the vocabulary qqq"], terms, config)) == 0
    assert len(keywords_of_texts(split.log.item_texts()[:5], terms, InterestConfig(keywords_per_item=0))) == 0


def test_tags_on_held_out_pairs_never_become_interests():
    t0 = 1_700_000_000
    rows = [("u1", i, t0 + i, "rating", 5.0, None) for i in range(10)]
    rows += [("u2", i, t0 + i, "rating", 5.0, None) for i in range(10)]
    rows += [("u1", i, t0 + 100 + i, "tag", 1.0, "secret tag") for i in range(10)]
    rows += [("u2", i, t0 + 100 + i, "tag", 1.0, "secret tag") for i in range(10)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "event", "value", "text"])
    log = InteractionLog.from_frames(frame)
    split = split_log(log, "rs-4")  # random: tags on training pairs stay (a temporal split drops these later tags)
    held_out = pd.concat([split.positive_pairs("test"), split.positive_pairs("valid")])
    held_out_pairs = set(zip(held_out["user_id"], held_out["item_id"]))
    vocab = extract_interests(split, InterestConfig(keywords_per_item=0, min_taggers=2, merge_threshold=None))
    tagged_pairs = set(zip(split.log.user_ids[vocab.user_tags["user"]], split.log.item_ids[vocab.user_tags["item"]]))
    assert len(held_out_pairs) == 4 and len(tagged_pairs) == 16
    assert not (tagged_pairs & held_out_pairs)
    assert "secret tag" in vocab.labels  # still supported by the training-part tags


def test_queries_map_to_the_nearest_interest():
    labels = ["space opera", "jazz music", "vegan cooking"]
    encoder = LexicalEncoder()
    vectors = encoder.encode(labels)
    mapped = map_texts_to_interests(
        ["best space opera films", "vegan cooking for beginners", "zzzz"],
        vectors,
        encoder=encoder,
        threshold=0.3,
        top=1,
    )
    assert mapped[["text", "interest"]].values.tolist() == [[0, 0], [1, 2]]
    assert (mapped["similarity"] >= 0.3).all()
