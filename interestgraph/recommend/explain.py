"""Exact explanations: the user→item walks whose contributions make a path-model score.

A score of the path model is ``f(u, i) = Σ_k c_k Σ_walks r(u, x_1) Π_j W[x_{j-1}, x_j]``
(:mod:`interestgraph.paths.walks`). :func:`explain` enumerates every walk of
length ``1..L`` from the user to the item with its contribution ``c_k · r · Π w``
(signed: a learned ``c_k`` may be negative), ranks them by magnitude, and reports
the rest as the remainder, so

    score = Σ shown contributions + remainder        (exactly, in float64)

and the full enumeration sums to the score with no remainder. Walks are also
grouped by the interest they pass through last (the reason a person reads:
"because you like *Sci-Fi*"); walks through no interest (co-occurrence with
other users, similar items) form their own groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..graph.interest_graph import EDGE_ENDS
from ..ops import check_positive_int
from .contract import require_walks
from .reasons import ItemPathExplanation, explain_item_path
from .topk import plain_id, resolve_items, resolve_users

_KIND = {frozenset(ends) if ends[0] != ends[1] else frozenset([ends[0]]): kind for kind, ends in EDGE_ENDS.items()}
NO_INTEREST = {"user": "(other users who liked your items)", "item": "(similar items)"}


@dataclass
class PathStep:
    """One walk ``user → … → item`` and its share of the score.

    Attributes:
        nodes: ``[{"type", "id", "label"}, ...]`` from the user to the item.
        edges: the edge kind of each step (``user-item``, ``item-interest``, ...).
        weights: the frozen effective weight ``W`` of each step.
        first_step: the user's first-step factor ``r(u, x_1)`` (1 when uniform).
        coefficient: ``c_k`` of the walk's length.
        contribution: ``c_k · r · Π weights`` (signed).
    """

    nodes: list[dict[str, str]]
    edges: list[str]
    weights: list[float]
    first_step: float
    coefficient: float
    contribution: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "edges": self.edges,
            "weights": self.weights,
            "first_step": self.first_step,
            "coefficient": self.coefficient,
            "contribution": self.contribution,
        }

    def describe(self) -> str:
        return " → ".join(f"{n['label']} [{n['type']}]" for n in self.nodes)


@dataclass
class Explanation:
    """Why the model scores ``item`` for ``user``.

    Attributes:
        user_id, item_id, title: who and what.
        score: the model's score (float64 walk products).
        paths: the ``top`` walks by ``|contribution|``.
        remainder: ``score - Σ contributions of paths`` (the walks not shown).
        n_paths: how many walks join the two (all enumerated).
        unexplained: ``score - Σ all contributions`` (0 up to float rounding: the check of exactness).
        by_interest: ``(groups, 3)`` DataFrame ``reason``, ``contribution``, ``paths``, over all walks,
            largest first; its contributions sum to the score.
        model: the model's one-line description.
    """

    user_id: Any
    item_id: Any
    title: str
    score: float
    paths: list[PathStep]
    remainder: float
    n_paths: int
    unexplained: float
    by_interest: pd.DataFrame = field(repr=False)
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"score", "paths": [{"nodes", "contribution", ...}], "remainder", ...}``."""
        return {
            "user": plain_id(self.user_id),
            "item": plain_id(self.item_id),
            "title": self.title,
            "score": self.score,
            "paths": [p.to_dict() for p in self.paths],
            "remainder": self.remainder,
            "n_paths": self.n_paths,
            "unexplained": self.unexplained,
            "by_interest": [
                {"reason": r, "contribution": float(c), "paths": int(n)}
                for r, c, n in self.by_interest.itertuples(index=False)
            ],
            "model": self.model,
        }

    def __str__(self) -> str:
        lines = [
            f"user {self.user_id} · item {self.item_id} ({self.title}): score {self.score:.6g} from {self.n_paths:,} "
            "walks",
            "",
        ]
        for rank, path in enumerate(self.paths, 1):
            share = path.contribution / self.score if self.score else float("nan")
            lines.append(f"{rank:>3}. {path.contribution:+.4g} ({share:+.1%})  {path.describe()}")
        lines.append(
            f"     {self.remainder:+.4g}  the other {max(self.n_paths - len(self.paths), 0):,} walks (remainder)"
        )
        lines += ["", "by interest:"]
        for reason, contribution, n in self.by_interest.head(10).itertuples(index=False):
            lines.append(f"  {contribution:+.4g}  {reason} ({n} walks)")
        if self.model:
            lines += ["", self.model]
        return "\n".join(lines)


def explain(model, user, item, top: int = 5) -> Explanation | ItemPathExplanation:
    """The walks from ``user`` to ``item`` that make the model's score, largest first.

    Args:
        model: a fitted or loaded :class:`~interestgraph.model.InterestGraphModel`, or an
            :class:`~interestgraph.model.ItemPathModel` (then an :class:`ItemPathExplanation`: the score's exact
            shares per liked item and component, :func:`~interestgraph.recommend.reasons.explain_item_path`).
        user, item: original IDs (or their string form).
        top: walks (liked items for the item-path model) to list (the rest are summed into ``remainder``); 0 lists
            none.

    Raises:
        KeyError: an unknown user or item.
        ValueError: ``top`` is negative.
    """
    if hasattr(type(model), "explain_fold_in"):
        return explain_item_path(model, item, user=user, top=top)
    require_walks(model, "explain()")
    check_positive_int("top", top, minimum=0)
    u = int(resolve_users(model, [user])[0])
    i = int(resolve_items(model, [item])[0])
    score = float(model.score(np.array([u]), dtype=torch.float64)[0, i])
    start = model.start
    row = model.adjacency[u]
    factors = np.ones(row.nnz)
    if start is not None:
        r = dict(zip((start[u].indices + model.n_users).tolist(), start[u].data.tolist()))
        factors = np.array([r.get(a, 1.0) for a in row.indices.tolist()])
    return explanation_from_walks(
        model,
        model.walks(u, i),
        score,
        u,
        i,
        top=top,
        adjacency=model.adjacency,
        first=(row.indices, row.data, factors),
        user_id=model.user_ids[u],
    )


def explanation_from_walks(
    model,
    walks,
    score: float,
    source: int,
    item: int,
    *,
    top: int,
    adjacency,
    first: tuple[np.ndarray, np.ndarray, np.ndarray],
    user_id: Any,
    extra_nodes: dict[int, dict[str, str]] | None = None,
) -> Explanation:
    """An :class:`Explanation` from enumerated walks (a known user's, or a folded-in user's).

    Args:
        walks: ``[(nodes, contribution)]`` from :func:`~interestgraph.paths.walk_contributions`.
        score: the production score the walks must add up to.
        source: the walks' first node; item: the item code.
        adjacency: ``W`` the walks were enumerated on (may hold folded-in nodes after the graph's).
        first: ``(nodes, weights, factors)`` of the source's first steps: ``W`` and ``r`` of each.
        user_id: how the source is named.
        extra_nodes: ``{node: {"type", "id", "label"}}`` for nodes outside the model's node table.
    """
    nodes = model.nodes
    types = nodes["type"].to_numpy()
    ids, labels = nodes["id"].to_numpy(), nodes["label"].to_numpy()
    extra = extra_nodes or {}
    coefficients = model.coefficients
    first_weight = dict(zip(np.asarray(first[0]).tolist(), np.asarray(first[1], dtype=np.float64).tolist()))
    first_factor = dict(zip(np.asarray(first[0]).tolist(), np.asarray(first[2], dtype=np.float64).tolist()))

    def info(n: int) -> dict[str, str]:
        return extra[n] if n in extra else {"type": str(types[n]), "id": str(ids[n]), "label": str(labels[n])}

    def step(path: tuple[int, ...], contribution: float) -> PathStep:
        described = [info(n) for n in path]
        weights = [first_weight[path[1]]] + [float(adjacency[a, b]) for a, b in zip(path[1:], path[2:])]
        return PathStep(
            nodes=described,
            edges=[
                _KIND.get(frozenset((a["type"], b["type"])), f"{a['type']}-{b['type']}")
                for a, b in zip(described, described[1:])
            ],
            weights=weights,
            first_step=float(first_factor.get(path[1], 1.0)),
            coefficient=float(coefficients[len(path) - 2]),
            contribution=float(contribution),
        )

    total = float(sum(v for _, v in walks))
    order = sorted(range(len(walks)), key=lambda k: -abs(walks[k][1]))
    shown = [step(*walks[k]) for k in order[:top]]
    reasons: dict[str, list[float]] = {}
    for path, value in walks:
        middle = [info(n) for n in path[1:-1]]
        reason = next((f"interest: {n['label']}" for n in reversed(middle) if n["type"] == "interest"), None)
        if reason is None:
            kinds = [n["type"] for n in middle]
            reason = NO_INTEREST["user"] if "user" in kinds else NO_INTEREST["item"] if kinds else "(your own item)"
        reasons.setdefault(reason, []).append(value)
    by_interest = (
        pd.DataFrame(
            [(r, float(np.sum(v)), len(v)) for r, v in reasons.items()], columns=["reason", "contribution", "paths"]
        ).sort_values("contribution", ascending=False, key=np.abs, ignore_index=True)
        if reasons
        else pd.DataFrame(columns=["reason", "contribution", "paths"])
    )
    return Explanation(
        user_id=user_id,
        item_id=model.item_ids[item],
        title=str(labels[model.n_users + item]),
        score=score,
        paths=shown,
        remainder=score - float(sum(p.contribution for p in shown)),
        n_paths=len(walks),
        unexplained=score - total,
        by_interest=by_interest,
        model=model.describe(),
    )
