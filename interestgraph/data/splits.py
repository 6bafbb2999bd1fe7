"""Train / valid / test splits that record the protocol that made them.

Every split works on **positive (user, item) pairs**: a pair is positive when
at least one of its events is positive under the :class:`EventWeights`
(a rating >= the threshold, or any weighted count event). Pairs are assigned
to a part; then every event row is assigned:

* an event on a positive pair goes with its pair, so side data (a tag, a
  review, a query on a pair in valid or test) never reaches training;
* any other event (a low rating, a tag on a pair that is not positive) goes
  to train under random splits, and to the part its **time** falls in under
  temporal splits;
* under temporal splits, an event on a training pair that happens after the
  user's validation period starts (or, on a validation pair, after the test
  period starts) is evidence from the future: it is dropped, and the count is
  recorded in the log's notes and ``summary()["future_events_dropped"]``.
  So nothing from a user's future reaches their training part.

The result is a :class:`Split`: the filtered log whose interactions carry
three new columns, ``weight`` (float64), ``positive`` (bool) and ``part``
(``"train"``, ``"valid"``, ``"test"``), plus the :class:`Protocol`, the
candidate items for ranking and the cold items.

Assigners (each reproducible from its seed):

* :func:`user_ratio_split` — per-user ratio, in random or time order;
  counts per user follow RecBole's rule (a user with 5 positives gets 3/1/1).
* :func:`leave_last_out_split` — each user's last ``n_test`` positives to
  test and the ``n_valid`` before them to valid.
* :func:`global_time_split` — one global cut in time for everybody.
* :func:`cold_item_split` — a fraction of items held out entirely (all their
  events in test), the rest split by a per-user ratio.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DataError
from .schema import ITEM_ID, InteractionLog
from .weights import EventWeights

PARTS = ("train", "valid", "test")
#: split methods whose held-out pairs follow the training pairs in time
TEMPORAL_METHODS = ("user-temporal", "leave-last", "global-time")
_TRAIN, _VALID, _TEST = 0, 1, 2


@dataclass(frozen=True)
class Protocol:
    """How a split was made: printed with every result and stored with every artifact.

    Attributes:
        name: a named protocol (``rs-4``, ``tl-4``, ``cold-4``) or a description.
        method: the assigner (``user-random``, ``user-temporal``, ``leave-last``,
            ``global-time``, ``cold-item``, ``given``).
        params: every parameter that changes the split (JSON-serialisable).
        seed: the random seed (None when the split involves no randomness).
    """

    name: str
    method: str
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None

    @property
    def is_temporal(self) -> bool:
        """Whether held-out pairs come after the training ones in time (the model should weight recent history)."""
        return self.method in TEMPORAL_METHODS

    def describe(self) -> str:
        """One line naming the protocol, its parameters and seed."""
        params = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items() if k != "event_weights")
        seed = f", seed {self.seed}" if self.seed is not None else ""
        return f"protocol {self.name} ({self.method}: {params}{seed})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "params": json.loads(json.dumps(dict(self.params))),
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Protocol:
        return cls(name=data["name"], method=data["method"], params=dict(data.get("params", {})), seed=data.get("seed"))


def _short(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ":".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


@dataclass(frozen=True, eq=False)
class Split:
    """A log split into train / valid / test (see the module docstring).

    Attributes:
        log: the filtered log; ``log.interactions`` has the extra columns
            ``weight`` (float64), ``positive`` (bool) and ``part`` (categorical
            over ``train``, ``valid``, ``test``). The catalog is complete.
        protocol: how the split was made.
        candidate_items: item IDs that are ranked at evaluation time.
        cold_items: item IDs held out of training entirely (empty unless cold).
    """

    log: InteractionLog
    protocol: Protocol
    candidate_items: pd.Index
    cold_items: pd.Index

    def part(self, name: str) -> pd.DataFrame:
        """All event rows of one part (``"train"``, ``"valid"`` or ``"test"``)."""
        if name not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, got {name!r}")
        inter = self.log.interactions
        return inter[inter["part"] == name]

    @property
    def train(self) -> pd.DataFrame:
        return self.part("train")

    @property
    def valid(self) -> pd.DataFrame:
        return self.part("valid")

    @property
    def test(self) -> pd.DataFrame:
        return self.part("test")

    @cached_property
    def pairs(self) -> pd.DataFrame:
        """Positive (user, item) pairs, one row each, sorted by user then item:
        ``user_id``, ``item_id``, ``timestamp`` (first positive event, s),
        ``weight`` (summed event weights of the pair) and ``part``. Each pair
        is in exactly one part."""
        log = self.log
        inter = log.interactions
        n_items = max(log.n_items, 1)
        pair_key, inverse = np.unique(log.user_codes() * n_items + log.item_codes(), return_inverse=True)
        positive = inter["positive"].to_numpy()
        is_positive_pair = np.zeros(len(pair_key), dtype=bool)
        is_positive_pair[inverse[positive]] = True
        on_pair = is_positive_pair[inverse]
        weight = np.bincount(inverse[on_pair], weights=inter["weight"].to_numpy()[on_pair], minlength=len(pair_key))
        first = np.full(len(pair_key), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, inverse[positive], inter["timestamp"].to_numpy()[positive])
        part = np.zeros(len(pair_key), dtype=np.int8)
        part[inverse[on_pair]] = inter["part"].cat.codes.to_numpy()[on_pair]
        keys = pair_key[is_positive_pair]
        return pd.DataFrame(
            {
                "user_id": log.user_ids[keys // n_items],
                ITEM_ID: log.item_ids[keys % n_items],
                "timestamp": first[is_positive_pair],
                "weight": weight[is_positive_pair],
                "part": part_column(part[is_positive_pair]),
            }
        )

    def fold_validation(self) -> Split:
        """This split with its validation part moved into training (test unchanged): where a model is refitted
        with the settings chosen on validation before its one test score. The protocol records it
        (``validation_folded=True``); the candidate and cold items stay those of this split.

        Raises:
            ValueError: the split has no validation part (nothing to fold).
        """
        inter = self.log.interactions
        codes = inter["part"].cat.codes.to_numpy().copy()
        valid, train = PARTS.index("valid"), PARTS.index("train")
        if not (codes == valid).any():
            raise ValueError(f"{self.protocol.describe()}: no validation part to fold into training")
        codes[codes == valid] = train
        log = dataclasses.replace(self.log, interactions=inter.assign(part=part_column(codes)))
        protocol = dataclasses.replace(self.protocol, params={**self.protocol.params, "validation_folded": True})
        return Split(log=log, protocol=protocol, candidate_items=self.candidate_items, cold_items=self.cold_items)

    def positive_pairs(self, part: str) -> pd.DataFrame:
        """Positive pairs of one part (see :attr:`pairs`)."""
        if part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, got {part!r}")
        return self.pairs[self.pairs["part"] == part].reset_index(drop=True)

    def positive_matrix(self, part: str) -> sp.csr_matrix:
        """``(n_users, n_items)`` 0/1 float32 CSR of the positive pairs in one part (the log's user and item codes)."""
        pairs = self.positive_pairs(part)
        rows = self.log.user_ids.get_indexer(pairs["user_id"])
        cols = self.log.item_ids.get_indexer(pairs[ITEM_ID])
        return sp.csr_matrix(
            (np.ones(len(pairs), dtype=np.float32), (rows, cols)), shape=(self.log.n_users, self.log.n_items)
        )

    def summary(self) -> dict[str, Any]:
        """Counts per part: events, positive pairs, users with positives; candidates and cold items."""
        inter = self.log.interactions
        pairs = self.pairs
        out: dict[str, Any] = {
            "protocol": self.protocol.to_dict(),
            "users": self.log.n_users,
            "items": self.log.n_items,
        }
        for name in PARTS:
            part_pairs = pairs[pairs["part"] == name]
            out[name] = {
                "events": int((inter["part"] == name).sum()),
                "positive_pairs": len(part_pairs),
                "users": int(part_pairs["user_id"].nunique()),
            }
        out["future_events_dropped"] = int(self.protocol.params.get("future_events_dropped", 0))
        out["candidate_items"] = len(self.candidate_items)
        out["cold_items"] = len(self.cold_items)
        test_pairs = pairs[pairs["part"] == "test"]
        out["test_pairs_on_non_candidates"] = int((~test_pairs[ITEM_ID].isin(self.candidate_items)).sum())
        return out

    def describe(self) -> str:
        """The protocol line plus the part sizes, for printing with results."""
        s = self.summary()
        sizes = ", ".join(f"{p} {s[p]['positive_pairs']:,} pairs / {s[p]['users']:,} users" for p in PARTS)
        return (
            f"{self.protocol.describe()}; {sizes}; {s['candidate_items']:,} candidate items, {s['cold_items']:,} cold"
        )


# --------------------------------------------------------------------------- preparation


@dataclass
class _Prepared:
    """A weighted, user-filtered log and its positive pairs (internal)."""

    log: InteractionLog
    weight: np.ndarray  # (n_events,)
    positive: np.ndarray  # (n_events,) bool
    user: np.ndarray  # (n_events,) contiguous user code
    item: np.ndarray  # (n_events,) contiguous item code
    pair_user: np.ndarray  # (n_pairs,)
    pair_item: np.ndarray  # (n_pairs,)
    pair_time: np.ndarray  # (n_pairs,) first positive timestamp
    event_pair: np.ndarray  # (n_events,) index into pairs, -1 for events on non-positive pairs


def _prepare(log: InteractionLog, weights: EventWeights, min_user_positives: int) -> _Prepared:
    """Weight events, drop users with too few positive items, and index the positive pairs.

    Works on integer codes throughout: one sort of the (user, item) keys gives
    every event's pair; the user filter only re-indexes (no string hashing).
    """
    weight, positive = weights.apply(log.interactions, log.source)
    user = log.user_codes()
    item = log.item_codes()
    n_items = max(log.n_items, 1)
    pair_key, inverse = np.unique(user * n_items + item, return_inverse=True)
    pair_positive = np.zeros(len(pair_key), dtype=bool)
    pair_positive[inverse[positive]] = True
    if min_user_positives > 1:
        per_user = np.bincount(pair_key[pair_positive] // n_items, minlength=log.n_users)
        keep_user = per_user >= min_user_positives
        if not keep_user.any():
            raise DataError(f"{log.source}: no user has >= {min_user_positives} positive items; nothing to split")
        if not keep_user.all():
            keep = keep_user[user]
            new_code = np.cumsum(keep_user) - 1
            keep_pair = keep_user[pair_key // n_items]
            pair_index = np.cumsum(keep_pair) - 1
            note = (
                f"dropped {int((~keep_user).sum())} users with fewer than {min_user_positives} positive items "
                f"({int((~keep).sum())} events)"
            )
            log = log.with_interactions(log.interactions[keep], note, user_ids=log.user_ids[keep_user])
            user, item, weight, positive = new_code[user[keep]], item[keep], weight[keep], positive[keep]
            inverse = pair_index[inverse[keep]]
            pair_key = new_code[pair_key[keep_pair] // n_items] * n_items + pair_key[keep_pair] % n_items
            pair_positive = pair_positive[keep_pair]
    if not positive.any():
        raise DataError(
            f"{log.source}: no positive interactions under the event weights ({weights.to_dict()}); nothing to split"
        )
    positive_index = np.where(pair_positive, np.cumsum(pair_positive) - 1, -1)
    event_pair = positive_index[inverse]
    pos_keys = pair_key[pair_positive]
    pair_time = np.full(len(pos_keys), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(pair_time, event_pair[positive], log.interactions["timestamp"].to_numpy()[positive])
    return _Prepared(log, weight, positive, user, item, pos_keys // n_items, pos_keys % n_items, pair_time, event_pair)


def _ratio_counts(n: np.ndarray, ratios: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-user train/valid/test counts (RecBole's rule): floor the small parts,
    then give a part whose share is in (0, 1) one pair while train keeps > 1."""
    _r_train, r_valid, r_test = ratios
    n_valid = np.floor(r_valid * n).astype(np.int64)
    n_test = np.floor(r_test * n).astype(np.int64)
    n_train = n - n_valid - n_test
    for share, counts in ((r_test * n, n_test), (r_valid * n, n_valid)):
        bump = (n_train > 1) & (share > 0) & (share < 1)
        counts += bump
        n_train -= bump
    return n_train, n_valid, n_test


def _rank_within_user(user: np.ndarray, order_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each pair within its user by ``order_key`` (0 = first), and the user's pair count."""
    order = np.lexsort((order_key, user))
    sorted_user = user[order]
    starts = np.flatnonzero(np.r_[True, sorted_user[1:] != sorted_user[:-1]])
    counts = np.diff(np.r_[starts, len(sorted_user)])
    group_start = np.repeat(starts, counts)
    rank = np.empty(len(user), dtype=np.int64)
    rank[order] = np.arange(len(user)) - group_start
    count = np.empty(len(user), dtype=np.int64)
    count[order] = np.repeat(counts, counts)
    return rank, count


def _normalise_ratios(ratios: tuple[float, ...]) -> tuple[float, float, float]:
    if len(ratios) != 3 or any((not np.isfinite(r)) or r < 0 for r in ratios) or ratios[0] <= 0:
        raise ValueError(f"ratios must be three finite non-negative numbers with train > 0, got {ratios!r}")
    total = float(sum(ratios))
    return tuple(r / total for r in ratios)  # type: ignore[return-value]


def _ratio_parts(
    prep: _Prepared,
    pairs: np.ndarray,
    ratios: tuple[float, float, float],
    order: Literal["random", "time"],
    rng: np.random.Generator,
) -> np.ndarray:
    """Part per pair (indices ``pairs``) by a per-user ratio in random or time order."""
    tiebreak = rng.random(len(pairs))
    if order == "time":
        # primary key time, random tiebreak: lexsort on (tiebreak, time) gives time then tiebreak
        key = np.lexsort((tiebreak, prep.pair_time[pairs])).argsort()
    else:
        key = tiebreak
    rank, count = _rank_within_user(prep.pair_user[pairs], key)
    n_train, n_valid, _ = _ratio_counts(count, ratios)
    return np.where(rank < n_train, _TRAIN, np.where(rank < n_train + n_valid, _VALID, _TEST))


def _finish(
    prep: _Prepared,
    pair_part: np.ndarray,
    protocol: Protocol,
    *,
    temporal: Literal["none", "user", "global"],
    cold_item_codes: np.ndarray | None = None,
    time_cuts: tuple[int, int] | None = None,
) -> Split:
    """Assign every event a part, attach columns, compute candidates (internal)."""
    n_events = len(prep.weight)
    part = np.full(n_events, _TRAIN, dtype=np.int8)
    on_pair = prep.event_pair >= 0
    part[on_pair] = pair_part[prep.event_pair[on_pair]]
    loose = ~on_pair
    stamps = prep.log.interactions["timestamp"].to_numpy()
    keep = np.ones(n_events, dtype=bool)
    if temporal != "none":
        if temporal == "user":
            big = np.iinfo(np.int64).max
            start_valid = np.full(prep.log.n_users, big, dtype=np.int64)
            start_test = np.full(prep.log.n_users, big, dtype=np.int64)
            for code, starts in ((_VALID, start_valid), (_TEST, start_test)):
                sel = pair_part == code
                np.minimum.at(starts, prep.pair_user[sel], prep.pair_time[sel])
            start_valid = np.minimum(start_valid, start_test)
            valid_from, test_from = start_valid[prep.user], start_test[prep.user]
            # a pair first seen at the boundary second itself is not from the future
            future = on_pair & (((part == _TRAIN) & (stamps > valid_from)) | ((part == _VALID) & (stamps > test_from)))
        else:
            valid_from, test_from = time_cuts  # type: ignore[misc]
            future = on_pair & (
                ((part == _TRAIN) & (stamps >= valid_from)) | ((part == _VALID) & (stamps >= test_from))
            )
        t = stamps[loose]
        vf = valid_from[loose] if temporal == "user" else valid_from
        tf = test_from[loose] if temporal == "user" else test_from
        part[loose] = np.where(t >= tf, _TEST, np.where(t >= vf, _VALID, _TRAIN))
        keep = ~future
    if cold_item_codes is not None and len(cold_item_codes):
        part[np.isin(prep.item, cold_item_codes)] = _TEST

    inter = prep.log.interactions.assign(weight=prep.weight, positive=prep.positive, part=part_column(part))
    dropped = int((~keep).sum())
    if dropped:
        log = prep.log.with_interactions(
            inter[keep],
            f"dropped {dropped} events on training/validation pairs that happen after the user's training/validation "
            f"period ({protocol.name}: temporal protocol)",
            user_ids=prep.log.user_ids,
        )
        protocol = dataclasses.replace(protocol, params={**protocol.params, "future_events_dropped": dropped})
    else:
        log = dataclasses.replace(prep.log, interactions=inter)

    train_pos = prep.positive & (part == _TRAIN) & keep
    candidate_codes = np.unique(prep.item[train_pos])
    cold = np.asarray(cold_item_codes if cold_item_codes is not None else [], dtype=np.int64)
    candidate_codes = np.union1d(candidate_codes, cold)
    if not train_pos.any():
        raise DataError(f"{prep.log.source}: the split left no positive interactions in train ({protocol.describe()})")
    return Split(
        log=log,
        protocol=protocol,
        candidate_items=prep.log.item_ids[candidate_codes],
        cold_items=prep.log.item_ids[np.sort(cold)],
    )


def part_column(codes: np.ndarray) -> pd.Categorical:
    """The ``part`` column: a categorical over :data:`PARTS` (1 byte per event)."""
    return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(PARTS))


def base_protocol_params(weights: EventWeights, min_user_positives: int) -> dict[str, Any]:
    """The parameters every protocol records (``Protocol.params``): the positive threshold, the minimum positives
    per user and the event weights, so a split can be rebuilt and two splits compared."""
    return {
        "positive_threshold": weights.positive_threshold,
        "min_user_positives": min_user_positives,
        "event_weights": weights.to_dict(),
    }


# --------------------------------------------------------------------------- assigners


def user_ratio_split(
    log: InteractionLog,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    *,
    order: Literal["random", "time"] = "random",
    seed: int = 2020,
    weights: EventWeights | None = None,
    min_user_positives: int = 1,
    name: str | None = None,
) -> Split:
    """Split each user's positive pairs by ``ratios`` (train, valid, test).

    Args:
        log: a validated log.
        ratios: shares of train, valid and test (normalised to sum to 1).
        order: ``"random"`` (seeded shuffle) or ``"time"`` (each user's
            earliest pairs to train, latest to test; needs timestamps).
        seed: random seed (shuffle, and tie-breaking in time order).
        weights: the event weights that define positives.
        min_user_positives: users with fewer positive items are dropped first.
        name: protocol name to record (default describes the split).
    """
    weights = weights or EventWeights()
    ratios = _normalise_ratios(tuple(ratios))
    if order not in ("random", "time"):
        raise ValueError(f"order must be 'random' or 'time', got {order!r}")
    if order == "time" and not log.has_timestamps:
        raise DataError(f"{log.source}: a time-ordered split needs timestamps, and this log has none")
    prep = _prepare(log, weights, min_user_positives)
    rng = np.random.default_rng(seed)
    pair_part = _ratio_parts(prep, np.arange(len(prep.pair_user)), ratios, order, rng)
    method = "user-temporal" if order == "time" else "user-random"
    params = {"ratios": list(ratios), **base_protocol_params(weights, min_user_positives)}
    protocol = Protocol(name or f"{method}-{_short(list(ratios))}", method, params, seed)
    return _finish(prep, pair_part, protocol, temporal="user" if order == "time" else "none")


def leave_last_out_split(
    log: InteractionLog,
    n_test: int = 1,
    n_valid: int = 1,
    *,
    weights: EventWeights | None = None,
    min_user_positives: int = 1,
    seed: int = 2020,
    name: str | None = None,
) -> Split:
    """Each user's last ``n_test`` positive pairs (by first positive time) to test,
    the ``n_valid`` before them to valid; users with no more than
    ``n_test + n_valid`` positives stay wholly in train. ``seed`` breaks ties."""
    if not log.has_timestamps:
        raise DataError(f"{log.source}: leave-last-out needs timestamps, and this log has none")
    if n_test < 1 or n_valid < 0:
        raise ValueError(f"n_test must be >= 1 and n_valid >= 0, got n_test={n_test}, n_valid={n_valid}")
    weights = weights or EventWeights()
    prep = _prepare(log, weights, min_user_positives)
    rng = np.random.default_rng(seed)
    key = np.lexsort((rng.random(len(prep.pair_time)), prep.pair_time)).argsort()
    rank, count = _rank_within_user(prep.pair_user, key)
    from_end = count - 1 - rank
    enough = count > n_test + n_valid
    pair_part = np.where(
        enough & (from_end < n_test), _TEST, np.where(enough & (from_end < n_test + n_valid), _VALID, _TRAIN)
    )
    params = {"n_test": n_test, "n_valid": n_valid, **base_protocol_params(weights, min_user_positives)}
    protocol = Protocol(name or f"leave-last-{n_test}", "leave-last", params, seed)
    return _finish(prep, pair_part, protocol, temporal="user")


def global_time_split(
    log: InteractionLog,
    valid_start: float | str | None = 0.8,
    test_start: float | str = 0.9,
    *,
    weights: EventWeights | None = None,
    min_user_positives: int = 1,
    name: str | None = None,
) -> Split:
    """One cut in time for everybody: pairs first seen before ``valid_start`` to
    train, before ``test_start`` to valid, the rest to test.

    ``valid_start`` / ``test_start`` are quantiles in (0, 1) of the positive
    pairs' times, or dates (ISO strings) / Unix seconds (numbers >= 1).
    ``valid_start=None`` makes no valid part. On MovieLens, whose users are
    active in short bursts, a global cut leaves very few users with both
    training and test data; prefer the per-user temporal protocol ``tl-4``.
    """
    if not log.has_timestamps:
        raise DataError(f"{log.source}: a global time split needs timestamps, and this log has none")
    weights = weights or EventWeights()
    prep = _prepare(log, weights, min_user_positives)

    def cut(value: float | str) -> int:
        if isinstance(value, str):
            stamp = pd.Timestamp(value)
            return int((stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).timestamp())
        if 0 < value < 1:
            return int(np.quantile(prep.pair_time, value))
        if value >= 1:
            return int(value)
        raise ValueError(f"a time cut must be a quantile in (0, 1), a date, or Unix seconds; got {value!r}")

    t_test = cut(test_start)
    t_valid = cut(valid_start) if valid_start is not None else t_test
    if t_valid > t_test:
        raise ValueError(f"valid_start ({valid_start!r}) must not be after test_start ({test_start!r})")
    times = prep.pair_time
    pair_part = np.where(times >= t_test, _TEST, np.where(times >= t_valid, _VALID, _TRAIN))
    params = {"valid_start": t_valid, "test_start": t_test, **base_protocol_params(weights, min_user_positives)}
    protocol = Protocol(name or "global-time", "global-time", params, None)
    return _finish(prep, pair_part, protocol, temporal="global", time_cuts=(t_valid, t_test))


def cold_item_split(
    log: InteractionLog,
    cold_fraction: float = 0.1,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    *,
    seed: int = 2020,
    weights: EventWeights | None = None,
    min_user_positives: int = 1,
    name: str | None = None,
) -> Split:
    """Hold out ``cold_fraction`` of the items that have positives (seeded): all
    their events go to test, and they are ranking candidates although nobody
    trained on them. The remaining pairs are split per user by ``ratios`` in
    random order."""
    if not 0 < cold_fraction < 1:
        raise ValueError(f"cold_fraction must be in (0, 1), got {cold_fraction!r}")
    weights = weights or EventWeights()
    ratios = _normalise_ratios(tuple(ratios))
    prep = _prepare(log, weights, min_user_positives)
    rng = np.random.default_rng(seed)
    items_with_positives = np.unique(prep.pair_item)
    n_cold = max(1, int(round(cold_fraction * len(items_with_positives))))
    cold = np.sort(rng.choice(items_with_positives, size=n_cold, replace=False))
    is_cold = np.isin(prep.pair_item, cold)
    pair_part = np.full(len(prep.pair_item), _TEST, dtype=np.int64)
    warm = np.flatnonzero(~is_cold)
    pair_part[warm] = _ratio_parts(prep, warm, ratios, "random", rng)
    params = {
        "cold_fraction": cold_fraction,
        "ratios": list(ratios),
        **base_protocol_params(weights, min_user_positives),
    }
    protocol = Protocol(name or f"cold-item-{cold_fraction:g}", "cold-item", params, seed)
    return _finish(prep, pair_part, protocol, temporal="none", cold_item_codes=cold)


def given_split(
    log: InteractionLog,
    part: np.ndarray,
    *,
    name: str,
    weights: EventWeights | None = None,
    params: Mapping[str, Any] | None = None,
) -> Split:
    """Wrap a split that came with the data (e.g. LightGCN's train.txt / test.txt).

    Args:
        part: ``(n_events,)`` array of ``"train"``/``"valid"``/``"test"`` per interaction row.
    """
    part = np.asarray(part)
    if part.shape != (len(log),):
        raise ValueError(f"part must have shape ({len(log)},), got {part.shape}")
    codes = pd.Index(PARTS).get_indexer(part)
    if (codes < 0).any():
        raise ValueError(f"part values must be in {PARTS}; found {sorted(set(part[codes < 0].tolist()))[:3]}")
    weights = weights or EventWeights()
    prep = _prepare(log, weights, 1)
    # a given split assigns events directly: each pair takes its events' part (first positive event wins)
    pos = np.flatnonzero(prep.positive)
    conflict = pd.DataFrame({"pair": prep.event_pair[pos], "part": codes[pos]}).groupby("pair")["part"].nunique()
    if (conflict > 1).any():
        bad_pairs = set(conflict.index[conflict > 1])
        rows = pos[np.isin(prep.event_pair[pos], list(bad_pairs))]
        raise DataError(
            f"{log.source}: {len(bad_pairs)} (user, item) pairs have positive events in more than one part (e.g. rows "
            f"{', '.join(map(str, rows[:3]))}); a pair belongs to one part"
        )
    pair_of_pos, first = np.unique(prep.event_pair[pos], return_index=True)
    pair_part = np.full(len(prep.pair_user), _TRAIN, dtype=np.int64)
    pair_part[pair_of_pos] = codes[pos[first]]
    protocol = Protocol(name, "given", {**(params or {}), **base_protocol_params(weights, 1)}, None)
    split = _finish(prep, pair_part, protocol, temporal="none")
    inter = split.log.interactions
    off_pair = prep.event_pair < 0
    if off_pair.any():
        labels = inter["part"].cat.codes.to_numpy().copy()
        labels[off_pair] = codes[off_pair]
        split = dataclasses.replace(
            split, log=dataclasses.replace(split.log, interactions=inter.assign(part=part_column(labels)))
        )
    return split
