"""Interest points from a split log: catalog labels, user tags, mined keywords, free text.

Sources (each recorded per interest point):

* ``catalog`` — the list-valued catalog fields (genres, categories, tags);
  the catalog is not behaviour, so every item contributes, cold ones too.
* ``tag`` — user-applied tags (events named in ``tag_events`` with text), from
  the **training part only**: a tag on a valid/test pair never becomes an
  interest point, an edge or a count.
* ``keyword`` — keywords mined from item text (title and text fields) with
  scikit-learn's TF-IDF: per item, the top ``keywords_per_item`` terms whose
  score is at least ``keyword_min_score``.
* free text of interactions (queries, reviews) does not create interest
  points: it is mapped to the nearest existing ones by the encoder (see
  :func:`map_texts_to_interests`) and counts toward the user's interests.

Support and pruning. A label is kept when one of its sources supports it:
catalog labels need ``min_items`` distinct items, keywords ``min_keyword_items``
distinct items, user tags ``min_taggers`` **distinct users** (not applications:
on MovieLens one user wrote 41% of all tags). ``support_users`` additionally
counts the distinct training users connected to a label (tagging it, or with a
positive training interaction on an item carrying it), for analysts.

Near-duplicates: labels whose embeddings have cosine >= ``merge_threshold``
are merged (union-find over the top-k neighbours); the canonical label is the
one with the most support and the others are kept as ``aliases``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.schema import ITEM_ID
from ..data.splits import Split
from ..errors import DataError
from .normalise import normalise_label

logger = logging.getLogger("interestgraph.interests")


@dataclass(frozen=True)
class InterestConfig:
    """How interest points are extracted (see the module docstring).

    Attributes:
        fields: catalog interest fields to use (None: all of the log's).
        tag_events: events whose text is a user-applied tag.
        text_events: events whose free text is mapped to existing interests.
        keywords_per_item: TF-IDF keywords kept per item (0 turns mining off).
        keyword_min_score: minimum TF-IDF score of a kept keyword.
        keyword_max_df: drop terms in more than this share of items (too generic).
        min_items: catalog labels need this many distinct items.
        min_keyword_items: keywords need this many distinct items.
        min_taggers: user tags need this many distinct users.
        merge_threshold: cosine at or above which labels are merged (None: no merging).
        text_threshold: minimum cosine for mapping a query/review to an interest.
        text_top: interests a query/review maps to at most.
    """

    fields: tuple[str, ...] | None = None
    tag_events: tuple[str, ...] = ("tag",)
    text_events: tuple[str, ...] = ("query", "review")
    keywords_per_item: int = 3
    keyword_min_score: float = 0.2
    keyword_max_df: float = 0.05
    min_items: int = 1
    min_keyword_items: int = 3
    min_taggers: int = 2
    merge_threshold: float | None = 0.92
    text_threshold: float = 0.5
    text_top: int = 2

    def __post_init__(self) -> None:
        for name in ("keywords_per_item", "min_items", "min_keyword_items", "min_taggers", "text_top"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.merge_threshold is not None and not 0 < self.merge_threshold <= 1:
            raise ValueError(f"merge_threshold must be in (0, 1] or None, got {self.merge_threshold!r}")
        if not 0 < self.keyword_max_df <= 1:
            raise ValueError(f"keyword_max_df must be in (0, 1], got {self.keyword_max_df!r}")
        for name in ("keywords_per_item", "min_items", "min_keyword_items", "min_taggers", "text_top"):
            if not isinstance(getattr(self, name), int):
                raise ValueError(f"{name} must be an integer, got {getattr(self, name)!r}")
        for name in ("keyword_min_score", "text_threshold"):
            if not -1 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [-1, 1], got {getattr(self, name)!r}")


@dataclass(frozen=True, eq=False)
class InterestVocabulary:
    """The interest points and where they come from.

    Attributes:
        interests: one row per interest point, index = interest index:
            ``label`` (canonical), ``aliases`` (list), ``sources`` (list of
            catalog/tag/keyword), ``support_items``, ``support_users``, ``support_taggers``.
        item_interest: ``item`` (item index), ``interest`` (interest index),
            ``weight`` (float): catalog 1.0, plus ``log2(1 + taggers)`` for tags,
            plus the TF-IDF score for keywords.
        user_tags: training tag events mapped to interests: ``user`` (user
            index), ``interest``, ``timestamp``.
        lookup: normalised label or alias → interest index.
        keyword_terms: the fitted TF-IDF terms (``term``, ``idf``), to score new item texts
            like catalog ones (:func:`keywords_of_texts`); empty without keyword mining.
    """

    interests: pd.DataFrame
    item_interest: pd.DataFrame
    user_tags: pd.DataFrame
    lookup: dict[str, int] = field(default_factory=dict)
    keyword_terms: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.interests)

    @property
    def labels(self) -> list[str]:
        return self.interests["label"].tolist()

    def index_of(self, label: str) -> int:
        """Interest index of a label or any of its aliases (normalised first); KeyError if unknown."""
        return self.lookup[normalise_label(label)]


def _catalog_labels(split: Split, fields: Sequence[str]) -> pd.DataFrame:
    items = split.log.items
    frames = []
    for f in fields:
        if f not in items.columns:
            raise DataError(
                f"{split.log.source}: interest field {f!r} is not in the catalog (fields: "
                f"{', '.join(split.log.interest_fields) or 'none'})"
            )
        counts = items[f].map(len).to_numpy()
        labels = [normalise_label(v) for cell in items[f] for v in cell]
        frames.append(pd.DataFrame({"item": np.repeat(np.arange(len(items)), counts), "label": labels}))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"item": [], "label": []})
    table = table[table["label"] != ""].drop_duplicates()
    return table.assign(source="catalog", weight=1.0, item=table["item"].astype(np.int64))


def _keyword_vectorizer(config: InterestConfig, **limits):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        stop_words="english",
        lowercase=True,
        token_pattern=r"(?u)\b[^\W\d_][\w'-]{2,}\b",
        sublinear_tf=True,
        dtype=np.float32,
        **limits,
    )


def _empty_keywords() -> pd.DataFrame:
    return pd.DataFrame({"item": np.array([], dtype=np.int64), "label": [], "source": [], "weight": []})


def _keywords(split: Split, config: InterestConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keywords mined from the catalog's texts (``item``, ``label``, ``source``, ``weight``), and the fitted
    TF-IDF terms (``term``, ``idf``) that score a new text the same way (:func:`keywords_of_texts`)."""
    terms = pd.DataFrame({"term": pd.Series([], dtype=object), "idf": np.array([], dtype=np.float64)})
    if config.keywords_per_item == 0:
        return _empty_keywords(), terms
    texts = split.log.item_texts()
    min_df = max(config.min_keyword_items, 1)
    max_df = max(int(config.keyword_max_df * len(texts)), min_df)  # small catalogs: never below min_df
    vectorizer = _keyword_vectorizer(config, max_df=max_df, min_df=min_df)
    try:
        matrix = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # no term survives the document-frequency limits
        return _empty_keywords(), terms
    terms = pd.DataFrame(
        {"term": vectorizer.get_feature_names_out().astype(object), "idf": vectorizer.idf_.astype(np.float64)}
    )
    return _top_keywords(matrix, terms["term"].to_numpy(), config), terms


def keywords_of_texts(texts: Sequence[str], terms: pd.DataFrame, config: InterestConfig) -> pd.DataFrame:
    """Keywords of new texts scored with the training catalog's TF-IDF terms (``terms``: ``term``, ``idf``):
    ``item`` (row of ``texts``), ``label``, ``source``, ``weight``, exactly as the build scores a catalog text."""
    if config.keywords_per_item == 0 or terms is None or len(terms) == 0 or len(texts) == 0:
        return _empty_keywords()
    vectorizer = _keyword_vectorizer(config, vocabulary=terms["term"].tolist())
    vectorizer.idf_ = terms["idf"].to_numpy(dtype=np.float64)
    return _top_keywords(vectorizer.transform(list(texts)).tocsr(), terms["term"].to_numpy(), config)


def _top_keywords(matrix, terms: np.ndarray, config: InterestConfig) -> pd.DataFrame:
    """Per row of a TF-IDF ``matrix``, the top ``keywords_per_item`` terms scoring at least ``keyword_min_score``
    (ties to the alphabetically first term: columns are sorted first, so fitting and re-scoring agree)."""
    matrix = matrix.tocsr(copy=True)
    matrix.sort_indices()
    rows, cols, vals = [], [], []
    for item in range(matrix.shape[0]):
        start, end = matrix.indptr[item], matrix.indptr[item + 1]
        if start == end:
            continue
        scores = matrix.data[start:end]
        order = np.argsort(-scores, kind="stable")[: config.keywords_per_item]
        keep = order[scores[order] >= config.keyword_min_score]
        rows.extend([item] * len(keep))
        cols.extend(matrix.indices[start:end][keep].tolist())
        vals.extend(scores[keep].tolist())
    if not rows:
        return _empty_keywords()
    labels = [normalise_label(t) for t in np.asarray(terms, dtype=object)[np.asarray(cols)]]
    return pd.DataFrame(
        {
            "item": np.asarray(rows, dtype=np.int64),
            "label": labels,
            "source": "keyword",
            "weight": np.asarray(vals, dtype=np.float64),
        }
    )


def _user_tags(split: Split, config: InterestConfig) -> pd.DataFrame:
    train = split.train
    tags = train[train["event"].isin(config.tag_events) & train["text"].notna()]
    log = split.log
    users = log.user_ids.get_indexer(tags["user_id"])
    items = log.item_ids.get_indexer(tags[ITEM_ID])
    labels = [normalise_label(t) for t in tags["text"]]
    table = pd.DataFrame(
        {
            "user": users.astype(np.int64),
            "item": items.astype(np.int64),
            "label": labels,
            "timestamp": tags["timestamp"].to_numpy(),
        }
    )
    return table[table["label"] != ""]


def extract_interests(split: Split, config: InterestConfig | None = None, *, encoder=None) -> InterestVocabulary:
    """Extract, normalise, count, prune and merge interest points from the training part of ``split``.

    Args:
        split: the split log; only its training part and the catalog are read.
        config: extraction settings.
        encoder: anything with ``encode(texts) -> (n, d) tensor`` of
            L2-normalised rows; needed only to merge near-duplicates
            (``config.merge_threshold``). None skips merging.
    """
    config = config or InterestConfig()
    fields = split.log.interest_fields if config.fields is None else config.fields
    catalog = _catalog_labels(split, fields)
    keywords, keyword_terms = _keywords(split, config)
    tags = _user_tags(split, config)

    taggers = tags.groupby("label")["user"].nunique()
    tag_items = tags.groupby(["item", "label"])["user"].nunique().rename("taggers").reset_index()
    tag_items = tag_items.assign(source="tag", weight=np.log2(1.0 + tag_items["taggers"].to_numpy()))[
        ["item", "label", "source", "weight"]
    ]

    item_label = pd.concat([catalog, keywords, tag_items], ignore_index=True)
    items_per = {
        src: frame.groupby("label")["item"].nunique() for src, frame in (("catalog", catalog), ("keyword", keywords))
    }
    keep: set[str] = set()
    keep.update(items_per["catalog"].index[items_per["catalog"] >= max(config.min_items, 1)])
    keep.update(items_per["keyword"].index[items_per["keyword"] >= max(config.min_keyword_items, 1)])
    keep.update(taggers.index[taggers >= max(config.min_taggers, 1)])
    if not keep:
        logger.warning(
            f"{split.log.source}: no interest point passes the support thresholds (catalog fields {list(fields)}, "
            f"{len(taggers)} distinct tags, "
            f"keywords_per_item={config.keywords_per_item}); the graph will have users and items only (give a catalog "
            "with --items for interests)"
        )
    labels = sorted(keep)

    # canonical labels after merging near-duplicates (identity when no encoder)
    canonical = _merge_near_duplicates(labels, item_label, taggers, config, encoder)
    final_labels = sorted(set(canonical.values()))
    index = {label: k for k, label in enumerate(final_labels)}
    lookup = {label: index[canonical[label]] for label in labels}

    item_label = item_label[item_label["label"].isin(keep)]
    item_interest = (
        item_label.assign(interest=item_label["label"].map(lookup).astype(np.int64))
        .groupby(["item", "interest"], as_index=False)["weight"]
        .sum()
    )
    sources = (
        item_label.assign(interest=item_label["label"].map(lookup))
        .groupby("interest")["source"]
        .agg(lambda s: sorted(set(s)))
    )
    tags = tags[tags["label"].isin(keep)]
    user_tags = tags.assign(interest=tags["label"].map(lookup).astype(np.int64))[
        ["user", "item", "interest", "timestamp"]
    ].reset_index(drop=True)

    # support in distinct training users: taggers, plus users with a positive training pair on a carrying item
    support_users = _distinct_users(split, item_interest, user_tags, len(final_labels))
    support_items = item_interest.groupby("interest")["item"].nunique()
    support_taggers = user_tags.groupby("interest")["user"].nunique()

    aliases: dict[int, list[str]] = {k: [] for k in range(len(final_labels))}
    for label, canon in canonical.items():
        if label != canon:
            aliases[index[canon]].append(label)
    interests = pd.DataFrame(
        {
            "label": final_labels,
            "aliases": [sorted(aliases[k]) for k in range(len(final_labels))],
            "sources": [sources.get(k, []) for k in range(len(final_labels))],
            "support_items": [int(support_items.get(k, 0)) for k in range(len(final_labels))],
            "support_users": [int(support_users.get(k, 0)) for k in range(len(final_labels))],
            "support_taggers": [int(support_taggers.get(k, 0)) for k in range(len(final_labels))],
        }
    )
    return InterestVocabulary(
        interests=interests,
        item_interest=item_interest,
        user_tags=user_tags,
        lookup=lookup,
        keyword_terms=keyword_terms,
    )


def _distinct_users(split: Split, item_interest: pd.DataFrame, user_tags: pd.DataFrame, n_interests: int) -> pd.Series:
    """Distinct training users per interest (tagging it, or a positive training pair on a
    carrying item), as a sparse product of 0/1 matrices: users × items @ items × interests."""
    import scipy.sparse as sp

    log = split.log
    inter = log.interactions
    sel = ((inter["part"] == "train") & inter["positive"]).to_numpy()
    ones = np.ones(int(sel.sum()))
    reached = sp.csr_matrix((ones, (log.user_codes()[sel], log.item_codes()[sel])), shape=(log.n_users, log.n_items))
    reached.data[:] = 1.0
    carries = sp.csr_matrix(
        (np.ones(len(item_interest)), (item_interest["item"].to_numpy(), item_interest["interest"].to_numpy())),
        shape=(log.n_items, n_interests),
    )
    users_interests = (reached @ carries).tocsr()
    tagged = sp.csr_matrix(
        (np.ones(len(user_tags)), (user_tags["user"].to_numpy(), user_tags["interest"].to_numpy())),
        shape=(log.n_users, n_interests),
    )
    linked = (users_interests + tagged).tocsc()
    linked.eliminate_zeros()
    return pd.Series(np.diff(linked.indptr), index=np.arange(n_interests))


def _merge_near_duplicates(
    labels: list[str], item_label: pd.DataFrame, taggers: pd.Series, config: InterestConfig, encoder
) -> dict[str, str]:
    """label -> canonical label; union-find over embedding neighbours with cosine >= threshold."""
    canonical = {label: label for label in labels}
    if encoder is None or config.merge_threshold is None or len(labels) < 2:
        return canonical
    from ..ops.knn import cosine_topk

    vectors = encoder.encode(labels)
    index, _score = cosine_topk(
        vectors, k=min(8, len(labels) - 1), threshold=config.merge_threshold, candidate_dtype=None
    )
    parent = list(range(len(labels)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    rows, cols = np.nonzero(index.numpy() >= 0)
    for r, c in zip(rows.tolist(), cols.tolist()):
        a, b = find(r), find(int(index[r, c]))
        if a != b:
            parent[max(a, b)] = min(a, b)
    item_support = item_label.groupby("label")["item"].nunique()
    strength = {label: (int(item_support.get(label, 0)) + int(taggers.get(label, 0)), -len(label)) for label in labels}
    groups: dict[int, list[str]] = {}
    for k, label in enumerate(labels):
        groups.setdefault(find(k), []).append(label)
    for members in groups.values():
        best = max(members, key=lambda m: (strength[m], m))
        for m in members:
            canonical[m] = best
    return canonical


def map_texts_to_interests(
    texts: Sequence[str], vocabulary_vectors, *, encoder, threshold: float, top: int
) -> pd.DataFrame:
    """Map free texts (queries, reviews) to their nearest interest points.

    Args:
        texts: n texts.
        vocabulary_vectors: (n_interests, d) L2-normalised interest vectors.
        encoder: encodes ``texts`` into the same space.

    Returns:
        ``text`` (position in ``texts``), ``interest``, ``similarity`` for up to
        ``top`` interests per text with cosine >= ``threshold``.
    """
    from ..ops.knn import cosine_topk

    if len(texts) == 0 or top == 0:
        return pd.DataFrame(
            {
                "text": np.array([], dtype=np.int64),
                "interest": np.array([], dtype=np.int64),
                "similarity": np.array([], dtype=np.float32),
            }
        )
    vectors = encoder.encode(list(texts))
    index, score = cosine_topk(
        vectors,
        k=min(top, vocabulary_vectors.shape[0]),
        y=vocabulary_vectors,
        threshold=threshold,
        candidate_dtype=None,
    )
    rows, cols = np.nonzero(index.numpy() >= 0)
    return pd.DataFrame(
        {"text": rows.astype(np.int64), "interest": index.numpy()[rows, cols], "similarity": score.numpy()[rows, cols]}
    )
