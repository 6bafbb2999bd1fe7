"""The ``cold-user`` protocol: users held out of training entirely, given their first 1, 3 or 5 positives.

:func:`cold_user_split` draws ``share`` of the users with at least ``max(given) + 1`` positive items (seeded) and
removes every event of theirs from the log the recommender is trained on; half of them (seeded) are **validation**
users (settings are chosen on them), the other half **test** users. The remaining users' positives are split 9:1
in time order (the recommender's own validation part, for early stopping). At evaluation time a held-out user's
positives in time order are cut after the first ``n`` (``n`` in ``given``): the ``n`` are what a method is given,
the rest are relevant, and every catalogue item but the given ones is ranked. The same users are evaluated at
every ``n``, so the rows of one table are comparable.

**One line of text instead of items.** A held-out user who wrote tags or queries (``TEXT_EVENTS``) also has a
``text``: their earliest ``TEXT_PARTS`` distinct texts in time order, joined by ``"; "`` (none of them reaches the
graph: every event of a held-out user leaves training). :func:`score_cold_users_text` gives each such user only that
line; all their positives are relevant and nothing is masked.

:func:`score_cold_users` and :func:`score_cold_users_text` compute Recall@K / NDCG@K per user
(:func:`~.metrics.ranking_metrics`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..data.schema import ITEM_ID, InteractionLog
from ..data.splits import Split, user_ratio_split
from ..data.weights import EventWeights
from ..ops import check_positive_int
from .metrics import ranking_metrics

#: the events whose free text makes a held-out user's line, and how many distinct texts it joins at most
TEXT_EVENTS = ("tag", "query")
TEXT_PARTS = 3


@dataclass(frozen=True, eq=False)
class ColdUsers:
    """Held-out users and the split of everybody else.

    Attributes:
        split: the recommender's split of the other users (train 0.9 / valid 0.1 of each user's positives in time).
        users: one row per held-out user: ``user_id``, ``part`` (``"valid"`` / ``"test"``), ``positives`` (item IDs,
            first positive event first), ``text`` (their first free texts as one line, or None).
        given: the ``n`` values.
    """

    split: Split
    users: pd.DataFrame
    given: tuple[int, ...]

    def part(self, name: str) -> pd.DataFrame:
        if name not in ("valid", "test"):
            raise ValueError(f"part must be 'valid' or 'test', got {name!r}")
        return self.users[self.users["part"] == name].reset_index(drop=True)


def cold_user_split(
    log: InteractionLog,
    *,
    share: float = 0.2,
    given: Sequence[int] = (1, 3, 5),
    seed: int = 2020,
    weights: EventWeights | None = None,
) -> ColdUsers:
    """Hold ``share`` of the eligible users out entirely (see the module docstring).

    Raises:
        ValueError: a share outside (0, 1), a bad ``given``, or too few eligible users (fewer than 4).
    """
    if not isinstance(share, (int, float)) or not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share!r}")
    for n in given:
        check_positive_int("given", n)
    given = tuple(sorted(set(given)))
    if not given:
        raise ValueError("given: name at least one number of given items")
    weights = weights or EventWeights()
    inter = log.interactions
    _, positive = weights.apply(inter, log.source)
    pos = inter.loc[positive, ["user_id", ITEM_ID, "timestamp"]]
    first = pos.sort_values(["timestamp", ITEM_ID], kind="stable").drop_duplicates(["user_id", ITEM_ID])
    per_user = first.groupby("user_id", sort=True)[ITEM_ID].agg(list)
    eligible = per_user.index[per_user.map(len) > max(given)]
    n_out = int(round(share * len(eligible)))
    if n_out < 4:
        raise ValueError(
            f"{log.source}: {len(eligible)} users have more than {max(given)} positives; share={share} holds out "
            f"{n_out}, need at least 4"
        )
    rng = np.random.default_rng(seed)
    out = np.sort(rng.choice(len(eligible), size=n_out, replace=False))
    held = eligible[out]
    parts = np.where(rng.permutation(n_out) < n_out // 2, "valid", "test")
    rest = log.with_interactions(
        inter[~inter["user_id"].isin(held)], f"cold-user: {n_out} users held out entirely (seed {seed})"
    )
    split = user_ratio_split(rest, (0.9, 0.1, 0.0), order="time", seed=seed, weights=weights, name="cold-user")
    users = pd.DataFrame(
        {
            "user_id": held,
            "part": parts,
            "positives": [per_user[u] for u in held],
            "text": pd.Series(_first_texts(inter, held), dtype=object),
        }
    )
    return ColdUsers(split, users, given)


def _first_texts(inter: pd.DataFrame, users) -> list[str | None]:
    """Each user's first :data:`TEXT_PARTS` distinct free texts of :data:`TEXT_EVENTS`, in time order, as one line."""
    texts = inter.loc[inter["event"].isin(TEXT_EVENTS) & inter["text"].notna() & inter["user_id"].isin(users)]
    texts = texts.assign(line=texts["text"].astype(str).str.strip()).loc[lambda t: t["line"] != ""]
    texts = texts.sort_values(["timestamp"], kind="stable").drop_duplicates(["user_id", "line"])
    lines = texts.groupby("user_id", sort=False)["line"].agg(lambda x: "; ".join(list(x)[:TEXT_PARTS]))
    return [lines.get(u) for u in users]


@dataclass(eq=False)
class ColdUserResult:
    """One method, one part, one ``n``: ``per_user`` (``user_id``, ``n_relevant``, metrics) and their means."""

    name: str
    part: str
    given: int
    per_user: pd.DataFrame
    metrics: dict[str, float]


def score_cold_users(
    cold: ColdUsers,
    part: str,
    n: int,
    scorer: Callable[[list[list]], np.ndarray | torch.Tensor],
    *,
    name: str,
    cutoffs: Iterable[int] = (20,),
) -> ColdUserResult:
    """Give each held-out user of ``part`` their first ``n`` positives and rank every other catalogue item.

    Args:
        scorer: takes the given item-ID lists of a batch of users (first given first) and returns ``(B, n_items)``
            scores in catalogue order (higher is better).
    """
    if n not in cold.given:
        raise ValueError(f"n must be one of {cold.given}, got {n!r}")
    users = cold.part(part)
    given = [list(p[:n]) for p in users["positives"]]
    return _rank(cold, part, n, users, scorer(given), given, [list(p[n:]) for p in users["positives"]], name, cutoffs)


def score_cold_users_text(
    cold: ColdUsers,
    part: str,
    scorer: Callable[[list[str]], np.ndarray | torch.Tensor],
    *,
    name: str,
    cutoffs: Iterable[int] = (20,),
) -> ColdUserResult:
    """Give each held-out user of ``part`` who has a ``text`` only that line and rank every catalogue item; all their
    positives are relevant (``given`` 0 in the result).

    Args:
        scorer: takes the lines of a batch of users and returns ``(B, n_items)`` scores in catalogue order.

    Raises:
        ValueError: no user of ``part`` has a text.
    """
    users = cold.part(part)
    users = users[users["text"].notna()].reset_index(drop=True)
    if users.empty:
        raise ValueError(f"no {part} user has a text ({', '.join(TEXT_EVENTS)} events)")
    scores = scorer(users["text"].tolist())
    return _rank(cold, part, 0, users, scores, [[] for _ in range(len(users))], list(users["positives"]), name, cutoffs)


def _rank(cold, part, n, users, scores, given, relevant_items, name, cutoffs) -> ColdUserResult:
    """Metrics of ``scores`` ``(len(users), n_items)``: the ``given`` items masked, ``relevant_items`` relevant."""
    ids = cold.split.log.item_ids
    cutoffs = tuple(sorted({int(k) for k in cutoffs}))
    scores = torch.as_tensor(scores).detach().to("cpu", torch.float64).clone()
    if tuple(scores.shape) != (len(users), len(ids)):
        raise ValueError(f"{name}: scorer returned shape {tuple(scores.shape)}, expected ({len(users)}, {len(ids)})")
    scores[torch.isnan(scores)] = -torch.inf
    relevant = np.zeros((len(users), len(ids)), dtype=bool)
    for r, (g, p) in enumerate(zip(given, relevant_items)):
        scores[r, torch.from_numpy(ids.get_indexer(g)).long()] = -torch.inf
        relevant[r, ids.get_indexer(list(p))] = True
    best = torch.topk(scores, min(max(cutoffs), len(ids)), dim=1)
    hits = np.take_along_axis(relevant, best.indices.numpy(), axis=1) & torch.isfinite(best.values).numpy()
    n_rel = torch.from_numpy(relevant.sum(axis=1).astype(np.int64))
    per_user = users[["user_id"]].assign(n_relevant=n_rel.numpy())
    for key, values in ranking_metrics(torch.from_numpy(hits), n_rel, cutoffs).items():
        if key.split("@")[0] in ("recall", "ndcg"):
            per_user[key] = values.numpy()
    metrics = {key: float(per_user[key].mean()) for key in per_user.columns if "@" in key}
    return ColdUserResult(name, part, n, per_user, metrics)
