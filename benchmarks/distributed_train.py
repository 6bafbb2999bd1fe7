"""Distributed-training benchmark: the same training in one process and data-parallel across gloo processes.

Not a test: it measures. For each configuration ``PxT`` (``P`` processes with ``T`` torch
threads each; default ``1x{cores}`` and ``2x{cores // 2}``) it spawns fresh processes
(a FileStore rendez-vous in a temporary directory when ``P > 1``, backend gloo on the CPU),
loads the graph in each, and trains the interest-graph model with the same settings and
seeds (``Trainer.fit``: data-parallel when a group of more than one process is initialised).
It reports, from rank 0's epoch log:

* the mean **training-step time** (ms), over the epochs after the first (the first, which pays
  for lazy initialisation in fresh processes, is reported apart; with one epoch, that one): the epoch's training loop
  (``seconds_train``: BPR
  pairs, forward, backward with the gradient all-reduce, optimiser) divided by the steps per
  epoch, ``ceil(users with >= 2 training positives / user_batch)`` (the trainer's count; exact
  without cold-item hiding);
* the mean **epoch time** (s) and its parts: hold-out graph, training loop, validation (rank 0
  validates while the others wait);
* the whole ``fit`` (epochs, then cold-item calibration and the frozen weights);
* the largest relative difference of the epoch losses from the first configuration (the
  trajectories should agree up to float summation order).

A graph directory (``interestgraph build``) is used as given; without one a small synthetic
graph (lexical encoder) is built in a temporary directory.

    python benchmarks/distributed_train.py --graph graphs/ml-small --epochs 2 --out results/
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.accuracy import versions  # noqa: E402


def _case(
    rank: int,
    world: int,
    threads: int,
    init_file: str,
    graph_dir: str,
    model_config: dict,
    train_config: dict,
    result_file: str,
) -> None:
    """One spawned process: join the group (``world > 1``), train, and (rank 0) write the timings to ``result_file``."""
    import torch

    torch.set_num_threads(threads)
    if world > 1:
        torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    from interestgraph.graph import InterestGraph
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

    graph = InterestGraph.load(graph_dir)
    model = InterestGraphModel(ModelConfig.from_dict(model_config), TrainConfig.from_dict(train_config))
    started = time.perf_counter()
    model.fit(graph)
    fit_seconds = time.perf_counter() - started
    if world > 1:
        torch.distributed.destroy_process_group()
    if rank == 0:
        Path(result_file).write_text(
            json.dumps(
                {
                    "history": model.report_.history,
                    "fit_seconds": fit_seconds,
                    "threads": torch.get_num_threads(),
                    "best_epoch": model.report_.best_epoch,
                },
                default=float,
            )
        )


def run_case(processes: int, threads: int, graph_dir: Path, model_config: dict, train_config: dict, work: Path) -> dict:
    """Spawn ``processes`` fresh processes of ``threads`` torch threads each and return rank 0's result."""
    import torch.multiprocessing as mp

    tag = f"{processes}x{threads}"
    result_file = work / f"result-{tag}.json"
    init_file = work / f"rendezvous-{tag}"
    mp.spawn(
        _case,
        args=(processes, threads, str(init_file), str(graph_dir), model_config, train_config, str(result_file)),
        nprocs=processes,
        join=True,
    )
    return json.loads(result_file.read_text())


def _synthetic_graph(directory: Path) -> Path:
    from interestgraph.data import generate_synthetic
    from interestgraph.encoder.lexical import LexicalEncoder
    from interestgraph.graph.build import build_interest_graph

    log = generate_synthetic(n_users=400, n_items=600, n_interactions=12_000, seed=0).log
    build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder()).save(directory)
    return directory


def _mean(history: list[dict], key: str) -> float:
    """Mean of ``key`` over the epochs after the first (all of them when there is one)."""
    rows = history[1:] or history
    return float(sum(row[key] for row in rows) / len(rows))


def main(argv: list[str] | None = None) -> int:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--graph", type=Path, help="graph directory written by 'interestgraph build' (default: a small synthetic graph)"
    )
    parser.add_argument(
        "--configs",
        default=f"1x{cores},2x{max(1, cores // 2)}",
        help="comma-separated PROCESSESxTHREADS configurations, e.g. 1x2,1x1,2x1 (default: 1x{cores},2x{cores//2})",
    )
    parser.add_argument(
        "--epochs", type=int, default=2, help="epochs per run (no early stop before them: patience = epochs)"
    )
    parser.add_argument(
        "--user-batch", type=int, default=256, help="users per step (the global batch, split over processes)"
    )
    parser.add_argument("--negatives", type=int, default=8)
    parser.add_argument("--dim", type=int, default=None, help="GCN width (default: ModelConfig's)")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--out", type=Path, help="also write distributed-train.json / .md there")
    args = parser.parse_args(argv)

    import numpy as np

    from interestgraph.evaluate import positive_matrix
    from interestgraph.graph import InterestGraph

    command = "python benchmarks/distributed_train.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    try:
        configs = [tuple(int(x) for x in item.lower().split("x")) for item in args.configs.split(",") if item.strip()]
        if not configs or any(len(c) != 2 or min(c) < 1 for c in configs):
            raise ValueError
    except ValueError:
        parser.error(f"--configs: expected PROCESSESxTHREADS items such as 1x2,2x1, got {args.configs!r}")
    model_config = {} if args.dim is None else {"dim": args.dim}
    train_config = {
        "epochs": args.epochs,
        "patience": args.epochs,
        "user_batch": args.user_batch,
        "negatives": args.negatives,
        "seed": args.seed,
        "device": "cpu",
        "verbose": False,
    }
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ig-ddp-bench-") as tmp:
        work = Path(tmp)
        graph_dir = args.graph if args.graph is not None else _synthetic_graph(work / "graph")
        graph = InterestGraph.load(graph_dir)
        train = positive_matrix(graph.split, "train")
        users_with_targets = int((np.diff(train.indptr) >= 2).sum())
        steps = max(1, math.ceil(users_with_targets / args.user_batch))
        counts = graph.counts()
        rows = []
        for processes, threads in configs:
            result = run_case(processes, threads, Path(graph_dir), model_config, train_config, work)
            history = result["history"]
            rows.append(
                {
                    "processes": processes,
                    "threads_per_process": result["threads"],
                    "epochs": len(history),
                    "step_ms": 1e3 * _mean(history, "seconds_train") / steps,
                    "first_epoch_step_ms": 1e3 * history[0]["seconds_train"] / steps,
                    "epoch_seconds": _mean(history, "seconds"),
                    "graph_seconds": _mean(history, "seconds_graph"),
                    "train_seconds": _mean(history, "seconds_train"),
                    "valid_seconds": _mean(history, "seconds_valid"),
                    "fit_seconds": result["fit_seconds"],
                    "losses": [row["loss"] for row in history],
                    "valid_ndcg@20": [row.get("valid_ndcg@20") for row in history],
                }
            )
    base = np.array(rows[0]["losses"])
    for row in rows:
        row["max_rel_loss_diff"] = float(np.max(np.abs(np.array(row["losses"]) - base) / np.abs(base)))
    payload = {
        "graph": str(args.graph or "synthetic (400 users, 600 items, 12,000 events, lexical encoder, rs-4)"),
        "counts": counts,
        "protocol": graph.protocol.name,
        "users_with_targets": users_with_targets,
        "steps_per_epoch": steps,
        "model_config": model_config or "defaults",
        "train_config": train_config,
        "cores": cores,
        "runs": rows,
        "load_average_1min": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "command": command,
        "versions": versions(),
    }
    nodes = counts["nodes"]
    md = [
        "# Distributed training: one process vs gloo processes",
        "",
        f"Graph {payload['graph']} ({nodes['user']:,} users, {nodes['item']:,} items, {nodes['interest']:,} interests; "
        f"{sum(counts['edges'].values()):,} edges), protocol {payload['protocol']}.",
        f"Training: {args.epochs} epochs, user_batch {args.user_batch} (global; split over processes), "
        f"{args.negatives} negatives, seed {args.seed}, "
        f"model {payload['model_config']}; {steps} steps per epoch ({users_with_targets} users with targets). "
        f"CPU, {cores} cores, backend gloo, fresh spawned processes per configuration; 1-minute load average "
        f"{payload['load_average_1min']['before']} before, {payload['load_average_1min']['after']} after. "
        "Step, epoch and its parts: mean over "
        f"{'epochs 2..' + str(args.epochs) if args.epochs > 1 else 'the one epoch'}; "
        "fit: the whole call (all epochs, cold-item calibration, frozen weights).",
        "",
        "| processes × threads | step (ms) | first-epoch step (ms) | epoch (s) | graph (s) | train loop (s) | valid "
        "(s) | fit (s) | max rel. loss diff |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        md.append(
            f"| {row['processes']} × {row['threads_per_process']} | {row['step_ms']:.1f} | "
            f"{row['first_epoch_step_ms']:.1f} | {row['epoch_seconds']:.2f} | {row['graph_seconds']:.2f} | "
            f"{row['train_seconds']:.2f} | {row['valid_seconds']:.2f} | {row['fit_seconds']:.2f} | "
            f"{row['max_rel_loss_diff']:.1e} |"
        )
    md += ["", f"Command: `{command}`"]
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "distributed-train.json").write_text(json.dumps(payload, indent=2, default=str))
        (args.out / "distributed-train.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
