"""Static PNG / SVG / PDF pictures through matplotlib (the ``viz`` extra), drawn without pyplot's global state.

Labels are user-written text; matplotlib would read ``$...$`` in them as mathtext, so
every ``$`` is escaped and a title prints exactly as written.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..artifacts import atomic_write_bytes

COLORS = {"user": "#222222", "interest": "#e07b00", "item": "#3b7dd8", "recommendation": "#2a9d4b", "other": "#9a9a9a"}
EDGE_COLORS = {
    "user-interest": "#e07b00",
    "user-item": "#9dbde8",
    "item-interest": "#8c8c8c",
    "interest-interest": "#8e5bb5",
    "item-item": "#3b7dd8",
}
FORMATS = ("png", "svg", "pdf")


def require_matplotlib() -> None:
    """Raise ``ImportError`` with the install command when matplotlib (the ``viz`` extra) is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError("static pictures need matplotlib: pip install 'interestgraph[viz]'") from exc


def _figure(width: float, height: float):
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def plain(label: str, limit: int | None = None) -> str:
    """``label`` safe for matplotlib text (``$`` escaped, so no mathtext), cut to ``limit`` characters."""
    label = str(label)
    if limit is not None and len(label) > limit:
        label = label[: limit - 1] + "…"
    label = label.replace("$", r"\$")
    return "\u200b" + label if label.startswith("_") else label  # matplotlib hides legend labels that start with "_"


def image_kind(path: str | os.PathLike) -> str:
    """``"png"``, ``"svg"`` or ``"pdf"`` from ``path``'s suffix.

    Raises:
        ValueError: an unsupported suffix (named).
    """
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise ValueError(f"path: {path} must end in {', '.join('.' + f for f in FORMATS)} (got {path.suffix!r})")
    return kind


def figure_bytes(figure, kind: str, dpi: int = 150) -> bytes:
    """``figure`` encoded as ``kind`` (one of :data:`FORMATS`)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, dpi=dpi, metadata={"Date": None} if kind == "svg" else None)
    return buffer.getvalue()


def save_figure(figure, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Write ``figure`` atomically; the format comes from the suffix (``.png``, ``.svg``, ``.pdf``).

    Raises:
        ValueError: an unsupported suffix (named).
    """
    return atomic_write_bytes(path, figure_bytes(figure, image_kind(path), dpi))


def ego_figure(ego, title: str, x: np.ndarray, y: np.ndarray, selected: int | None = 1):
    """The ego graph at the page's positions; the paths of recommendation ``selected`` in red (None: none)."""
    figure = _figure(11, 9)
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.set_aspect("equal")
    index = {k: r for r, k in enumerate(ego.nodes["key"])}
    heaviest = (
        ego.edges.groupby("kind")["weight"].transform(lambda w: np.abs(w).max()).to_numpy()
        if len(ego.edges)
        else np.zeros(0)
    )
    for (s, t, kind, weight, paths), top in zip(
        ego.edges[["source", "target", "kind", "weight", "paths"]].itertuples(index=False), heaviest
    ):
        a, b = index[s], index[t]
        hit = selected is not None and selected in paths
        ax.plot(
            [x[a], x[b]],
            [y[a], y[b]],
            color="#d62728" if hit else EDGE_COLORS.get(kind, "#bbbbbb"),
            alpha=0.95 if hit else 0.45,
            lw=(2.5 if hit else 0.6 + 2.4 * (abs(weight) / top if top > 0 else 0.5)),
            ls="--" if kind in ("interest-interest", "item-item") else "-",
            zorder=2 if hit else 1,
        )
    peak = ego.nodes.groupby("role")["value"].transform(lambda v: np.abs(v).max()).to_numpy()
    rel = np.sqrt(np.divide(np.abs(ego.nodes["value"].to_numpy()), peak, out=np.full(len(peak), 0.5), where=peak > 0))
    base = {"user": (15, 0), "interest": (6, 13), "item": (4, 6), "recommendation": (7, 8), "other": (5, 0)}
    for role, color in COLORS.items():
        rows = np.flatnonzero(ego.nodes["role"].to_numpy() == role)
        if not len(rows):
            continue
        size = np.array([base[role][0] + base[role][1] * rel[r] for r in rows]) ** 2 * 1.2
        ax.scatter(x[rows], y[rows], s=size, c=color, edgecolors="white", linewidths=1.0, zorder=3, label=role)
    for r, (role, label, details) in enumerate(ego.nodes[["role", "label", "details"]].itertuples(index=False)):
        text = f"#{details.get('rank')} {label}" if role == "recommendation" else label
        ax.annotate(
            plain(text, 28),
            (x[r], y[r]),
            xytext=(0, -12),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=7.5,
            zorder=4,
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
        )
    ax.legend(loc="lower left", fontsize=8, frameon=False, markerscale=0.5)
    ax.set_title(plain(title), fontsize=11)
    margin = 0.6
    ax.set_xlim(x.min() - margin, x.max() + margin)
    ax.set_ylim(y.min() - margin, y.max() + margin)
    return figure


def timeline_figure(table, title: str):
    """One line per interest: ``w(v|u)`` at the end of each period (``table``: ``period``, ``interest``, ``weight``)."""
    figure = _figure(10, 4.2)
    ax = figure.add_subplot()
    for interest, rows in table.groupby("interest", sort=False):
        ax.plot(
            rows["period"].dt.tz_localize(None), rows["weight"], marker="o", ms=3, lw=1.8, label=plain(interest, 40)
        )
    ax.set_ylabel("w(v|u) at the period's end")
    ax.set_title(plain(title), fontsize=11)
    ax.grid(alpha=0.3)
    if len(table):
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.autofmt_xdate()
    return figure
