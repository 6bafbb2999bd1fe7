"""Latency benchmark: top-K recommendation and explanation from a saved model, after loading.

Not a test: it measures. Loads a model directory written by ``interestgraph train``,
warms up once, then times

* top-``k`` for one user (``recommend(model, [user], k)``), over ``--repeats``
  users drawn at random: median and 95th percentile in milliseconds;
* top-``k`` for every user in one call (seconds), ``--repeats-all`` times, median;
* ``explain(model, user, item)`` of each sampled user's first recommendation (ms).

Threads: the torch / BLAS thread count in effect is printed (set
``OMP_NUM_THREADS`` to pin it). Writes ``recommend-latency.md`` / ``.json`` to ``--out``.

    python benchmarks/recommend_latency.py --model models/ml-rs4 --out results/
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.accuracy import versions  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="a model directory written by 'interestgraph train'")
    parser.add_argument("-k", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=100, help="single users timed")
    parser.add_argument("--repeats-all", type=int, default=5, help="all-user runs timed")
    parser.add_argument("--device", default=None, help="cpu (default) or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)

    import torch

    from interestgraph.model import InterestGraphModel
    from interestgraph.recommend import explain, recommend

    command = "python benchmarks/recommend_latency.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    started = time.perf_counter()
    model = InterestGraphModel.load(args.model)
    load_seconds = time.perf_counter() - started
    users = model.user_ids
    rng = np.random.default_rng(args.seed)
    sample = users[rng.choice(len(users), size=min(args.repeats, len(users)), replace=False)]
    recommend(model, [sample[0]], k=args.k, device=args.device)  # warm-up: builds the CSR operator once
    single, explain_ms, first_items = [], [], []
    for user in sample:
        t0 = time.perf_counter()
        table = recommend(model, [user], k=args.k, device=args.device)
        single.append((time.perf_counter() - t0) * 1e3)
        first_items.append((user, table["item_id"].iloc[0]))
    for user, item in first_items:
        t0 = time.perf_counter()
        explain(model, user, item)
        explain_ms.append((time.perf_counter() - t0) * 1e3)
    all_seconds = []
    for _ in range(args.repeats_all):
        t0 = time.perf_counter()
        recommend(model, None, k=args.k, device=args.device)
        all_seconds.append(time.perf_counter() - t0)
    facts = getattr(model, "facts", None) or {}
    result = {
        "model": str(args.model),
        "describe": model.describe(),
        "protocol_line": facts.get("protocol_line"),
        "users": len(users),
        "items": model.n_items,
        "walk_edges": int(model.adjacency.nnz),
        "k": args.k,
        "device": args.device or "cpu",
        "torch_threads": torch.get_num_threads(),
        "load_seconds": round(load_seconds, 3),
        "single_user_ms": {
            "median": float(np.median(single)),
            "p95": float(np.percentile(single, 95)),
            "n": len(single),
        },
        "all_users_seconds": {"median": float(np.median(all_seconds)), "runs": [round(s, 4) for s in all_seconds]},
        "explain_ms": {
            "median": float(np.median(explain_ms)),
            "p95": float(np.percentile(explain_ms, 95)),
            "n": len(explain_ms),
        },
        "command": command,
        "versions": versions(),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "recommend-latency.json").write_text(json.dumps(result, indent=2))
    md = [
        f"# Recommendation latency: {args.model}",
        "",
        f"{result['describe']}",
        f"{result['protocol_line'] or ''}",
        "",
        f"{len(users):,} users, {model.n_items:,} items, {result['walk_edges']:,} stored walk weights; device "
        f"{result['device']}, "
        f"{result['torch_threads']} torch threads; load {load_seconds:.2f} s",
        "",
        "| operation | median | p95 |",
        "|---|---|---|",
        f"| top-{args.k}, one user | {result['single_user_ms']['median']:.2f} ms | "
        f"{result['single_user_ms']['p95']:.2f} ms |",
        f"| top-{args.k}, all {len(users):,} users | {result['all_users_seconds']['median']:.3f} s | |",
        f"| explain one recommendation | {result['explain_ms']['median']:.1f} ms | {result['explain_ms']['p95']:.1f} "
        "ms |",
        "",
        f"Command: `{command}`",
    ]
    (out / "recommend-latency.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
