"""``interestgraph show``: one user's interest graph (and timeline) as a self-contained HTML page and a picture."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import DataError
from .verb import CommandResult, UsageError, add_json_flag, add_verb

_FLAGS = {
    "interests": "--interests",
    "items_per_interest": "--items-per-interest",
    "recommendations": "--recommendations",
    "paths_per_recommendation": "--paths",
    "max_nodes": "--max-nodes",
    "radius": "--radius",
}


def default_page(user: str) -> Path:
    """Where ``show`` writes without ``--out``: ``<temp dir>/interestgraph/user-<id>.html`` (never the working
    directory, which is often a clone of the repository)."""
    import re
    import tempfile

    safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(user)).lstrip(".")
    return Path(tempfile.gettempdir()) / "interestgraph" / f"user-{safe}.html"


def plural(n: int, word: str) -> str:
    """``"1 period"``, ``"2 periods"``, ``"1,200 nodes"``."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def run_show(args: argparse.Namespace) -> CommandResult:
    from ..artifacts import atomic_write_bytes
    from ..viz import ViewLimits, show_user
    from ..viz.static import image_kind

    chosen = args.out is not None
    if not chosen:  # a page of our own in the temp directory, replaced on each run
        args.out = default_page(args.user)
        args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--out {args.out} must end in .html")
    pictures = [p for p in (args.png, args.timeline_png) if p is not None]
    for flag, path in (("--png", args.png), ("--timeline-png", args.timeline_png)):
        if path is not None and path.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise UsageError(f"{flag} {path} must end in .png, .svg or .pdf")
    folders = [str(p) for p in (args.out, *pictures) if p.is_dir()]
    if folders:
        raise UsageError(f"{', '.join(folders)}: a directory, not a file to write")
    existing = [str(p) for p in ((args.out,) if chosen else ()) + tuple(pictures) if p.exists()]
    if existing and not args.overwrite:
        raise UsageError(f"{', '.join(existing)} exist(s); pass --overwrite to replace")
    if pictures:
        from ..viz.static import require_matplotlib

        try:
            require_matplotlib()
        except ImportError as exc:
            raise UsageError(f"--png / --timeline-png: {exc}") from None
    if not args.source.is_dir():
        raise UsageError(
            f"GRAPH_OR_MODEL_DIR {args.source}: not a directory (write one with 'interestgraph build' or "
            "'interestgraph train')"
        )
    try:
        limits = ViewLimits(
            interests=args.interests,
            items_per_interest=args.items_per_interest,
            recommendations=args.recommendations,
            paths_per_recommendation=args.paths,
            max_nodes=args.max_nodes,
            radius=args.radius,
        )
    except ValueError as exc:  # name the flag, not the field
        field = str(exc).split()[0]
        raise UsageError(str(exc).replace(field, _FLAGS.get(field, field), 1)) from None
    try:
        view = show_user(
            args.source, args.user, graph=args.graph, limits=limits, timeline=not args.no_timeline, freq=args.freq
        )
    except KeyError as exc:
        raise DataError(
            f"--user: {exc.args[0]}; a user dropped by the split (too few positive items) is not in the graph"
        ) from None
    if args.timeline_png is not None and view.timeline is None:
        raise UsageError(
            "--timeline-png: this graph's log has no timestamps (or --no-timeline was given), so there is no timeline"
        )
    # everything is rendered first, then written, so a failure leaves no file behind
    files = {"html": (args.out, view.html().encode("utf-8"))}
    if args.png is not None:
        files["png"] = (args.png, view.image(image_kind(args.png)))
    if args.timeline_png is not None:
        files["timeline_png"] = (args.timeline_png, view.timeline_view().image(image_kind(args.timeline_png)))
    written = {key: str(atomic_write_bytes(path, content)) for key, (path, content) in files.items()}
    roles = view.ego.nodes["role"].value_counts().to_dict()
    interests = view.ego.nodes[view.ego.nodes["role"] == "interest"]
    data = {
        **written,
        "user": str(view.ego.user),
        "nodes": int(len(view.ego.nodes)),
        "edges": int(len(view.ego.edges)),
        "roles": {k: int(v) for k, v in roles.items()},
        "interests": [{"interest": r.label, "weight": float(r.value)} for r in interests.itertuples(index=False)],
        "recommendations": [
            {k: rec[k] for k in ("rank", "item", "title", "score", "n_paths", "reasons")}
            for rec in view.recommendations
        ],
        "timeline_periods": int(view.timeline["period"].nunique()) if view.timeline is not None else 0,
        "notes": view.ego.notes,
        "protocol": view.protocol,
    }
    lines = [
        f"wrote {args.out}: user {view.ego.user}, {plural(len(view.ego.nodes), 'node')}, "
        f"{plural(len(view.ego.edges), 'edge')}" + ("" if chosen else " (no --out: a page in the temp directory)")
    ]
    lines.append(
        "  top interests: " + ", ".join(f"{r.label} ({r.value:.3f})" for r in interests.head(5).itertuples(index=False))
    )
    if view.recommendations:
        lines.append("  recommendations: " + "; ".join(f"#{r['rank']} {r['title']}" for r in view.recommendations))
    lines += [f"  note: {n}" for n in view.ego.notes]
    if view.timeline is not None:
        lines.append(f"  timeline: {plural(data['timeline_periods'], 'period')} ({args.freq})")
    lines += [f"wrote {path}" for key, path in written.items() if key != "html"]
    lines.append(view.protocol)
    return CommandResult(data, "\n".join(lines))


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    show = add_verb(
        verbs,
        common,
        "show",
        help="one user's interest graph as an interactive HTML page (and a PNG)",
        description="Draw a user's ego interest graph: their top interests sized by w(v|u), the items behind them, "
        "interest-interest similarity edges and, from a trained model, the top recommendations with their explanation "
        "paths (click one to highlight them), plus the interest timeline. The page is one self-contained file (no "
        "network); given a graph without a model it shows interests and items and says that recommendations need a "
        "trained model.",
        example="interestgraph show models/ml-small --user 42 --out user42.html --png user42.png\n  interestgraph show "
        "graphs/ml-small --user 42          # writes <temp dir>/interestgraph/user-42.html and says so",
        run=run_show,
    )
    show.add_argument(
        "source",
        type=Path,
        metavar="GRAPH_OR_MODEL_DIR",
        help="a graph directory ('interestgraph build') or a model directory ('interestgraph train')",
    )
    show.add_argument("--user", required=True, help="user ID as in the log")
    show.add_argument(
        "--out",
        type=Path,
        help="the HTML page to write (e.g. user42.html; default: <temp dir>/interestgraph/user-<ID>.html, said in the "
        "output)",
    )
    show.add_argument("--png", type=Path, help="also write a static picture (.png, .svg or .pdf; needs matplotlib)")
    show.add_argument(
        "--timeline-png", type=Path, help="also write the interest timeline as a picture (.png, .svg or .pdf)"
    )
    show.add_argument(
        "--graph",
        type=Path,
        help="the model's training graph directory, when it moved since training (default: the path the model "
        "recorded)",
    )
    show.add_argument("--interests", type=int, default=8, help="top interests by w(v|u) to draw (default 8)")
    show.add_argument(
        "--items-per-interest", type=int, default=3, help="the user's items drawn behind each interest (default 3)"
    )
    show.add_argument(
        "--recommendations", "-k", type=int, default=5, help="top recommendations to draw, with a model (default 5)"
    )
    show.add_argument("--paths", type=int, default=3, help="explanation paths drawn per recommendation (default 3)")
    show.add_argument("--max-nodes", type=int, default=120, help="cap on drawn nodes for heavy users (default 120)")
    show.add_argument(
        "--radius",
        type=int,
        default=3,
        help="rings around the user: 1 interests, 2 and their items, 3 and recommendations with paths (default 3)",
    )
    show.add_argument("--freq", default="MS", help="timeline period as a pandas offset alias (default MS: months)")
    show.add_argument("--no-timeline", action="store_true", help="leave the interest timeline out")
    show.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_json_flag(show)
