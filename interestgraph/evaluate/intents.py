"""Free-text intent benchmarks: held-out queries with a time cut, per-query ranking metrics, per-user averages.

An :class:`IntentSet` is a recommender :class:`~interestgraph.data.splits.Split` (its training part is all the
graph and every baseline may see) plus held-out queries, each ``(user, text)`` with the items it is relevant to.
Two sources:

* :func:`tag_intents` — a log with user-applied tags (MovieLens ``tags.csv``). Per tagging user, tag events in
  time order: the last ``test_share`` of them (at least one) are **test** queries, the ``valid_share`` before them
  **validation** queries. From the user's first validation tag on, nothing of that user reaches training (later
  ratings and tags go to the valid / test parts by time), and every event of the user on a held-out target item,
  however early, goes with the target, so masking the user's seen items can never delete a target. A query is a
  ``(user, normalised tag text, part)``; its relevant items are the movies the user tagged with that text in that
  part. Users without held-out tags keep their last ``other_valid_share`` positives (by time) for validation of the
  recommender and nothing in test.
* :func:`planted_intents` — a synthetic log with planted interests (:mod:`interestgraph.data.synthetic`), split
  ``tl-4`` (each user's positives 8:1:1 in time order). For each user and each planted interest carried by some of
  the user's valid (test) positives, one query written from a **paraphrase** of the interest: a synonym from the
  taxonomy whose phrase occurs nowhere in the catalogue text; its relevant items are those positives. Generate the
  log with ``synonym_prob=0`` and no ``query`` events so no synonym appears before the cut (:data:`PLANTED_LOG`).

Scoring (:func:`score_queries`) ranks **every catalogue item** for each query (the items of the user's training
history masked when ``mask_history`` is set: the personalised task) and computes Recall@K / NDCG@K per query with
:func:`~.metrics.ranking_metrics`. :func:`user_means` averages each user's queries first, so every user weighs the
same (two MovieLens users wrote most of the tags); :func:`mean_ci` and :func:`paired_ci` bootstrap over users.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..data.schema import ITEM_ID, InteractionLog
from ..data.splits import Split, given_split, user_ratio_split
from ..data.weights import EventWeights
from ..interests.normalise import normalise_label
from ..progress import progress
from .metrics import ranking_metrics

#: settings of the synthetic log behind :func:`planted_intents`: no synonym in the catalogue or in earlier text
PLANTED_LOG = {
    "synonym_prob": 0.0,
    "event_mix": {"view": 0.5, "click": 0.2, "rating": 0.15, "purchase": 0.08, "tag": 0.05, "review": 0.02},
}
#: templates of planted queries (``{p}``: the paraphrase); none of their words is needed to find the items
PARAPHRASE_TEMPLATES = ("{p}", "best {p}", "{p} recommendations", "looking for {p}", "something like {p}")
_WORD = re.compile(r"[a-z0-9]+")


def words(text: object) -> set[str]:
    """Lowercase alphanumeric words of ``text`` (the unit of the seen / unseen count)."""
    return set(_WORD.findall(normalise_label(text)))


@dataclass(frozen=True, eq=False)
class IntentSet:
    """Held-out free-text queries on top of a recommender split.

    Attributes:
        name: what made it (``"ml-tags"``, ``"synthetic-paraphrase"``).
        split: the recommender split; its training part is everything the graph and the baselines may see.
        queries: one row per query: ``query`` (int, 0..n-1), ``user_id``, ``part`` (``"valid"`` / ``"test"``),
            ``text``, ``timestamp`` (first event of the query), ``items`` (list of relevant item IDs),
            ``unseen_words`` (words of ``text`` in no training text), ``n_words``.
        notes: facts a reader needs (held-out counts, skipped queries).
    """

    name: str
    split: Split
    queries: pd.DataFrame
    notes: tuple[str, ...] = ()

    def part(self, name: str) -> pd.DataFrame:
        """The queries of one part."""
        if name not in ("valid", "test"):
            raise ValueError(f"part must be 'valid' or 'test', got {name!r}")
        return self.queries[self.queries["part"] == name].reset_index(drop=True)

    def history(self) -> sp.csr_matrix:
        """``(n_users, n_items)`` CSR of the training positives (the personalised task's history and mask)."""
        return self.split.positive_matrix("train")

    def summary(self) -> dict:
        """Counts per part: queries, users, relevant items, queries with a word never seen before the cut."""
        out = {"name": self.name, "split": self.split.protocol.describe()}
        for part in ("valid", "test"):
            q = self.part(part)
            out[part] = {
                "queries": len(q),
                "users": int(q["user_id"].nunique()),
                "relevant_items": int(q["items"].map(len).sum()),
                "queries_with_unseen_word": int((q["unseen_words"] > 0).sum()),
                "queries_all_words_unseen": int(((q["unseen_words"] == q["n_words"]) & (q["n_words"] > 0)).sum()),
            }
        return out


def item_documents(split: Split, *, tag_events: Sequence[str] = ("tag",)) -> list[str]:
    """One text per catalogue item (catalogue order): its text fields, its list-valued interest fields and the
    tags any user put on it in the **training** part (what a text-retrieval baseline may index)."""
    log = split.log
    texts = log.item_texts()
    extra = [[] for _ in range(log.n_items)]
    for field_name in log.interest_fields:
        for k, cell in enumerate(log.items[field_name]):
            if isinstance(cell, (list, tuple, np.ndarray)):
                extra[k].extend(str(v) for v in cell)
    inter = log.interactions
    sel = (inter["part"] == "train").to_numpy() & inter["event"].isin(tag_events).to_numpy()
    sel &= inter["text"].notna().to_numpy()
    codes = log.item_ids.get_indexer(inter.loc[sel, ITEM_ID])
    for code, text in zip(codes, inter.loc[sel, "text"].astype(str)):
        extra[code].append(text)
    return [t + (". " + ", ".join(dict.fromkeys(e)) if e else "") for t, e in zip(texts, extra)]


def text_document_pairs(split: Split, *, tag_events: Sequence[str] = ("tag", "query")) -> list[tuple[str, str]]:
    """``(text, item document)`` pairs a query should retrieve, from what training may see: each item's interest
    labels, and every free text of ``tag_events`` in the **training** part with the item it was attached to
    (documents: :func:`item_documents`). What :func:`~interestgraph.encoder.contrastive.fine_tune_contrastive`
    trains on."""
    log = split.log
    documents = item_documents(split)
    pairs = []
    for field_name in log.interest_fields:
        for k, cell in enumerate(log.items[field_name]):
            if isinstance(cell, (list, tuple, np.ndarray)):
                pairs += [(str(v), documents[k]) for v in cell if str(v).strip()]
    inter = log.interactions
    sel = (inter["part"] == "train").to_numpy() & inter["event"].isin(tag_events).to_numpy()
    sel &= inter["text"].notna().to_numpy()
    codes = log.item_ids.get_indexer(inter.loc[sel, ITEM_ID])
    pairs += [
        (t.strip(), documents[c]) for c, t in zip(codes, inter.loc[sel, "text"].astype(str)) if c >= 0 and t.strip()
    ]
    return pairs


def seen_vocabulary(split: Split, documents: Sequence[str] | None = None) -> set[str]:
    """Words seen before the cut: the item documents (:func:`item_documents`) and every training free text."""
    vocab: set[str] = set()
    for doc in documents if documents is not None else item_documents(split):
        vocab |= words(doc)
    inter = split.log.interactions
    train_text = inter.loc[(inter["part"] == "train").to_numpy() & inter["text"].notna().to_numpy(), "text"]
    for text in pd.unique(train_text.astype(str)):
        vocab |= words(text)
    return vocab


def _with_unseen(queries: pd.DataFrame, vocab: set[str]) -> pd.DataFrame:
    sets = queries["text"].map(words)
    return queries.assign(unseen_words=sets.map(lambda w: len(w - vocab)), n_words=sets.map(len))


def _check_share(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name} must be a share in (0, 1), got {value!r}")


def tag_intents(
    log: InteractionLog,
    *,
    test_share: float = 0.2,
    valid_share: float = 0.2,
    other_valid_share: float = 0.1,
    tag_events: Sequence[str] = ("tag",),
    weights: EventWeights | None = None,
) -> IntentSet:
    """Held-out tag queries with a time cut per tagging user (see the module docstring).

    Args:
        log: a log with tag events (``text`` = the tag) and timestamps.
        test_share, valid_share: share of each tagging user's tag events (in time order, at least one test event)
            held out as test / validation queries.
        other_valid_share: share of the other users' positives (latest first) in the recommender's validation part.
        tag_events: events whose text is a user's tag.
        weights: event weights of the split (default :class:`EventWeights`: ratings >= 4 are positive).

    Raises:
        ValueError: bad shares, a log without timestamps or without tag events.
    """
    for name, value in (
        ("test_share", test_share),
        ("valid_share", valid_share),
        ("other_valid_share", other_valid_share),
    ):
        _check_share(name, value)
    if not log.has_timestamps:
        raise ValueError(f"{log.source}: the intent protocol cuts each user's tags in time; the log has no timestamps")
    inter = log.interactions
    stamps = inter["timestamp"].to_numpy()
    is_tag = (inter["event"].isin(tag_events) & inter["text"].notna()).to_numpy().copy()
    text = np.array([normalise_label(t) if tag else "" for t, tag in zip(inter["text"].to_numpy(), is_tag)])
    is_tag &= text != ""
    if not is_tag.any():
        raise ValueError(f"{log.source}: no {'/'.join(tag_events)} events with text; nothing to hold out as queries")
    user = log.user_codes()
    item = log.item_codes()

    # per tagging user: the cut times of validation and test
    tag_rows = np.flatnonzero(is_tag)
    order = tag_rows[np.lexsort((tag_rows, stamps[tag_rows], user[tag_rows]))]
    big = np.iinfo(np.int64).max
    valid_from = np.full(log.n_users, big, dtype=np.int64)
    test_from = np.full(log.n_users, big, dtype=np.int64)
    users_sorted = user[order]
    starts = np.flatnonzero(np.r_[True, users_sorted[1:] != users_sorted[:-1]])
    for s, e in zip(starts, np.r_[starts[1:], len(order)]):
        n = e - s
        n_test = max(1, int(round(test_share * n)))
        n_valid = int(round(valid_share * n)) if n - n_test >= 1 else 0
        u = users_sorted[s]
        test_from[u] = stamps[order[e - n_test]]
        valid_from[u] = stamps[order[e - n_test - n_valid]] if n_valid else test_from[u]

    part = np.zeros(len(inter), dtype=np.int8)  # 0 train, 1 valid, 2 test
    part[stamps >= valid_from[user]] = 1
    part[stamps >= test_from[user]] = 2
    held_tag = is_tag & (part > 0)
    # every event of the user on a held-out target goes with the target's earliest held-out part
    n_items = max(log.n_items, 1)
    key = user * n_items + item
    target_part = pd.Series(part[held_tag], index=key[held_tag]).groupby(level=0).min()
    on_target = pd.Index(target_part.index).get_indexer(key)
    moved = (on_target >= 0) & (part == 0)
    part[on_target >= 0] = target_part.to_numpy()[on_target[on_target >= 0]]

    # users without held-out tags: their latest positives validate the recommender
    weights = weights or EventWeights()
    _, positive = weights.apply(inter, log.source)
    taggers = valid_from < big
    others = positive & ~taggers[user]
    rows = np.flatnonzero(others)
    rows = rows[np.lexsort((rows, stamps[rows], user[rows]))]
    users_sorted = user[rows]
    starts = np.flatnonzero(np.r_[True, users_sorted[1:] != users_sorted[:-1]]) if len(rows) else np.array([], int)
    cut = np.full(log.n_users, big, dtype=np.int64)
    for s, e in zip(starts, np.r_[starts[1:], len(rows)]):
        n_valid = int(np.floor(other_valid_share * (e - s)))
        if n_valid and e - s - n_valid >= 1:
            cut[users_sorted[s]] = stamps[rows[e - n_valid]]
    part[~taggers[user] & (stamps >= cut[user])] = 1
    # a positive pair belongs to one part: the latest part of its positive events (held out wins)
    pos_part = pd.Series(part[positive], index=key[positive]).groupby(level=0).max()
    where = pd.Index(pos_part.index).get_indexer(key)
    on_pos = positive & (where >= 0)
    part[on_pos] = pos_part.to_numpy()[where[on_pos]]

    labels = np.array(["train", "valid", "test"], dtype=object)[part]
    params = {"test_share": test_share, "valid_share": valid_share, "other_valid_share": other_valid_share}
    split = given_split(log, labels, name="intent-tags", weights=weights, params=params)

    held = pd.DataFrame(
        {
            "user_id": inter["user_id"].to_numpy()[held_tag],
            "part": labels[held_tag],
            "text": text[held_tag],
            "item": inter[ITEM_ID].to_numpy()[held_tag],
            "timestamp": stamps[held_tag],
        }
    )
    queries = (
        held.groupby(["user_id", "part", "text"], sort=True)
        .agg(timestamp=("timestamp", "min"), items=("item", lambda s: sorted(set(s))))
        .reset_index()
        .sort_values(["timestamp", "user_id", "text"], kind="stable", ignore_index=True)
    )
    queries.insert(0, "query", np.arange(len(queries)))
    queries = _with_unseen(queries, seen_vocabulary(split))
    _check_no_leak(split, queries)
    notes = (
        f"{int(taggers.sum())} tagging users; {int(held_tag.sum())} held-out tag events make {len(queries)} queries",
        f"{int(moved.sum())} earlier events of tagging users on held-out targets moved out of training with them",
    )
    return IntentSet("ml-tags", split, queries, notes)


def _check_no_leak(split: Split, queries: pd.DataFrame) -> None:
    """Raise when a query's (user, item) pair reaches training (a protocol bug, not bad input)."""
    log = split.log
    rows = log.user_ids.get_indexer(queries["user_id"].repeat(queries["items"].map(len)))
    cols = log.item_ids.get_indexer(np.concatenate([np.asarray(i, dtype=object) for i in queries["items"]]))
    inter = log.interactions
    train = inter[(inter["part"] == "train").to_numpy()]
    train_keys = set(zip(log.user_ids.get_indexer(train["user_id"]), log.item_ids.get_indexer(train[ITEM_ID])))
    leaked = [(r, c) for r, c in zip(rows, cols) if (r, c) in train_keys]
    if leaked:
        raise RuntimeError(f"intent protocol: {len(leaked)} held-out (user, item) pairs have training events")


def planted_intents(
    data,
    *,
    seed: int = 0,
    templates: Sequence[str] = PARAPHRASE_TEMPLATES,
    split: Split | None = None,
) -> IntentSet:
    """Paraphrased queries from a synthetic log's planted interests (see the module docstring).

    Args:
        data: :class:`~interestgraph.data.synthetic.SyntheticData` (best made with :data:`PLANTED_LOG`).
        seed: draws the paraphrase and template of each query.
        templates: query templates with ``{p}``.
        split: the recommender split (default: ``tl-4`` of ``data.log``, each user's positives 8:1:1 in time).

    Raises:
        ValueError: no interest has a paraphrase absent from the catalogue text.
    """
    log = data.log
    if split is None:
        split = user_ratio_split(log, (0.8, 0.1, 0.1), order="time", seed=2020, min_user_positives=5, name="tl-4")
    catalogue = " | ".join(normalise_label(t) for t in item_documents(split))
    paraphrases = {
        row.interest: [s for s in row.synonyms if f" {normalise_label(s)} " not in f" {catalogue} "]
        for row in data.truth.interests.itertuples()
    }
    paraphrases = {k: v for k, v in paraphrases.items() if v}
    if not paraphrases:
        raise ValueError("data: no planted interest has a synonym that the catalogue text does not contain")
    rng = np.random.default_rng(seed)
    truth_items = data.truth.item_interests[[ITEM_ID, "interest"]]
    planted = data.truth.user_interests
    frames, skipped = [], 0
    for part in ("valid", "test"):
        pairs = split.positive_pairs(part)[["user_id", ITEM_ID, "timestamp"]]
        both = pairs.merge(truth_items, on=ITEM_ID).merge(planted, on=["user_id", "interest"])
        both = both[(both["timestamp"] >= both["start"]) & (both["timestamp"] < both["end"])]
        grouped = (
            both.groupby(["user_id", "interest"], sort=True)
            .agg(timestamp=("timestamp", "min"), items=(ITEM_ID, lambda s: sorted(set(s))))
            .reset_index()
        )
        has = grouped["interest"].isin(list(paraphrases))
        skipped += int((~has).sum())
        grouped = grouped[has].reset_index(drop=True)
        grouped["text"] = [
            str(rng.choice(list(templates))).format(p=rng.choice(paraphrases[v])) for v in grouped["interest"]
        ]
        frames.append(grouped.assign(part=part))
    queries = pd.concat(frames, ignore_index=True)[["user_id", "part", "text", "timestamp", "items", "interest"]]
    queries.insert(0, "query", np.arange(len(queries)))
    queries = _with_unseen(queries, seen_vocabulary(split))
    notes = (
        f"{len(paraphrases)} of {len(data.truth.interests)} interests have a paraphrase absent from the catalogue",
        f"{skipped} (user, interest) pairs skipped: their interest has no such paraphrase",
    )
    return IntentSet("synthetic-paraphrase", split, queries, notes)


# --------------------------------------------------------------------------- scoring


@dataclass(eq=False)
class IntentResult:
    """One method on one part of an :class:`IntentSet`.

    Attributes:
        name: the method.
        part: ``"valid"`` or ``"test"``.
        per_query: ``query``, ``user_id``, ``n_relevant`` and ``recall@K`` / ``ndcg@K`` per cutoff.
        metrics: the mean over users of each user's mean over queries, plus ``queries`` and ``users``.
        notes: e.g. queries the method could not answer (they count as misses).
    """

    name: str
    part: str
    per_query: pd.DataFrame
    metrics: dict[str, float]
    notes: list[str] = field(default_factory=list)


def score_queries(
    intents: IntentSet,
    part: str,
    scorer: Callable[[pd.DataFrame], np.ndarray | torch.Tensor],
    *,
    name: str,
    mask_history: bool = False,
    cutoffs: Iterable[int] = (20,),
    batch_size: int = 256,
) -> IntentResult:
    """Rank every catalogue item for each query of ``part`` by ``scorer`` and compute the metrics.

    Args:
        scorer: takes a batch of query rows (a slice of :meth:`IntentSet.part`) and returns ``(B, n_items)`` scores
            (higher is better; NaN or -inf for items it does not rank; a row of all -inf is a query it cannot
            answer and counts as a miss).
        mask_history: drop the user's training positives from the ranking (the personalised task).
        cutoffs: the K values.
    """
    queries = intents.part(part)
    if queries.empty:
        raise ValueError(f"{intents.name}: no {part} queries")
    cutoffs = tuple(sorted({int(k) for k in cutoffs}))
    log = intents.split.log
    n_items = log.n_items
    k_max = min(max(cutoffs), n_items)
    history = intents.history() if mask_history else None
    users = log.user_ids.get_indexer(queries["user_id"])
    chunks: dict[str, list[np.ndarray]] = {}
    unanswered = 0
    bar = progress(total=len(queries), desc=f"{part} {name}", unit="query")
    for start in range(0, len(queries), batch_size):
        batch = queries.iloc[start : start + batch_size]
        scores = torch.as_tensor(scorer(batch)).detach().to("cpu", torch.float64).clone()
        if tuple(scores.shape) != (len(batch), n_items):
            raise ValueError(f"{name}: scorer returned shape {tuple(scores.shape)}, expected ({len(batch)}, {n_items})")
        scores[torch.isnan(scores)] = -torch.inf
        if history is not None:
            rows = history[users[start : start + len(batch)]].tocoo()
            scores[torch.from_numpy(rows.row).long(), torch.from_numpy(rows.col).long()] = -torch.inf
        unanswered += int((~torch.isfinite(scores).any(dim=1)).sum())
        best = torch.topk(scores, k_max, dim=1)
        top = best.indices.numpy()
        ranked = torch.isfinite(best.values).numpy()
        relevant = np.zeros((len(batch), n_items), dtype=bool)
        for r, items in enumerate(batch["items"]):
            relevant[r, log.item_ids.get_indexer(list(items))] = True
        hits = np.take_along_axis(relevant, top, axis=1) & ranked
        if k_max < max(cutoffs):
            hits = np.pad(hits, ((0, 0), (0, max(cutoffs) - k_max)))
        n_rel = torch.from_numpy(np.array(batch["items"].map(len).to_numpy(), dtype=np.int64))
        for key, values in ranking_metrics(torch.from_numpy(hits), n_rel, cutoffs).items():
            if key.split("@")[0] in ("recall", "ndcg"):
                chunks.setdefault(key, []).append(values.numpy())
        bar.update(len(batch))
    bar.close()
    per_query = queries[["query", "user_id"]].assign(n_relevant=queries["items"].map(len).to_numpy())
    for key, values in chunks.items():
        per_query[key] = np.concatenate(values)
    means = user_means(per_query)
    metrics = {key: float(means[key].mean()) for key in chunks}
    metrics.update(queries=len(per_query), users=len(means))
    notes = [f"{unanswered} queries unanswered (count as misses)"] if unanswered else []
    return IntentResult(name, part, per_query, metrics, notes)


def user_means(per_query: pd.DataFrame) -> pd.DataFrame:
    """One row per user (sorted by ``user_id``): the mean of each metric column over the user's queries."""
    columns = [c for c in per_query.columns if "@" in c]
    return per_query.groupby("user_id", sort=True)[columns].mean()


def mean_ci(values: np.ndarray, *, n_boot: int = 10_000, seed: int = 0, confidence: float = 0.95) -> tuple:
    """``(mean, low, high)``: the mean of ``values`` (one per user) and its percentile-bootstrap interval."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError("values: need at least one user")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(values.mean()), float(low), float(high)


def paired_ci(
    a: IntentResult, b: IntentResult, metric: str = "ndcg@20", *, n_boot: int = 10_000, seed: int = 0
) -> dict:
    """Paired per-user difference ``a - b`` of ``metric`` (same queries), with its bootstrap 95 % interval and
    the relative difference of the means; ``decided`` says whether the interval excludes zero.

    Raises:
        ValueError: the results are on different queries.
    """
    if a.part != b.part or not a.per_query["query"].equals(b.per_query["query"]):
        raise ValueError(f"{a.name} and {b.name} must be scored on the same queries to be paired")
    left, right = user_means(a.per_query)[metric], user_means(b.per_query)[metric]
    mean, low, high = mean_ci((left - right).to_numpy(), n_boot=n_boot, seed=seed)
    return {
        "a": a.name,
        "b": b.name,
        "metric": metric,
        "difference": mean,
        "ci_low": low,
        "ci_high": high,
        "relative": mean / float(right.mean()) if float(right.mean()) > 0 else float("inf"),
        "decided": bool(low > 0 or high < 0),
        "users": len(left),
    }


def minmax_rows(scores: np.ndarray) -> np.ndarray:
    """Each row scaled to [0, 1] over its finite entries (a constant row becomes 0); non-finite stay -inf."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    finite = np.isfinite(scores)
    scores[~finite] = np.nan
    low = np.nanmin(np.where(finite.any(axis=1, keepdims=True), scores, 0.0), axis=1, keepdims=True)
    high = np.nanmax(np.where(finite.any(axis=1, keepdims=True), scores, 0.0), axis=1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    out = (scores - low) / span
    out[~finite] = -np.inf
    return out


def mix(query: np.ndarray, history: np.ndarray, weight: float) -> np.ndarray:
    """Late fusion of the personalised task: ``(1 - weight) · q + weight · h`` over row-min-max-scaled scores
    (:func:`minmax_rows`; an item the query does not rank scores as 0 on that side)."""
    if not 0 <= weight <= 1:
        raise ValueError(f"weight must be in [0, 1], got {weight!r}")
    q, h = minmax_rows(query), minmax_rows(history)
    q[~np.isfinite(q)] = 0.0
    h[~np.isfinite(h)] = 0.0
    return (1 - weight) * q + weight * h
