"""What analysts and researchers see: one user's interest graph and interest timeline.

    from interestgraph.viz import show_user, interest_timeline
    view = show_user("models/ml-small", 42)          # a model directory (its graph is found), a graph, or objects
    view.save_html("user42.html")                     # interactive, self-contained: open it from disk
    view.save_image("user42.png")                     # static, through matplotlib (.png / .svg / .pdf)
    view                                              # in Jupyter or VS Code: the page, inline
    interest_timeline(graph, 42).save_image("timeline.png")

The page shows the user; their top interests sized by ``w(v|u)``; the items behind
those interests; interest–interest similarity edges; and, given a trained model, the
top recommendations with their explanation paths (click one to highlight its walks).
Pan by dragging, zoom with the wheel, hover for details; a legend says what each
colour and line is, and the footer prints the protocol, encoder and model that made it.

Why no plotting library for the page. We need (1) one file that works opened from disk
with no network, (2) the same file inside Jupyter and VS Code, (3) labels that are
user-written text and must never run, and (4) clicking a recommendation to highlight
its paths. Plotly meets (1)–(2) only by inlining its ~3.5 MB bundle per page and needs
custom JavaScript for (4) anyway; pyvis writes vis-network from a CDN by default and
puts node titles into the page as HTML (a ``<script>`` in a movie title would be
markup); ipycytoscape is a Jupyter widget and produces no standalone file. So the page
is a fixed template with ~300 lines of our own JavaScript drawing SVG
(``assets/ego.js``, ``assets/timeline.js``): ~25 kB plus data, no dependency. The data
travel as JSON inside ``<script type="application/json">`` with ``<``, ``>``, ``&``
escaped, and every label is put on screen with ``textContent`` (see
:mod:`interestgraph.viz.page`). In notebooks the page is shown in a sandboxed
``<iframe srcdoc>``. Positions are computed in Python (:mod:`~interestgraph.viz.layout`),
so the static picture (matplotlib, the optional ``viz`` extra; ``$`` escaped so titles
are not read as mathtext) matches the page.
"""

from .ego import ROLES, EgoGraph, ViewLimits, ego_graph
from .layout import radial_layout
from .page import json_for_script, render_page
from .source import ViewSource, view_source
from .views import TimelineView, UserView, interest_timeline, show_user

__all__ = [
    "ROLES",
    "EgoGraph",
    "TimelineView",
    "UserView",
    "ViewLimits",
    "ViewSource",
    "ego_graph",
    "interest_timeline",
    "json_for_script",
    "radial_layout",
    "render_page",
    "show_user",
    "view_source",
]
