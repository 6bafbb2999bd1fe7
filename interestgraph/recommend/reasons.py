"""Readable reasons for the item–item path model: a score split by the history item it comes from.

The item-path model scores ``s(u, i) = Σ_j r(u, j) Σ_c θ_c F_c[j, i]``
(:class:`~interestgraph.model.ItemPathModel`), so every term belongs to one item ``j`` the user liked and one
component ``c``. Summing a history item's terms gives an exact "because you liked *j*" share of the score:

    score = Σ_j because(j) + prior        (exactly, up to the score's float rounding: ``unexplained``)

where ``prior`` is a new user's popularity prior (:meth:`~interestgraph.model.ItemPathModel.fold_in`; 0 for a known
user). Each share also lists its components, so a reader sees whether *j* counts through co-occurrence, shared
interests or similar text; a component that is not a finite walk sum (the ridge backbone, the low-rank part) is named
as such, since its share cannot be expanded further into walks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.item_path import QUERY_PRIOR
from ..ops import check_positive_int
from .topk import item_titles, plain_id, resolve_items, resolve_users

#: what each component's share means, for a reader
COMPONENT_READING = {
    "ridge": "liked together (ridge regression over co-occurrence)",
    "cooc": "people who liked it also liked this",
    "cooc2": "people like them liked this (two steps)",
    "cheby": "co-occurrence filtered smooth (polynomial)",
    "lowpass": "shared taste factors (low rank)",
    "spectral": "shared taste factors, popularity-damped (low rank)",
    "interest": "shared interests",
    "text": "similar description",
    "transition": "often liked next",
}


@dataclass
class Because:
    """One history item's exact share of a score.

    Attributes:
        item_id, title: the item the user liked (title None when the model holds none).
        matched: for a free-text query, the cosine of the query with the item's document (the query stepped to it);
            None for an item the user liked.
        contribution: ``Σ_c r(u, j) θ_c F_c[j, i]`` (signed).
        components: ``{component: its part of contribution}``, largest magnitude first.
    """

    item_id: Any
    title: str | None
    contribution: float
    components: dict[str, float]
    matched: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": plain_id(self.item_id),
            "title": self.title,
            "contribution": self.contribution,
            "components": dict(self.components),
            "matched": self.matched,
        }

    def describe(self) -> str:
        name = f"{self.title} ({self.item_id})" if self.title else str(self.item_id)
        parts = ", ".join(f"{COMPONENT_READING.get(c, c)} {v:+.3g}" for c, v in self.components.items())
        why = f"your query matches {name} (cosine {self.matched:.2f})" if self.matched else f"you liked {name}"
        return f"because {why}: {parts}"


@dataclass
class ItemPathExplanation:
    """Why the item-path model scores ``item`` for a user (or a new user given ``items``).

    Attributes:
        user_id: the user, or None for a new user (``given`` then holds their items).
        given: the new user's item IDs (empty for a known user).
        query: a new user's free text (None without one).
        item_id, title: what is explained.
        score: the model's score (:meth:`~interestgraph.model.ItemPathModel.score` or ``fold_in``).
        reasons: the ``top`` history items by ``|contribution|``.
        remainder: the shares of the history items not shown.
        n_reasons: history items with a nonzero share.
        prior: the new user's popularity prior term (0 for a known user).
        by_component: ``{component: Σ over all history items}``; with ``prior`` it sums to ``score``.
        expandable: ``{component: whether its terms expand into walks}``.
        unexplained: ``score − Σ all shares − prior`` (0 up to the score's rounding: the check of exactness).
        model: the model's one-line description.
    """

    user_id: Any
    given: list
    query: str | None
    item_id: Any
    title: str | None
    score: float
    reasons: list[Because]
    remainder: float
    n_reasons: int
    prior: float
    by_component: dict[str, float]
    expandable: dict[str, bool]
    unexplained: float
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": plain_id(self.user_id),
            "given": [plain_id(x) for x in self.given],
            "query": self.query,
            "item": plain_id(self.item_id),
            "title": self.title,
            "score": self.score,
            "reasons": [r.to_dict() for r in self.reasons],
            "remainder": self.remainder,
            "n_reasons": self.n_reasons,
            "prior": self.prior,
            "by_component": dict(self.by_component),
            "expandable": dict(self.expandable),
            "unexplained": self.unexplained,
            "model": self.model,
        }

    def __str__(self) -> str:
        if self.user_id is not None:
            who = f"user {self.user_id}"
        elif self.query is not None:
            who = f"a new user asking {self.query!r}" + (f" who liked {len(self.given)} item(s)" if self.given else "")
        else:
            who = f"a new user who liked {len(self.given)} item(s)"
        what = f"item {self.item_id}" + (f" ({self.title})" if self.title else "")
        source = "liked or matched" if self.query is not None else "liked"
        lines = [f"{who} · {what}: score {self.score:.6g} from {self.n_reasons:,} {source} item(s)", ""]
        for rank, reason in enumerate(self.reasons, 1):
            share = reason.contribution / self.score if self.score else float("nan")
            lines.append(f"{rank:>3}. {reason.contribution:+.4g} ({share:+.1%})  {reason.describe()}")
        rest = max(self.n_reasons - len(self.reasons), 0)
        lines.append(f"     {self.remainder:+.4g}  the other {rest:,} item(s) (remainder)")
        if self.prior:
            lines.append(f"     {self.prior:+.4g}  popularity prior (a new user's few items say little)")
        lines += ["", "by component:"]
        for name, value in self.by_component.items():
            walks = "walk sum" if self.expandable.get(name) else "not a walk sum"
            lines.append(f"  {value:+.4g}  {name}: {COMPONENT_READING.get(name, name)} ({walks})")
        if self.model:
            lines += ["", self.model]
        return "\n".join(lines)


def explain_item_path(
    model,
    item,
    *,
    user=None,
    items=None,
    query: str | None = None,
    top: int = 5,
    prior: float | None = None,
    encoder=None,
):
    """The exact shares of the item-path model's score of ``item``, per history item and component.

    Args:
        model: a fitted or loaded :class:`~interestgraph.model.ItemPathModel`.
        item: the item ID (or its string form).
        user: a known user's ID; or
        items: a new user's liked item IDs, oldest first (:meth:`~interestgraph.model.ItemPathModel.fold_in`);
        query: a new user's free text, alone or with ``items``
            (:meth:`~interestgraph.model.ItemPathModel.query_scores`; its matched items carry their cosine).
        top: history items to list (the rest are summed into ``remainder``); 0 lists none.
        prior: a new user's popularity prior (None: the model's ``new_user_prior`` for items, ``QUERY_PRIOR`` for a
            query).
        encoder: for ``query``: the encoder of the model's query index (its own by default).

    Raises:
        ValueError: both or neither of ``user`` / ``items``, ``top`` negative, or bad ``items``.
        KeyError: an unknown user or item.
    """
    if (user is None) == (items is None and query is None):
        raise ValueError(
            "explain_item_path: give user= (a known user), or items= and / or query= (a new user), not both"
        )
    check_positive_int("top", top, minimum=0)
    code = int(resolve_items(model, [item])[0])
    item_ids = model.item_ids
    given: list = []
    matched: dict[int, float] = {}
    if user is not None:
        u = int(resolve_users(model, [user])[0])
        score = float(model.score(np.array([u]))[0, code])
        terms = model.explain(u, code)
        user_id = model.user_ids[u]
    elif query is None:
        given = list(item_ids[resolve_items(model, items)])
        score = float(model.fold_in([given], prior=prior)[0, code])
        terms = model.explain_fold_in(given, item_ids[code], prior=prior)
        user_id = None
    else:
        given = [] if items is None else list(item_ids[resolve_items(model, items)])
        lists, prior = ([given] if given else None), (QUERY_PRIOR if prior is None else prior)
        score = float(model.query_scores([query], item_lists=lists, prior=prior, encoder=encoder)[0, code])
        terms = model.explain_query(query, item_ids[code], items=given or None, prior=prior, encoder=encoder)
        matched_row = model.query_history([query], encoder=encoder)
        matched = dict(zip(model.active_items_[matched_row.indices].tolist(), matched_row.data.tolist()))
        user_id = None
    shares: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_component: dict[str, float] = defaultdict(float)
    prior_term = 0.0
    for term in terms:
        if term.history_item < 0:  # the new user's popularity prior
            prior_term += term.value
            continue
        shares[term.history_item][term.component] += term.value
        by_component[term.component] += term.value
    titles = item_titles(model, len(item_ids))
    because = [
        Because(
            item_ids[j],
            titles[j],
            float(sum(parts.values())),
            dict(sorted(parts.items(), key=lambda kv: -abs(kv[1]))),
            matched.get(j),
        )
        for j, parts in shares.items()
    ]
    because.sort(key=lambda b: -abs(b.contribution))
    total = float(sum(b.contribution for b in because))
    shown = because[:top]
    expandable = model.expandable()
    return ItemPathExplanation(
        user_id=user_id,
        given=given,
        query=query,
        item_id=item_ids[code],
        title=titles[code],
        score=score,
        reasons=shown,
        remainder=total - float(sum(b.contribution for b in shown)),
        n_reasons=len(because),
        prior=prior_term,
        by_component=dict(sorted(by_component.items(), key=lambda kv: -abs(kv[1]))),
        expandable={name: expandable[name] for name in by_component},
        unexplained=score - total - prior_term,
        model=model.describe() if hasattr(model, "describe") else "",
    )
