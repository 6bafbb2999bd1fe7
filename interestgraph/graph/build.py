"""``build_interest_graph``: one call from a log (or a split) to an :class:`InterestGraph`.

Steps (progress on stderr): split under the protocol (or take every event as
training when no protocol is given) → interest points from the training part
and the catalog → encode interest labels (and item texts) → user–item edges →
queries/reviews mapped to interests → ``w(v|u)`` user–interest edges →
interest–interest and item–item similarity edges (blockwise top-k cosine).

No leakage: every edge, weight and interest statistic is computed from the
training part of the split only (side data on valid/test pairs included, since
it sits in those parts); decay is measured from the last training timestamp.
The split itself is stored in the graph, so training and evaluation use it.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import torch

from ..data.protocols import split_log
from ..data.schema import InteractionLog
from ..data.splits import Split, given_split
from ..data.weights import EventWeights
from ..encoder.identity import describe_encoder
from ..interests.extract import extract_interests, map_texts_to_interests
from ..ops.knn import cosine_topk, topk_to_edges
from ..progress import progress
from .config import GraphConfig
from .interest_graph import InterestGraph
from .weights import BehaviourEvents, item_interest_matrix, user_interest_edges, user_item_edges


def all_train_split(log: InteractionLog, weights: EventWeights | None = None) -> Split:
    """Every event in training: the graph a production system serves from (no held-out part)."""
    return given_split(log, np.full(len(log), "train", dtype=object), name="all-train", weights=weights)


def _events(split: Split, n_interests: int) -> tuple[BehaviourEvents, np.ndarray, np.ndarray, pd.DataFrame]:
    log = split.log
    inter = log.interactions
    train = (inter["part"] == "train").to_numpy()
    positive = train & inter["positive"].to_numpy() & (inter["weight"].to_numpy() > 0)
    user = log.user_codes()
    item = log.item_codes()
    stamps = inter["timestamp"].to_numpy()
    events = BehaviourEvents(
        user=user[positive],
        item=item[positive],
        timestamp=stamps[positive],
        weight=inter["weight"].to_numpy()[positive],
        tags=pd.DataFrame(),
        texts=pd.DataFrame(),
        n_users=log.n_users,
        n_items=log.n_items,
        n_interests=n_interests,
    )
    return events, user, item, train


class LocalAggregation:
    """The behavioural aggregations of a build, in this process (numpy / scipy CSR).

    :func:`build_interest_graph` calls ``user_item`` and ``user_interest`` with the
    training evidence on integer codes; another engine (``interestgraph.spark``)
    implements the same two methods over its own copy of the events and must
    return the same tables (``src``, ``dst``, ``weight`` float32).
    """

    def user_item(self, events: BehaviourEvents, *, reference: int, half_life_days: float | None) -> pd.DataFrame:
        """User–item edges: decayed positive training weights summed per pair (:func:`~.weights.user_item_edges`)."""
        return user_item_edges(events, reference=reference, half_life_days=half_life_days)

    def user_interest(
        self,
        events: BehaviourEvents,
        item_interest,
        *,
        reference: int,
        half_life_days: float | None,
        tag_weight: float,
        text_weight: float,
        top_k: int | None,
    ) -> pd.DataFrame:
        """``w(v|u)`` edges, each user's ``top_k`` normalised to sum 1 (:func:`~.weights.user_interest_edges`)."""
        return user_interest_edges(
            events,
            item_interest,
            reference=reference,
            half_life_days=half_life_days,
            tag_weight=tag_weight,
            text_weight=text_weight,
            top_k=top_k,
        )


def build_interest_graph(
    source: InteractionLog | Split,
    config: GraphConfig | None = None,
    *,
    protocol: str | None = None,
    seed: int = 2020,
    encoder=None,
    aggregation: LocalAggregation | None = None,
) -> InterestGraph:
    """Build the user–interest–item graph (see the module docstring).

    Args:
        source: a validated log, or a :class:`Split` to build on as is.
        config: build settings.
        protocol: a named protocol (``rs-4``, ``tl-4``, ``cold-4``) to split a log
            first; None uses every event for training.
        seed: the protocol's seed.
        encoder: a text encoder (``encode(texts) -> (n, d)``, ``identity``,
            ``dim``); None loads the default :class:`~interestgraph.encoder.TextEncoder`.
        aggregation: what computes the user–item and user–interest sums (None: in this
            process; :func:`interestgraph.spark.build_interest_graph_spark` passes Spark's).
    """
    config = config or GraphConfig()
    aggregation = aggregation or LocalAggregation()
    started = time.perf_counter()
    if isinstance(source, Split):
        if protocol is not None:
            raise ValueError("protocol must be None when source is already a Split")
        split = source
    elif protocol is not None:
        split = split_log(source, protocol, seed=seed, weights=config.weights)
    else:
        split = all_train_split(source, config.weights)
    if encoder is None:
        from ..encoder import TextEncoder

        encoder = TextEncoder()

    steps = ["interests", "encode", "edges", "texts", "user-interest", "similarity"]
    bar = progress(total=len(steps), desc="build graph", unit="step")
    timings: dict[str, float] = {}

    def step(name: str) -> None:
        timings[name] = time.perf_counter()
        bar.set_postfix_str(name)

    step("interests")
    vocab = extract_interests(split, config.interests, encoder=encoder)
    bar.update()
    step("encode")
    interest_vectors = encoder.encode(vocab.labels).float() if len(vocab) else torch.zeros(0, int(encoder.dim))
    item_vectors = _item_vectors(split.log, encoder) if config.item_k > 0 else None
    bar.update()

    step("edges")
    log = split.log
    events, user, _item, train = _events(split, len(vocab))
    tags = vocab.user_tags[["user", "interest", "timestamp"]]
    bar.update()

    step("texts")
    texts = _text_links(split, train, user, vocab, interest_vectors, encoder, config)
    # decay reference: the last training timestamp of any evidence behind the edges
    evidence = np.concatenate([events.timestamp, tags["timestamp"].to_numpy(), texts["timestamp"].to_numpy()])
    reference = int(evidence.max()) if len(evidence) and log.has_timestamps else 0
    half_life = config.half_life_days if log.has_timestamps else None
    user_item = aggregation.user_item(events, reference=reference, half_life_days=half_life)
    bar.update()

    step("user-interest")
    events = dataclasses.replace(events, tags=tags, texts=texts)
    b = item_interest_matrix(vocab.item_interest, log.n_items, len(vocab))
    user_interest = aggregation.user_interest(
        events,
        b,
        reference=reference,
        half_life_days=half_life,
        tag_weight=config.tag_weight,
        text_weight=config.text_weight,
        top_k=config.user_interest_top_k,
    )
    bar.update()

    step("similarity")
    knn_dtype = torch.bfloat16 if config.knn_dtype == "bfloat16" else None
    edges = {
        "user-item": user_item,
        "item-interest": vocab.item_interest.rename(columns={"item": "src", "interest": "dst"}).astype(
            {"weight": np.float32}
        )[["src", "dst", "weight"]],
        "user-interest": user_interest,
        "interest-interest": _similarity_edges(
            interest_vectors, config.interest_k, config.interest_threshold, knn_dtype
        ),
    }
    if item_vectors is not None:
        edges["item-item"] = _similarity_edges(item_vectors, config.item_k, config.item_threshold, knn_dtype)
    bar.update()
    bar.close()
    ends = list(timings.values()) + [time.perf_counter()]
    stage_seconds = {name: round(ends[k + 1] - ends[k], 3) for k, name in enumerate(timings)}
    return InterestGraph(
        split=split,
        interests=vocab.interests,
        edges=edges,
        interest_vectors=interest_vectors,
        item_vectors=item_vectors,
        user_tags=vocab.user_tags,
        text_links=texts,
        config=config,
        encoder_identity=describe_encoder(encoder),
        reference_time=reference,
        build_seconds={"total": round(time.perf_counter() - started, 3), **stage_seconds},
        keyword_terms=vocab.keyword_terms,
    )


def _item_vectors(log: InteractionLog, encoder) -> torch.Tensor:
    """Item-text vectors of the catalog; items with no text at all get a zero row (no similarity edges)."""
    return item_text_vectors(log.item_texts(), log.items["item_id"], encoder)


def catalog_has_text(texts: list[str], ids) -> np.ndarray:
    """``(n,)`` bool: catalog texts that are more than the item's ID (items with no text fields at all)."""
    return np.array([t != str(i) for t, i in zip(texts, ids)], dtype=bool)


def item_text_vectors(texts: list[str], ids, encoder) -> torch.Tensor:
    """``(n, d)`` float32 encoder vectors of catalog texts (:func:`~interestgraph.data.schema.catalog_texts`);
    a row whose text is only its item ID (no text at all) stays zero, so it gets no similarity edges."""
    has_text = catalog_has_text(texts, ids)
    vectors = torch.zeros(len(texts), int(encoder.dim))
    if has_text.any():
        vectors[torch.from_numpy(has_text)] = encoder.encode([t for t, keep in zip(texts, has_text) if keep]).float()
    return vectors


def _similarity_edges(vectors: torch.Tensor, k: int, threshold: float, dtype) -> pd.DataFrame:
    n = vectors.shape[0]
    if k == 0 or n < 2:
        return pd.DataFrame(
            {
                "src": np.array([], dtype=np.int64),
                "dst": np.array([], dtype=np.int64),
                "weight": np.array([], dtype=np.float32),
            }
        )
    index, score = cosine_topk(vectors, min(k, n - 1), threshold=threshold, candidate_dtype=dtype)
    edge_index, weight = topk_to_edges(index, score, symmetric=True, reduce="max")
    return pd.DataFrame(
        {"src": edge_index[0].numpy(), "dst": edge_index[1].numpy(), "weight": weight.numpy().astype(np.float32)}
    )


def _text_links(
    split: Split,
    train: np.ndarray,
    user: np.ndarray,
    vocab,
    interest_vectors: torch.Tensor,
    encoder,
    config: GraphConfig,
) -> pd.DataFrame:
    """Training queries/reviews mapped to interests: ``user``, ``interest``, ``similarity``, ``timestamp``."""
    inter = split.log.interactions
    sel = train & inter["event"].isin(config.interests.text_events).to_numpy() & inter["text"].notna().to_numpy()
    empty = pd.DataFrame(
        {
            "user": np.array([], dtype=np.int64),
            "interest": np.array([], dtype=np.int64),
            "similarity": np.array([], dtype=np.float32),
            "timestamp": np.array([], dtype=np.int64),
        }
    )
    if not sel.any() or config.text_weight == 0 or len(vocab) == 0:
        return empty
    texts = inter.loc[sel, "text"].to_numpy()
    unique_texts, inverse = np.unique(texts.astype(str), return_inverse=True)
    mapped = map_texts_to_interests(
        unique_texts.tolist(),
        interest_vectors,
        encoder=encoder,
        threshold=config.interests.text_threshold,
        top=config.interests.text_top,
    )
    if mapped.empty:
        return empty
    rows = np.flatnonzero(sel)
    per_event = pd.DataFrame({"text": inverse, "user": user[rows], "timestamp": inter["timestamp"].to_numpy()[rows]})
    links = per_event.merge(mapped, on="text")
    return links[["user", "interest", "similarity", "timestamp"]].reset_index(drop=True)
