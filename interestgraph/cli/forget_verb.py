"""``interestgraph forget``: remove users and everything derived from them from a graph (and its trained model)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .verb import CommandResult, UsageError, add_json_flag, add_verb


def run_forget(args: argparse.Namespace) -> CommandResult:
    from ..artifacts import artifact_format
    from ..graph import InterestGraph
    from ..graph.forget import forget_users
    from ..model import InterestGraphModel

    users = [u.strip() for value in args.user for u in value.split(",") if u.strip()]
    if not users:
        raise UsageError("--user: give at least one user ID")
    kind = artifact_format(args.source)
    if kind not in ("interestgraph-graph", "interestgraph-model"):
        raise UsageError(
            f"GRAPH_OR_MODEL_DIR {args.source}: not a graph or model directory (no manifest.json of either format)"
        )
    is_model = kind == "interestgraph-model"
    if is_model and args.out_model is None:
        raise UsageError("--out-model: a model directory was given; say where the model without them goes")
    if not is_model and (args.out_model is not None or args.graph is not None):
        raise UsageError("--out-model and --graph apply to a model directory only")
    targets = [p for p in (args.out_graph, args.out_model) if p is not None]
    if len(set(map(str, targets))) != len(targets) or any(p.resolve() == args.source.resolve() for p in targets):
        raise UsageError(
            "--out-graph and --out-model must be new directories, apart from each other and from the source"
        )
    existing = [str(p) for p in targets if p.exists()]
    if existing and not args.overwrite:
        raise UsageError(f"{', '.join(existing)} exist(s); pass --overwrite to replace")
    encoder = None
    if (
        args.encoder_cache is not None
    ):  # the language model with the build's cache: nothing already encoded is encoded again
        from ..encoder import EncoderConfig, TextEncoder

        encoder = TextEncoder(EncoderConfig(cache_dir=str(args.encoder_cache)))
    try:
        if is_model:
            model = InterestGraphModel.load(args.source)
            before_users = model.n_users
            before_interests = model.layout["interest"]
            after = model.forget_users(users, graph=args.graph, encoder=encoder)
        else:
            graph = InterestGraph.load(args.source)
            before_users, before_interests = len(graph.users), len(graph.interests)
            after = forget_users(graph, users, encoder=encoder)
    except KeyError as exc:
        raise UsageError(f"--user: {exc.args[0]}") from None
    inputs = (args.source, args.graph)
    graph_dir = after.save(args.out_graph, overwrite=args.overwrite, inputs=inputs)  # first: the model records it
    model_dir = model.save(args.out_model, overwrite=args.overwrite, inputs=inputs) if is_model else None
    data = {
        "graph": str(graph_dir),
        "model": str(model_dir) if model_dir else None,
        "forgotten": before_users - len(after.users),
        "users": len(after.users),
        "interests_removed": before_interests - len(after.interests),
        "counts": after.counts(),
    }
    lines = [
        f"forgot {data['forgotten']} user(s): {len(after.users):,} users remain; {data['interests_removed']} interest "
        "point(s) only they held up are gone",
        f"wrote {graph_dir}"
        + (f" and {model_dir} (re-frozen with the trained parameters, no retraining)" if model_dir else ""),
        "the source directories are unchanged: delete them once the new ones are in use",
    ]
    return CommandResult(data, "\n".join(lines))


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    forget = add_verb(
        verbs,
        common,
        "forget",
        help="remove users and everything derived from them from a graph and its model",
        description="Rebuild the graph without any event of the users (same split, settings and encoder: exactly the "
        "graph built had they never been there) and, for a model, drop their ID vectors and recompute every weight "
        "with the trained parameters, without retraining. Writes new directories; the source ones are left as they "
        "were.",
        example="interestgraph forget models/ml-small --user 42 --out-graph graphs/ml-small-f --out-model "
        "models/ml-small-f --encoder-cache graphs/.encoder-cache",
        run=run_forget,
    )
    forget.add_argument(
        "source",
        type=Path,
        metavar="GRAPH_OR_MODEL_DIR",
        help="a graph ('interestgraph build') or model ('interestgraph train') directory",
    )
    forget.add_argument(
        "--user", action="append", required=True, help="user ID to forget (repeatable, or comma-separated)"
    )
    forget.add_argument("--out-graph", type=Path, required=True, help="the graph without them (a new directory)")
    forget.add_argument("--out-model", type=Path, help="the model without them (a new directory; with a model source)")
    forget.add_argument("--graph", type=Path, help="the model's training graph, when it moved since training")
    forget.add_argument(
        "--encoder-cache",
        type=Path,
        help="the embedding cache the graph was built with (language-model graphs: the rebuild then encodes nothing "
        "again)",
    )
    forget.add_argument("--overwrite", action="store_true", help="replace existing output directories")
    add_json_flag(forget)
