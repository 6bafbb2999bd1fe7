"""``show_user`` and ``interest_timeline``: the analyst's two views, as pages, pictures and data."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .ego import EgoGraph, ViewLimits, ego_graph
from .layout import radial_layout
from .page import notebook_frame, render_page, write_page
from .source import ViewSource, view_source


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(float(value)) else None


def _protocol_line(source: ViewSource) -> str:
    graph = source.graph
    parts = [f"graph: {graph.split.describe()}; encoder {graph.encoder_identity}"]
    if source.model is not None:
        parts.append(f"model: {source.model.describe()}")
    return " · ".join(parts)


def _timeline_payload(table: pd.DataFrame | None, freq: str) -> dict[str, Any] | None:
    if table is None or not len(table):
        return None
    periods = list(dict.fromkeys(table["period"]))
    series = [
        {
            "interest": str(interest),
            "weights": [
                round(float(w), 6) for w in rows.set_index("period")["weight"].reindex(periods, fill_value=0.0)
            ],
        }
        for interest, rows in table.groupby("interest", sort=False)
    ]
    return {"periods": [p.strftime("%Y-%m-%d") for p in periods], "series": series, "freq": freq}


class _Page:
    """Shared output of both views: the HTML page, files, and the notebook display."""

    title: str

    def payload(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def html(self) -> str:
        """The self-contained page (no network, no CDN) as one string."""
        return render_page(self.payload())

    def save_html(self, path: str | os.PathLike) -> Path:
        """Write the page atomically to ``path``; open it from disk in any browser."""
        return write_page(self.html(), path)

    def _repr_html_(self) -> str:
        return notebook_frame(self.html())


@dataclass
class UserView(_Page):
    """One user's interest graph (and timeline) as an analyst sees it.

    Attributes:
        ego: the drawn :class:`~interestgraph.viz.ego.EgoGraph`.
        x, y: ``(n_nodes,)`` positions in ``ego.nodes`` order (user at 0, outer ring at radius 3.1).
        timeline: ``period``, ``interest``, ``weight`` (:meth:`InterestGraph.interest_timeline`) or None.
        title, subtitle, protocol: what the page prints; ``protocol`` names the split, encoder and model.
        has_model: whether recommendations could be drawn.
    """

    ego: EgoGraph
    x: np.ndarray
    y: np.ndarray
    timeline: pd.DataFrame | None
    title: str
    subtitle: str
    protocol: str
    has_model: bool
    freq: str = "MS"

    @property
    def nodes(self) -> pd.DataFrame:
        """The drawn nodes with their positions ``x``, ``y``."""
        return self.ego.nodes.assign(x=self.x, y=self.y)

    @property
    def edges(self) -> pd.DataFrame:
        return self.ego.edges

    @property
    def recommendations(self) -> list[dict[str, Any]]:
        return self.ego.recommendations

    def payload(self) -> dict[str, Any]:
        index = {k: r for r, k in enumerate(self.ego.nodes["key"])}
        nodes = [
            {
                "key": n.key,
                "type": n.type,
                "id": n.id,
                "role": n.role,
                "label": n.label,
                "value": _finite(n.value) or 0.0,
                "details": n.details,
                "x": round(float(x), 4),
                "y": round(float(y), 4),
            }
            for n, x, y in zip(self.ego.nodes.itertuples(index=False), self.x, self.y)
        ]
        edges = [
            {
                "s": index[e.source],
                "t": index[e.target],
                "kind": e.kind,
                "weight": _finite(e.weight) or 0.0,
                "paths": list(e.paths),
            }
            for e in self.ego.edges.itertuples(index=False)
        ]
        return {
            "title": self.title,
            "subtitle": self.subtitle,
            "protocol": self.protocol,
            "notes": list(self.ego.notes),
            "model": self.has_model,
            "ego": {"nodes": nodes, "edges": edges, "recommendations": self.ego.recommendations},
            "timeline": _timeline_payload(self.timeline, self.freq),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what the page draws (nodes with positions, edges by node index, recommendations and their
        paths)."""
        return self.payload()

    def image(self, kind: str = "png", *, selected: int | None = 1, dpi: int = 150) -> bytes:
        """The static picture as bytes (``kind``: png, svg or pdf); see :meth:`save_image`."""
        from .static import ego_figure, figure_bytes

        return figure_bytes(ego_figure(self.ego, self.title, self.x, self.y, selected=selected), kind, dpi=dpi)

    def save_image(self, path: str | os.PathLike, *, selected: int | None = 1, dpi: int = 150) -> Path:
        """A static picture (``.png``, ``.svg`` or ``.pdf`` by suffix) at the page's positions, with the paths of
        recommendation ``selected`` (rank, 1-based; None: none) in red. Needs matplotlib (``interestgraph[viz]``)."""
        from ..artifacts import atomic_write_bytes
        from .static import image_kind

        return atomic_write_bytes(path, self.image(image_kind(path), selected=selected, dpi=dpi))

    def timeline_view(self) -> TimelineView:
        """The timeline part as a :class:`TimelineView`.

        Raises:
            ValueError: the view has no timeline (a log without timestamps, or ``timeline=False``).
        """
        if self.timeline is None:
            raise ValueError(
                "timeline: this view has none (the log has no timestamps, or show_user(..., timeline=False))"
            )
        return TimelineView(
            self.ego.user, self.timeline, f"Interest timeline of user {self.ego.user}", self.protocol, self.freq
        )

    def save_timeline_image(self, path: str | os.PathLike, *, dpi: int = 150) -> Path:
        """The interest timeline as a static picture (``.png``, ``.svg``, ``.pdf``).

        Raises:
            ValueError: the view has no timeline (a log without timestamps, or ``timeline=False``).
        """
        return self.timeline_view().save_image(path, dpi=dpi)


@dataclass
class TimelineView(_Page):
    """How a user's top interests rose and fell: ``table`` (``period``, ``interest``, ``weight``), as a page or a
    picture."""

    user: Any
    table: pd.DataFrame
    title: str
    protocol: str
    freq: str = "MS"

    def payload(self) -> dict[str, Any]:
        n = self.table["period"].nunique()
        notes = [] if len(self.table) else ["No training events with timestamps for this user: nothing to draw."]
        return {
            "title": self.title,
            "subtitle": f"w(v|u) at the end of each period ({self.freq}), {n} periods, "
            f"top {self.table['interest'].nunique()} interests",
            "protocol": self.protocol,
            "notes": notes,
            "model": False,
            "ego": None,
            "timeline": _timeline_payload(self.table, self.freq),
        }

    def image(self, kind: str = "png", *, dpi: int = 150) -> bytes:
        """The static line chart as bytes (``kind``: png, svg or pdf)."""
        from .static import figure_bytes, timeline_figure

        return figure_bytes(timeline_figure(self.table, self.title), kind, dpi=dpi)

    def save_image(self, path: str | os.PathLike, *, dpi: int = 150) -> Path:
        """A static line chart (``.png``, ``.svg``, ``.pdf`` by suffix). Needs matplotlib (``interestgraph[viz]``)."""
        from ..artifacts import atomic_write_bytes
        from .static import image_kind

        return atomic_write_bytes(path, self.image(image_kind(path), dpi=dpi))


def show_user(
    model_or_graph,
    user,
    *,
    graph=None,
    limits: ViewLimits | None = None,
    timeline: bool = True,
    freq: str = "MS",
    timeline_top: int = 5,
    **limit_overrides,
) -> UserView:
    """One user's ego interest graph: the user, their top interests sized by ``w(v|u)``, the items behind those
    interests, interest–interest similarity edges and (with a model) the top recommendations with their
    explanation paths; plus the interest timeline when the log has timestamps.

    Args:
        model_or_graph: an :class:`~interestgraph.graph.InterestGraph` (no recommendations), a fitted or loaded
            :class:`~interestgraph.model.InterestGraphModel`, or a directory holding either.
        user: the user's ID (or its string form).
        graph: the model's training graph when the model does not carry it (default: its recorded ``graph_path``).
        limits: :class:`~interestgraph.viz.ViewLimits`; or pass its fields as keywords
            (``interests=8, items_per_interest=3, recommendations=5, paths_per_recommendation=3, max_nodes=120,
            radius=3``).
        timeline: also compute the interest timeline (monthly by default: ``freq``; ``timeline_top`` interests).

    Returns:
        A :class:`UserView`: ``.save_html(path)``, ``.save_image("user.png")``, ``.to_dict()``; shown inline in Jupyter.

    Raises:
        KeyError: the user is not in the graph.
        ValueError / TypeError: bad arguments, named.
    """
    if limits is not None and limit_overrides:
        raise ValueError(f"pass limits or its fields as keywords ({', '.join(limit_overrides)}), not both")
    limits = limits if limits is not None else ViewLimits(**limit_overrides)
    source = view_source(model_or_graph, graph)
    ego = ego_graph(source, user, limits)
    x, y = radial_layout(ego.nodes, ego.edges, ego.recommendations)
    g = source.graph
    table = None
    if timeline and g.split.log.has_timestamps:
        table = g.interest_timeline(ego.user, freq=freq, top=timeline_top)
    user_row = ego.nodes.iloc[0]
    n_interests = int((ego.nodes["role"] == "interest").sum())
    subtitle = (
        f"{user_row['details'].get('training items', 0):,} training items; top {n_interests} of "
        f"{user_row['details'].get('interests with w(v|u) > 0', 0):,} interests by w(v|u)"
        + (
            f"; top {len(ego.recommendations)} recommendations with their strongest paths"
            if ego.recommendations
            else ""
        )
    )
    return UserView(
        ego=ego,
        x=x,
        y=y,
        timeline=table,
        title=f"Interest graph of user {ego.user}",
        subtitle=subtitle,
        protocol=_protocol_line(source),
        has_model=source.model is not None,
        freq=freq,
    )


def interest_timeline(model_or_graph, user, *, graph=None, freq: str = "MS", top: int = 5) -> TimelineView:
    """How ``user``'s top ``top`` interests rose and fell: ``w(v|u)`` at the end of each ``freq`` period
    (pandas offset alias, monthly by default) from training events up to then.

    Returns:
        A :class:`TimelineView`: ``.table``, ``.save_html(path)``, ``.save_image("timeline.png")``; inline in Jupyter.

    Raises:
        KeyError: the user is not in the graph.
        ValueError: the log has no timestamps, or ``top`` is not a positive integer.
    """
    from ..ops import check_positive_int

    check_positive_int("top", top)
    source = view_source(model_or_graph, graph)
    g = source.graph
    if not g.split.log.has_timestamps:
        raise ValueError("model_or_graph: its log has no timestamps, so there is no timeline to draw")
    user_id = g.users[source.user_code(user)]
    table = g.interest_timeline(user_id, freq=freq, top=top)
    return TimelineView(user_id, table, f"Interest timeline of user {user_id}", _protocol_line(source), freq)
