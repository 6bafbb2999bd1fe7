"""The evaluation protocol: full ranking over the candidate items, seen items masked.

One protocol for every model (RecBole style), stated with every result:

* a model is any fitted :class:`Recommender`; the harness calls only its
  ``score(users) -> (len(users), n_items)`` (higher is better; items in the
  order of ``split.log.item_ids``; users as contiguous codes of ``split.log.user_ids``);
* every user with at least one positive pair in the evaluated part is ranked
  against **all candidate items** (``split.candidate_items``: items with a
  training positive, plus cold items), with the user's training positives
  masked, and their validation positives too when the test part is scored;
* held-out positives on items that are not candidates stay in the ground
  truth (they count as misses), so a protocol cannot look better by dropping
  hard items; their number is reported;
* metrics at each cutoff (see :mod:`.metrics`), averaged over users, plus
  catalog coverage and the mean training popularity of recommended items,
  per-user activity buckets, and the cold items alone when the split has them.

Scoring runs in user batches, so 30k users × 40k items never needs more than
``batch_size × n_items`` scores in memory, on CPU or on the model's device.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, runtime_checkable
from typing import Protocol as TypingProtocol

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..data.splits import Protocol, Split
from ..progress import progress
from .metrics import ranking_metrics

#: users are bucketed by their number of training positives
ACTIVITY_BUCKETS = ((1, 10), (11, 25), (26, 50), (51, 100), (101, None))


@runtime_checkable
class Recommender(TypingProtocol):
    """The one contract every fitted recommender meets: the path model and the baselines alike.

    :func:`evaluate` and :func:`interestgraph.recommend.recommend` take any object with these four members (a
    structural protocol: no base class to inherit). Codes are positions in the split's log order: user code ``u``
    is ``user_ids[u]``, item code ``i`` is ``item_ids[i]``.

    ``fit`` is deliberately not part of it: the interest-graph model fits on a graph
    (``InterestGraphModel.fit(graph)``), the baselines on a split (``fit(split)``), and a loaded model is not
    fitted at all. What scoring needs is the fitted state below.

    Attributes:
        user_ids: ``pd.Index`` of original user IDs, code → ID (the split's log order).
        item_ids: ``pd.Index`` of original item IDs, code → ID (the split's log order).
        seen: ``(n_users, n_items)`` ``scipy.sparse`` CSR of the items excluded from a user's recommendations:
            their training positives.
    """

    @property
    def user_ids(self) -> pd.Index: ...

    @property
    def item_ids(self) -> pd.Index: ...

    @property
    def seen(self) -> sp.csr_matrix: ...

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(B, n_items)`` scores (higher is better) for ``users``, a ``(B,)`` array of user codes; a new tensor
        (callers mask it in place)."""
        ...


#: The members of :class:`Recommender`, in the order they are reported when missing.
RECOMMENDER_MEMBERS = ("score", "user_ids", "item_ids", "seen")


def missing_members(model: object) -> list[str]:
    """The :data:`RECOMMENDER_MEMBERS` that ``model`` lacks (empty when it meets the contract).

    Looks at the class and the instance's own attributes without reading them, so an unfitted model (whose
    properties raise until ``fit``) is judged by what it declares.
    """
    own = getattr(model, "__dict__", {})
    return [name for name in RECOMMENDER_MEMBERS if not hasattr(type(model), name) and name not in own]


def positive_matrix(split: Split, part: str) -> sp.csr_matrix:
    """``(n_users, n_items)`` 0/1 CSR of the positive pairs in one part (:meth:`Split.positive_matrix`)."""
    return split.positive_matrix(part)


@dataclass(eq=False)
class EvaluationResult:
    """Metrics of one model on one split part, with the protocol that made them.

    Attributes:
        model: the model's name.
        protocol: the split's protocol.
        part: ``"valid"`` or ``"test"``.
        metrics: mean over evaluated users,
        ``{"recall@20": ..., "ndcg@20": ..., "coverage@20": ..., "popularity@20": ...}``.
        per_user: one row per evaluated user: ``user_id``, ``n_train``, ``n_relevant`` and every per-user metric.
        by_activity: metrics per bucket of training positives (``"1-10"``, ...), with ``users``.
        cold: metrics on the cold items' held-out pairs only (empty when the split has none), ranked among all
        candidates.
        warm: the same on the other items' held-out pairs (empty when the split has no cold items).
        notes: facts a reader needs (e.g. held-out pairs on non-candidate items).
        seconds: scoring and metric time.
    """

    model: str
    protocol: Protocol
    part: str
    cutoffs: tuple[int, ...]
    metrics: dict[str, float]
    per_user: pd.DataFrame
    by_activity: dict[str, dict[str, float]] = field(default_factory=dict)
    cold: dict[str, float] = field(default_factory=dict)
    warm: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self, keys: Sequence[str] | None = None) -> str:
        """The protocol line and the headline metrics, for printing with every result."""
        keys = keys or [f"{m}@{k}" for k in self.cutoffs for m in ("recall", "ndcg")]
        values = ", ".join(f"{k} {self.metrics[k]:.4f}" for k in keys)
        return f"{self.model} on {self.part} ({len(self.per_user):,} users): {values}; {self.protocol.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: round(v, 6) for k, v in self.metrics.items()},
            "users": len(self.per_user),
            "part": self.part,
            "protocol": self.protocol.to_dict(),
            "by_activity": self.by_activity,
            **({"cold": self.cold, "warm": self.warm} if self.cold else {}),
            "notes": self.notes,
            "seconds": round(self.seconds, 3),
        }


def check_ids(model, log, name: str) -> None:
    """Refuse a model whose user / item IDs (when it has them) are not the split's, code for code: the harness
    scores codes while :func:`~interestgraph.recommend.recommend` serves ``user_ids`` / ``item_ids``, so a model
    whose ID table differs (another split's, or a damaged node table) would be evaluated on what it does not serve.

    Raises:
        ValueError: naming the first code whose ID differs.
    """
    for attribute, expected in (("user_ids", log.user_ids), ("item_ids", log.item_ids)):
        ids = getattr(model, attribute, None)
        if ids is None:
            continue
        ids = pd.Index(ids)
        n = len(expected)
        if len(ids) < n:
            raise ValueError(f"{name}: the model has {len(ids)} {attribute}, the split {n}; it is not this split's")
        if not ids[:n].equals(expected):
            differ = np.flatnonzero(ids[:n].astype(str).to_numpy() != expected.astype(str).to_numpy())
            if len(differ) == 0:
                continue
            at = int(differ[0])
            raise ValueError(
                f"{name}: the model's {attribute} differ from the split's at {len(differ)} code(s) (first: code {at} "
                f"is {ids[at]!r} in the model, {expected[at]!r} in the split); it would recommend other IDs than it "
                "is evaluated on (another split's model, or a damaged node table)"
            )


def evaluate(
    model: Recommender,
    split: Split,
    *,
    part: str = "test",
    cutoffs: Iterable[int] = (10, 20),
    batch_size: int = 1024,
    name: str | None = None,
) -> EvaluationResult:
    """Rank every candidate item for every evaluated user and compute the metrics.

    Args:
        model: a fitted :class:`Recommender`.
        split: the split the model was fitted on.
        part: ``"valid"`` (model selection) or ``"test"``.
        cutoffs: the K values.
        batch_size: users scored at once.
        name: the model's name in results (default: its class name).
    """
    if part not in ("valid", "test"):
        raise ValueError(f"part must be 'valid' or 'test', got {part!r}")
    cutoffs = tuple(sorted({int(k) for k in cutoffs}))
    if not cutoffs or cutoffs[0] < 1:
        raise ValueError(f"cutoffs must be positive integers, got {cutoffs!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    started = time.perf_counter()
    log = split.log
    check_ids(model, log, name or type(model).__name__)
    train = positive_matrix(split, "train")
    seen = train + positive_matrix(split, "valid") if part == "test" else train
    target = positive_matrix(split, part)
    candidates = np.zeros(log.n_items, dtype=bool)
    candidates[log.item_ids.get_indexer(split.candidate_items)] = True
    cold = np.zeros(log.n_items, dtype=bool)
    if len(split.cold_items):
        cold[log.item_ids.get_indexer(split.cold_items)] = True
    n_relevant = np.asarray(target.sum(axis=1)).ravel()
    users = np.flatnonzero(n_relevant > 0)
    if len(users) == 0:
        raise ValueError(f"the {part} part has no positive pairs to evaluate")
    k_max = min(max(cutoffs), int(candidates.sum()))
    popularity = np.asarray(train.sum(axis=0)).ravel()

    per_user: dict[str, list[np.ndarray]] = {}
    cold_rows: dict[str, list[np.ndarray]] = {}
    cold_users: list[np.ndarray] = []
    warm_rows: dict[str, list[np.ndarray]] = {}
    warm_users: list[np.ndarray] = []
    recommended = {k: np.zeros(log.n_items, dtype=bool) for k in cutoffs}
    popularity_sum = dict.fromkeys(cutoffs, 0.0)
    shown_count = dict.fromkeys(cutoffs, 0)
    blocked = torch.from_numpy(~candidates)
    bar = progress(total=len(users), desc=f"evaluate {name or type(model).__name__}", unit="user")
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = model.score(batch)
        if tuple(scores.shape) != (len(batch), log.n_items):
            raise ValueError(
                f"model.score returned shape {tuple(scores.shape)}, expected ({len(batch)}, {log.n_items})"
            )
        scores = scores.detach().to(torch.float32).clone()
        device = scores.device
        scores[:, blocked.to(device)] = -torch.inf
        seen_rows = seen[batch].tocoo()
        scores[
            torch.as_tensor(seen_rows.row, device=device, dtype=torch.long),
            torch.as_tensor(seen_rows.col, device=device, dtype=torch.long),
        ] = -torch.inf
        best = torch.topk(scores, k_max, dim=1)
        top = best.indices.cpu().numpy()
        ranked = (
            torch.isfinite(best.values).cpu().numpy()
        )  # masked items fill the list when a user has < K candidates left
        relevant = target[batch]
        dense_relevant = relevant.toarray().astype(bool)  # (batch, n_items), bounded by batch_size
        hits = np.take_along_axis(dense_relevant, top, axis=1) & ranked
        if k_max < max(cutoffs):  # fewer candidates than the largest cutoff: the rest are misses
            hits = np.pad(hits, ((0, 0), (0, max(cutoffs) - k_max)))
        for key, values in ranking_metrics(
            torch.from_numpy(hits), torch.from_numpy(n_relevant[batch]), cutoffs
        ).items():
            per_user.setdefault(key, []).append(values.numpy())
        for k in cutoffs:
            shown = top[:, :k][ranked[:, :k]]
            recommended[k][shown] = True
            popularity_sum[k] += float(popularity[shown].sum())
            shown_count[k] += len(shown)
        if cold.any():
            for subset, rows, evaluated in ((cold, cold_rows, cold_users), (~cold, warm_rows, warm_users)):
                _subset_metrics(dense_relevant, top, ranked, subset, batch, cutoffs, rows, evaluated)
        bar.update(len(batch))
    bar.close()

    n_train = np.asarray(train.sum(axis=1)).ravel()[users].astype(np.int64)
    table = pd.DataFrame(
        {"user_id": log.user_ids[users], "n_train": n_train, "n_relevant": n_relevant[users].astype(np.int64)}
    )
    for key, chunks in per_user.items():
        table[key] = np.concatenate(chunks)
    metrics = {key: float(table[key].mean()) for key in per_user}
    n_candidates = int(candidates.sum())
    for k in cutoffs:
        metrics[f"coverage@{k}"] = float(recommended[k].sum() / max(n_candidates, 1))
        metrics[f"popularity@{k}"] = popularity_sum[k] / max(shown_count[k], 1)
    by_activity = {}
    for low, high in ACTIVITY_BUCKETS:
        sel = (table["n_train"] >= low) & ((table["n_train"] <= high) if high is not None else True)
        if sel.any():
            label = f"{low}-{high}" if high is not None else f"{low}+"
            by_activity[label] = {
                "users": int(sel.sum()),
                **{key: float(table.loc[sel, key].mean()) for key in per_user},
            }
    cold_metrics = _subset_means(cold_rows, cold_users)
    warm_metrics = _subset_means(warm_rows, warm_users) if cold_rows else {}
    notes = []
    off = target.multiply(~candidates[None, :]).sum()
    if off:
        notes.append(
            f"{int(off)} of {int(target.sum())} held-out pairs are on items with no training positive (not "
            "candidates); they count as misses"
        )
    return EvaluationResult(
        model=name or type(model).__name__,
        protocol=split.protocol,
        part=part,
        cutoffs=cutoffs,
        metrics=metrics,
        per_user=table,
        by_activity=by_activity,
        cold=cold_metrics,
        warm=warm_metrics,
        notes=notes,
        seconds=time.perf_counter() - started,
    )


def _subset_metrics(
    relevant: np.ndarray,
    top: np.ndarray,
    ranked: np.ndarray,
    subset: np.ndarray,
    batch: np.ndarray,
    cutoffs: tuple[int, ...],
    rows: dict[str, list[np.ndarray]],
    users: list[np.ndarray],
) -> None:
    """Append per-user metrics of the held-out pairs on the ``subset`` items only (``(n_items,)`` bool), over the
    same full ranking ``top`` ``(B, k_max)``, for the users of ``batch`` with at least one such pair."""
    sub_relevant = relevant & subset[None, :]
    n_sub = sub_relevant.sum(axis=1)
    has = n_sub > 0
    if not has.any():
        return
    hits = np.take_along_axis(sub_relevant[has], top[has], axis=1) & ranked[has]
    if hits.shape[1] < max(cutoffs):
        hits = np.pad(hits, ((0, 0), (0, max(cutoffs) - hits.shape[1])))
    for key, values in ranking_metrics(torch.from_numpy(hits), torch.from_numpy(n_sub[has]), cutoffs).items():
        rows.setdefault(key, []).append(values.numpy())
    users.append(batch[has])


def _subset_means(rows: dict[str, list[np.ndarray]], users: list[np.ndarray]) -> dict[str, float]:
    if not rows:
        return {}
    return {
        "users": int(sum(len(u) for u in users)),
        **{key: float(np.concatenate(chunks).mean()) for key, chunks in rows.items()},
    }


def compare(
    a: EvaluationResult,
    b: EvaluationResult,
    metric: str = "ndcg@20",
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Paired comparison of two results on the same split: per-user differences of ``metric``,
    a bootstrap confidence interval of their mean, and a Wilcoxon signed-rank p-value.

    Raises:
        ValueError: the results come from different protocols, parts or user sets.
    """
    if a.protocol.to_dict() != b.protocol.to_dict() or a.part != b.part:
        raise ValueError(
            f"results must share protocol and part to be paired: {a.protocol.describe()} / {a.part} vs "
            f"{b.protocol.describe()} / {b.part}"
        )
    return paired_difference(
        a.per_user, b.per_user, metric, names=(a.model, b.model), context=a.protocol.describe(),
        n_boot=n_boot, seed=seed, confidence=confidence,
    )  # fmt: skip


def paired_difference(
    a: pd.DataFrame,
    b: pd.DataFrame,
    metric: str = "ndcg@20",
    *,
    names: tuple[str, str] = ("a", "b"),
    context: str = "",
    n_boot: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """:func:`compare` on two per-user tables (``user_id`` and ``metric`` columns, e.g. ``EvaluationResult.per_user``
    written by another process): the mean of ``a − b`` over the users, its bootstrap interval and a Wilcoxon p-value.

    Raises:
        ValueError: the tables are empty, or cover different users (or the same in another order).
    """
    from scipy.stats import wilcoxon

    left = a.set_index("user_id")[metric]
    right = b.set_index("user_id")[metric]
    if len(left) == 0:
        raise ValueError("no users to pair: the per-user tables are empty")
    if not left.index.equals(right.index):
        raise ValueError("results must cover the same users, in the same order, to be paired")
    diff = (left - right).to_numpy()
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    p_value = float(wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
    mean = float(diff.mean())
    verdict = "beats" if low > 0 else ("is beaten by" if high < 0 else "is not distinguishable from")
    statement = (
        f"{names[0]} {verdict} {names[1]} on {metric}: mean difference {mean:+.4f} ({confidence:.0%} CI [{low:+.4f}, "
        f"{high:+.4f}], Wilcoxon p={p_value:.2g}, {len(diff):,} users" + (f"; {context})" if context else ")")
    )
    return {
        "metric": metric,
        "a": names[0],
        "b": names[1],
        "mean_a": float(left.mean()),
        "mean_b": float(right.mean()),
        "difference": mean,
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": p_value,
        "users": len(diff),
        "statement": statement,
    }


def average_runs(results: Sequence[EvaluationResult], name: str | None = None) -> EvaluationResult:
    """One result whose per-user metrics are the mean over runs (e.g. seeds) of the same model on the same split part.

    Paired comparisons of seed-averaged results (:func:`compare`) then test the
    models, not one lucky seed. ``metrics`` holds the mean over users of the
    averaged per-user values (equal to the mean over runs of each run's mean),
    plus ``"<metric>_std"``: the standard deviation over runs of each run's mean.

    Raises:
        ValueError: no results, or results from different protocols, parts or user sets.
    """
    results = list(results)
    if not results:
        raise ValueError("results must hold at least one EvaluationResult")
    first = results[0]
    frames = []
    for r in results:
        if r.protocol.to_dict() != first.protocol.to_dict() or r.part != first.part:
            raise ValueError("results must share protocol and part to be averaged")
        frame = r.per_user.set_index("user_id")
        if not frame.index.equals(first.per_user.set_index("user_id").index):
            raise ValueError("results must cover the same users to be averaged")
        frames.append(frame.select_dtypes("number"))
    per_user = (sum(frames) / len(frames)).reset_index()
    metrics = {k: float(np.mean([r.metrics[k] for r in results])) for k in first.metrics}
    metrics.update(
        {
            f"{k}_std": float(np.std([r.metrics[k] for r in results], ddof=1)) if len(results) > 1 else 0.0
            for k in first.metrics
        }
    )
    return EvaluationResult(
        model=name or first.model,
        protocol=first.protocol,
        part=first.part,
        cutoffs=first.cutoffs,
        metrics=metrics,
        per_user=per_user,
        notes=[*first.notes, f"per-user metrics averaged over {len(results)} runs"],
        seconds=float(sum(r.seconds for r in results)),
    )
