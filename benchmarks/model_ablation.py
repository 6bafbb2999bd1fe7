"""Ablation benchmark: what each part of the interest-graph model adds, on one graph and seed.

Not a test: it measures. Fits the model once per variant (the default, then one
change at a time) on the same graph and seed and reports validation and test
NDCG@20 / Recall@20, best epoch and training time, plus a paired comparison of
each variant against the default on test NDCG@20. Writes
``model-ablation-<protocol>.md`` / ``.json`` to ``--out``.

    python benchmarks/model_ablation.py --graph graphs/ml-rs4 --seed 0 --out results/
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

#: variant name → ModelConfig overrides (the default first)
VARIANTS = {
    "default (user-item, item-interest, interest-interest; text; node gates; a=0.4)": {},
    "user-item only (co-occurrence walks)": {"edge_types": ["user-item"]},
    "no interest-interest edges": {"edge_types": ["user-item", "item-interest"]},
    "+ user-interest edges w(v|u)": {
        "edge_types": ["user-item", "item-interest", "interest-interest", "user-interest"]
    },
    "+ item-item text-similarity edges": {
        "edge_types": ["user-item", "item-interest", "interest-interest", "item-item"]
    },
    "+ pair gates of rank 4": {"gate_rank": 4},
    "no text features (ID vectors only)": {"text_features": False},
    "LightGCN's normalisation exponent a=0.5": {"exponent": 0.5},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--graph", required=True, help="a graph directory written by 'interestgraph build'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=None, help="comma-separated variant numbers (0 = default), default all")
    parser.add_argument(
        "--train-config", default="{}", help='JSON of TrainConfig overrides for every variant, e.g. \'{"loss": "bpr"}\''
    )
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)

    from interestgraph.evaluate import compare, evaluate
    from interestgraph.graph import InterestGraph
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

    command = "python benchmarks/model_ablation.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    graph = InterestGraph.load(args.graph)
    print(graph.split.describe(), flush=True)
    chosen = list(VARIANTS.items())
    if args.variants:
        chosen = [chosen[int(i)] for i in args.variants.split(",")]
    rows, results = [], {}
    for name, overrides in chosen:
        t0 = time.perf_counter()
        model = InterestGraphModel(
            ModelConfig(**overrides),
            TrainConfig(**{"seed": args.seed, "verbose": False, **json.loads(args.train_config)}),
        ).fit(graph)
        seconds = time.perf_counter() - t0
        test = evaluate(model, graph.split, part="test", cutoffs=(20,), name=name)
        results[name] = test
        rows.append(
            {
                "variant": name,
                "overrides": overrides,
                "valid_ndcg@20": model.report_.best_valid_ndcg,
                "test_ndcg@20": test.metrics["ndcg@20"],
                "test_recall@20": test.metrics["recall@20"],
                "best_epoch": model.report_.best_epoch,
                "epochs": model.report_.epochs,
                "fit_seconds": round(seconds, 1),
            }
        )
        print(
            f"{name}: valid ndcg@20 {model.report_.best_valid_ndcg:.4f}, test ndcg@20 {test.metrics['ndcg@20']:.4f}, "
            f"recall@20 {test.metrics['recall@20']:.4f} "
            f"[best epoch {model.report_.best_epoch}/{model.report_.epochs}, {seconds:.0f} s]",
            flush=True,
        )
    default = chosen[0][0]
    lines = [
        "| variant | valid NDCG@20 | test NDCG@20 | test Recall@20 | vs default, test NDCG@20 (95 % CI, p) | best "
        "epoch | fit s |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        versus = ""
        if row["variant"] != default and default in results:
            c = compare(results[row["variant"]], results[default], "ndcg@20")
            row["vs_default"] = c
            versus = f"{c['difference']:+.4f} [{c['ci_low']:+.4f}, {c['ci_high']:+.4f}], p={c['p_value']:.2g}"
        lines.append(
            f"| {row['variant']} | {row['valid_ndcg@20']:.4f} | {row['test_ndcg@20']:.4f} | "
            f"{row['test_recall@20']:.4f} | {versus} | {row['best_epoch']} | {row['fit_seconds']:.0f} |"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    protocol = graph.protocol.name
    text = (
        f"# Model ablation: {args.graph}, seed {args.seed}\n\n{graph.split.describe()}\n\n"
        + "\n".join(lines)
        + f"\n\nCommand: `{command}`\n"
    )
    (out / f"model-ablation-{protocol}.md").write_text(text)
    (out / f"model-ablation-{protocol}.json").write_text(
        json.dumps(
            {"protocol_line": graph.split.describe(), "seed": args.seed, "command": command, "rows": rows},
            indent=2,
            default=str,
        )
    )
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
