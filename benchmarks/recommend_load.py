"""Load benchmark: top-K for every user of a large synthetic log, in batches, with the peak memory of each batch size.

Not a test: it measures. Generates a synthetic log (10,000 users by default), builds its
interest graph (lexical encoder by default, so no language model is needed), trains the
model briefly (the scores' values do not matter here, only their cost), saves it, and then,
for each ``--batch-sizes`` entry, in a fresh process: loads the model, records the resident
memory, runs ``recommend(model, None, k, batch_size=B)`` over every user, and records the
peak resident memory and the time. The scores of one batch take ``B × n_items × 4`` bytes,
and the walk products ``B × N × 4`` bytes per step (``N`` all nodes), so memory is bounded by the batch size, not
by the number of users. Linux only (the peak is the kernel's ``VmHWM``, reset after loading). Writes
``recommend-load.md`` / ``.json`` to ``--out``.

    python benchmarks/recommend_load.py --users 10000 --items 5000 --events 300000 --out results/
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._isolated import run_isolated  # noqa: E402
from benchmarks.accuracy import versions  # noqa: E402


def _status_mib(key: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since start or the last reset) of this process, in MiB (Linux)."""
    return int(re.search(rf"{key}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


def recommend_case(model_dir: str, batch_size: int, k: int, queue) -> None:
    """In a fresh process: load, then top-``k`` for every user in batches of ``batch_size``; the peak of the
    recommendation alone is measured by resetting the kernel's high-water mark (``/proc/self/clear_refs``) after
    loading."""
    from interestgraph.model import InterestGraphModel
    from interestgraph.recommend import recommend

    imported = _status_mib("VmRSS")
    model = InterestGraphModel.load(model_dir)
    recommend(model, [model.user_ids[0]], k=k)  # builds the CSR operator once, as any caller's first request does
    load_peak = _status_mib("VmHWM")
    loaded = _status_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM
    started = time.perf_counter()
    table = recommend(model, None, k=k, batch_size=batch_size)
    seconds = time.perf_counter() - started
    queue.put(
        {
            "batch_size": batch_size,
            "rows": len(table),
            "users": int(table["user_id"].nunique()),
            "seconds": seconds,
            "rss_imported_mib": imported,
            "rss_load_peak_mib": load_peak,
            "rss_loaded_mib": loaded,
            "rss_peak_mib": _status_mib("VmHWM"),
            "score_batch_mib": batch_size * model.n_items * 4 / 2**20,
            "node_batch_mib": batch_size * model.adjacency.shape[0] * 4 / 2**20,
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--batch-sizes", default="256,1024,4096")
    parser.add_argument("-k", type=int, default=20)
    parser.add_argument("--encoder", choices=("lexical", "lm"), default="lexical")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)
    command = "python benchmarks/recommend_load.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )

    from interestgraph.data import generate_synthetic
    from interestgraph.graph import build_interest_graph
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

    if args.encoder == "lexical":
        from interestgraph.encoder import LexicalEncoder

        encoder = LexicalEncoder()
    else:
        from interestgraph.encoder import TextEncoder

        encoder = TextEncoder()
    t0 = time.perf_counter()
    log = generate_synthetic(n_users=args.users, n_items=args.items, n_interactions=args.events, seed=0).log
    graph = build_interest_graph(log, protocol="rs-4", encoder=encoder)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = InterestGraphModel(ModelConfig(), TrainConfig(epochs=args.epochs, verbose=False, seed=0)).fit(graph)
    trained = time.perf_counter() - t0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = str(model.save(Path(tmp) / "model"))
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            result = run_isolated(recommend_case, model_dir, batch, args.k)
            rows.append(result)
            print(
                f"batch {batch:>5}: {result['users']:,} users in {result['seconds']:.2f} s; RSS after imports "
                f"{result['rss_imported_mib']:.0f} MiB, "
                f"after load {result['rss_loaded_mib']:.0f} MiB, peak while recommending {result['rss_peak_mib']:.0f} "
                "MiB "
                f"(+{result['rss_peak_mib'] - result['rss_loaded_mib']:.0f}; one batch of walk vectors "
                f"{result['node_batch_mib']:.0f} MiB)",
                flush=True,
            )
    counts = graph.counts()
    header = (
        f"{len(graph.users):,} users, {len(graph.items):,} items, {len(graph.interests):,} interests; "
        f"W nnz {model.adjacency.nnz:,}; graph built in {built:.1f} s ({args.encoder} encoder), "
        f"model trained {model.report_.epochs} epochs in {trained:.1f} s"
    )
    table = "\n".join(
        f"| {r['batch_size']:,} | {r['users']:,} | {r['seconds']:.2f} | {r['rss_imported_mib']:.0f} | "
        f"{r['rss_loaded_mib']:.0f} | {r['rss_peak_mib']:.0f} | "
        f"{r['rss_peak_mib'] - r['rss_loaded_mib']:.0f} | {r['node_batch_mib']:.0f} |"
        for r in rows
    )
    columns = (
        "batch size",
        "users",
        "seconds",
        "RSS after imports (MiB)",
        "RSS after load (MiB)",
        "peak while recommending (MiB)",
        "peak − loaded (MiB)",
        "one batch of walk vectors, B × N × 4 B (MiB)",
    )
    table_header = "| " + " | ".join(columns) + " |"
    report = f"""# Recommendation load: every user, in batches

`{command}`

{header}. Top-{args.k} for every user, each batch size in a fresh process after loading the model.

{table_header}
|---:|---:|---:|---:|---:|---:|---:|---:|
{table}

Versions: {", ".join(f"{k} {v}" for k, v in versions().items())}.
"""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "recommend-load.md").write_text(report)
    (out / "recommend-load.json").write_text(
        json.dumps(
            {
                "command": command,
                "graph": counts,
                "rows": rows,
                "build_seconds": built,
                "train_seconds": trained,
                "versions": versions(),
            },
            indent=2,
        )
    )
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
