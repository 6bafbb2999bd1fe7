"""Quality benchmark: the interest-graph model against ItemKNN and LightGCN, paired, over seeds.

Not a test: it measures. For each protocol it builds (or loads) the interest
graph of ml-latest-small, fits every model with each seed on the same split
(the split seed is fixed; the seeds vary initialisation and sampling), scores
the test part with the harness, and reports mean ± std over seeds and a paired
comparison (per-user NDCG@20 averaged over seeds; bootstrap 95 % CI of the mean
difference and Wilcoxon p-value). Writes ``model-quality-<protocol>.md`` and
``.json`` to ``--out``.

    python benchmarks/model_quality.py --protocols rs-4,tl-4 --seeds 0,1,2 --out results/
    python benchmarks/model_quality.py --protocols rs-4 --graph-dir graphs/ml-rs4   # a graph built earlier

LightGCN runs at ``--lightgcn-lr/--lightgcn-l2/--lightgcn-layers`` (pass the
configuration :func:`interestgraph.baselines.tune_lightgcn` chose on validation,
see ``benchmarks/accuracy.py --tune``). ``ease``, ``gfcf`` and ``chebycf`` are
deterministic and tuned here: each is chosen on the split's validation NDCG@20
over its stated grid (:func:`interestgraph.baselines.tune_linear`), fitted once,
and its chosen setting and number of configurations are recorded. Without
``interestgraph`` among the models no graph is built (the split alone is made).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.accuracy import versions  # noqa: E402


def load_graph(protocol: str, args: argparse.Namespace):
    from interestgraph.data import load_movielens
    from interestgraph.graph import InterestGraph, build_interest_graph

    if args.graph_dir:
        graph = InterestGraph.load(
            Path(args.graph_dir) / protocol if (Path(args.graph_dir) / protocol).is_dir() else args.graph_dir
        )
        if graph.protocol.name != protocol:
            raise SystemExit(f"--graph-dir holds a {graph.protocol.name} graph, not {protocol}")
        return graph
    path = Path(args.path or ROOT.parent / "shared" / "datasets" / "ml-latest-small")
    if not path.is_dir():
        raise SystemExit(
            f"{path}: no such folder (MovieLens latest-small is read from ../shared/datasets; pass --path)"
        )
    return build_interest_graph(load_movielens(path), protocol=protocol)


def load_split(protocol: str, args: argparse.Namespace):
    """The protocol's split of ml-latest-small (no graph: for the baselines alone)."""
    from interestgraph.data import load_movielens, split_log

    if args.graph_dir:
        return load_graph(protocol, args).split
    path = Path(args.path or ROOT.parent / "shared" / "datasets" / "ml-latest-small")
    if not path.is_dir():
        raise SystemExit(
            f"{path}: no such folder (MovieLens latest-small is read from ../shared/datasets; pass --path)"
        )
    return split_log(load_movielens(path), protocol)


def write_per_user(averaged: dict, path: Path) -> None:
    """Write the per-user test metrics of every model (``{name: seed-averaged EvaluationResult}``) as one Parquet
    table, columns ``user_id`` and ``<model>:<metric>``, for later paired comparisons (:func:`reused_results` reads
    it back)."""
    per_user = None
    for name, result in averaged.items():
        frame = result.per_user.set_index("user_id").add_prefix(f"{name}:")
        per_user = frame if per_user is None else per_user.join(frame)
    per_user.reset_index().astype({"user_id": str}).to_parquet(path, index=False)


def reused_results(path: Path, split) -> dict:
    """``{model: (EvaluationResult, run facts)}`` from a previous run's per-user table and JSON."""
    import pandas as pd

    from interestgraph.evaluate import EvaluationResult

    payload = json.loads(Path(str(path).replace("-per-user.parquet", ".json")).read_text())
    if payload["protocol"] != split.protocol.to_dict():
        raise SystemExit(f"--reuse {path}: made under {payload['protocol_line']}, not {split.describe()}")
    table = pd.read_parquet(path)
    table["user_id"] = table["user_id"].astype(str)
    out = {}
    for name, entry in payload["models"].items():
        columns = [c for c in table.columns if c.startswith(f"{name}:")]
        per_user = table[["user_id", *columns]].rename(columns=lambda c: c.split(":", 1)[1] if ":" in c else c)
        per_user["user_id"] = (
            per_user["user_id"].astype(split.log.user_ids.dtype)
            if split.log.user_ids.dtype != object
            else per_user["user_id"]
        )
        out[name] = (
            EvaluationResult(
                model=name,
                protocol=split.protocol,
                part="test",
                cutoffs=(10, 20),
                metrics=entry["metrics"],
                per_user=per_user,
                notes=[f"reused from {path}"],
            ),
            entry["runs"],
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--protocols", default="rs-4,tl-4")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--path", default=None, help="ml-latest-small folder (default ../shared/datasets/ml-latest-small)"
    )
    parser.add_argument("--graph-dir", default=None, help="a built graph directory (or a folder with one per protocol)")
    parser.add_argument("--models", default="itemknn,lightgcn,interestgraph")
    parser.add_argument("--lightgcn-lr", type=float, default=1e-3)
    parser.add_argument("--lightgcn-l2", type=float, default=1e-4)
    parser.add_argument("--lightgcn-layers", type=int, default=3)
    parser.add_argument(
        "--lightgcn-loss", choices=("bpr", "softmax"), default="bpr", help="LightGCN's loss (bpr: as published)"
    )
    parser.add_argument(
        "--lightgcn-temperature", type=float, default=1.0, help="--lightgcn-loss softmax: logit temperature"
    )
    parser.add_argument("--lightgcn-max-epochs", type=int, default=1000)
    parser.add_argument("--model-config", default="{}", help="JSON of ModelConfig overrides")
    parser.add_argument("--train-config", default="{}", help="JSON of TrainConfig overrides")
    parser.add_argument(
        "--reuse",
        default=None,
        help="a previous run's model-quality-<protocol>-per-user.parquet: its models join the "
        "comparison without being refitted (same protocol and split required)",
    )
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)

    from interestgraph.baselines import LINEAR_MODELS, ItemKNN, LightGCN, describe_grid, tune_linear
    from interestgraph.evaluate import average_runs, compare, evaluate
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

    command = "python benchmarks/model_quality.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    seeds = [int(s) for s in args.seeds.split(",")]
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for protocol in args.protocols.split(","):
        started = time.perf_counter()
        graph = load_graph(protocol, args) if "interestgraph" in names else None
        split = graph.split if graph is not None else load_split(protocol, args)
        print(split.describe(), flush=True)
        runs: dict[str, list] = {}
        facts: dict[str, list[dict]] = {}
        for name in names:
            deterministic = name == "itemknn" or name in LINEAR_MODELS
            for seed in seeds[:1] if deterministic else seeds:
                t0 = time.perf_counter()
                tuned = None
                if name == "itemknn":
                    model = ItemKNN().fit(split)
                elif name in LINEAR_MODELS:
                    model, table = tune_linear(name, split)
                    chosen = table[table["chosen"]].iloc[0]
                    tuned = {
                        "setting": {k: chosen[k].item() for k in LINEAR_MODELS[name][1]},
                        "configurations": len(table),
                        "valid_ndcg@20": float(chosen["valid_ndcg@20"]),
                    }
                elif name == "lightgcn":
                    model = LightGCN(
                        lr=args.lightgcn_lr,
                        l2=args.lightgcn_l2,
                        layers=args.lightgcn_layers,
                        max_epochs=args.lightgcn_max_epochs,
                        patience=5,
                        eval_every=10,
                        seed=seed,
                        loss=args.lightgcn_loss,
                        temperature=args.lightgcn_temperature,
                    ).fit(split)
                else:
                    train = TrainConfig(**{"seed": seed, **json.loads(args.train_config)})
                    model = InterestGraphModel(ModelConfig(**json.loads(args.model_config)), train).fit(graph)
                fit_seconds = time.perf_counter() - t0
                result = evaluate(model, split, part="test", cutoffs=(10, 20), name=name)
                runs.setdefault(name, []).append(result)
                fact = {
                    "seed": seed,
                    "fit_seconds": round(fit_seconds, 1),
                    "ndcg@20": result.metrics["ndcg@20"],
                    "recall@20": result.metrics["recall@20"],
                }
                if tuned is not None:
                    fact.update(tuned)
                for attr in ("best_epoch_", "epochs_", "epoch_seconds_"):
                    if hasattr(model, attr):
                        fact[attr.rstrip("_")] = getattr(model, attr)
                facts.setdefault(name, []).append(fact)
                print(f"{result.describe()} [seed {seed}, fit {fit_seconds:.1f} s]", flush=True)
        averaged = {name: average_runs(results, name=name) for name, results in runs.items()}
        if args.reuse:
            for name, (result, runs_facts) in reused_results(Path(args.reuse), split).items():
                if name not in averaged:
                    averaged[name], runs[name], facts[name] = result, [None] * len(runs_facts), runs_facts
        rows = [
            "| model | seeds | recall@20 | ndcg@20 | recall@10 | ndcg@10 | fit s (mean) |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, result in averaged.items():
            cells = " | ".join(
                f"{result.metrics[k]:.4f} ± {result.metrics[k + '_std']:.4f}"
                for k in ("recall@20", "ndcg@20", "recall@10", "ndcg@10")
            )
            fit = sum(f["fit_seconds"] for f in facts[name]) / len(facts[name])
            rows.append(f"| {name} | {len(runs[name])} | {cells} | {fit:.0f} |")
        for name in averaged:
            tuned = facts[name][0] if facts[name] and "setting" in facts[name][0] else None
            if tuned is not None:
                rows.append(
                    f"\n{name}: {tuned['setting']} chosen on validation NDCG@20 {tuned['valid_ndcg@20']:.4f} "
                    f"over {describe_grid(LINEAR_MODELS[name][1])}"
                )
        comparisons = []
        if "interestgraph" in averaged:
            for other in averaged:
                if other != "interestgraph":
                    comparisons.append(compare(averaged["interestgraph"], averaged[other], "ndcg@20"))
        text = f"# Model quality: ml-latest-small, {protocol}\n\n{split.describe()}\n\n" + "\n".join(rows) + "\n\n"
        text += "\n".join(f"- {c['statement']}" for c in comparisons) + f"\n\nCommand: `{command}`\n"
        (out / f"model-quality-{protocol}.md").write_text(text)
        payload = {
            "protocol": split.protocol.to_dict(),
            "protocol_line": split.describe(),
            "seeds": seeds,
            "command": command,
            "versions": versions(),
            "seconds": round(time.perf_counter() - started, 1),
            "models": {n: {"metrics": r.metrics, "runs": facts[n]} for n, r in averaged.items()},
            "comparisons": comparisons,
            "model_config": json.loads(args.model_config),
            "train_config": json.loads(args.train_config),
            "lightgcn": {
                "lr": args.lightgcn_lr,
                "l2": args.lightgcn_l2,
                "layers": args.lightgcn_layers,
                "loss": args.lightgcn_loss,
                "temperature": args.lightgcn_temperature,
            },
        }
        (out / f"model-quality-{protocol}.json").write_text(json.dumps(payload, indent=2, default=str))
        write_per_user(averaged, out / f"model-quality-{protocol}-per-user.parquet")
        print(text, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
