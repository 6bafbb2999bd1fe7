"""The item-path model against the tuned linear item–item baselines on one dataset, per protocol and split seed.

Not a test: it measures. Protocol, for each ``--protocols`` × ``--seeds``:

1. The interest graph is built on the split (default :class:`~interestgraph.graph.GraphConfig`, the package's
   default text encoder; ``--encoder lexical`` for a dependency-free run).
2. The item-path model's settings are chosen on the validation part by :func:`~interestgraph.model.tune_item_path`
   over its stated grid (:class:`~interestgraph.model.ItemPathGrid`, or ``--grid``); each baseline's by
   :func:`~interestgraph.baselines.tune_grid` over its stated grid (EASE ``EASE_GRID``, GF-CF ``GFCF_GRID``,
   ItemKNN ``ITEMKNN_GRID`` below). Every model is fitted on the training part only.
3. The test part is scored once per chosen model (training and validation items masked). The comparison is against
   the baseline with the best **test** NDCG@20 (the conservative choice), paired per user: bootstrap 95 % CI of the
   mean difference and a Wilcoxon p (:func:`~interestgraph.evaluate.compare`), per seed and pooled over seeds
   (each user's mean over the seeds).
4. On splits with cold items (``cold-4``) the cold items' Recall@20 / NDCG@20 are reported too.
5. With ``--refit``: every model is refitted with its chosen setting on train + valid (the graph rebuilt on that
   split) and the test part is scored once more, paired and pooled the same way; nothing is chosen again. On
   ``tl-4`` this closes the gap between the training history and the test items, which otherwise sit one validation
   part later than the items the setting was chosen on.
6. With ``--without-text``: the item-path model is tuned a second time on the same split with the same grid less the
   ``text`` component (the language model's only part in it) and scored on test once; the pooled paired difference
   says what text costs or gains on warm ranking.

    OMP_NUM_THREADS=1 python benchmarks/item_path.py --data ../shared/datasets/ml-latest-small \\
        --protocols rs-4,tl-4 --seeds 3,4,5 --out results/

Writes ``item-path-benchmark.json`` (every validation score, the choices, test metrics, comparisons) to ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ITEMKNN_GRID = {"k": (50, 100, 200), "shrink": (0.0, 10.0)}
NO_TEXT = "item-path without text"


def baseline_table(names: list[str]) -> dict[str, tuple[Any, dict]]:
    from interestgraph.baselines import LINEAR_MODELS, ItemKNN

    table = {"itemknn": (ItemKNN, ITEMKNN_GRID), **LINEAR_MODELS}
    unknown = [name for name in names if name not in table]
    if unknown:
        raise SystemExit(f"--baselines: unknown {unknown}; choose from {', '.join(table)}")
    return {name: table[name] for name in names}


def run_one(log, protocol: str, seed: int, args, grid, baselines, say) -> dict[str, Any]:
    """Steps 1–4 for one split; returns its JSON entry and keeps the test results for pooling."""
    from interestgraph.baselines import tune_grid
    from interestgraph.encoder import EncoderConfig, TextEncoder
    from interestgraph.encoder.lexical import LexicalEncoder
    from interestgraph.evaluate import compare, evaluate
    from interestgraph.graph.build import build_interest_graph
    from interestgraph.model import tune_item_path

    started = time.perf_counter()
    encoder = LexicalEncoder() if args.encoder == "lexical" else TextEncoder(EncoderConfig(cache_dir=args.cache))
    graph = build_interest_graph(log, protocol=protocol, seed=seed, encoder=encoder)
    split = graph.split
    entry: dict[str, Any] = {
        "protocol": split.protocol.to_dict(),
        "graph_seconds": round(time.perf_counter() - started),
    }
    say(f"[{protocol} seed {seed}] {split.describe()}; graph built in {entry['graph_seconds']} s")
    results = {}
    started = time.perf_counter()
    best, tried = tune_item_path(graph, grid)
    entry["item-path"] = {
        "tuning_seconds": round(time.perf_counter() - started, 1),
        "configurations": len(tried),
        "sweep": tried,
        "chosen": {
            "ridge": best.config.ridge,
            "side_weight": best.config.side_weight,
            "theta": {k: v for k, v in best.theta_.items() if v != 0},
            "first_step": best.first_step_,
            "half_life_items": best.config.first_step_half_life_items,
            "cold_theta": None if best.cold_theta_ is None else {k: v for k, v in best.cold_theta_.items() if v != 0},
        },
        "valid_ndcg@20": max(r["ndcg@20"] for r in tried if not r.get("simulation")),
        "cold_simulation": [r for r in tried if r.get("simulation")],
    }
    results["item-path"] = evaluate(best, split, part="test", cutoffs=(20,), name="item-path")
    if args.without_text:  # the same tuning with the language model's component left out
        started = time.perf_counter()
        no_text = dataclasses.replace(grid, components=tuple(c for c in grid.components if c != "text"))
        plain, plain_tried = tune_item_path(graph, no_text)
        if "text" in plain.components_:
            raise RuntimeError("the grid without text still fitted the text component")
        entry[NO_TEXT] = {
            "tuning_seconds": round(time.perf_counter() - started, 1),
            "configurations": len(plain_tried),
            "chosen": {"theta": {k: v for k, v in plain.theta_.items() if v != 0}},
            "valid_ndcg@20": max(r["ndcg@20"] for r in plain_tried if not r.get("simulation")),
        }
        results[NO_TEXT] = evaluate(plain, split, part="test", cutoffs=(20,), name=NO_TEXT)
    chosen_models: dict[str, tuple[Any, dict]] = {}
    for name, (make, model_grid) in baselines.items():
        started = time.perf_counter()
        model, table = tune_grid(make, split, model_grid, name=name)
        chosen = table[table["chosen"]].iloc[0]
        entry[name] = {
            "tuning_seconds": round(time.perf_counter() - started, 1),
            "configurations": len(table),
            "chosen": {k: chosen[k] for k in model_grid},
            "valid_ndcg@20": float(chosen["valid_ndcg@20"]),
        }
        results[name] = evaluate(model, split, part="test", cutoffs=(20,), name=name)
        chosen_models[name] = (make, {k: _plain(chosen[k]) for k in model_grid})
    for name, result in results.items():
        entry[name]["test"] = {k: result.metrics[k] for k in ("recall@20", "ndcg@20")}
        if result.cold:
            entry[name]["test_cold"] = {k: result.cold[k] for k in ("recall@20", "ndcg@20") if k in result.cold}
        say(
            f"  {name:10s} valid NDCG@20 {entry[name]['valid_ndcg@20']:.4f} ({entry[name]['configurations']} "
            f"configurations, {entry[name]['tuning_seconds']:.0f} s) -> test Recall@20 "
            f"{entry[name]['test']['recall@20']:.4f} NDCG@20 {entry[name]['test']['ndcg@20']:.4f}"
            + (f"; cold Recall@20 {entry[name]['test_cold']['recall@20']:.4f}" if "test_cold" in entry[name] else "")
        )
    if baselines:
        strongest = max(baselines, key=lambda n: results[n].metrics["ndcg@20"])
        comparison = compare(results["item-path"], results[strongest])
        entry["against"] = strongest
        entry["ratio"] = results["item-path"].metrics["ndcg@20"] / results[strongest].metrics["ndcg@20"]
        entry["paired"] = {k: comparison[k] for k in comparison if k != "per_user"}
        say(
            f"  item-path / {strongest} (the best baseline on test): NDCG@20 ratio {entry['ratio']:.4f}; paired "
            f"difference {comparison['difference']:+.4f}, 95% CI [{comparison['ci_low']:+.4f}, "
            f"{comparison['ci_high']:+.4f}], Wilcoxon p {comparison['p_value']:.2g}"
        )
    entry["chosen_theta"] = entry["item-path"]["chosen"]["theta"]
    refitted = refit_and_test(split, encoder, best, chosen_models, entry, say) if args.refit else None
    return entry, results, refitted


def refit_and_test(split, encoder, best, chosen_models: dict, entry: dict, say) -> dict[str, Any]:
    """Step 5 (``--refit``): every model refitted with its chosen setting on train + valid
    (:meth:`~interestgraph.data.Split.fold_validation`, the graph rebuilt on it) and the test part scored once more;
    nothing is chosen again."""
    from interestgraph.evaluate import compare, evaluate
    from interestgraph.graph.build import build_interest_graph
    from interestgraph.model import ItemPathModel

    folded = split.fold_validation()
    graph = build_interest_graph(folded, encoder=encoder)
    model = ItemPathModel(best.config).fit(graph)
    results = {"item-path": evaluate(model, folded, part="test", cutoffs=(20,), name="item-path")}
    for name, (make, setting) in chosen_models.items():
        results[name] = evaluate(make(**setting).fit(folded), folded, part="test", cutoffs=(20,), name=name)
    for name, result in results.items():
        entry[name]["test_refit"] = {k: result.metrics[k] for k in ("recall@20", "ndcg@20")}
    say(
        "  refitted on train+valid, test: "
        + ", ".join(f"{name} NDCG@20 {r.metrics['ndcg@20']:.4f}" for name, r in results.items())
    )
    if chosen_models:
        strongest = max(chosen_models, key=lambda n: results[n].metrics["ndcg@20"])
        comparison = compare(results["item-path"], results[strongest])
        entry["refit"] = {
            "against": strongest,
            "ratio": results["item-path"].metrics["ndcg@20"] / results[strongest].metrics["ndcg@20"],
            "paired": {k: comparison[k] for k in comparison if k != "per_user"},
        }
        say(
            f"  refitted: item-path / {strongest}: NDCG@20 ratio {entry['refit']['ratio']:.4f}; paired difference "
            f"{comparison['difference']:+.4f}, 95% CI [{comparison['ci_low']:+.4f}, {comparison['ci_high']:+.4f}]"
        )
    return results


def _plain(value: Any) -> Any:
    """A numpy scalar from a results table as the Python number a constructor expects."""
    return value.item() if hasattr(value, "item") else value


def pooled(per_seed: list[dict], metric: str = "ndcg@20") -> dict[str, Any]:
    """Each user's metric averaged over the seeds (users present in every seed), item-path minus each baseline,
    bootstrap 95 % CI of the mean difference."""
    import numpy as np

    names = [n for n in per_seed[0] if n != "item-path"]
    out = {}
    for name in names:
        tables = []
        for results in per_seed:
            a = results["item-path"].per_user.set_index("user_id")[metric]
            b = results[name].per_user.set_index("user_id")[metric]
            tables.append((a - b).rename(None))
        joined = (
            np.vstack([t.sort_index().to_numpy() for t in tables])
            if all(t.index.equals(tables[0].index) for t in tables)
            else None
        )
        if joined is None:
            import pandas as pd

            frame = pd.concat(tables, axis=1, join="inner")
            joined = frame.to_numpy().T
        difference = joined.mean(axis=0)
        rng = np.random.default_rng(0)
        draws = rng.integers(0, len(difference), (10_000, len(difference)))
        means = difference[draws].mean(axis=1)
        out[name] = {
            "users": len(difference),
            "mean_difference": float(difference.mean()),
            "ci_low": float(np.percentile(means, 2.5)),
            "ci_high": float(np.percentile(means, 97.5)),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "ml-latest-small"))
    parser.add_argument("--format", default="movielens")
    parser.add_argument("--synthetic", default=None, help="JSON generator settings for --format synthetic")
    parser.add_argument("--protocols", default="rs-4,tl-4")
    parser.add_argument("--seeds", default="3,4,5")
    parser.add_argument("--baselines", default="ease,gfcf,itemknn")
    parser.add_argument("--grid", default=None, help="JSON ItemPathGrid fields")
    parser.add_argument(
        "--without-text",
        action="store_true",
        help="also tune the item-path model without its text component (the same grid less 'text') and pair them",
    )
    parser.add_argument("--encoder", choices=("default", "lexical"), default="default")
    parser.add_argument("--cache", default=None, help="the text encoder's disk cache directory")
    parser.add_argument(
        "--refit",
        action="store_true",
        help="also refit every model with its chosen setting on train+valid and score test once more (step 5)",
    )
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)

    import numpy as np

    from interestgraph.data.formats import load_source
    from interestgraph.model import ItemPathGrid

    command = "python benchmarks/item_path.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    grid_fields = json.loads(args.grid) if args.grid else {}
    grid = ItemPathGrid.from_dict({k: tuple(v) if isinstance(v, list) else v for k, v in grid_fields.items()})
    baselines = baseline_table([n.strip() for n in args.baselines.split(",") if n.strip()])
    synthetic = json.loads(args.synthetic) if args.synthetic else None
    log = load_source(args.data, args.format, synthetic=synthetic).log
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    say(f"item-path grid: {grid.to_dict()}; baselines: {', '.join(baselines) or 'none'}")
    payload: dict[str, Any] = {"command": command, "grid": grid.to_dict(), "runs": {}, "pooled": {}}
    started = time.perf_counter()
    for protocol in [p.strip() for p in args.protocols.split(",") if p.strip()]:
        per_seed, per_seed_refit = [], []
        for seed in [int(s) for s in args.seeds.split(",") if s.strip()]:
            entry, results, refitted = run_one(log, protocol, seed, args, grid, baselines, say)
            payload["runs"][f"{protocol}:{seed}"] = entry
            per_seed.append(results)
            if refitted is not None:
                per_seed_refit.append(refitted)
        values = {name: [r[name].metrics["ndcg@20"] for r in per_seed] for name in per_seed[0]}
        summary = ", ".join(f"{n} {np.mean(v):.4f} ± {np.std(v):.4f}" for n, v in values.items())
        say(f"[{protocol}] test NDCG@20 mean ± std over {len(per_seed)} seeds: {summary}")
        if baselines or args.without_text:
            payload["pooled"][protocol] = pooled(per_seed)
            for name, stats in payload["pooled"][protocol].items():
                say(
                    f"[{protocol}] pooled over seeds, item-path − {name}: {stats['mean_difference']:+.4f} "
                    f"[{stats['ci_low']:+.4f}, {stats['ci_high']:+.4f}] ({stats['users']} users)"
                )
        if per_seed_refit:
            values = {name: [r[name].metrics["ndcg@20"] for r in per_seed_refit] for name in per_seed_refit[0]}
            summary = ", ".join(f"{n} {np.mean(v):.4f} ± {np.std(v):.4f}" for n, v in values.items())
            say(f"[{protocol}, refitted on train+valid] test NDCG@20 mean ± std: {summary}")
            if baselines:
                payload["pooled"][f"{protocol}:refit"] = pooled(per_seed_refit)
                for name, stats in payload["pooled"][f"{protocol}:refit"].items():
                    say(
                        f"[{protocol}, refitted] pooled over seeds, item-path − {name}: "
                        f"{stats['mean_difference']:+.4f} [{stats['ci_low']:+.4f}, {stats['ci_high']:+.4f}] "
                        f"({stats['users']} users)"
                    )
    payload["seconds"] = round(time.perf_counter() - started, 1)
    payload["lines"] = lines
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "item-path-benchmark.json").write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {out / 'item-path-benchmark.json'}; command: {command}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
