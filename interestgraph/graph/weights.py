"""Edge weights that come from behaviour: time decay, user–item and user–interest ``w(v|u)``.

Time decay. An event at time ``t`` weighs ``0.5 ** ((t_ref - t) / half_life)``
as of the reference time ``t_ref`` (the last training timestamp when the graph
is built; any ``t`` when asking for the interests as of ``t``, counting only
events at or before ``t``). ``half_life=None`` turns decay off.

User–item. The sum over a user's positive training events on the item of
event weight × decay (see :class:`~interestgraph.data.EventWeights`).

User–interest, ``w(v|u)``. With ``A`` the user–item matrix above and ``B`` the
item–interest matrix with each item's row normalised to sum 1 (an item passes
its weight to its interests in equal total, however many it has)::

    raw(u, v) = Σ_i A[u, i] · B[i, v]                      (items the user engaged with)
              + tag_weight  · Σ_{tags of u on v} decay(t)   (the user's own tags)
              + text_weight · Σ_{texts of u → v} sim · decay(t)   (queries, reviews)
    w(v|u)   = raw(u, v) / Σ_v' raw(u, v')                 (normalised per user)

then only each user's ``top_k`` strongest interests are kept (renormalised).
Everything is a sparse product over integer codes (scipy CSR, chunked by
users), never a join of events × interests in pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

SECONDS_PER_DAY = 86_400.0


def decay_factor(timestamps: np.ndarray, reference: int, half_life_days: float | None) -> np.ndarray:
    """``0.5 ** ((reference - t) / half_life)`` per event, shape like ``timestamps``; 1 when decay is off."""
    if half_life_days is None:
        return np.ones(len(timestamps), dtype=np.float64)
    age = (reference - timestamps.astype(np.float64)) / (half_life_days * SECONDS_PER_DAY)
    return np.power(0.5, age)


@dataclass(frozen=True, eq=False)
class BehaviourEvents:
    """The training evidence behind the behavioural edges, on integer codes.

    Attributes:
        user, item, timestamp, weight: positive training events, shape ``(n,)``
            each (weight = event weight before decay).
        tags: ``user``, ``interest``, ``timestamp`` of the users' own tags.
        texts: ``user``, ``interest``, ``similarity``, ``timestamp`` of queries
            and reviews mapped to interests.
        n_users, n_items, n_interests: matrix sizes.
    """

    user: np.ndarray
    item: np.ndarray
    timestamp: np.ndarray
    weight: np.ndarray
    tags: pd.DataFrame
    texts: pd.DataFrame
    n_users: int
    n_items: int
    n_interests: int


def user_item_edges(
    events: BehaviourEvents, *, reference: int, half_life_days: float | None, until: int | None = None
) -> pd.DataFrame:
    """User–item edges ``src`` (user), ``dst`` (item), ``weight``: decayed positive event weights summed per pair."""
    keep = np.ones(len(events.user), dtype=bool) if until is None else events.timestamp <= until
    w = events.weight[keep] * decay_factor(events.timestamp[keep], reference, half_life_days)
    key = events.user[keep] * max(events.n_items, 1) + events.item[keep]
    pairs, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse, weights=w, minlength=len(pairs))
    return pd.DataFrame(
        {
            "src": pairs // max(events.n_items, 1),
            "dst": pairs % max(events.n_items, 1),
            "weight": total.astype(np.float32),
        }
    )


def item_interest_matrix(item_interest: pd.DataFrame, n_items: int, n_interests: int) -> sp.csr_matrix:
    """``(n_items, n_interests)`` CSR of item–interest weights with each item's row summing to 1."""
    m = sp.csr_matrix(
        (
            item_interest["weight"].to_numpy(dtype=np.float64),
            (item_interest["item"].to_numpy(), item_interest["interest"].to_numpy()),
        ),
        shape=(n_items, n_interests),
    )
    sums = np.asarray(m.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return sp.diags(scale) @ m


def user_interest_edges(
    events: BehaviourEvents,
    item_interest: sp.csr_matrix,
    *,
    reference: int,
    half_life_days: float | None,
    tag_weight: float,
    text_weight: float,
    top_k: int | None,
    until: int | None = None,
    users: np.ndarray | None = None,
    chunk_users: int = 50_000,
) -> pd.DataFrame:
    """``w(v|u)`` as edges ``src`` (user), ``dst`` (interest), ``weight`` (sums to 1 per user).

    Args:
        until: count only events at or before this time (None: all).
        users: restrict to these user codes (None: all users).
        chunk_users: users per sparse product, bounding memory.
    """
    n_users, n_interests = events.n_users, events.n_interests
    ui = user_item_edges(events, reference=reference, half_life_days=half_life_days, until=until)
    a = sp.csr_matrix(
        (ui["weight"].to_numpy(dtype=np.float64), (ui["src"].to_numpy(), ui["dst"].to_numpy())),
        shape=(n_users, events.n_items),
    )
    extra = sp.csr_matrix((n_users, n_interests))
    for table, scale, value in ((events.tags, tag_weight, None), (events.texts, text_weight, "similarity")):
        if scale == 0 or table.empty:
            continue
        sel = np.ones(len(table), dtype=bool) if until is None else table["timestamp"].to_numpy() <= until
        t = table[sel]
        w = scale * decay_factor(t["timestamp"].to_numpy(), reference, half_life_days)
        if value is not None:
            w = w * t[value].to_numpy(dtype=np.float64)
        extra = extra + sp.csr_matrix(
            (w, (t["user"].to_numpy(), t["interest"].to_numpy())), shape=(n_users, n_interests)
        )
    extra = extra.tocsr()
    selected = np.arange(n_users) if users is None else np.asarray(users, dtype=np.int64)
    frames = []
    for start in range(0, len(selected), chunk_users):
        rows = selected[start : start + chunk_users]
        raw = (a[rows] @ item_interest + extra[rows]).tocoo()
        frames.append(_normalise_top_k(rows[raw.row], raw.col.astype(np.int64), raw.data, top_k))
    if not frames:
        return pd.DataFrame(
            {
                "src": np.array([], dtype=np.int64),
                "dst": np.array([], dtype=np.int64),
                "weight": np.array([], dtype=np.float32),
            }
        )
    return pd.concat(frames, ignore_index=True)


def _normalise_top_k(user: np.ndarray, interest: np.ndarray, value: np.ndarray, top_k: int | None) -> pd.DataFrame:
    """Keep each user's top_k interests by value (ties: lower interest index) and normalise to sum 1."""
    keep = value > 0
    user, interest, value = user[keep], interest[keep], value[keep]
    order = np.lexsort((interest, -value, user))
    user, interest, value = user[order], interest[order], value[order]
    if top_k is not None and len(user):
        starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
        counts = np.diff(np.r_[starts, len(user)])
        rank = np.arange(len(user)) - np.repeat(starts, counts)
        keep = rank < top_k
        user, interest, value = user[keep], interest[keep], value[keep]
    totals = np.bincount(user, weights=value, minlength=int(user.max()) + 1 if len(user) else 0)
    weight = value / totals[user]
    return pd.DataFrame({"src": user, "dst": interest, "weight": weight.astype(np.float32)})
