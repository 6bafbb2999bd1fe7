"""``interestgraph train``: fit the interest-graph model on a built graph and save it.

Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) the verb trains data-parallel
(:mod:`interestgraph.distributed`): every process joins the process group (``nccl``
on CUDA, one GPU per process; ``gloo`` on the CPU), trains its share of each batch, and
only rank 0 saves the model and prints the result; the other processes exit 0 quietly::

    torchrun --nproc-per-node 2 -m interestgraph train GRAPH --out MODEL
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from pathlib import Path

from .verb import CommandResult, UsageError, add_json_flag, add_verb, expect_artifact

#: flags that map one-to-one onto ModelConfig / TrainConfig fields
MODEL_FLAGS = (
    "max_length",
    "exponent",
    "dim",
    "gcn_layers",
    "gate_rank",
    "first_step_weights",
    "similarity_edges",
    "remine_every",
    "prune_below",
)
TRAIN_FLAGS = (
    "lr",
    "path_lr",
    "weight_decay",
    "l2",
    "epochs",
    "warmup_epochs",
    "patience",
    "holdout",
    "holdout_mode",
    "cold_items",
    "cold_draws",
    "negatives",
    "loss",
    "softmax_temperature",
    "user_batch",
    "seed",
    "device",
    "log_path",
    "encoder_mode",
    "encoder_lr",
    "encoder_warmup_epochs",
)


def config_fields() -> set[str]:
    """What a ``--config`` file may set for ``train`` besides its flags: any ModelConfig / TrainConfig field, or a
    ``model`` table of ModelConfig fields (``{"model": {...}, "train": {...}}`` files keep working: ``train`` is the
    verb's table)."""
    from ..model import ModelConfig, TrainConfig

    return (
        {f.name for f in dataclasses.fields(ModelConfig)}
        | {f.name for f in dataclasses.fields(TrainConfig)}
        | {"model"}
    )


def configs_from_args(args: argparse.Namespace):
    """``(ModelConfig, TrainConfig)``: defaults, then ``--config FILE`` (fields, flag names, a ``model`` table), then
    flags."""
    from ..model import ModelConfig, TrainConfig

    extra = dict(getattr(args, "config_extra", None) or {})
    table = extra.pop("model", {})
    if not isinstance(table, dict):
        raise UsageError(f"--config: 'model' must be a table of ModelConfig fields, got {type(table).__name__}")
    model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    model = {**table, **{k: v for k, v in extra.items() if k in model_fields}}
    train = {k: v for k, v in extra.items() if k not in model_fields}
    for name in MODEL_FLAGS:
        if getattr(args, name) is not None:
            model[name] = getattr(args, name)
    if args.edge_types:
        given = args.edge_types
        model["edge_types"] = [
            t.strip() for t in (given.split(",") if isinstance(given, str) else given) if str(t).strip()
        ]
    if args.no_text:
        model["text_features"] = False
    if args.typed_gates:
        model["typed_gates"] = True
    for name in TRAIN_FLAGS:
        if getattr(args, name) is not None:
            train[name] = getattr(args, name)
    try:
        return ModelConfig.from_dict(model), TrainConfig.from_dict(train)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"configuration: {exc}") from None


def _interest_graph_settings(args: argparse.Namespace) -> list[str]:
    """The flags (and --config fields) given that only the interest-graph model reads."""
    given = [f"--{name.replace('_', '-')}" for name in (*MODEL_FLAGS, *TRAIN_FLAGS) if getattr(args, name) is not None]
    given += [
        flag
        for flag, on in (
            ("--edge-types", args.edge_types),
            ("--no-text", args.no_text),
            ("--typed-gates", args.typed_gates),
            ("--checkpoint-dir", args.checkpoint_dir),
            ("--resume", args.resume),
        )
        if on
    ]
    given += [f"--config {key}" for key in (getattr(args, "config_extra", None) or {})]
    return given


def run_train_item_path(args: argparse.Namespace) -> CommandResult:
    """``train --model-type item-path``: the item–item path model's weights chosen on the graph's validation part over
    its stated grid (:func:`~interestgraph.model.tune_item_path`; ``--grid`` overrides it), saved as an item-path
    artifact."""
    from ..artifacts import check_target
    from ..graph import InterestGraph
    from .evaluate_verb import fit_item_path

    others = _interest_graph_settings(args)
    if others:
        raise UsageError(
            f"--model-type item-path is closed-form (no epochs, no encoder fine-tuning): {', '.join(others)} apply to "
            "the interest-graph model only; the item-path model's settings are chosen on validation over --grid"
        )
    check_target(args.out, overwrite=args.overwrite, inputs=(args.graph,))
    started = time.perf_counter()
    graph = InterestGraph.load(args.graph)
    if args.tune_encoder and (graph.encoder_identity is None or graph.encoder_identity.startswith("lexical-")):
        raise UsageError(
            f"--tune-encoder fine-tunes the packaged MiniLM; {args.graph} was built with "
            f"{graph.encoder_identity or 'no text encoder'}"
        )
    model, facts, line = fit_item_path(graph.split, graph, args)
    indexed = ""
    if graph.encoder_identity is not None:  # the query index: free-text queries through the graph's encoder
        from ..encoder.identity import same_encoder
        from ..model.encoding import encoder_for_identity

        encoder = encoder_for_identity(graph.encoder_identity)
        if same_encoder(encoder, graph.encoder_identity):
            index_started = time.perf_counter()
            if args.tune_encoder:
                encoder = _tuned_query_encoder(graph, encoder, facts)
            model = model.index_queries(graph, encoder)
            facts["query_index_seconds"] = round(time.perf_counter() - index_started, 3)
            indexed = (
                f"\nquery index: {model.n_items:,} item documents embedded in {facts['query_index_seconds']:.1f} s"
            )
            if args.tune_encoder:
                tuning = facts["encoder_tuning"]
                indexed += (
                    f" by the encoder fine-tuned on {tuning['pairs']:,} (text, item) pairs "
                    f"({tuning['steps']} steps, loss {tuning['loss_per_epoch'][-1]:.3f}, {tuning['seconds']:.0f} s)"
                )
        else:
            indexed = (
                f"\nno query index: the graph's encoder {graph.encoder_identity!r} is not the packaged one "
                "(index it from Python: model.index_queries(graph, encoder))"
            )
    model.save(args.out, overwrite=args.overwrite, inputs=(args.graph,))
    seconds = round(time.perf_counter() - started, 3)
    data = {
        "out": str(args.out),
        "model": "item-path",
        "protocol": graph.protocol.to_dict(),
        **facts,
        "describe": model.describe(),
        "seconds": seconds,
    }
    text = (
        f"wrote {args.out}: {model.describe()}\n{graph.split.describe()}\n{line.strip()}{indexed}\nin {seconds:.1f} s"
    )
    if not facts["tuned"]:
        text += (
            "\nno validation part: the default weights were fitted on every event of the graph (nothing chosen); "
            "build with --protocol rs-4 (or tl-4, cold-4) to choose them on validation"
        )
    return CommandResult(data, text)


def _tuned_query_encoder(graph, encoder, facts: dict):
    """``train --model-type item-path --tune-encoder``: the graph's MiniLM with its top 2 layers fine-tuned
    contrastively on the training part's (interest label or tag, item document) pairs."""
    from ..encoder import EncoderConfig, TextEncoder
    from ..encoder.contrastive import fine_tune_contrastive
    from ..evaluate.intents import text_document_pairs

    if not isinstance(encoder, TextEncoder):
        raise UsageError("--tune-encoder fine-tunes the packaged MiniLM; this graph was built with another encoder")
    tuned = TextEncoder(EncoderConfig(mode="top", top_layers=2))
    report = fine_tune_contrastive(tuned, text_document_pairs(graph.split))
    facts["encoder_tuning"] = {k: v for k, v in report.items() if k != "seconds"} | {
        "seconds": round(report["seconds"], 3)
    }
    return tuned


def run_train(args: argparse.Namespace) -> CommandResult:
    from .. import distributed
    from ..graph import InterestGraph
    from ..model import InterestGraphModel

    expect_artifact(args.graph, "interestgraph-graph", "GRAPH_DIR")
    if args.out.exists() and not args.overwrite:
        raise UsageError(f"--out {args.out} exists; pass --overwrite to replace it")
    if args.model_type == "item-path":
        return run_train_item_path(args)
    if args.grid is not None:
        raise UsageError("--grid chooses the item-path model's settings: give it with --model-type item-path")
    if args.tune_encoder:
        raise UsageError(
            "--tune-encoder fine-tunes the item-path model's query encoder: give it with --model-type item-path (the "
            "interest-graph model trains its encoder jointly with --encoder-mode top or lora)"
        )
    model_config, train_config = configs_from_args(args)
    try:
        processes = distributed.env_world_size()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from ..artifacts import check_target

    check_target(args.out, overwrite=args.overwrite, inputs=(args.graph, args.checkpoint_dir))
    checkpoint = args.checkpoint_dir
    if args.resume and checkpoint is None:
        raise UsageError("--resume needs --checkpoint-dir (the directory the interrupted run wrote its checkpoints to)")
    if checkpoint is not None:
        held = (checkpoint / "state.json").exists()
        if args.resume and not held:
            raise UsageError(f"--resume: {checkpoint} holds no checkpoint (state.json); start without --resume")
        if held and not args.resume:
            raise UsageError(
                f"--checkpoint-dir {checkpoint} holds a checkpoint; pass --resume to continue that run, or use another "
                "directory"
            )
        from ..train.checkpoint import is_checkpoint

        # each epoch replaces it: refuse now, not after the first epoch, a folder of other files or one holding --out
        check_target(checkpoint, overwrite=True, inputs=(args.graph, args.out), replaceable=is_checkpoint)
    started = time.perf_counter()
    graph = InterestGraph.load(args.graph)
    validated = len(graph.split.positive_pairs("valid")) > 0
    if not validated:  # say it before the epochs run, not after
        logging.getLogger("interestgraph").warning(
            f"{args.graph} has no validation part (protocol {graph.protocol.name}: built without --protocol, every "
            f"event trains), so all {train_config.epochs} epochs run and the last is kept: no early stopping and no "
            "validation score. To hold out validation and test parts, build with --protocol rs-4 (or tl-4, cold-4)"
        )
    if getattr(args, "quiet", False) or args.json:  # -q: nothing on stderr; --json: the epochs are in the result
        train_config = dataclasses.replace(train_config, verbose=False)
    model = InterestGraphModel(model_config, train_config)
    joined = False
    if processes > 1:  # launched by torchrun: join the group (the trainer then trains data-parallel)
        from ..device import resolve_device

        joined = distributed.init_from_env(resolve_device(train_config.device).split(":")[0])
    try:
        main_process = distributed.is_main_process()
        if checkpoint is not None:
            from ..train import Trainer

            Trainer(train_config, checkpoint_dir=checkpoint).fit(model, graph)
        else:
            model.fit(graph)
        if main_process:
            model.save(args.out, overwrite=args.overwrite, inputs=(args.graph, checkpoint))
    finally:
        if joined:
            distributed.cleanup()
    if not main_process:  # rank 0 saves and reports; the others exit 0 without output
        args.json = False
        return CommandResult({}, "")
    seconds = round(time.perf_counter() - started, 3)
    report = model.report_
    valid = {"ndcg@20": report.best_valid_ndcg} if report.best_valid_ndcg == report.best_valid_ndcg else {}
    data = {
        "out": str(args.out),
        "protocol": graph.protocol.to_dict(),
        "valid": valid,
        "best_epoch": report.best_epoch,
        "epochs": report.epochs,
        "train_seconds": round(report.train_seconds, 3),
        "epoch_seconds": {k: round(v, 3) for k, v in report.epoch_seconds.items()},
        "cold_items": report.cold_items,
        "cold_calibration": report.cold_calibration,
        "model_config": model_config.to_dict(),
        "train_config": train_config.to_dict(),
        "processes": processes,
        "seconds": seconds,
    }
    text = (
        f"wrote {args.out}: {model.describe()}\n{graph.split.describe()}\n"
        f"trained in {report.train_seconds:.1f} s"
        + (f" on {processes} processes" if processes > 1 else "")
        + f" ({report.epochs} epochs; per epoch: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in report.epoch_seconds.items())
        + ")"
        f"\ncold items: {report.cold_items:g} of the items hidden per epoch; gate bias of items without interactions "
        f"{report.cold_calibration['bias']:+.2f} ({report.cold_calibration['draws']} calibration draws)"
    )
    if not validated:
        text += (
            f"\nno validation part: trained on every event of the graph and kept the last of {report.epochs} epochs "
            "(not early-stopped); there is no test part to evaluate on"
        )
    return CommandResult(data, text)


def _share_or_auto(value: str):
    if value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share such as 0.1, or auto, got {value!r}") from None


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from .verb import CONFIG_EXTRAS

    CONFIG_EXTRAS["train"] = config_fields
    train = add_verb(
        verbs,
        common,
        "train",
        help="train the interest-graph model on a built graph and save it",
        description="Fit the path model (scores are exact sums over user→item walks) on the graph's training edges, "
        "early-stopped on its stored split's validation NDCG@20, and save it atomically (weights, frozen walk "
        "operator, model card). Settings come from defaults, then --config FILE (TOML or JSON: flag names or any "
        "ModelConfig / TrainConfig field, a [model] table), then flags. Several GPUs or machines (data-parallel, the "
        "same training): 'torchrun --nproc-per-node N -m interestgraph train GRAPH --out MODEL' (N processes, one GPU "
        "each with nccl, else gloo on the CPU; add --nnodes/--node-rank/--master-addr/--master-port across machines); "
        "only rank 0 writes the model.",
        example="interestgraph train graphs/ml-small --out models/ml-small --epochs 40 --json",
        run=run_train,
    )
    train.add_argument("graph", type=Path, help="graph directory written by 'interestgraph build'")
    train.add_argument("--out", type=Path, required=True, help="model directory to write (e.g. models/NAME)")
    train.add_argument(
        "--model-type",
        choices=("interest-graph", "item-path"),
        default="interest-graph",
        help="interest-graph (default: the walk model trained by gradient steps, with the encoder, intents and "
        "add-items) or item-path (closed-form item–item paths, weights chosen on validation over --grid: the "
        "stronger ranker, fitted in seconds to minutes; see docs/item-path.md)",
    )
    train.add_argument(
        "--tune-encoder",
        action="store_true",
        help="with --model-type item-path: fine-tune the query encoder's top 2 layers contrastively on the training "
        "part's (interest label or tag, item document) pairs before indexing (minutes on a CPU; docs/item-path.md)",
    )
    train.add_argument(
        "--grid",
        default=None,
        help="with --model-type item-path: JSON overriding fields of its validation grid (ItemPathGrid), e.g. "
        '\'{"item-path": {"ridge": [100, 500]}}\' (the same syntax as evaluate --grid); its "config" entry sets '
        "ItemPathConfig fields the sweep starts from",
    )
    train.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    train.add_argument(
        "--checkpoint-dir",
        type=Path,
        help="write the full training state there after every epoch (atomically), so a killed run can resume",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the run whose checkpoint is in --checkpoint-dir (same settings and graph; --epochs / --patience "
        "may change)",
    )
    train.add_argument(
        "--edge-types", help="comma-separated edge types walked on (default user-item,item-interest,interest-interest)"
    )
    train.add_argument(
        "--no-text", action="store_true", help="start items and interests from ID vectors, not the encoder's"
    )
    train.add_argument(
        "--typed-gates",
        action="store_true",
        help="one gate per node and edge type (pays with item-item text edges: --edge-types ...,item-item)",
    )
    for name, kind, what in (
        ("max_length", int, "longest walk, 2 or 3"),
        ("exponent", float, "degree normalisation exponent"),
        ("dim", int, "GCN vector width"),
        ("gcn_layers", int, "GCN layers"),
        ("gate_rank", int, "rank of the pair gates"),
        ("first_step_weights", str, "auto, uniform, order or recency: weight of the user's own items by recency"),
        ("lr", float, "learning rate"),
        ("path_lr", float, "learning rate of the walk coefficients"),
        ("weight_decay", float, "AdamW weight decay"),
        ("l2", float, "L2 on ID vectors"),
        ("epochs", int, "most epochs"),
        ("warmup_epochs", int, "warm-up epochs"),
        ("patience", int, "early-stopping patience (epochs)"),
        ("holdout", float, "share of each user's items held out as targets per epoch"),
        ("holdout_mode", str, "auto, random or latest: which items are held out"),
        (
            "cold_items",
            _share_or_auto,
            "share of items hidden as cold per epoch, or auto (the cold-item protocol's fraction, else 0)",
        ),
        ("cold_draws", int, "draws of simulated cold items that set the cold items' gate bias (0: none)"),
        ("negatives", int, "negatives per target (loss bpr)"),
        ("loss", str, "softmax (default: each target against every candidate item) or bpr (against sampled negatives)"),
        ("softmax_temperature", float, "divides the walk scores in the softmax loss"),
        ("user_batch", int, "users per step"),
        ("seed", int, "random seed"),
        ("device", str, "cpu, cuda or auto"),
        ("log_path", str, "per-epoch log (.csv or .jsonl)"),
        (
            "similarity_edges",
            str,
            "frozen or refined: interest-interest / item-item weights recomputed from the GCN's vectors while training",
        ),
        ("remine_every", int, "epochs between re-minings of refined similarity edges (0: never)"),
        ("prune_below", float, "refined similarity edges lighter than this are dropped at each re-mining"),
        ("encoder_mode", str, "frozen, top or lora: fine-tune the text encoder with the model"),
        ("encoder_lr", float, "learning rate of the encoder's trainable parameters"),
        ("encoder_warmup_epochs", int, "epochs with the encoder frozen before joint steps"),
    ):
        train.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None, help=what)
    add_json_flag(train)
