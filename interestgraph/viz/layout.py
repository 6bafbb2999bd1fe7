"""Radial positions for an ego graph: the user at the centre, rings by role.

Interests sit on the inner ring (strongest first, clockwise from the top); the items
behind them on the next ring, at the circular mean angle of their interests; nodes
met only on explanation paths beyond that; recommendations on the outer ring, at the
mean angle of the nodes their paths pass through. Within a ring, nodes are then
spread to a minimum angular gap so labels do not pile up. Deterministic: the same
graph always gets the same picture (HTML and PNG share these positions).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

RADIUS = {"user": 0.0, "interest": 1.0, "item": 1.85, "other": 2.45, "recommendation": 3.1}


def _circular_mean(angles: list[float], fallback: float) -> float:
    if not angles:
        return fallback
    return math.atan2(sum(math.sin(a) for a in angles), sum(math.cos(a) for a in angles))


def _spread(angles: np.ndarray, min_gap: float) -> np.ndarray:
    """Angles moved apart to at least ``min_gap`` radians (keeping their order around the ring)."""
    n = len(angles)
    if n < 2:
        return angles
    gap = min(min_gap, 2 * math.pi / n)
    order = np.argsort(angles, kind="stable")
    a = angles[order].astype(float).copy()
    for _ in range(200):
        moved = False
        for k in range(n):
            nxt = (k + 1) % n
            target = a[nxt] + (2 * math.pi if nxt == 0 else 0.0)
            short = gap - (target - a[k])
            if short > 1e-9:
                a[k] -= short / 2
                a[nxt] += short / 2
                moved = True
        if not moved:
            break
    out = np.empty(n)
    out[order] = a
    return out


def radial_layout(
    nodes: pd.DataFrame, edges: pd.DataFrame, recommendations: list[dict] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``: positions (unitless, user at 0, outer ring at radius 3.1) for ``nodes`` in row order."""
    keys = nodes["key"].tolist()
    roles = dict(zip(keys, nodes["role"]))
    angle: dict[str, float] = {}
    interests = nodes[nodes["role"] == "interest"].sort_values("value", ascending=False, kind="stable")["key"].tolist()
    for k, key in enumerate(interests):
        angle[key] = math.pi / 2 - 2 * math.pi * k / max(len(interests), 1)
    neighbours: dict[str, list[str]] = {key: [] for key in keys}
    for s, t in zip(edges["source"], edges["target"]):
        neighbours[s].append(t)
        neighbours[t].append(s)
    for role in ("item", "other"):
        members = [key for key in keys if roles[key] == role]
        for k, key in enumerate(members):
            placed = [angle[n] for n in neighbours[key] if n in angle]
            angle[key] = _circular_mean(placed, math.pi / 2 - 2 * math.pi * (k + 0.5) / max(len(members), 1))
    for k, rec in enumerate(recommendations or []):
        passed = [angle[n] for p in rec["paths"] for n in p["nodes"][1:-1] if n in angle]
        angle[rec["key"]] = _circular_mean(passed, math.pi / 2 - 2 * math.pi * k / max(len(recommendations), 1))
    x = np.zeros(len(keys))
    y = np.zeros(len(keys))
    for role, radius in RADIUS.items():
        rows = [r for r, key in enumerate(keys) if roles[key] == role]
        if not rows or radius == 0.0:
            continue
        gap = 0.5 if role == "recommendation" else 0.55 / radius  # recommendations carry the longest labels
        spread = _spread(np.array([angle.get(keys[r], 0.0) for r in rows]), min_gap=gap)
        x[rows] = radius * np.cos(spread)
        y[rows] = radius * np.sin(spread)
    return x, y
