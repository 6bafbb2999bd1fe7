"""``interestgraph evaluate``: baselines and trained models under one stated protocol."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .app import CommandResult, UsageError, add_json_flag, add_verb
from .data_verbs import add_source_options, load_from_args

MODEL_NAMES = ("pop", "itemknn", "bpr", "lightgcn", "text")


def make_model(name: str, args: argparse.Namespace):
    """A fresh baseline by its CLI name."""
    from .. import baselines

    if name == "pop":
        return baselines.MostPopular()
    if name == "itemknn":
        return baselines.ItemKNN()
    if name == "bpr":
        return baselines.BPRMF(max_epochs=args.max_epochs, device=args.device)
    if name == "lightgcn":
        return baselines.LightGCN(max_epochs=args.max_epochs, device=args.device)
    if name == "text":
        from ..encoder import EncoderConfig, TextEncoder

        return baselines.TextContent(
            encoder=TextEncoder(EncoderConfig(cache_dir=str(args.encoder_cache) if args.encoder_cache else None))
        )
    raise UsageError(f"--models: unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")


def is_model_dir(name: str) -> bool:
    """Whether ``name`` is a directory written by ``interestgraph train`` (a model manifest)."""
    from ..artifacts import artifact_format

    return artifact_format(name) == "interestgraph-model"


def load_trained(name: str, graph):
    """A trained model directory, checked against the graph being evaluated."""
    from ..model import InterestGraphModel

    if graph is None:
        raise UsageError(
            f"--models {name}: a trained model is evaluated on the graph it was trained on; pass that graph directory as SOURCE with --format graph"
        )
    model = InterestGraphModel.load(name)
    recorded = model.facts_.get("graph_manifest_sha256")
    if recorded is not None and recorded != graph.manifest_sha256:
        raise UsageError(
            f"--models {name} was trained on {model.facts_.get('graph_path')} (manifest {recorded[:12]}), not on {graph.source_path} (manifest {graph.manifest_sha256[:12]})"
        )
    if model.facts_.get("graph_counts") not in (None, graph.counts()) or model.layout_ != {
        "user": len(graph.users),
        "item": len(graph.items),
        "interest": len(graph.interests),
    }:
        raise UsageError(f"--models {name}: its node counts do not match {graph.source_path}")
    return model


def _split_from_args(args: argparse.Namespace):
    """``(split, graph or None)`` for the evaluate verb."""
    from ..data.protocols import split_log
    from ..graph import InterestGraph

    source = args.source
    if (
        source is not None
        and Path(source).is_dir()
        and (Path(source) / "manifest.json").is_file()
        and args.format == "graph"
    ):
        graph = InterestGraph.load(source)
        graph_split = graph.split
        if args.protocol and args.protocol != graph_split.protocol.name:
            raise UsageError(
                f"{source} stores a split made under {graph_split.protocol.name}; a graph is evaluated on its own split (omit --protocol or pass --protocol {graph_split.protocol.name})"
            )
        return graph_split, graph
    if args.format == "graph":
        raise UsageError(
            f"--format graph needs a graph directory written by 'interestgraph build'; {source} is not one"
        )
    loaded = load_from_args(args)
    if loaded.given_split is not None:
        if args.protocol:
            raise UsageError(f"--format {args.format} comes with its own train/test split; omit --protocol")
        return loaded.given_split, None
    return split_log(loaded.log, args.protocol or "rs-4", seed=args.split_seed), None


def run_evaluate(args: argparse.Namespace) -> CommandResult:
    from ..evaluate import evaluate

    try:
        cutoffs = tuple(int(k) for k in args.cutoffs.split(","))
    except ValueError:
        raise UsageError(f"--cutoffs takes comma-separated integers, got {args.cutoffs!r}") from None
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODEL_NAMES and not is_model_dir(n)]
    if unknown or not names:
        raise UsageError(
            f"--models: unknown model(s) {unknown or names}; choose from {', '.join(MODEL_NAMES)} or a trained model directory"
        )
    split, graph = _split_from_args(args)
    results = {}
    lines = [split.describe()]
    for name in names:
        started = time.perf_counter()
        model = load_trained(name, graph) if name not in MODEL_NAMES else make_model(name, args).fit(split)
        result = evaluate(model, split, part="test", cutoffs=cutoffs, name=name)
        entry = result.to_dict()
        entry["seconds"] = round(time.perf_counter() - started, 3)
        for attribute in ("best_epoch_", "epochs_"):
            if hasattr(model, attribute):
                entry[attribute.rstrip("_")] = getattr(model, attribute)
        results[name] = entry
        lines.append(result.describe() + f" [{entry['seconds']:.1f} s]")
        for subset in ("cold", "warm"):
            values = getattr(result, subset)
            if values:
                shown = ", ".join(
                    f"{k} {values[k]:.4f}"
                    for k in (f"{m}@{c}" for c in cutoffs for m in ("recall", "ndcg"))
                    if k in values
                )
                lines.append(f"  {subset} items' held-out pairs ({values['users']:,} users): {shown}")
    return CommandResult(results, "\n".join(lines))


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from ..data.protocols import PROTOCOLS

    ev = add_verb(
        verbs,
        common,
        "evaluate",
        help="evaluate baselines under a named protocol (full ranking, seen items masked)",
        description="Fit each model on the training part and score the test part: full ranking over the candidate "
        "items with training and validation positives masked; metrics at each cutoff, printed with the protocol. "
        "SOURCE may be a graph directory (--format graph), whose stored split is then used.",
        example="interestgraph evaluate ../shared/datasets/ml-latest-small --format movielens --protocol rs-4 --models pop,itemknn,bpr,lightgcn,text --cutoffs 10,20 --json",
        run=run_evaluate,
    )
    add_source_options(ev, extra_formats=("graph",))
    ev.add_argument(
        "--protocol",
        choices=sorted(PROTOCOLS),
        help="named protocol (default rs-4; a graph directory uses its stored split)",
    )
    ev.add_argument(
        "--models",
        default="pop,itemknn",
        help=f"comma-separated: {', '.join(MODEL_NAMES)} or a trained model directory (default pop,itemknn)",
    )
    ev.add_argument("--cutoffs", default="10,20", help="comma-separated K values (default 10,20)")
    ev.add_argument(
        "--max-epochs",
        type=int,
        default=300,
        help="bpr/lightgcn: epoch limit (early stopping on validation NDCG@20 usually ends sooner)",
    )
    ev.add_argument("--device", default="cpu", help="bpr/lightgcn: cpu (default), cuda, cuda:N or auto")
    ev.add_argument("--encoder-cache", type=Path, help="text: directory of the embedding cache")
    add_json_flag(ev)
