"""One user's ego interest graph as data: nodes, edges and the recommendation paths through them.

Node roles:

- ``user``: the user;
- ``interest``: their top interests by ``w(v|u)`` (``value`` = ``w(v|u)``);
- ``item``: their training items behind those interests (``value`` = the user–item edge weight);
- ``recommendation``: the model's top-K items (``value`` = the exact path score);
- ``other``: nodes that appear only on a recommendation's explanation paths
  (other users, other people's items, interests outside the top).

Edges carry their graph ``kind`` (``user-interest``, ``user-item``, ``item-interest``,
``interest-interest``, ``item-item``), the graph's ``weight`` (for path edges: the
model's frozen walk weight ``W``) and ``paths``: the ranks of the recommendations whose
shown explanation paths use the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .source import ViewSource

ROLES = ("user", "interest", "item", "recommendation", "other")


@dataclass
class ViewLimits:
    """How much of a heavy user's graph to draw.

    Attributes:
        interests: top interests by ``w(v|u)`` (>= 1).
        items_per_interest: the user's items shown behind each interest (by user weight × item–interest weight).
        recommendations: top-K recommendations (needs a model; 0 draws none).
        paths_per_recommendation: explanation walks drawn per recommendation, largest contribution first.
        similarity_edges: draw interest–interest similarity edges among the shown interests.
        max_nodes: cap on all nodes; the weakest items not on any drawn path are dropped first.
        radius: how many rings around the user: 1 the interests only, 2 also the items behind them,
            3 also the recommendations and their paths.
    """

    interests: int = 8
    items_per_interest: int = 3
    recommendations: int = 5
    paths_per_recommendation: int = 3
    similarity_edges: bool = True
    max_nodes: int = 120
    radius: int = 3

    def __post_init__(self) -> None:
        for name, minimum in (
            ("interests", 1),
            ("items_per_interest", 0),
            ("recommendations", 0),
            ("paths_per_recommendation", 1),
            ("max_nodes", 2),
            ("radius", 1),
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if self.radius > 3:
            raise ValueError(
                f"radius must be 1 (interests), 2 (and their items) or 3 (and recommendations), got {self.radius}"
            )


@dataclass
class EgoGraph:
    """The drawn graph of one user (see the module docstring for roles and edges).

    Attributes:
        user: the user's ID.
        nodes: ``key`` (``"<type>:<id>"``), ``type`` (user / item / interest), ``id``, ``role``, ``label``, ``value``,
        ``details`` (dict).
        edges: ``source``, ``target`` (node keys), ``kind``, ``weight``, ``paths`` (list of recommendation ranks).
        recommendations: one dict per recommendation: ``rank``, ``key``, ``item``, ``title``, ``score``, ``n_paths``,
            ``paths`` (``[{"nodes": [keys], "contribution"}]``), ``reasons`` (``[{"reason", "contribution"}]``, top 3
            interests).
        notes: what the page says about what is missing or cut.
    """

    user: Any
    nodes: pd.DataFrame
    edges: pd.DataFrame
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _key(node_type: str, node_id) -> str:
    return f"{node_type}:{node_id}"


class _Builder:
    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str, str], dict[str, Any]] = {}

    def node(self, node_type: str, node_id, role: str, label: str, value: float = 0.0, **details) -> str:
        key = _key(node_type, node_id)
        if key not in self.nodes:
            self.nodes[key] = {
                "key": key,
                "type": node_type,
                "id": str(node_id),
                "role": role,
                "label": str(label),
                "value": float(value),
                "details": dict(details),
            }
        else:
            entry = self.nodes[key]
            entry["details"].update(details)
            if role == "recommendation":  # an item first met on another recommendation's path
                entry.update(role=role, value=float(value), label=str(label))
        return key

    def edge(self, a: str, b: str, kind: str, weight: float, path: int | None = None) -> None:
        ends = (a, b) if a <= b else (b, a)
        entry = self.edges.setdefault(
            (*ends, kind), {"source": a, "target": b, "kind": kind, "weight": float(weight), "paths": []}
        )
        if path is not None and path not in entry["paths"]:
            entry["paths"].append(path)


def ego_graph(source: ViewSource, user, limits: ViewLimits | None = None) -> EgoGraph:
    """The drawn ego graph of ``user`` (an ID or its string form).

    Raises:
        KeyError: the user is not in the graph.
    """
    limits = limits if limits is not None else ViewLimits()
    graph = source.graph
    u = source.user_code(user)
    user_id = graph.users[u]
    labels = graph.interests["label"].astype(str).to_numpy()
    titles = (
        graph.split.log.items["title"].astype(str).to_numpy()
        if "title" in graph.split.log.items.columns
        else graph.items.astype(str).to_numpy()
    )
    b = _Builder()

    ui = graph.edges["user-interest"]
    mine = ui[ui["src"] == u]
    top = mine.sort_values("weight", ascending=False, kind="stable").head(limits.interests)
    user_items = graph.edges["user-item"]
    user_items = user_items[user_items["src"] == u]
    me = b.node(
        "user",
        user_id,
        "user",
        f"user {user_id}",
        1.0,
        **{"training items": int(len(user_items)), "interests with w(v|u) > 0": int(len(mine))},
    )
    for v, w in zip(top["dst"].to_numpy(), top["weight"].to_numpy()):
        key = b.node(
            "interest",
            labels[v],
            "interest",
            labels[v],
            float(w),
            **{"w(v|u)": round(float(w), 4), "items with it": int(graph.interests["support_items"].iat[v])},
        )
        b.edge(me, key, "user-interest", float(w))

    shown = set(top["dst"].tolist())
    item_weight = dict(zip(user_items["dst"].tolist(), user_items["weight"].tolist()))
    if limits.items_per_interest and shown and limits.radius >= 2:
        ii = graph.edges["item-interest"]
        behind = ii[ii["dst"].isin(shown) & ii["src"].isin(item_weight.keys())].copy()
        behind["rank_by"] = behind["weight"].to_numpy() * behind["src"].map(item_weight).to_numpy()
        behind = (
            behind.sort_values(["dst", "rank_by"], ascending=[True, False], kind="stable")
            .groupby("dst")
            .head(limits.items_per_interest)
        )
        for j, v, w in zip(behind["src"].to_numpy(), behind["dst"].to_numpy(), behind["weight"].to_numpy()):
            key = b.node(
                "item",
                graph.items[j],
                "item",
                titles[j] or graph.items[j],
                item_weight[j],
                **{"your weight": round(float(item_weight[j]), 4)},
            )
            b.edge(key, _key("interest", labels[v]), "item-interest", float(w))
            b.edge(me, key, "user-item", float(item_weight[j]))

    if limits.similarity_edges and len(shown) > 1 and "interest-interest" in graph.edges:
        sim = graph.edges["interest-interest"]
        sim = sim[sim["src"].isin(shown) & sim["dst"].isin(shown)]
        for s, t, w in zip(sim["src"].to_numpy(), sim["dst"].to_numpy(), sim["weight"].to_numpy()):
            b.edge(_key("interest", labels[s]), _key("interest", labels[t]), "interest-interest", float(w))

    recommendations: list[dict[str, Any]] = []
    notes: list[str] = []
    if source.model is None:
        notes.append(
            "Recommendations need a trained model: this page shows the graph's interests and items only (interestgraph "
            "train, then show the model directory)."
        )
    elif limits.radius < 3:
        notes.append(f"radius={limits.radius}: recommendations and their paths are not drawn (radius 3 draws them)")
    elif limits.recommendations:
        recommendations = _recommendation_paths(source.model, user_id, limits, b)
    notes += _cap(b, limits.max_nodes)
    nodes = pd.DataFrame(list(b.nodes.values()), columns=["key", "type", "id", "role", "label", "value", "details"])
    edges = pd.DataFrame(list(b.edges.values()), columns=["source", "target", "kind", "weight", "paths"])
    return EgoGraph(user=user_id, nodes=nodes, edges=edges, recommendations=recommendations, notes=notes)


def _recommendation_paths(model, user_id, limits: ViewLimits, b: _Builder) -> list[dict[str, Any]]:
    from ..recommend import explain, recommend

    table = recommend(model, [user_id], k=limits.recommendations)
    out = []
    for rank, row in enumerate(table.itertuples(index=False), 1):
        why = explain(model, user_id, row.item_id, top=limits.paths_per_recommendation)
        key = b.node(
            "item",
            row.item_id,
            "recommendation",
            row.title,
            float(why.score),
            rank=rank,
            score=round(float(why.score), 6),
            walks=int(why.n_paths),
        )
        paths = []
        for step in why.paths:
            keys = [
                b.node(n["type"], n["id"], "other", f"user {n['label']}" if n["type"] == "user" else n["label"])
                for n in step.nodes
            ]
            for a, c, kind, w in zip(keys, keys[1:], step.edges, step.weights):
                b.edge(a, c, kind, float(w), path=rank)
            paths.append({"nodes": keys, "contribution": float(step.contribution)})
        reasons = [
            {"reason": str(r), "contribution": float(c)} for r, c, _ in why.by_interest.head(3).itertuples(index=False)
        ]
        out.append(
            {
                "rank": rank,
                "key": key,
                "item": str(row.item_id),
                "title": str(row.title),
                "score": float(why.score),
                "n_paths": int(why.n_paths),
                "paths": paths,
                "remainder": float(why.remainder),
                "reasons": reasons,
            }
        )
    return out


def _cap(b: _Builder, max_nodes: int) -> list[str]:
    """Drop the weakest items that are on no drawn path until at most ``max_nodes`` remain."""
    excess = len(b.nodes) - max_nodes
    if excess <= 0:
        return []
    on_path = {k for e in b.edges.values() if e["paths"] for k in (e["source"], e["target"])}
    droppable = sorted(
        (n for n in b.nodes.values() if n["role"] == "item" and n["key"] not in on_path), key=lambda n: n["value"]
    )[:excess]
    gone = {n["key"] for n in droppable}
    for key in gone:
        del b.nodes[key]
    b.edges = {k: e for k, e in b.edges.items() if e["source"] not in gone and e["target"] not in gone}
    note = f"{len(gone)} of the user's weakest items not on a drawn path are hidden (max_nodes={max_nodes})"
    return [note] if gone else []
