"""Joint-training ablation: ID-only → frozen text → refined edges → fine-tuned encoder, paired against LightGCN, over
seeds.

Not a test: it measures. On one ml-latest-small graph per protocol it fits each
variant of the interest-graph model with every seed (same split), scores the
test part with the harness and reports NDCG@20 / Recall@20 mean ± std over seeds,
the mean time of each part of an epoch (encoder, walks + loss, refinement,
validation), the cold items' Recall@20 / NDCG@20 when the split has cold items, the
paired comparison of each variant against the first one run (what the added parts
contribute), and the paired comparison (per-user NDCG@20 averaged over seeds,
bootstrap 95 % CI and Wilcoxon p) of each variant against LightGCN. LightGCN's
per-user results come from a ``benchmarks/model_quality.py`` run (``--lightgcn``:
its ``model-quality-<protocol>-per-user.parquet``), so the tuned baseline is not
refitted. Writes ``joint-ablation-<protocol>.md`` / ``.json`` and the seed-averaged per-user
metrics of every variant (``-per-user.parquet``) to ``--out``.

    python benchmarks/joint_ablation.py --protocols rs-4 --seeds 0,1,2 \\
        --graph-dir graphs/byproto --lightgcn results/model-quality-rs-4-per-user.parquet --out results/
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
sys.path.insert(0, str(ROOT / "benchmarks"))

WITH_ITEM_ITEM = ("user-item", "item-interest", "interest-interest", "item-item")

#: variant → (ModelConfig overrides, TrainConfig overrides), in the order the parts are added
VARIANTS = {
    "ID-only propagation (same graph, no text)": ({"text_features": False}, {}),
    "+ frozen text (the default)": ({}, {}),
    "+ refined similarity edges": ({"similarity_edges": "refined"}, {}),
    "+ fine-tuned encoder, top layer": ({"similarity_edges": "refined"}, {"encoder_mode": "top"}),
    "+ fine-tuned encoder, LoRA r=8": ({"similarity_edges": "refined"}, {"encoder_mode": "lora"}),
    "frozen text + fine-tuned encoder, top layer (no refinement)": ({}, {"encoder_mode": "top"}),
    # the same ladder with one gate per node and edge type, which lets item–item text-similarity edges pay
    "typed gates, ID-only (no text)": ({"typed_gates": True, "text_features": False}, {}),
    "typed gates + frozen text": ({"typed_gates": True}, {}),
    "typed gates + frozen text + item–item text-similarity edges": (
        {"typed_gates": True, "edge_types": WITH_ITEM_ITEM},
        {},
    ),
    "typed gates + item–item edges + refined similarity edges": (
        {"typed_gates": True, "edge_types": WITH_ITEM_ITEM, "similarity_edges": "refined"},
        {},
    ),
    "typed gates + item–item edges + refined edges + fine-tuned encoder, top layer": (
        {"typed_gates": True, "edge_types": WITH_ITEM_ITEM, "similarity_edges": "refined"},
        {"encoder_mode": "top"},
    ),
}


def _mean_std(values: list[float]) -> str:
    """``"mean ± std"`` of per-seed figures (sample std, as :func:`interestgraph.evaluate.average_runs` reports;
    4 decimals)."""
    import numpy as np

    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--protocols", default="rs-4")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--path", default=None, help="ml-latest-small folder (default ../shared/datasets/ml-latest-small)"
    )
    parser.add_argument("--graph-dir", default=None, help="a built graph directory (or a folder with one per protocol)")
    parser.add_argument("--variants", default=None, help="comma-separated variant numbers (0-based), default all")
    parser.add_argument(
        "--lightgcn",
        default=None,
        help="model-quality-<protocol>-per-user.parquet with LightGCN's runs "
        "('{protocol}' in the path is replaced per protocol)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="cap on training epochs (default: TrainConfig's, with early stopping)"
    )
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")

    from model_quality import load_graph, reused_results, write_per_user

    from interestgraph.evaluate import average_runs, compare, evaluate
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

    command = "python benchmarks/joint_ablation.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    seeds = [int(s) for s in args.seeds.split(",")]
    chosen = list(VARIANTS.items())
    if args.variants:
        chosen = [chosen[int(i)] for i in args.variants.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for protocol in args.protocols.split(","):
        graph = load_graph(protocol, args)
        split = graph.split
        print(split.describe(), flush=True)
        averaged, facts = {}, {}
        for name, (model_overrides, train_overrides) in chosen:
            runs = []
            for seed in seeds:
                t0 = time.perf_counter()
                model = InterestGraphModel(
                    ModelConfig(**model_overrides),
                    TrainConfig(
                        seed=seed,
                        verbose=False,
                        **train_overrides,
                        **({} if args.epochs is None else {"epochs": args.epochs}),
                    ),
                ).fit(graph)
                seconds = time.perf_counter() - t0
                result = evaluate(model, split, part="test", cutoffs=(20,), name=name)
                runs.append(result)
                refined = {k: v for k, v in model.report_.history[-1].items() if k.endswith("_edges")}
                facts.setdefault(name, []).append(
                    {
                        "seed": seed,
                        "fit_seconds": round(seconds, 1),
                        "best_epoch": model.report_.best_epoch,
                        "epochs": model.report_.epochs,
                        "valid_ndcg@20": model.report_.best_valid_ndcg,
                        "epoch_seconds": model.report_.epoch_seconds,
                        **refined,
                        "ndcg@20": result.metrics["ndcg@20"],
                        "recall@20": result.metrics["recall@20"],
                        **{f"cold_{k}": result.cold[k] for k in ("recall@20", "ndcg@20") if k in result.cold},
                    }
                )
                print(
                    f"{result.describe()} [seed {seed}, fit {seconds:.1f} s, best epoch {model.report_.best_epoch}]",
                    flush=True,
                )
            averaged[name] = average_runs(runs, name=name)
        baseline = None
        if args.lightgcn:
            reused = reused_results(Path(args.lightgcn.replace("{protocol}", protocol)), split)
            if "lightgcn" in reused:
                baseline = reused["lightgcn"][0]
        has_cold = len(split.cold_items) > 0
        rows = [
            "| variant | seeds | ndcg@20 | recall@20 |"
            + (" cold items' recall@20 | cold ndcg@20 |" if has_cold else "")
            + " fit s | epoch s: encoder / walks+loss / refine / valid | vs the first variant, ndcg@20 (95% CI) |"
            + " vs LightGCN ndcg@20 (95% CI) |",
            "|---|---|---|---|" + ("---|---|" if has_cold else "") + "---|---|---|---|",
        ]
        first = next(iter(averaged))
        steps = {
            name: compare(result, averaged[first], "ndcg@20") for name, result in averaged.items() if name != first
        }
        comparisons = {}
        for name, result in averaged.items():
            m = result.metrics
            runs = facts[name]
            fit = sum(f["fit_seconds"] for f in runs) / len(runs)
            part = lambda k, runs=runs: sum(f["epoch_seconds"].get(k, 0.0) for f in runs) / len(runs)
            versus = ""
            if baseline is not None:
                c = compare(result, baseline, "ndcg@20")
                comparisons[name] = c
                versus = f"{c['difference']:+.4f} [{c['ci_low']:+.4f}, {c['ci_high']:+.4f}], p={c['p_value']:.2g}"
            cold = (
                "".join(
                    f" {_mean_std([f.get('cold_' + k, float('nan')) for f in runs])} |"
                    for k in ("recall@20", "ndcg@20")
                )
                if has_cold
                else ""
            )
            step = steps.get(name)
            step = (
                ""
                if step is None
                else (
                    f"{step['difference']:+.4f} [{step['ci_low']:+.4f}, {step['ci_high']:+.4f}], "
                    f"p={step['p_value']:.2g}"
                )
            )
            rows.append(
                f"| {name} | {len(runs)} | {m['ndcg@20']:.4f} ± {m['ndcg@20_std']:.4f} | {m['recall@20']:.4f} ± "
                f"{m['recall@20_std']:.4f} |{cold} {fit:.0f} | "
                f"{part('encoder'):.1f} / {part('train'):.1f} / {part('refine'):.2f} / {part('valid'):.1f} | {step} "
                f"| {versus} |"
            )
        if baseline is not None:
            b = baseline.metrics
            rows.append(
                f"| LightGCN (tuned; {args.lightgcn.replace('{protocol}', protocol)}) | - | {b['ndcg@20']:.4f} ± "
                f"{b.get('ndcg@20_std', 0.0):.4f} | "
                f"{b['recall@20']:.4f} ± {b.get('recall@20_std', 0.0):.4f} |"
                + (" - | - |" if has_cold else "")
                + " - | - | - | - |"
            )
        text = (
            f"# Joint-training ablation: ml-latest-small, {protocol}\n\n{split.describe()}\n\n"
            + "\n".join(rows)
            + f"\n\nCommand: `{command}`\n"
        )
        (out / f"joint-ablation-{protocol}.md").write_text(text)
        payload = {
            "protocol": split.protocol.to_dict(),
            "protocol_line": split.describe(),
            "seeds": seeds,
            "command": command,
            "variants": {
                name: {
                    "model_config": VARIANTS[name][0],
                    "train_config": VARIANTS[name][1],
                    "metrics": averaged[name].metrics,
                    "runs": facts[name],
                    "vs_first_variant": steps.get(name),
                    "vs_lightgcn": comparisons.get(name),
                }
                for name in averaged
            },
        }
        (out / f"joint-ablation-{protocol}.json").write_text(json.dumps(payload, indent=2, default=str))
        write_per_user(averaged, out / f"joint-ablation-{protocol}-per-user.parquet")
        print(text, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
