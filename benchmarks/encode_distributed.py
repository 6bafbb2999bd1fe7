"""Distributed encoding benchmark: texts/s of 1 process vs N processes (torch.distributed, gloo, CPU).

Not a test: it measures. For each process count P it spawns P fresh processes
that form a gloo group (``file://`` rendezvous in a temporary directory), load
the encoder, and time one :func:`~interestgraph.encoder.distributed.encode_distributed`
call over the same N texts into an empty embedding cache (cache lookup on rank
0, each rank encoding its share, gather to rank 0, one cache write, broadcast of
the matrix to every rank): the wall time between two barriers, model loading
excluded. ``P = 1`` runs the same code in a group of one (the plain path).

    # N=2000 titles+genres of ml-latest-small, P = 1, 2, 3 runs each
    python benchmarks/encode_distributed.py
    python benchmarks/encode_distributed.py --n 500 --processes 1,2,4 --threads 1 --synthetic

Texts: ``title. genre, genre`` of ``../shared/datasets/ml-latest-small/movies.csv``
(read in place), the first N rows; ``--synthetic`` (or no such file): N
generated catalog-like texts. Each process uses ``--threads`` torch threads
(default 1), so P processes use P cores; on a machine with C cores, P > C
cannot speed anything up.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets" / "ml-latest-small"
sys.path.insert(0, str(ROOT))


def movie_texts(path: Path, n: int) -> list[str]:
    """The first ``n`` rows of a MovieLens ``movies.csv`` as ``"title. genre, genre"`` (title alone when no genres)."""
    texts = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            genres = row.get("genres", "")
            texts.append(
                row["title"] if genres in ("", "(no genres listed)") else f"{row['title']}. {genres.replace('|', ', ')}"
            )
            if len(texts) == n:
                break
    return texts


def synthetic_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct catalog-like texts (a title of 2–5 words, a year, 1–3 genres), reproducible from ``seed``."""
    rng = random.Random(seed)
    words = (
        "night",
        "river",
        "story",
        "last",
        "city",
        "dream",
        "war",
        "love",
        "ghost",
        "king",
        "summer",
        "road",
        "secret",
        "star",
        "house",
        "island",
    )
    genres = (
        "Action",
        "Comedy",
        "Drama",
        "Horror",
        "Romance",
        "Sci-Fi",
        "Thriller",
        "Animation",
        "Documentary",
        "Fantasy",
    )
    return [
        f"{' '.join(rng.choice(words).title() for _ in range(rng.randint(2, 5)))} {i} ({rng.randint(1950, 2020)}). "
        f"{', '.join(rng.sample(genres, rng.randint(1, 3)))}"
        for i in range(n)
    ]


def _rank(
    rank: int,
    world_size: int,
    rendezvous: str,
    out: str,
    texts: list[str],
    threads: int,
    model: str | None,
    batch_size: int,
) -> None:
    """One rank: load the encoder, warm it up, then time one encode_distributed call between barriers."""
    import numpy as np
    import torch
    import torch.distributed as dist

    torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world_size)
    try:
        from interestgraph.encoder import EncoderConfig, TextEncoder
        from interestgraph.encoder.distributed import run_distributed_encode

        started = time.perf_counter()
        encoder = TextEncoder(EncoderConfig(model=model, batch_size=batch_size))
        load_seconds = time.perf_counter() - started
        encoder.encode([f"warm-up text {i}" for i in range(batch_size)], show_progress=False)
        cache_dir = Path(out) / "cache"  # rank 0 alone opens it
        dist.barrier()
        started = time.perf_counter()
        result = run_distributed_encode(texts, encoder, cache_dir=cache_dir, show_progress=False)
        dist.barrier()
        seconds = time.perf_counter() - started
        report = {
            "rank": rank,
            "seconds": seconds,
            "encode_seconds": result.encode_seconds,
            "load_seconds": load_seconds,
            "per_rank": result.per_rank,
            "encoded": result.n_encoded,
            "unique": result.n_unique,
            "model": encoder.name,
        }
        if rank == 0:
            np.save(Path(out) / "vectors.npy", result.vectors.numpy(), allow_pickle=False)
        (Path(out) / f"rank-{rank}.json").write_text(json.dumps(report))
    finally:
        from interestgraph.distributed import cleanup

        cleanup()


def run_case(texts: list[str], processes: int, threads: int, model: str | None, batch_size: int, workdir: Path) -> dict:
    """Spawn ``processes`` ranks on ``texts``; returns the rank reports and the vectors of rank 0."""
    import numpy as np
    import torch.multiprocessing as mp

    out = workdir / f"p{processes}"
    out.mkdir(parents=True)
    mp.spawn(
        _rank,
        args=(processes, str(workdir / f"rendezvous-{processes}"), str(out), texts, threads, model, batch_size),
        nprocs=processes,
        join=True,
    )
    ranks = [json.loads((out / f"rank-{r}.json").read_text()) for r in range(processes)]
    return {"ranks": ranks, "vectors": np.load(out / "vectors.npy")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="number of texts (default 2000)")
    parser.add_argument("--processes", default="1,2", help="comma-separated process counts (default 1,2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per forward pass (default 64)")
    parser.add_argument("--model", help="encoder model directory (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument(
        "--movies",
        type=Path,
        default=SHARED / "movies.csv",
        help="MovieLens movies.csv to read texts from (default: ../shared/datasets/ml-latest-small/movies.csv)",
    )
    parser.add_argument("--synthetic", action="store_true", help="generated texts instead of movies.csv")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs of every process count, interleaved; the median is reported (default 3)",
    )
    parser.add_argument("--json-out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    counts = [int(p) for p in args.processes.split(",") if p.strip()]
    if args.n < 1 or args.threads < 1 or args.batch_size < 1 or args.repeats < 1 or not counts or min(counts) < 1:
        parser.error("--n, --threads, --batch-size, --repeats and every --processes count must be >= 1")

    if not args.synthetic and args.movies.is_file():
        texts, source = movie_texts(args.movies, args.n), f"{args.movies} (title. genres; first rows, read in place)"
    else:
        texts, source = synthetic_texts(args.n), "synthetic catalog-like texts (seed 0)"
    import torch

    print("protocol")
    print(
        f"  texts      {len(texts):,} ({len(set(texts)):,} distinct), mean {sum(map(len, texts)) / len(texts):.0f} "
        f"characters, from {source}"
    )
    print(
        f"  processes  {', '.join(map(str, counts))} (spawned, gloo group, file:// rendezvous); {args.threads} torch "
        f"thread(s) each; {args.repeats} interleaved run(s) each"
    )
    print(
        f"  encoder    {'packaged all-MiniLM-L6-v2' if args.model is None else args.model}, max_length 128, batch "
        f"{args.batch_size}, CPU, float32"
    )
    print(
        "  timing     one encode_distributed call into an empty cache, between barriers (model load and a warm-up "
        "batch excluded)"
    )
    print(
        f"  machine    {os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, python "
        f"{platform.python_version()}, torch {torch.__version__}"
    )

    runs: dict[int, list[dict]] = {p: [] for p in counts}
    reference = None
    with tempfile.TemporaryDirectory(prefix="encode-distributed-") as tmp:
        for repeat in range(args.repeats):  # interleaved, so drifting load on a shared machine hits every count alike
            for processes in counts:
                case = run_case(texts, processes, args.threads, args.model, args.batch_size, Path(tmp) / f"r{repeat}")
                if reference is None:
                    reference = case["vectors"]
                runs[processes].append(
                    {
                        "seconds": max(r["seconds"] for r in case["ranks"]),
                        "ranks": case["ranks"],
                        "max_abs_diff": float(abs(case["vectors"] - reference).max()),
                    }
                )
    rows = []
    for processes in counts:
        seconds = sorted(run["seconds"] for run in runs[processes])
        median = (
            seconds[len(seconds) // 2]
            if len(seconds) % 2
            else (seconds[len(seconds) // 2 - 1] + seconds[len(seconds) // 2]) / 2
        )
        first = runs[processes][0]
        rows.append(
            {
                "processes": processes,
                "threads_per_process": args.threads,
                "seconds_median": round(median, 3),
                "seconds_all": [round(x, 3) for x in seconds],
                "texts_per_second": round(len(texts) / median, 1),
                "texts_per_second_best": round(len(texts) / seconds[0], 1),
                "per_rank": first["ranks"][0]["per_rank"],
                "rank_encode_seconds": [round(r["encode_seconds"], 3) for r in first["ranks"]],
                "max_abs_diff_vs_first": max(run["max_abs_diff"] for run in runs[processes]),
                "model": first["ranks"][0]["model"],
            }
        )
    base = rows[0]["texts_per_second"]
    print()
    print(
        f"{'processes':>9} {'median s':>8} {'texts/s':>8} {'best/s':>8} {'speed-up':>8}  {'texts per rank':<16} "
        "max|diff|   all runs (s)"
    )
    for row in rows:
        print(
            f"{row['processes']:>9} {row['seconds_median']:>8.2f} {row['texts_per_second']:>8.1f} "
            f"{row['texts_per_second_best']:>8.1f} {row['texts_per_second'] / base:>7.2f}x  "
            f"{','.join(map(str, row['per_rank'])):<16} {row['max_abs_diff_vs_first']:.1e}   "
            f"{', '.join(f'{x:.2f}' for x in row['seconds_all'])}"
        )
    print(
        "(texts/s from the median run; speed-up against the first process count; max|diff|: largest vector difference "
        "against the first run)"
    )
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(
            json.dumps(
                {
                    "texts": len(texts),
                    "source": source,
                    "batch_size": args.batch_size,
                    "repeats": args.repeats,
                    "cpu_count": os.cpu_count(),
                    "torch": torch.__version__,
                    "rows": rows,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
