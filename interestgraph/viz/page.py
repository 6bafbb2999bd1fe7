"""The self-contained HTML page: a fixed template, the data as escaped JSON, inline CSS and scripts.

Nothing user-written is ever placed in the markup: titles, tags and IDs travel only
inside a ``<script type="application/json">`` block whose ``<``, ``>`` and ``&`` are
written as ``\\u003c``/``\\u003e``/``\\u0026`` (so ``</script>`` in a title cannot close
it), and the page's scripts put them on screen with ``textContent``. The page loads
nothing from the network.
"""

from __future__ import annotations

import html
import json
import math
import os
from importlib import resources
from pathlib import Path
from typing import Any

from ..artifacts import atomic_write_text

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="interestgraph {version}">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body data-ig-status="loading">
<script>
window.addEventListener("error", function (e) {{
  var root = document.documentElement;
  root.setAttribute("data-ig-errors",
    (root.getAttribute("data-ig-errors") || "") + (e.message || "script error") + ";");
}});
</script>
<header><h1 id="ig-title"></h1><p id="ig-subtitle"></p><ul class="ig-notes" id="ig-notes"></ul></header>
{body}
<footer id="ig-protocol"></footer>
<div class="ig-tooltip" id="ig-tooltip"></div>
<script type="application/json" id="ig-data">{data}</script>
{scripts}
<script>document.body.setAttribute("data-ig-status", "ready");</script>
</body>
</html>
"""

_EGO = """<div class="ig-main">
<div class="ig-graph-wrap"><svg id="ig-graph" role="img" aria-label="the user's interest graph"></svg></div>
<aside><h2>Recommendations</h2><ol class="ig-recs" id="ig-recs"></ol></aside>
</div>
<div class="ig-legend" id="ig-legend"></div>"""

_TIMELINE = """<section class="ig-timeline"><h2>Interest timeline</h2>
<svg id="ig-timeline" role="img" aria-label="how the user's top interests rose and fell"></svg>
<div class="ig-series-legend" id="ig-series-legend"></div></section>"""


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _finite(value: Any) -> Any:
    """``value`` with every NaN / infinite float replaced by None (JSON has no such numbers), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return _finite(value.item())
    return value


def json_for_script(payload: Any) -> str:
    """``payload`` as JSON that is safe inside ``<script type="application/json">`` (no ``<``, ``>``, ``&``, U+2028/9;
    NaN and infinities become ``null``)."""
    text = json.dumps(_finite(payload), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def render_page(payload: dict[str, Any]) -> str:
    """The whole page for ``payload`` (``title``, ``subtitle``, ``protocol``, ``notes``, ``ego`` and/or
    ``timeline``)."""
    from .. import __version__

    body, scripts = [], ["ego.js"]
    if payload.get("ego") is not None:
        body.append(_EGO)
    if payload.get("timeline") is not None:
        body.append(_TIMELINE)
        scripts.append("timeline.js")
    inline = "\n".join(f"<script>\n{_asset(name)}\n</script>" for name in scripts)
    return _TEMPLATE.format(
        version=html.escape(__version__),
        title=html.escape(str(payload.get("title", "interestgraph"))),
        css=_asset("page.css"),
        body="\n".join(body),
        data=json_for_script(payload),
        scripts=inline,
    )


def notebook_frame(page: str, height: int = 760) -> str:
    """The page inside a sandboxed ``<iframe srcdoc>``: how Jupyter and VS Code show it (scripts run, isolated from the
    notebook)."""
    return (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
        f'style="width:100%;height:{int(height)}px;border:0" title="interestgraph view"></iframe>'
    )


def write_page(page: str, path: str | os.PathLike) -> Path:
    """Write ``page`` to ``path`` atomically (a ``.html`` file); returns the path."""
    path = Path(path)
    atomic_write_text(path, page)
    return path
