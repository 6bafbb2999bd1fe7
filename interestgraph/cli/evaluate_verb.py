"""``interestgraph evaluate``: baselines and trained models under one stated protocol."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from .choices import PROTOCOLS
from .data_verbs import add_source_options, load_from_args
from .verb import CommandResult, UsageError, add_json_flag, add_verb

MODEL_NAMES = ("pop", "itemknn", "bpr", "lightgcn", "text", "ease", "gfcf", "chebycf", "item-path")
#: models whose settings are chosen on the validation part over a stated grid (``baselines.linear_tune``)
TUNED_NAMES = ("ease", "gfcf", "chebycf")


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


def parse_grids(text: str | None) -> dict[str, dict[str, list[Any]]]:
    """``--grid`` JSON: ``{"ease": {"l2": [100, 500]}, ...}`` overriding the stated default grids."""
    if not text:
        return {}
    try:
        grids = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f'--grid must be JSON such as \'{{"ease": {{"l2": [100, 500]}}}}\': {exc}') from None
    if not isinstance(grids, dict) or any(
        name not in (*TUNED_NAMES, "item-path")
        or not isinstance(grid, dict)
        or (name != "item-path" and not all(isinstance(v, list) and v for v in grid.values()))
        for name, grid in grids.items()
    ):
        raise UsageError(
            f"--grid maps a model ({', '.join(TUNED_NAMES)}) to {{setting: [values, ...]}}, or item-path to "
            f"ItemPathGrid fields, got {text!r}"
        )
    return grids


def fit_tuned(name: str, split, args: argparse.Namespace) -> tuple[Any, dict[str, Any], str]:
    """``(fitted model, facts, line)`` for a model of :data:`TUNED_NAMES`: chosen on validation NDCG@20 over its
    stated grid, or its default setting (said so) when the split has no validation part."""
    from .. import baselines

    cls, default_grid = baselines.LINEAR_MODELS[name]
    grid = parse_grids(args.grid).get(name, default_grid)
    fixed = {"max_memory_gb": args.max_memory_gb} if name == "ease" else {}
    try:
        if len(split.positive_pairs("valid")) == 0:
            model = cls(**fixed).fit(split)
            setting = {k: getattr(model, k) for k in grid}
            facts = {"setting": setting, "tuned": False, "configurations": 0}
            line = f"  {name}: default setting {setting} (not tuned: the split has no validation part)"
            return model, facts, line
        model, table = baselines.tune_grid(cls, split, grid, name=name, **fixed)
    except MemoryError as exc:
        raise UsageError(f"--models {name}: {exc}") from None
    except TypeError as exc:
        raise UsageError(f"--grid {name}: {exc}") from None
    chosen = table[table["chosen"]].iloc[0]
    setting = {k: chosen[k].item() if hasattr(chosen[k], "item") else chosen[k] for k in grid}
    facts = {
        "setting": setting,
        "tuned": True,
        "grid": {k: list(v) for k, v in grid.items()},
        "configurations": len(table),
        "valid_ndcg@20": round(float(chosen["valid_ndcg@20"]), 6),
        "valid_recall@20": round(float(chosen["valid_recall@20"]), 6),
        "tuning_seconds": round(float(table["fit_seconds"].sum() + table["valid_seconds"].sum()), 3),
    }
    line = (
        f"  {name}: {setting} chosen on validation NDCG@20 {facts['valid_ndcg@20']:.4f} "
        f"(Recall@20 {facts['valid_recall@20']:.4f}) over "
        f"{baselines.describe_grid(grid)}"
    )
    return model, facts, line


def fit_item_path(split, graph, args: argparse.Namespace) -> tuple[Any, dict[str, Any], str]:
    """``(fitted model, facts, line)`` for ``item-path``: :func:`~interestgraph.model.tune_item_path` over its stated
    grid (``--grid '{"item-path": {...}}'`` overrides fields of :class:`~interestgraph.model.ItemPathGrid`; its
    ``"config"`` entry, fields of :class:`~interestgraph.model.ItemPathConfig` the sweep starts from, e.g. the
    ``spectral`` component's ε and rank) on the graph when there is one (interests and text), else on the split; the
    default setting without a validation part."""
    from ..model import ItemPathConfig, ItemPathGrid, ItemPathModel, tune_item_path

    data = graph if graph is not None else split
    fields = dict(parse_grids(args.grid).get("item-path", {}))
    config = fields.pop("config", {})
    try:
        grid = ItemPathGrid.from_dict({k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--grid item-path: {exc}") from None
    if not isinstance(config, dict):
        raise UsageError(f'--grid item-path: "config" maps ItemPathConfig fields to values, got {config!r}')
    try:
        base = ItemPathConfig.from_dict(config)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--grid item-path config: {exc}") from None
    if len(split.positive_pairs("valid")) == 0:
        model = ItemPathModel(base).fit(data)
        theta = {k: v for k, v in model.theta_.items() if v != 0}
        line = f"  item-path: default weights {theta} (not tuned: the split has no validation part)"
        return model, {"setting": {"theta": theta}, "tuned": False, "configurations": 0}, line
    started = time.perf_counter()
    model, tried = tune_item_path(data, grid, base)
    theta = {k: v for k, v in model.theta_.items() if v != 0}
    setting = {"ridge": model.config.ridge, "side_weight": model.config.side_weight, "theta": theta}
    if model.cold_theta_ is not None:
        setting["cold_theta"] = {k: v for k, v in model.cold_theta_.items() if v != 0}
    best = max(r["ndcg@20"] for r in tried if not r.get("simulation"))
    facts = {
        "setting": setting,
        "tuned": True,
        "grid": grid.to_dict(),
        **({"config": config} if config else {}),
        "configurations": len(tried),
        "valid_ndcg@20": round(best, 6),
        "tuning_seconds": round(time.perf_counter() - started, 3),
    }
    line = f"  item-path: {setting} chosen on validation NDCG@20 {best:.4f} over {len(tried)} configurations"
    return model, facts, line


def is_model_dir(name: str) -> bool:
    """Whether ``name`` is a directory written by ``interestgraph train`` or ``ItemPathModel.save`` (a model
    manifest)."""
    from ..artifacts import artifact_format

    return artifact_format(name) in ("interestgraph-model", "interestgraph-item-path-model")


def load_trained(name: str, graph):
    """A trained model directory, checked against the graph being evaluated (an item-path model against the split's
    IDs, by the harness)."""
    from ..artifacts import artifact_format
    from ..model import InterestGraphModel, ItemPathModel

    if artifact_format(name) == "interestgraph-item-path-model":
        return ItemPathModel.load(name)

    if graph is None:
        raise UsageError(
            f"--models {name}: a trained model is evaluated on the graph it was trained on; "
            "pass that graph directory as SOURCE with --format graph"
        )
    model = InterestGraphModel.load(name)
    recorded = model.facts.get("graph_manifest_sha256")
    if recorded is not None and recorded != graph.manifest_sha256:
        raise UsageError(
            f"--models {name} was trained on {model.facts.get('graph_path')} (manifest {recorded[:12]}), "
            f"not on {graph.source_path} (manifest {graph.manifest_sha256[:12]})"
        )
    if model.facts.get("graph_counts") not in (None, graph.counts()) or model.layout != {
        "user": len(graph.users),
        "item": len(graph.items),
        "interest": len(graph.interests),
    }:
        raise UsageError(f"--models {name}: its node counts do not match {graph.source_path}")
    return model


def _model_source(args: argparse.Namespace, names: list[str]) -> str | None:
    """SOURCE a model directory (no --format): evaluate it on the graph it records, beside ``--models``; returns the
    line that says so, or None when SOURCE is not a model."""
    from ..artifacts import artifact_format

    if args.format is not None or args.source is None or not is_model_dir(str(args.source)):
        return None
    manifest = json.loads((Path(args.source) / "manifest.json").read_text(encoding="utf-8"))
    graph = manifest.get("graph_path")
    if not graph:
        raise UsageError(
            f"SOURCE {args.source} is a model that records no training graph (fitted on a graph never saved); give "
            "the graph: interestgraph evaluate GRAPH_DIR --models " + str(args.source)
        )
    if artifact_format(graph) != "interestgraph-graph":
        raise UsageError(
            f"SOURCE {args.source} is a model whose training graph {graph!r} is not a graph directory any more; "
            "give the graph: interestgraph evaluate GRAPH_DIR --models " + str(args.source)
        )
    model = str(args.source)
    if args.models_given:
        names.append(model)
    else:  # the default baselines beside it
        names.insert(0, model)
    args.source, args.format = Path(graph), "graph"
    return f"{model}: evaluated on its training graph {graph}"


def _split_from_args(args: argparse.Namespace):
    """``(split, graph or None)`` for the evaluate verb."""
    from ..data.protocols import split_log
    from ..graph import InterestGraph
    from .data_verbs import resolve_format

    source = args.source
    if args.format is None and source is not None:
        resolve_format(args, "evaluate")
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
                f"{source} stores a split made under {graph_split.protocol.name}; "
                f"a graph is evaluated on its own split "
                f"(omit --protocol or pass --protocol {graph_split.protocol.name})"
            )
        return graph_split, graph
    if args.format == "graph":
        raise UsageError(
            f"--format graph needs a graph directory written by 'interestgraph build'; {source} is not one"
        )
    loaded = load_from_args(args, "evaluate")
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
    args.models_given = args.models is not None
    names = [n.strip() for n in (args.models or "pop,itemknn").split(",") if n.strip()]
    source_line = _model_source(args, names)
    names = list(dict.fromkeys(names))
    unknown = [n for n in names if n not in MODEL_NAMES and not is_model_dir(n)]
    if unknown or not names:
        raise UsageError(
            f"--models: unknown model(s) {unknown or names}; choose from {', '.join(MODEL_NAMES)} "
            "or a trained model directory"
        )
    split, graph = _split_from_args(args)
    if len(split.positive_pairs("test")) == 0:
        raise UsageError(
            f"{args.source} has no test part to evaluate on (protocol {split.protocol.name}: "
            + (
                "the graph was built without --protocol, so every event trains); rebuild it with --protocol rs-4 (or "
                "tl-4, cold-4): interestgraph build DATA --protocol rs-4 --out GRAPH_DIR"
                if graph is not None
                else "no held-out pairs); evaluate under a protocol: --protocol rs-4 (or tl-4, cold-4)"
            )
        )
    results = {}
    lines = [split.describe()] + ([source_line] if source_line else [])
    for name in names:
        started = time.perf_counter()
        tuned_facts, tuned_line = None, None
        if name in TUNED_NAMES:
            model, tuned_facts, tuned_line = fit_tuned(name, split, args)
        elif name == "item-path":
            model, tuned_facts, tuned_line = fit_item_path(split, graph, args)
        elif name in MODEL_NAMES:
            model = make_model(name, args).fit(split)
        else:
            model = load_trained(name, graph)
        result = evaluate(model, split, part="test", cutoffs=cutoffs, name=name)
        entry = result.to_dict()
        entry["seconds"] = round(time.perf_counter() - started, 3)
        if tuned_facts is not None:
            entry.update(tuned_facts)
        for attribute in ("best_epoch_", "epochs_", "converged_"):
            if hasattr(model, attribute):
                entry[attribute.rstrip("_")] = getattr(model, attribute)
        results[name] = entry
        lines.append(result.describe() + f" [{entry['seconds']:.1f} s]")
        if entry.get("converged") is False:
            lines.append(
                f"  {name} did NOT converge: it stopped at {entry['epochs']} epochs (best validation epoch "
                f"{entry['best_epoch']}) while validation NDCG@20 was still improving within its patience; raise "
                "--max-epochs for a converged baseline"
            )
        if tuned_line:
            lines.append(tuned_line)
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
    ev = add_verb(
        verbs,
        common,
        "evaluate",
        help="evaluate baselines under a named protocol (full ranking, seen items masked)",
        description="Fit each model on the training part and score the test part: full ranking over the candidate "
        "items with training and validation positives masked; metrics at each cutoff, printed with the protocol. "
        "ease, gfcf and chebycf are tuned first: each setting of their stated grid is fitted on the training part "
        "and the best on validation NDCG@20 is the one scored on test (printed with the grid); item-path (the "
        "closed-form item-item path model) is tuned by its own stated grid (interestgraph.model.ItemPathGrid), on the "
        "graph's interests and text when SOURCE is a graph directory. "
        "SOURCE may be raw data (--format), a dataset directory, a graph directory (its stored split is then used) or "
        "a model directory (evaluated on the graph it was trained on); a directory written by interestgraph needs no "
        "--format.",
        example="interestgraph evaluate ../shared/datasets/ml-latest-small --format movielens --protocol rs-4 "
        "--models pop,itemknn,bpr,lightgcn,text,ease,gfcf,chebycf --cutoffs 10,20 --json\n"
        "  interestgraph evaluate models/ml-small          # a trained model, on its graph, beside pop and itemknn",
        run=run_evaluate,
    )
    add_source_options(ev, extra_formats=("graph",))
    ev.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        help="named protocol (default rs-4; a graph directory uses its stored split)",
    )
    ev.add_argument(
        "--models",
        default=None,
        help=f"comma-separated: {', '.join(MODEL_NAMES)} or a trained model directory (default pop,itemknn; with a "
        "model directory as SOURCE: that model, pop and itemknn)",
    )
    ev.add_argument("--cutoffs", default="10,20", help="comma-separated K values (default 10,20)")
    ev.add_argument(
        "--max-epochs",
        type=int,
        default=300,
        help="bpr/lightgcn: epoch limit (early stopping on validation NDCG@20 usually ends sooner)",
    )
    ev.add_argument("--device", default="cpu", help="bpr/lightgcn: cpu (default), cuda, cuda:N or auto")
    ev.add_argument(
        "--grid",
        default=None,
        help='ease/gfcf/chebycf: JSON overriding their validation grids, e.g. \'{"ease": {"l2": [100, 500]}}\' '
        "(defaults: interestgraph.baselines.EASE_GRID, GFCF_GRID, CHEBYCF_GRID)",
    )
    ev.add_argument(
        "--max-memory-gb",
        type=float,
        default=8.0,
        help="ease: refuse a fit whose dense item x item matrices would need more (default 8)",
    )
    ev.add_argument("--encoder-cache", type=Path, help="text: directory of the embedding cache")
    add_json_flag(ev)
