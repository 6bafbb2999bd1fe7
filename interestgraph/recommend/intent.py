"""Free-text intents without retraining: a query, a wish or a review folded in as a new user.

"space adventure with robots" is treated as an item the new user liked that is
known only by its text. The graph's encoder maps it to the interest points whose
label vectors are nearest (cosine >= ``threshold``, at most ``top`` of them), and it
joins them with item–interest edges normalised the way a catalog item's are:

    W[q, v] = γ_item-interest · s_v · A[q, v] · d_q^{-a} · d_v^{-a}
    A[q, v] = cos(q, v),   d_q = Σ_v A[q, v]

(``d_v`` the interest's item–interest degree in the training graph, ``s_v`` its frozen
gate; the query's own gate is taken as 1). The new user's first step goes to the
query, and to any items given beside it (:func:`~.fold_in.fold_in_first_step`, with the
query as the latest, one more item in ``d_u``). Every other weight stays frozen, so a
score is the same walk sum as for a known user over ``W`` with one more node:
with ``L = 3`` the intent reaches an item through ``user → query → interest → item``
(the seed method's ``Σ_v w(v|q) · sim(v, i)``), and the given items add their own
walks. :func:`explain_intent` enumerates them; they add up to the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..model.encoding import checked_encoder
from ..ops import check_positive_int
from ..paths.walks import walk_contributions
from .contract import require_walks
from .fold_in import fold_in_first_step, walk_sums
from .reasons import explain_item_path
from .topk import item_titles, resolve_items

DEFAULT_TOP = 5
DEFAULT_THRESHOLD = 0.3


@dataclass
class Intent:
    """A free text mapped to interest points, ready to fold in.

    Attributes:
        text: the text.
        interests: ``(m, 3)`` DataFrame ``interest`` (node index), ``label``, ``similarity`` (cosine), best first.
        weights: ``(m,)`` float64 ``W[q, v]`` of the query's edges, in the order of ``interests``.
    """

    text: str
    interests: pd.DataFrame
    weights: np.ndarray


def map_intent(
    model, text: str, *, encoder=None, top: int = DEFAULT_TOP, threshold: float = DEFAULT_THRESHOLD
) -> Intent:
    """The interest points ``text`` maps to and the query node's edge weights.

    Args:
        model: a fitted or loaded model with text features and ``item-interest`` edges.
        text: the free text (non-empty).
        encoder: encodes ``text`` (``encode(texts) -> (n, d)``); the model's own encoder by default.
            It must be the encoder that made the model's interest vectors.
        top: interests kept at most.
        threshold: minimum cosine.

    Raises:
        ValueError: empty text, a model without interest vectors / item–interest edges / stored degrees,
            another encoder than the model's, a bad ``top`` / ``threshold``, or no interest close enough.
    """
    require_walks(model, "map_intent()")
    from ..interests.extract import map_texts_to_interests

    model.fitted_state()
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text: give a non-empty query, got {text!r}")
    check_positive_int("top", top)
    if not isinstance(threshold, (int, float)) or not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a cosine in [-1, 1], got {threshold!r}")
    vectors = getattr(model.scorer, "interest_text", None)
    if vectors is None:
        raise ValueError(
            "model: it has no interest vectors (trained with text_features=False), so a text cannot be mapped to its "
            "interests"
        )
    if "item-interest" not in model.config.edge_types:
        raise ValueError("model: intents walk query → interest → item, but the model does not use item-interest edges")
    degrees = (model.degrees or {}).get("item-interest")
    if degrees is None:
        raise ValueError(
            "model: it was saved without per-type degrees (an older version); retrain it to fold in intents"
        )
    encoder = checked_encoder(model, encoder)
    mapped = map_texts_to_interests([text], vectors, encoder=encoder, threshold=float(threshold), top=int(top))
    if mapped.empty:
        raise ValueError(
            f"text: no interest point of the model has cosine >= {threshold} with {text!r}; lower threshold or rephrase"
        )
    mapped = mapped.sort_values("similarity", ascending=False, ignore_index=True)
    offset = model.n_users + model.n_items
    nodes = offset + mapped["interest"].to_numpy(dtype=np.int64)
    similarity = mapped["similarity"].to_numpy(dtype=np.float64)
    a = model.config.exponent
    weights = (
        model.type_weights["item-interest"]
        * model.gates_of(nodes, "item-interest")
        * similarity
        * similarity.sum() ** -a
        * np.maximum(degrees[nodes], 1e-12) ** -a
    )
    labels = model.nodes["label"].to_numpy()[nodes]
    return Intent(text, pd.DataFrame({"interest": nodes, "label": labels, "similarity": similarity}), weights)


def _with_query(model, intent: Intent) -> sp.csr_matrix:
    """``W`` with one more node (index ``N``, the query) joined to its interests; symmetric."""
    n = model.adjacency.shape[0]
    nodes = intent.interests["interest"].to_numpy()
    edges = sp.csr_matrix((intent.weights, (np.full(len(nodes), n), nodes)), shape=(n + 1, n + 1))
    extended = sp.csr_matrix(sp.bmat([[model.adjacency, None], [None, sp.csr_matrix((1, 1))]])) + edges + edges.T
    extended.sort_indices()
    return extended


def _first_steps(model, intent: Intent, items) -> tuple[np.ndarray, np.ndarray]:
    """First-step nodes and weights of the new user: the given items, then the query (the latest)."""
    n = model.adjacency.shape[0]
    items = list(items) if items is not None else []
    if not items:
        return np.array([n]), np.array([model.type_weights["user-item"]])
    codes, weights = fold_in_first_step(model, items, extra=1)
    return np.append(model.n_users + codes, n), np.append(
        weights, model.type_weights["user-item"] * float(len(codes) + 1) ** -model.config.exponent
    )


def intent_scores(
    model,
    text: str,
    *,
    items=None,
    encoder=None,
    top: int = DEFAULT_TOP,
    threshold: float = DEFAULT_THRESHOLD,
    dtype: torch.dtype = torch.float64,
) -> tuple[np.ndarray, Intent]:
    """``(n_items,)`` walk scores for a new user with intent ``text`` (and optionally liked ``items``), and the mapped
    intent."""
    require_walks(model, "intent_scores()")
    intent = map_intent(model, text, encoder=encoder, top=top, threshold=threshold)
    nodes, weights = _first_steps(model, intent, items)
    return walk_sums(
        _with_query(model, intent), model.coefficients, nodes, weights, model.n_users, model.n_items, dtype=dtype
    ), intent


def recommend_for_intent(
    model,
    text: str,
    k: int = 20,
    *,
    items=None,
    encoder=None,
    top: int = DEFAULT_TOP,
    threshold: float = DEFAULT_THRESHOLD,
    exclude_given: bool = True,
) -> pd.DataFrame:
    """Top-``k`` for a new user from a free text (and optionally items they liked), without retraining.

    An :class:`~interestgraph.model.ItemPathModel` answers through its query index instead
    (:meth:`~interestgraph.model.ItemPathModel.query_scores`: the text steps to its best-matching items and the
    model's paths go on from them; ``top`` / ``threshold`` do not apply).

    Returns:
        ``(k, 4)`` DataFrame ``rank``, ``item_id``, ``title``, ``score``; ``.attrs["interests"]`` holds the
        interest points the text mapped to (``label``, ``similarity``), or for the item-path model
        ``.attrs["matched"]`` the items it stepped to (``item_id``, ``title``, ``similarity``).
    """
    if hasattr(type(model), "query_scores"):
        return _item_path_intent(model, text, k, items=items, encoder=encoder, exclude_given=exclude_given)
    require_walks(model, "recommend_for_intent()")
    check_positive_int("k", k)
    scores, intent = intent_scores(model, text, items=items, encoder=encoder, top=top, threshold=threshold)
    if exclude_given and items:
        scores[resolve_items(model, items)] = -np.inf
    scores[scores == 0] = -np.inf  # no walk from the intent reaches it: not a recommendation
    top_items = np.argsort(-scores, kind="stable")[:k]
    top_items = top_items[np.isfinite(scores[top_items])]
    labels = model.nodes.loc[model.nodes["type"] == "item", "label"].to_numpy()
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(top_items) + 1),
            "item_id": model.item_ids[top_items],
            "title": labels[top_items],
            "score": scores[top_items],
        }
    )
    table.attrs["interests"] = intent.interests[["label", "similarity"]].to_dict(orient="records")
    return table


def _item_path_intent(model, text: str, k: int, *, items, encoder, exclude_given: bool) -> pd.DataFrame:
    """:func:`recommend_for_intent` for an item-path model."""
    check_positive_int("k", k)
    given = list(model.item_ids[resolve_items(model, items)]) if items else []
    lists = [given] if given else None
    scores = model.query_scores([text], item_lists=lists, encoder=encoder)[0].double().numpy()
    if exclude_given and given:
        scores[resolve_items(model, given)] = -np.inf
    scores[scores == 0] = -np.inf  # no path from the query reaches it: not a recommendation
    top_items = np.argsort(-scores, kind="stable")[:k]
    top_items = top_items[np.isfinite(scores[top_items])]
    titles = item_titles(model, len(model.item_ids))
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(top_items) + 1),
            "item_id": model.item_ids[top_items],
            "title": titles[top_items],
            "score": scores[top_items],
        }
    )
    matched = model.query_history([text], encoder=encoder)
    order = np.argsort(-matched.data, kind="stable")
    codes = model.active_items_[matched.indices[order]]
    table.attrs["matched"] = [
        {"item_id": model.item_ids[c], "title": titles[c], "similarity": float(v)}
        for c, v in zip(codes, matched.data[order])
    ]
    return table


def explain_intent(
    model,
    text: str,
    item,
    *,
    top: int = 5,
    items=None,
    encoder=None,
    top_interests: int = DEFAULT_TOP,
    threshold: float = DEFAULT_THRESHOLD,
):
    """Why ``item`` is recommended for the intent ``text``: the walks new user → query → interest → item (and
    through any given ``items``), largest first, with the remainder; they add up to the intent score.

    Returns:
        an :class:`~interestgraph.recommend.Explanation` whose user is ``"(new user)"``; for an
        :class:`~interestgraph.model.ItemPathModel` an :class:`~interestgraph.recommend.ItemPathExplanation` (the
        score's shares per matched or given item, :func:`~interestgraph.recommend.explain_item_path`).
    """
    if hasattr(type(model), "query_scores"):
        return explain_item_path(model, item, items=items, query=text, top=top, encoder=encoder)
    require_walks(model, "explain_intent()")
    from .explain import explanation_from_walks

    check_positive_int("top", top, minimum=0)
    intent = map_intent(model, text, encoder=encoder, top=top_interests, threshold=threshold)
    nodes, weights = _first_steps(model, intent, items)
    adjacency = _with_query(model, intent)
    code = int(resolve_items(model, [item])[0])
    walks = walk_contributions(adjacency, model.coefficients, -1, model.n_users + code, first=(nodes, weights))
    score = float(walk_sums(adjacency, model.coefficients, nodes, weights, model.n_users, model.n_items)[code])
    query = adjacency.shape[0] - 1
    extra = {
        -1: {"type": "user", "id": "(new user)", "label": "(new user)"},
        query: {"type": "query", "id": "query", "label": text},
    }
    return explanation_from_walks(
        model,
        walks,
        score,
        -1,
        code,
        top=top,
        adjacency=adjacency,
        first=(nodes, weights, np.ones(len(nodes))),
        user_id="(new user)",
        extra_nodes=extra,
    )
