"""How well a graph (or a model's interest scores) recovers the interests planted in a synthetic log.

The synthetic generator (:func:`interestgraph.data.generate_synthetic`) knows each user's true interests
(:class:`~interestgraph.data.synthetic.generator.PlantedTruth`); :func:`planted_recovery` measures how many of
them a ranking of interests per user puts in its top ``top``. It is an evaluation against ground truth, like the
ranking metrics beside it, so it lives here and not in the CLI: the ``demo`` verb and
``benchmarks/planted_recovery.py`` both call it.

It reads the graph through its public attributes only (``interests``, ``edges``, ``users``,
``reference_time``), so this module imports no other layer.
"""

from __future__ import annotations

import numpy as np

__all__ = ["planted_recovery"]


def planted_recovery(graph, truth, top: int = 10, scores: np.ndarray | None = None) -> dict[str, float]:
    """Share of users whose strongest planted interest is in their top-``top`` interests, and share of all
    planted interests (active at the decay reference time) that are.

    Args:
        graph: an :class:`~interestgraph.graph.InterestGraph` built from the synthetic log.
        truth: the log's planted truth (``interests_of(user, at=...)``, strongest first).
        top: interests per user that count as found.
        scores: ``(n_users, n_interests)`` how much each user is taken to care about each interest (a trained
            model's :meth:`~interestgraph.model.InterestGraphModel.interest_scores`); None ranks by the graph's
            ``w(v|u)`` edges.

    Returns:
        ``{"strongest_in_top10": ..., "planted_in_top10": ...}``, both in ``[0, 1]`` (the keys keep their
        historical names whatever ``top`` is).
    """
    lookup = {label: k for k, label in enumerate(graph.interests["label"])}
    if scores is None:
        table = graph.edges["user-interest"].sort_values(["src", "weight"], ascending=[True, False], kind="stable")
        tops = table.groupby("src").head(top).groupby("src")["dst"].apply(set)
    else:
        order = np.argsort(-np.asarray(scores), axis=1, kind="stable")[:, :top]
        tops = {u: set(row.tolist()) for u, row in enumerate(order)}
    strongest = planted = found = 0
    for code, user in enumerate(graph.users):
        codes = [lookup[p] for p in truth.interests_of(user, at=graph.reference_time) if p in lookup]
        mine = tops.get(code, set())
        strongest += bool(codes) and codes[0] in mine
        found += sum(c in mine for c in codes)
        planted += len(codes)
    return {"strongest_in_top10": strongest / max(len(graph.users), 1), "planted_in_top10": found / max(planted, 1)}
