"""The ``encode`` verb: a catalog's item texts → the embedding cache, split across torchrun ranks; ``--merge`` folds in
other caches.

``interestgraph encode SOURCE --format F --encoder-cache DIR`` encodes the same
item texts the graph build encodes for item vectors (``InteractionLog.item_texts()``,
leaving out items whose text is only their ID), so a following
``interestgraph build ... --encoder-cache DIR`` with the same model encodes no
item text again. Under ``torchrun --nproc-per-node N -m interestgraph encode ...``
the texts are split across the N ranks (see :mod:`interestgraph.encoder.distributed`);
rank 0 alone writes the cache and prints. ``--merge OTHER`` copies the rows of
caches written elsewhere into DIR first (rank 0), so they count as cached.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .data_verbs import add_source_options, load_from_args
from .verb import CommandResult, UsageError, add_json_flag, add_verb


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (argparse names the flag in its error)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def catalog_item_texts(loaded) -> list[str]:
    """The item texts the graph build encodes for item vectors (``_item_vectors``): the catalog's texts in
    catalog order, without the items whose text is only their ID."""
    from ..graph.build import catalog_has_text

    log = loaded.given_split.log if loaded.given_split is not None else loaded.log
    texts = log.item_texts()
    keep = catalog_has_text(texts, log.items["item_id"])
    return [t for t, k in zip(texts, keep) if k]


def _merge(cache_dir: Path, others: list[Path]) -> dict[str, int]:
    from ..encoder.cache import EmbeddingCache

    added: dict[str, int] = {}
    with EmbeddingCache(cache_dir) as cache:
        for other in others:
            added[str(other)] = cache.merge(other)
    return added


def run_encode(args: argparse.Namespace) -> CommandResult:
    from ..distributed import cleanup, init_from_env, rank_device, world
    from ..encoder.distributed import raise_if_any_rank_failed, run_distributed_encode

    started = time.perf_counter()
    merge = list(args.merge or [])
    if args.format is None and args.source is not None:
        from .data_verbs import resolve_format

        resolve_format(args, "encode")
    if args.format is None and not merge:
        raise UsageError(
            "nothing to do: give SOURCE --format FORMAT to encode a catalog, and/or --merge OTHER_CACHE_DIR"
        )
    for other in merge:
        if Path(other).resolve() == Path(args.encoder_cache).resolve():
            raise UsageError(f"--merge {other} is the --encoder-cache itself")
    started_group = init_from_env("cuda" if rank_device(args.device).startswith("cuda") else "cpu")
    try:
        rank, world_size = world()
        merged: dict[str, int] = {}
        error: Exception | None = None
        try:
            if merge and rank == 0:
                merged = _merge(args.encoder_cache, merge)
        except Exception as exc:
            error = exc
        raise_if_any_rank_failed(error, "--merge (rank 0)")
        data: dict = {"cache": str(args.encoder_cache), "merged": merged, "world_size": world_size}
        lines = [f"merged {other}: {n:,} rows added to {args.encoder_cache}" for other, n in merged.items()]
        if args.format is not None:
            from ..encoder import EncoderConfig, TextEncoder

            try:
                loaded = load_from_args(args, "encode")
                texts = catalog_item_texts(loaded)
                # the encoder itself has no cache: rank 0 reads and writes --encoder-cache once (run_distributed_encode)
                encoder = TextEncoder(
                    EncoderConfig(model=args.model, device=rank_device(args.device), batch_size=args.batch_size)
                )
            except Exception as exc:
                error = exc
            raise_if_any_rank_failed(error, "loading the catalog or the encoder")
            result = run_distributed_encode(texts, encoder, cache_dir=args.encoder_cache, all_ranks=False)
            rate = result.n_encoded / result.seconds if result.seconds > 0 else 0.0
            data.update(
                {
                    "source": loaded.log.source,
                    "model": encoder.name,
                    "identity": encoder.identity,
                    "dim": encoder.dim,
                    "items": int(loaded.log.n_items),
                    "texts": result.n_texts,
                    "unique": result.n_unique,
                    "cached": result.n_cached,
                    "encoded": result.n_encoded,
                    "per_rank": result.per_rank,
                    "encode_seconds": round(result.seconds, 3),
                    "texts_per_second": round(rate, 1),
                }
            )
            ranks = f" on {world_size} ranks ({', '.join(f'{n:,}' for n in result.per_rank)})" if world_size > 1 else ""
            speed = f"; {rate:,.0f} texts/s" if result.n_encoded else ""
            lines.append(
                f"{args.encoder_cache}: {result.n_unique:,} distinct item texts of {loaded.log.n_items:,} items; "
                f"{result.n_encoded:,} encoded{ranks}, {result.n_cached:,} already cached{speed} ({encoder.name}, "
                f"{encoder.device})"
            )
            lines.append(
                f"a build with --encoder-cache {args.encoder_cache} and the same model now encodes no item text"
            )
        data["seconds"] = round(time.perf_counter() - started, 3)
        lines.append(f"done in {data['seconds']:.1f} s")
    finally:
        if started_group:
            cleanup()
    if rank != 0:  # under torchrun only rank 0 prints (main prints --json data, or text when non-empty)
        args.json = False
        return CommandResult({}, "")
    return CommandResult(data, "\n".join(lines))


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    enc = add_verb(
        verbs,
        common,
        "encode",
        help="encode a catalog's item texts into the embedding cache (split across torchrun ranks); merge caches",
        description="Encode the item texts of a catalog (the texts 'build' encodes for item vectors) with the language "
        "model into an embedding cache, so a later 'interestgraph build ... --encoder-cache DIR' with the same model "
        "encodes no item text again. Run it under 'torchrun --nproc-per-node N -m interestgraph encode ...' to split "
        "the texts across N ranks (gloo on CPU, nccl with --device cuda: rank r on cuda:LOCAL_RANK); ranks may sit on "
        "machines with no shared file system: rank 0 gathers the vectors, writes the cache and alone prints. --merge "
        "copies the rows of caches written elsewhere (e.g. by workers on other machines) into --encoder-cache first; "
        "without SOURCE it only merges.",
        example="interestgraph encode ../shared/datasets/ml-latest-small --format movielens --encoder-cache "
        "graphs/.encoder-cache --json\n  torchrun --nproc-per-node 2 -m interestgraph encode "
        "../shared/datasets/ml-latest-small --format movielens --encoder-cache graphs/.encoder-cache\n  interestgraph "
        "encode --encoder-cache graphs/.encoder-cache --merge worker1/.encoder-cache --merge worker2/.encoder-cache",
        run=run_encode,
    )
    add_source_options(enc)
    enc.add_argument(
        "--encoder-cache",
        type=Path,
        required=True,
        help="directory of the on-disk embedding cache to fill (the one 'build --encoder-cache' reads)",
    )
    enc.add_argument(
        "--model", help="encoder weights: a local directory or hub id (default: the packaged all-MiniLM-L6-v2)"
    )
    enc.add_argument(
        "--device", default="cpu", help="cpu, cuda or auto (default cpu); under torchrun cuda means cuda:LOCAL_RANK"
    )
    enc.add_argument(
        "--batch-size", type=positive_int, default=64, help="texts per forward pass on each rank (default 64)"
    )
    enc.add_argument(
        "--merge",
        action="append",
        type=Path,
        metavar="OTHER_CACHE_DIR",
        help="copy the rows of another cache directory into --encoder-cache first (existing rows kept); repeatable",
    )
    add_json_flag(enc)
