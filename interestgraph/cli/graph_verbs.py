"""Graph verbs: ``build`` (log → interest graph directory)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .choices import PROTOCOLS
from .data_verbs import add_source_options, load_from_args
from .verb import CommandResult, UsageError, add_json_flag, add_verb


def run_build(args: argparse.Namespace) -> CommandResult:
    from ..artifacts import check_target
    from ..graph import GraphConfig, build_interest_graph

    started = time.perf_counter()
    inputs = (args.source, args.items)
    check_target(args.out, overwrite=args.overwrite, inputs=inputs)  # before the build, not after it
    loaded = load_from_args(args, "build")
    if args.protocol and loaded.given_split is not None:
        raise UsageError(f"--format {args.format} comes with its own train/test split; omit --protocol")
    encoder = _encoder_from_args(args)
    config = GraphConfig(half_life_days=args.half_life_days, interest_k=args.interest_k, item_k=args.item_k)
    source = loaded.given_split if loaded.given_split is not None else loaded.log
    graph = build_interest_graph(source, config, protocol=args.protocol, seed=args.split_seed, encoder=encoder)
    graph.save(args.out, overwrite=args.overwrite, inputs=inputs)
    return _describe_graph(graph, args.out, started)


def _encoder_from_args(args: argparse.Namespace):
    if args.encoder == "lexical":
        from ..encoder.lexical import LexicalEncoder

        return LexicalEncoder()
    from ..encoder import EncoderConfig, TextEncoder

    return TextEncoder(
        EncoderConfig(
            model=args.model, device=args.device, cache_dir=str(args.encoder_cache) if args.encoder_cache else None
        )
    )


def _describe_graph(graph, out, started: float) -> CommandResult:
    counts = graph.counts()
    seconds = round(time.perf_counter() - started, 3)
    nodes = ", ".join(f"{k} {v:,}" for k, v in counts["nodes"].items())
    edges = ", ".join(f"{k} {v:,}" for k, v in counts["edges"].items())
    text = (
        f"wrote {out}: nodes {nodes}; edges {edges}\n{graph.split.describe()}\nbuilt in {seconds:.1f} s (steps: "
        f"{', '.join(f'{k} {v:.1f} s' for k, v in graph.build_seconds.items() if k != 'total')})"
    )
    return CommandResult(
        {
            **counts,
            "protocol": graph.protocol.to_dict(),
            "out": str(out),
            "seconds": seconds,
            "build_seconds": graph.build_seconds,
        },
        text,
    )


def run_build_spark(args: argparse.Namespace) -> CommandResult:
    from ..graph.config import GraphConfig
    from .data_verbs import parse_list_fields, parse_mapping

    started = time.perf_counter()
    if args.out.exists() and not args.overwrite:
        raise UsageError(f"--out {args.out} exists; pass --overwrite to replace it")
    try:
        from ..spark import build_interest_graph_spark, spark_session
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    conf = {}
    for pair in args.conf or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--conf takes KEY=VALUE (a Spark setting), got {pair!r}")
        conf[key.strip()] = value.strip()
    spark = spark_session(args.master, conf=conf)
    config = GraphConfig(half_life_days=args.half_life_days, interest_k=args.interest_k, item_k=args.item_k)
    graph = build_interest_graph_spark(
        args.interactions,
        args.items,
        config,
        spark=spark,
        encoder=_encoder_from_args(args),
        split_name=args.split_name,
        format=args.input_format,
        columns=parse_mapping(args.map, "--map") or None,
        list_fields=parse_list_fields(args.list_field) or None,
        item_columns=parse_mapping(args.item_map, "--item-map") or None,
        default_event=args.event or "interaction",
        timestamp_unit=args.timestamp_unit,
    )
    graph.save(args.out, overwrite=args.overwrite, inputs=(args.interactions, args.items))
    return _describe_graph(graph, args.out, started)


def _add_encoder_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--encoder",
        choices=("lm", "lexical"),
        default="lm",
        help="lm: the transformers encoder (default); lexical: hashed character n-grams, no model",
    )
    parser.add_argument(
        "--model", help="encoder weights: a local directory or hub id (default: the packaged all-MiniLM-L6-v2)"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    parser.add_argument(
        "--encoder-cache", type=Path, help="directory of the on-disk embedding cache (re-builds skip re-encoding)"
    )
    parser.add_argument(
        "--half-life-days", type=float, default=180.0, help="time decay of behavioural weights (default 180)"
    )
    parser.add_argument(
        "--interest-k", type=int, default=10, help="interest–interest neighbours per interest (default 10)"
    )
    parser.add_argument(
        "--item-k", type=int, default=10, help="item–item text neighbours per item; 0 turns them off (default 10)"
    )


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    build = add_verb(
        verbs,
        common,
        "build",
        help="build the user–interest–item graph from a log and save it",
        description="Build the interest graph: interest points from the catalog, user tags and mined keywords; "
        "language-model embeddings; weighted user–item, item–interest, user–interest (w(v|u)), interest–interest "
        "and item–item edges. With --protocol, every edge comes from the training part only and the split is stored.",
        example="interestgraph build ../shared/datasets/ml-latest-small --format movielens --protocol rs-4 --out "
        "graphs/ml-small --json\n"
        "  # your own tables: events.csv (customer,sku,when,stars) and items.csv (sku,name,categories 'a|b')\n"
        "  interestgraph build events.csv --format csv --map user_id=customer --map item_id=sku --map timestamp=when "
        "--event rating --map value=stars --items items.csv --item-map item_id=sku --item-map title=name "
        "--list-field categories --protocol tl-4 --out graphs/shop",
        run=run_build,
    )
    add_source_options(build)
    build.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        help="split under this protocol first (edges from the training part only); default: every event trains",
    )
    build.add_argument("--out", type=Path, required=True, help="graph directory to write (e.g. graphs/NAME)")
    build.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    _add_encoder_options(build)
    add_json_flag(build)

    spark = add_verb(
        verbs,
        common,
        "build-spark",
        help="build the same graph with Apache Spark doing the log-sized work (optional extra: interestgraph[spark])",
        description="Build the interest graph from an event log that Spark reads (Parquet, CSV/TSV with a header, JSON "
        "lines; local, hdfs://, s3a://, globs): Spark validates, weights and splits every event and computes the "
        "user–item and user–interest aggregations; the driver mines interest points from the catalog, encodes and "
        "writes the same graph directory as `build`. The events need the canonical columns user_id, item_id and "
        "optionally timestamp (Unix seconds), event, value, text, and part (a split made elsewhere: train/valid/test); "
        "without part every event trains. Inside spark-submit the session's master is kept; otherwise --master "
        "(default local[*]).",
        example="interestgraph build-spark events.parquet --items movies.csv --list-field genres --split-name rs-4 "
        "--master 'local[4]' --out graphs/big --json",
        run=run_build_spark,
    )
    spark.add_argument(
        "interactions",
        help="events: a file, folder or glob Spark reads (kept as text, so s3a:// and hdfs:// paths work)",
    )
    spark.add_argument(
        "--items",
        help="catalog file (csv/tsv/json lines/parquet) read on the driver; default: a bare catalog of the logged "
        "items",
    )
    spark.add_argument(
        "--input-format",
        choices=("parquet", "csv", "json"),
        help="format of the events (default: from the suffix; a folder is parquet)",
    )
    spark.add_argument(
        "--map",
        action="append",
        metavar="CANON=COL",
        help="map a canonical event column to a source column; repeatable",
    )
    spark.add_argument(
        "--item-map",
        action="append",
        metavar="CANON=COL",
        help="map a canonical catalog column (item_id, title) to a catalog column; repeatable",
    )
    spark.add_argument(
        "--list-field",
        action="append",
        metavar="NAME[=SEP]",
        help="a catalog column of interest labels separated by SEP (default '|'); repeatable",
    )
    spark.add_argument(
        "--event", metavar="NAME", help="event type when the events have no event column (default 'interaction')"
    )
    spark.add_argument(
        "--timestamp-unit", choices=("s", "ms"), default="s", help="unit of numeric timestamps (default s)"
    )
    spark.add_argument(
        "--split-name",
        help="protocol name recorded for a given part column (default 'given'; a file written by write_split_events "
        "carries its protocol)",
    )
    spark.add_argument(
        "--master",
        help="Spark master: local[N], spark://HOST:7077, yarn (default: the running session's, else local[*])",
    )
    spark.add_argument(
        "--conf", action="append", metavar="KEY=VALUE", help="a Spark setting, e.g. spark.driver.memory=8g; repeatable"
    )
    spark.add_argument("--out", type=Path, required=True, help="graph directory to write (e.g. graphs/NAME)")
    spark.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    _add_encoder_options(spark)
    add_json_flag(spark)
