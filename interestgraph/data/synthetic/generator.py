"""The embedded default: a synthetic behaviour log with planted interests.

A fresh install can run every stage without downloading anything, and tests
can check later stages against a known truth. The generator draws:

* **a catalog** from the built-in taxonomy (:mod:`.taxonomy`: domains ->
  clusters of related interests -> interests with synonyms and keywords).
  Each item has a primary interest and 0-2 more, mostly from the same
  cluster; its ``tags`` list names them (sometimes by a synonym, as people
  do), ``categories`` holds its domain and cluster, and its title and
  description are written from the interests' keywords. Item popularity is
  Zipf-skewed.
* **users** with 2-4 planted interests (weights from a Dirichlet), often
  related to each other. A share of users *drift*: at a time inside their
  active window one interest is replaced by another, often a related one.
* **events**: each event picks, with probability ``1 - noise``, one of the
  user's interests active at that time and an item carrying it (by
  popularity), else a popular item at random (noise). The event type is
  drawn from ``event_mix``; ratings and reviews are high on planted items
  and spread out on noise; tags name an interest of the item; queries are
  written from the interest's name, synonyms and keywords.

Sampling is vectorised over events (Python loops run over interests and
items, and over the text events only to write their text) and deterministic
given ``seed``; one million events take about 5 s on one core.

:class:`PlantedTruth` returns what was planted: each user's interests with
their weights and active time windows, each item's interests, and the
taxonomy (clusters = related interests, synonyms).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...progress import progress
from ..schema import InteractionLog
from . import taxonomy as tx

DEFAULT_EVENT_MIX: dict[str, float] = {
    "view": 0.50,
    "click": 0.20,
    "rating": 0.12,
    "purchase": 0.07,
    "tag": 0.05,
    "query": 0.04,
    "review": 0.02,
}


@dataclass(frozen=True)
class SyntheticConfig:
    """Size and shape of a synthetic log (all counts exact, all draws seeded).

    Attributes:
        n_users, n_items, n_interactions: table sizes (events, not pairs).
        domains: taxonomy domains to use (None: all).
        interests_per_user: inclusive range of planted interests per user.
        extra_item_interests: inclusive range of interests per item beyond the primary.
        related_prob: chance that an extra user/item interest comes from the same cluster.
        synonym_prob: chance that an item's tag is written as a synonym.
        drift_fraction: share of users whose interests drift once.
        noise: share of events on a random popular item instead of a planted interest.
        popularity_skew: Zipf exponent of item popularity (0 = uniform).
        activity_sigma: log-normal spread of events per user.
        min_events_per_user: every user gets at least this many events.
        start: first day of the log (ISO date, UTC); days: length of the log.
        event_mix: probability of each event type.
        seed: the random seed.
    """

    n_users: int = 1000
    n_items: int = 2000
    n_interactions: int = 50_000
    domains: tuple[str, ...] | None = None
    interests_per_user: tuple[int, int] = (2, 4)
    extra_item_interests: tuple[int, int] = (0, 2)
    related_prob: float = 0.7
    synonym_prob: float = 0.3
    drift_fraction: float = 0.4
    noise: float = 0.15
    popularity_skew: float = 0.8
    activity_sigma: float = 0.8
    min_events_per_user: int = 8
    start: str = "2024-01-01"
    days: int = 365
    event_mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_MIX))
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_users", "n_items", "n_interactions", "days", "min_events_per_user"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("activity_sigma", "popularity_skew"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        try:
            first_day = pd.Timestamp(self.start, tz="UTC")
        except (ValueError, TypeError):
            raise ValueError(f"start must be an ISO date like '2024-01-01', got {self.start!r}") from None
        if (first_day + pd.Timedelta(days=self.days)).timestamp() > time.time():
            raise ValueError(
                f"start ({self.start}) plus days ({self.days}) reaches into the future; logs record the past"
            )
        if self.domains is not None and len(self.domains) == 0:
            raise ValueError("domains must name at least one domain, or be None for all")
        if self.n_interactions < self.n_users * self.min_events_per_user:
            raise ValueError(
                f"n_interactions ({self.n_interactions}) must be >= n_users * min_events_per_user "
                f"({self.n_users * self.min_events_per_user})"
            )
        lo, hi = self.interests_per_user
        if not 1 <= lo <= hi:
            raise ValueError(f"interests_per_user must be (lo, hi) with 1 <= lo <= hi, got {self.interests_per_user!r}")
        lo, hi = self.extra_item_interests
        if not 0 <= lo <= hi:
            raise ValueError(
                f"extra_item_interests must be (lo, hi) with 0 <= lo <= hi, got {self.extra_item_interests!r}"
            )
        for name in ("related_prob", "synonym_prob", "drift_fraction", "noise"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        unknown = set(self.event_mix) - set(_EVENT_MAKERS)
        if unknown:
            raise ValueError(f"event_mix has unknown event types {sorted(unknown)}; known: {sorted(_EVENT_MAKERS)}")
        if not self.event_mix or any(p < 0 for p in self.event_mix.values()) or sum(self.event_mix.values()) <= 0:
            raise ValueError(
                f"event_mix must have non-negative probabilities with a positive sum, got {dict(self.event_mix)!r}"
            )
        if self.domains is not None:
            known = {d.name for d in tx.DOMAINS}
            bad = [d for d in self.domains if d not in known]
            if bad:
                raise ValueError(f"domains has unknown names {bad}; known: {sorted(known)}")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["event_mix"] = dict(self.event_mix)
        return data


@dataclass(frozen=True, eq=False)
class PlantedTruth:
    """What the generator planted.

    Attributes:
        user_interests: one row per (user, interest, phase): ``user_id``,
            ``interest``, ``weight`` (sums to 1 per user and time), ``start``
            and ``end`` (Unix seconds; the interest is active in [start, end)).
        item_interests: ``item_id``, ``interest``, ``primary`` (bool).
        interests: the taxonomy used: ``interest``, ``domain``, ``cluster``,
            ``synonyms`` (list), ``keywords`` (list).
        drift_time: per drifting user, the time of the drift (``user_id`` -> seconds).
    """

    user_interests: pd.DataFrame
    item_interests: pd.DataFrame
    interests: pd.DataFrame
    drift_time: pd.Series

    def interests_of(self, user_id: str, at: int | None = None) -> list[str]:
        """A user's planted interests, strongest first; at time ``at`` (seconds) or over the whole log."""
        rows = self.user_interests[self.user_interests["user_id"] == user_id]
        if at is not None:
            rows = rows[(rows["start"] <= at) & (at < rows["end"])]
        rows = rows.groupby("interest", sort=False)["weight"].max().sort_values(ascending=False, kind="stable")
        return rows.index.tolist()

    def related(self, interest: str) -> list[str]:
        """Interests in the same taxonomy cluster (excluding ``interest`` itself)."""
        table = self.interests.set_index("interest")
        cluster = table.loc[interest, "cluster"]
        return [name for name in table.index[table["cluster"] == cluster] if name != interest]


@dataclass(frozen=True, eq=False)
class SyntheticData:
    """A synthetic log and the truth planted in it."""

    log: InteractionLog
    truth: PlantedTruth
    config: SyntheticConfig

    def save(self, directory, *, overwrite: bool = False):
        """Write the log as a dataset directory with the truth as ``truth_*.parquet`` tables
        and the configuration in the manifest; returns the path."""
        from ..storage import save_dataset

        tables = {
            "truth_user_interests": self.truth.user_interests,
            "truth_item_interests": self.truth.item_interests,
            "truth_interests": self.truth.interests,
        }
        return save_dataset(
            self.log,
            directory,
            overwrite=overwrite,
            tables=tables,
            metadata={"synthetic_config": self.config.to_dict()},
        )


# --------------------------------------------------------------------------- helpers


class _Taxonomy:
    """Flat arrays over the chosen domains' interests."""

    def __init__(self, domains: Sequence[str] | None):
        rows = [(d, c, i) for d, c, i in tx.all_interests() if domains is None or d in domains]
        self.domain_of = {d.name: d for d in tx.DOMAINS}
        self.names = np.array([i.name for _, _, i in rows], dtype=object)
        self.interest = [i for _, _, i in rows]
        self.domain = np.array([d for d, _, _ in rows], dtype=object)
        self.cluster = np.array([c for _, c, _ in rows], dtype=object)
        _, self.cluster_code = np.unique(self.cluster, return_inverse=True)
        _, self.domain_code = np.unique(self.domain, return_inverse=True)
        self.by_cluster = [np.flatnonzero(self.cluster_code == c) for c in range(self.cluster_code.max() + 1)]
        self.by_domain = [np.flatnonzero(self.domain_code == d) for d in range(self.domain_code.max() + 1)]

    def __len__(self) -> int:
        return len(self.names)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "interest": self.names.tolist(),
                "domain": self.domain.tolist(),
                "cluster": self.cluster.tolist(),
                "synonyms": [list(i.synonyms) for i in self.interest],
                "keywords": [list(i.keywords) for i in self.interest],
            }
        )


def _pick_related(
    rng: np.random.Generator, tax: _Taxonomy, first: int, count: int, related_prob: float, exclude: set[int]
) -> list[int]:
    """``count`` more interests near ``first``: same cluster with ``related_prob``, else same domain, else anywhere."""
    chosen: list[int] = []
    for _ in range(count):
        pools = [tax.by_cluster[tax.cluster_code[first]]] if rng.random() < related_prob else []
        pools += [tax.by_domain[tax.domain_code[first]], np.arange(len(tax))]
        for pool in pools:
            options = [p for p in pool if p not in exclude and p not in chosen]
            if options:
                chosen.append(int(rng.choice(options)))
                break
    return chosen


def _title_case(word: str) -> str:
    return word[:1].upper() + word[1:]


def _make_items(
    rng: np.random.Generator, tax: _Taxonomy, cfg: SyntheticConfig
) -> tuple[pd.DataFrame, list[list[int]], np.ndarray]:
    """Catalog, each item's interest codes (primary first) and popularity (sums to 1)."""
    n = cfg.n_items
    width = len(str(n))
    ids = np.array([f"i{k:0{width}d}" for k in range(1, n + 1)], dtype=object)
    # interests themselves have a popularity (some topics are mainstream)
    interest_pop = rng.dirichlet(np.full(len(tax), 2.0))
    primary = rng.choice(len(tax), size=n, p=interest_pop)
    lo, hi = cfg.extra_item_interests
    n_extra = rng.integers(lo, hi + 1, size=n)
    item_interests: list[list[int]] = []
    titles, descriptions, tags, categories = [], [], [], []
    for k in range(n):
        codes = [int(primary[k])] + _pick_related(
            rng, tax, int(primary[k]), int(n_extra[k]), cfg.related_prob, {int(primary[k])}
        )
        item_interests.append(codes)
        interests = [tax.interest[c] for c in codes]
        domain = tax.domain_of[tax.domain[codes[0]]]
        words = [w for i in interests for w in i.keywords]
        noun, noun2 = rng.choice(interests[0].keywords), rng.choice(words)
        template = str(rng.choice(domain.title_templates))
        titles.append(
            template.format(Adj=rng.choice(domain.adjectives), Noun=_title_case(noun), Noun2=_title_case(noun2))
        )
        if len(interests) > 1:
            second = interests[1]
        else:  # a one-interest item is described next to a sibling from its cluster
            siblings = [c for c in tax.by_cluster[tax.cluster_code[codes[0]]] if c != codes[0]] or [codes[0]]
            second = tax.interest[int(rng.choice(siblings))]
        descriptions.append(
            str(rng.choice(tx.DESCRIPTION_TEMPLATES)).format(
                noun=domain.item_noun,
                interest=interests[0].name,
                interest2=second.name,
                keyword=rng.choice(interests[0].keywords),
                keyword2=rng.choice(second.keywords),
            )
        )
        labels = []
        for interest in interests:
            use_synonym = interest.synonyms and rng.random() < cfg.synonym_prob
            labels.append(str(rng.choice(interest.synonyms)) if use_synonym else interest.name)
        tags.append(labels)
        categories.append([domain.name, str(tax.cluster[codes[0]])])
    rank = rng.permutation(n)
    popularity = (rank + 1.0) ** -cfg.popularity_skew
    popularity /= popularity.sum()
    catalog = pd.DataFrame(
        {"item_id": ids, "title": titles, "description": descriptions, "categories": categories, "tags": tags}
    )
    return catalog, item_interests, popularity


def _user_plan(
    rng: np.random.Generator, tax: _Taxonomy, cfg: SyntheticConfig, interest_pop: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per user: interest codes before / after drift and their weights, shape ``(n_users, K)``, -1 padded.

    Only interests with ``interest_pop > 0`` (those some item carries) are planted."""
    blocked = set(np.flatnonzero(interest_pop <= 0).tolist())
    lo, hi = cfg.interests_per_user
    k_max = hi
    before = np.full((cfg.n_users, k_max), -1, dtype=np.int64)
    after = np.full((cfg.n_users, k_max), -1, dtype=np.int64)
    weights = np.zeros((cfg.n_users, k_max))
    drifts = rng.random(cfg.n_users) < cfg.drift_fraction
    counts = rng.integers(lo, hi + 1, size=cfg.n_users)
    firsts = rng.choice(len(tax), size=cfg.n_users, p=interest_pop)
    for u in range(cfg.n_users):
        k = int(counts[u])
        codes = [int(firsts[u])] + _pick_related(
            rng, tax, int(firsts[u]), k - 1, cfg.related_prob * 0.6, {int(firsts[u])} | blocked
        )
        before[u, : len(codes)] = codes
        weights[u, : len(codes)] = rng.dirichlet(np.full(len(codes), 3.0))
        after[u] = before[u]
        if drifts[u]:
            slot = int(rng.integers(len(codes)))
            new = _pick_related(rng, tax, codes[slot], 1, 0.5, set(codes) | blocked)
            if new:
                after[u, slot] = new[0]
            else:  # no interest left to move to: this user does not drift after all
                drifts[u] = False
    return before, after, weights, drifts


def _sample_from_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column index per row of a non-negative ``(n, K)`` weight matrix."""
    cum = np.cumsum(weights, axis=1)
    draw = rng.random(len(weights)) * cum[:, -1]
    return (cum <= draw[:, None]).sum(axis=1).clip(max=weights.shape[1] - 1)


def _rating(rng: np.random.Generator, planted: np.ndarray) -> np.ndarray:
    liked = rng.choice([3.0, 4.0, 4.5, 5.0], size=len(planted), p=[0.12, 0.38, 0.2, 0.3])
    random = rng.choice([1.0, 2.0, 3.0, 3.5, 4.0, 5.0], size=len(planted), p=[0.15, 0.25, 0.3, 0.1, 0.12, 0.08])
    return np.where(planted, liked, random)


def _text_tag(rng, tax, interest_codes, planted, item_codes, item_interests, cfg):
    out = []
    for code, is_planted, item in zip(interest_codes, planted, item_codes):
        if not is_planted:
            code = item_interests[item][int(rng.integers(len(item_interests[item])))]
        interest = tax.interest[code]
        use_synonym = interest.synonyms and rng.random() < cfg.synonym_prob
        out.append(str(rng.choice(interest.synonyms)) if use_synonym else interest.name)
    return out


def _text_query(rng, tax, interest_codes, planted, item_codes, item_interests, cfg):
    out = []
    for code, is_planted, item in zip(interest_codes, planted, item_codes):
        if not is_planted:
            code = item_interests[item][0]
        interest = tax.interest[code]
        noun = tax.domain_of[tax.domain[code]].item_noun
        forms = (interest.name, *interest.synonyms)
        out.append(
            str(rng.choice(tx.QUERY_TEMPLATES)).format(
                interest=rng.choice(forms), keyword=rng.choice(interest.keywords), noun=noun
            )
        )
    return out


def _text_review(rng, tax, interest_codes, planted, item_codes, item_interests, cfg):
    out = []
    for item in item_codes:
        code = item_interests[item][0]
        interest = tax.interest[code]
        noun = tax.domain_of[tax.domain[code]].item_noun
        out.append(
            str(rng.choice(tx.REVIEW_TEMPLATES)).format(
                noun=noun, keyword=rng.choice(interest.keywords), interest=interest.name
            )
        )
    return out


# event type -> text maker (None: no text)
_EVENT_MAKERS = {
    "view": None,
    "click": None,
    "purchase": None,
    "rating": None,
    "tag": _text_tag,
    "query": _text_query,
    "review": _text_review,
}


def generate_synthetic(config: SyntheticConfig | None = None, **overrides: Any) -> SyntheticData:
    """Generate a synthetic log with planted interests (see the module docstring).

    Args:
        config: the configuration; keyword ``overrides`` replace its fields
            (``generate_synthetic(n_users=200, seed=1)``).

    Returns:
        :class:`SyntheticData` with the validated :class:`InteractionLog`
        (string IDs ``u0001`` / ``i0001``; catalog fields ``title``,
        ``description``, ``categories``, ``tags``) and the :class:`PlantedTruth`.
    """
    cfg = dataclasses.replace(config or SyntheticConfig(), **overrides)
    bar = progress(total=5, desc="synthetic log", unit="stage")
    bar.set_postfix_str("catalog")
    rng = np.random.default_rng(cfg.seed)
    tax = _Taxonomy(cfg.domains)
    catalog, item_interests, popularity = _make_items(rng, tax, cfg)
    bar.update()
    bar.set_postfix_str("users")

    # items per interest, with within-interest sampling probabilities by popularity
    carriers: list[list[int]] = [[] for _ in range(len(tax))]
    for item, codes in enumerate(item_interests):
        for code in codes:
            carriers[code].append(item)
    interest_pop = np.array([popularity[c].sum() if c else 0.0 for c in carriers]) + 1e-12
    interest_pop /= interest_pop.sum()
    user_interest_pop = np.where([len(c) > 0 for c in carriers], interest_pop, 0.0)
    user_interest_pop /= user_interest_pop.sum()
    before, after, weights, drifts = _user_plan(rng, tax, cfg, user_interest_pop)
    bar.update()
    bar.set_postfix_str("events")

    # events per user: log-normal activity, at least min_events_per_user, exact total
    n_users = cfg.n_users
    activity = rng.lognormal(0.0, cfg.activity_sigma, size=n_users)
    spare = cfg.n_interactions - n_users * cfg.min_events_per_user
    per_user = cfg.min_events_per_user + rng.multinomial(spare, activity / activity.sum())
    user = np.repeat(np.arange(n_users), per_user)
    n = len(user)

    # time: each user is active in a window inside the log
    t0 = int(pd.Timestamp(cfg.start, tz="UTC").timestamp())
    span = cfg.days * 86_400
    win_start = rng.uniform(0, 0.6, size=n_users) * span
    win_len = rng.uniform(0.2, 1.0, size=n_users) * (span - win_start)
    stamp = t0 + (win_start[user] + rng.random(n) * win_len[user]).astype(np.int64)
    drift_at = t0 + (win_start + rng.uniform(0.3, 0.7, size=n_users) * win_len).astype(np.int64)

    # which interest drives each event (by the user's interests at that time)
    late = drifts[user] & (stamp >= drift_at[user])
    codes_now = np.where(late[:, None], after[user], before[user])
    slot = _sample_from_rows(rng, weights[user] * (codes_now >= 0))
    interest = codes_now[np.arange(n), slot]
    planted = rng.random(n) >= cfg.noise

    item = np.empty(n, dtype=np.int64)
    noise_rows = np.flatnonzero(~planted)
    item[noise_rows] = rng.choice(cfg.n_items, size=len(noise_rows), p=popularity)
    planted_rows = np.flatnonzero(planted)
    order = planted_rows[np.argsort(interest[planted_rows], kind="stable")]
    bounds = np.searchsorted(interest[order], np.arange(len(tax) + 1))
    for code in range(len(tax)):
        rows = order[bounds[code] : bounds[code + 1]]
        if len(rows):
            pool = np.asarray(carriers[code])
            p = popularity[pool] / popularity[pool].sum()
            item[rows] = pool[rng.choice(len(pool), size=len(rows), p=p)]

    bar.update()
    bar.set_postfix_str("text")
    # event types, values and text
    names = list(cfg.event_mix)
    probs = np.array([cfg.event_mix[e] for e in names], dtype=float)
    event_code = rng.choice(len(names), size=n, p=probs / probs.sum())
    event = np.array(names, dtype=object)[event_code]
    value = np.ones(n)
    is_rated = np.isin(event, ["rating", "review"])
    value[is_rated] = _rating(rng, planted[is_rated])
    buys = event == "purchase"
    value[buys] = rng.choice([1.0, 2.0], size=int(buys.sum()), p=[0.85, 0.15])
    text = np.full(n, None, dtype=object)
    for name, maker in _EVENT_MAKERS.items():
        rows = np.flatnonzero(event == name)
        if maker is not None and len(rows):
            text[rows] = maker(rng, tax, interest[rows], planted[rows], item[rows], item_interests, cfg)

    bar.update()
    bar.set_postfix_str("validate")
    width = len(str(n_users))
    user_ids = np.array([f"u{k:0{width}d}" for k in range(1, n_users + 1)], dtype=object)
    item_ids = catalog["item_id"].to_numpy()
    order = np.lexsort((user, stamp))
    interactions = pd.DataFrame(
        {
            "user_id": user_ids[user[order]],
            "item_id": item_ids[item[order]],
            "timestamp": stamp[order],
            "event": event[order],
            "value": value[order],
            "text": text[order],
        }
    )
    log = InteractionLog.from_frames(
        interactions,
        catalog,
        interest_fields=("categories", "tags"),
        text_fields=("title", "description"),
        duplicates="keep",
        source=f"synthetic(seed={cfg.seed}, users={cfg.n_users}, items={cfg.n_items}, events={cfg.n_interactions})",
    )
    truth = _truth(tax, cfg, user_ids, item_ids, item_interests, before, after, weights, drifts, drift_at, t0, span)
    bar.update()
    bar.close()
    return SyntheticData(log=log, truth=truth, config=cfg)


def _truth(
    tax, cfg, user_ids, item_ids, item_interests, before, after, weights, drifts, drift_at, t0, span
) -> PlantedTruth:
    end_of_log = t0 + span + 1
    rows = []
    for u in range(len(user_ids)):
        for k in range(before.shape[1]):
            if before[u, k] < 0:
                continue
            w = float(weights[u, k])
            if drifts[u] and after[u, k] != before[u, k]:
                rows.append((user_ids[u], tax.names[before[u, k]], w, t0, int(drift_at[u])))
                rows.append((user_ids[u], tax.names[after[u, k]], w, int(drift_at[u]), end_of_log))
            else:
                rows.append((user_ids[u], tax.names[before[u, k]], w, t0, end_of_log))
    user_interests = pd.DataFrame(rows, columns=["user_id", "interest", "weight", "start", "end"])
    item_rows = [
        (item_ids[i], tax.names[c], j == 0) for i, codes in enumerate(item_interests) for j, c in enumerate(codes)
    ]
    item_table = pd.DataFrame(item_rows, columns=["item_id", "interest", "primary"])
    drift_time = pd.Series(drift_at[drifts], index=pd.Index(user_ids[drifts], name="user_id"), name="drift_time")
    return PlantedTruth(
        user_interests=user_interests, item_interests=item_table, interests=tax.frame(), drift_time=drift_time
    )
