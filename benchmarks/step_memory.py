"""Resident memory of the path model's training steps against the estimate the trainer checks before it starts.

For each synthetic size and ``user_batch``, in a fresh process: build the graph (``rs-4``, lexical encoder), train
the default model for the first ``--steps`` steps of one epoch (``cold_draws=0``) and sample the resident memory
every 5 ms. The growth of the steps' peak over the peak before the first step, per node and user column, is what
:mod:`interestgraph.train.memory` budgets (``LIVE_BYTES_PER_NODE_COLUMN`` with the compact allocator,
``RETAINED_BYTES_PER_NODE_COLUMN`` with glibc's default), so this script is how those constants were measured and
how to check them on another machine.

    python benchmarks/step_memory.py --sizes 100000,1000000 --batches 128,256 --threads 1

Writes ``step-memory.md`` / ``.json`` under ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._isolated import run_isolated  # noqa: E402
from benchmarks.scale_curve import RssSampler, size_rule  # noqa: E402

ALLOCATORS = ("default", "compact")


def case(events: int, batch: int, allocator: str, steps: int, threads: int, queue) -> None:
    """One measurement in this (fresh) process; puts its row on ``queue``."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    from interestgraph.data import generate_synthetic
    from interestgraph.encoder import LexicalEncoder
    from interestgraph.graph.build import build_interest_graph
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
    from interestgraph.train import Callback
    from interestgraph.train.memory import compact_allocator, step_bytes

    torch.set_num_threads(threads)
    os.environ["INTERESTGRAPH_MEMORY_CHECK"] = "0"  # measure what happens, not what the plan decides
    if allocator == "compact":
        compact_allocator()
    rule = size_rule(events)
    log = generate_synthetic(n_users=rule["users"], n_items=rule["items"], n_interactions=rule["events"], seed=0).log
    graph = build_interest_graph(log, protocol="rs-4", seed=2020, encoder=LexicalEncoder())
    del log
    sampler = RssSampler(0.005).start()
    stamps: dict[str, float] = {}

    class Watch(Callback):
        def on_epoch_graph(self, epoch: int, n_batches: int) -> None:
            sampler.mark("steps")
            stamps["start"] = time.perf_counter()

        def on_batch_end(self, epoch: int, index: int, loss: float) -> bool:
            stamps["end"] = time.perf_counter()
            return index + 1 >= steps

        def on_validation_begin(self, epoch: int) -> None:
            sampler.mark("valid")

    config = TrainConfig(epochs=1, patience=1, cold_draws=0, user_batch=batch, verbose=False, seed=1)
    with sampler.phase("fit") as peaks:
        sampler.mark("setup")
        InterestGraphModel(ModelConfig(), config).fit(graph, callbacks=[Watch()])
    sampler.stop()
    n_nodes = sum(graph.counts()["nodes"].values())
    before = peaks["parts"]["setup"]["peak_rss_mib"]
    grown = max(peaks["parts"]["steps"]["peak_rss_mib"] - before, 0.0)
    queue.put(
        {
            "events": events,
            "user_batch": batch,
            "allocator": allocator,
            "nodes": n_nodes,
            "steps": steps,
            "seconds_per_step": (stamps["end"] - stamps["start"]) / steps,
            "before_steps_mib": round(before, 1),
            "steps_growth_mib": round(grown, 1),
            "bytes_per_node_column": round(grown * 2**20 / (n_nodes * batch), 1),
            "estimate_live_mib": round(step_bytes(n_nodes, batch) / 2**20, 1),
            "estimate_retained_mib": round(step_bytes(n_nodes, batch, retained=True) / 2**20, 1),
        }
    )


def slopes(rows: list[dict]) -> list[str]:
    """Per size and allocator, the growth per extra user column between the smallest and the largest batch."""
    lines = []
    for events in sorted({r["events"] for r in rows}):
        for allocator in ALLOCATORS:
            mine = sorted((r for r in rows if r["events"] == events and r["allocator"] == allocator),
                          key=lambda r: r["user_batch"])  # fmt: skip
            if len(mine) >= 2 and mine[-1]["user_batch"] > mine[0]["user_batch"]:
                lo, hi = mine[0], mine[-1]
                per = (
                    (hi["steps_growth_mib"] - lo["steps_growth_mib"])
                    * 2**20
                    / ((hi["user_batch"] - lo["user_batch"]) * hi["nodes"])
                )
                lines.append(
                    f"- {events:,} events, {allocator} allocator: {per:.0f} bytes per node and user column between "
                    f"user_batch {lo['user_batch']} and {hi['user_batch']}"
                )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="synthetic events, comma-separated")
    parser.add_argument("--batches", default="128,256", help="user_batch values, comma-separated")
    parser.add_argument("--allocators", default=",".join(ALLOCATORS), help="default and/or compact")
    parser.add_argument("--steps", type=int, default=4, help="training steps measured per case")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    batches = [int(x) for x in args.batches.split(",")]
    allocators = args.allocators.split(",")
    if not set(allocators) <= set(ALLOCATORS):
        parser.error(f"--allocators: choose from {', '.join(ALLOCATORS)}")
    cases = [(e, b, a) for e in sizes for a in allocators for b in batches]
    rows = []
    for index, (events, batch, allocator) in enumerate(cases, 1):
        print(f"[{index}/{len(cases)}] {events:,} events, user_batch {batch}, {allocator} allocator ...", flush=True)
        rows.append(run_isolated(case, events, batch, allocator, args.steps, args.threads))
        print(f"  steps grew {rows[-1]['steps_growth_mib']:,.0f} MiB", flush=True)
    command = "python benchmarks/step_memory.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# Training-step memory against the trainer's estimate",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; threads {args.threads}. "
        f"Synthetic log (seed 0, the scale curve's size rule), rs-4 (seed 2020), default ModelConfig, "
        f"TrainConfig(cold_draws=0); the first {args.steps} steps of one epoch; resident memory sampled every 5 ms; "
        "growth = the steps' peak less the peak before the first step.",
        "",
        "| events | nodes | user_batch | allocator | s / step | growth MiB | bytes / (node × column) "
        "| estimate live MiB | estimate retained MiB |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['events']:,} | {r['nodes']:,} | {r['user_batch']} | {r['allocator']} | {r['seconds_per_step']:.2f} "
            f"| {r['steps_growth_mib']:,.0f} | {r['bytes_per_node_column']:.0f} | {r['estimate_live_mib']:,.0f} "
            f"| {r['estimate_retained_mib']:,.0f} |"
        )
    lines += ["", *slopes(rows), "", f"Command: `{command}`", ""]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "step-memory.md").write_text("\n".join(lines))
    (args.out / "step-memory.json").write_text(json.dumps({"command": command, "rows": rows}, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
