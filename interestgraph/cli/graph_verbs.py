"""Graph verbs: ``build`` (log → interest graph directory)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .app import CommandResult, UsageError, add_json_flag, add_verb
from .data_verbs import add_source_options, load_from_args


def run_build(args: argparse.Namespace) -> CommandResult:
    from ..graph.build import GraphConfig, build_interest_graph

    started = time.perf_counter()
    loaded = load_from_args(args)
    if args.protocol and loaded.given_split is not None:
        raise UsageError(f"--format {args.format} comes with its own train/test split; omit --protocol")
    if args.encoder == "lexical":
        from ..encoder.lexical import LexicalEncoder

        encoder = LexicalEncoder()
    else:
        from ..encoder import EncoderConfig, TextEncoder

        encoder = TextEncoder(EncoderConfig(model=args.model, device=args.device, cache_dir=str(args.encoder_cache) if args.encoder_cache else None))
    config = GraphConfig(half_life_days=args.half_life_days, interest_k=args.interest_k, item_k=args.item_k)
    source = loaded.given_split if loaded.given_split is not None else loaded.log
    graph = build_interest_graph(source, config, protocol=args.protocol, seed=args.split_seed, encoder=encoder)
    graph.save(args.out, overwrite=args.overwrite)
    counts = graph.counts()
    seconds = round(time.perf_counter() - started, 3)
    nodes = ", ".join(f"{k} {v:,}" for k, v in counts["nodes"].items())
    edges = ", ".join(f"{k} {v:,}" for k, v in counts["edges"].items())
    text = f"wrote {args.out}: nodes {nodes}; edges {edges}\n{graph.split.describe()}\nbuilt in {seconds:.1f} s (steps: {', '.join(f'{k} {v:.1f} s' for k, v in graph.build_seconds.items() if k != 'total')})"
    return CommandResult({**counts, "protocol": graph.protocol.to_dict(), "out": str(args.out), "seconds": seconds}, text)


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from ..data.protocols import PROTOCOLS

    build = add_verb(
        verbs, common, "build",
        help="build the user–interest–item graph from a log and save it",
        description="Build the interest graph: interest points from the catalog, user tags and mined keywords; "
        "language-model embeddings; weighted user–item, item–interest, user–interest (w(v|u)), interest–interest "
        "and item–item edges. With --protocol, every edge comes from the training part only and the split is stored.",
        example="interestgraph build ../shared/datasets/ml-latest-small --format movielens --protocol rs-4 --out graphs/ml-small --json",
        run=run_build,
    )
    add_source_options(build)
    build.add_argument("--protocol", choices=sorted(PROTOCOLS), help="split under this protocol first (edges from the training part only); default: every event trains")
    build.add_argument("--out", type=Path, required=True, help="graph directory to write (e.g. graphs/NAME)")
    build.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    build.add_argument("--encoder", choices=("lm", "lexical"), default="lm", help="lm: the transformers encoder (default); lexical: hashed character n-grams, no model")
    build.add_argument("--model", help="encoder weights: a local directory or hub id (default: the packaged all-MiniLM-L6-v2)")
    build.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    build.add_argument("--encoder-cache", type=Path, help="directory of the on-disk embedding cache (re-builds skip re-encoding)")
    build.add_argument("--half-life-days", type=float, default=180.0, help="time decay of behavioural weights (default 180)")
    build.add_argument("--interest-k", type=int, default=10, help="interest–interest neighbours per interest (default 10)")
    build.add_argument("--item-k", type=int, default=10, help="item–item text neighbours per item; 0 turns them off (default 10)")
    add_json_flag(build)
