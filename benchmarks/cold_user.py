"""New users: the ``cold-user`` protocol on ml-latest-small (or a synthetic log), given 1, 3 or 5 first positives.

Not a test: it measures. Protocol (:mod:`interestgraph.evaluate.cold_users`, documented in benchmarks/README.md):
20 % of the users with more than 5 positives (ratings >= 4) are held out of training entirely (seed 2020), half of
them validation users, half test users; the others' positives are split 9:1 in time (validation for early
stopping). Each held-out user is given their first ``n`` positives in time order (``n`` = 1, 3, 5) and every other
catalogue item is ranked; relevant = the rest of their positives. Methods, all folded in without retraining:

* the default :class:`InterestGraphModel` (:func:`interestgraph.recommend.fold_in_scores`: the given items as a new
  user's first steps, every other weight frozen);
* popularity (training positives per item);
* ItemKNN fold-in (``Σ_given`` the given items' neighbour rows), ``k`` chosen on the validation users;
* EASE fold-in (``x_given · B``), ``λ`` chosen on the validation users;
* text content (cosine to the mean MiniLM vector of the given items' catalogue text).

Settings are chosen on the validation users at ``n = 3``; the test users are scored once. Recall@20 / NDCG@20 with
95 % bootstrap intervals over users, and paired differences of the model against each baseline.

    OMP_NUM_THREADS=1 python benchmarks/cold_user.py --out results/cold-user
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

EASE_GRID = (100.0, 500.0)
KNN_GRID = (50, 200)


def _given_matrix(given: list[list], ids):
    import scipy.sparse as sp

    rows = np.repeat(np.arange(len(given)), [len(g) for g in given])
    cols = ids.get_indexer([i for g in given for i in g])
    return sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(given), len(ids)))


def scorers(cold, model, encoder, args) -> tuple[dict, dict]:
    """Every method as ``given lists -> (B, n_items)``; and the settings chosen on validation."""
    from interestgraph.baselines import EASE, ItemKNN
    from interestgraph.evaluate.cold_users import score_cold_users
    from interestgraph.recommend import fold_in_scores

    split = cold.split
    ids = split.log.item_ids
    train = split.positive_matrix("train")
    counts = np.asarray(train.sum(axis=0), dtype=np.float64).ravel()
    if not model.item_ids.equals(ids):
        raise RuntimeError("the model's items are not in the log's order")
    vectors = encoder.encode(split.log.item_texts())
    vectors = np.asarray(vectors.detach().cpu().numpy() if hasattr(vectors, "detach") else vectors, dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def model_scores(given):
        return np.stack([fold_in_scores(model, g) for g in given])

    def text_scores(given):
        profile = np.asarray(_given_matrix(given, ids) @ vectors)
        profile /= np.maximum(np.linalg.norm(profile, axis=1, keepdims=True), 1e-12)
        return profile @ vectors.T

    def knn(k):
        fitted = ItemKNN(k=k).fit(split)
        return lambda given: np.asarray((_given_matrix(given, ids) @ fitted.neighbours_.T).toarray())

    def ease(l2):
        fitted = EASE(l2=l2).fit(split)
        weights = fitted.weights_.numpy()

        def score(given):
            x = _given_matrix(given, ids)[:, fitted.active_]
            out = np.zeros((len(given), len(ids)))
            out[:, fitted.active_] = np.asarray(x @ weights)
            return out

        return score

    methods = {
        "interest-graph model (fold-in)": model_scores,
        "popularity": lambda given: np.tile(counts, (len(given), 1)),
        "text content (same encoder)": text_scores,
    }
    chosen = {}
    for label, make, grid in (("ItemKNN fold-in", knn, KNN_GRID), ("EASE fold-in", ease, EASE_GRID)):
        best, best_value, tried = None, -1.0, []
        for setting in grid:
            method = make(setting)
            value = score_cold_users(cold, "valid", 3, method, name=label).metrics["ndcg@20"]
            tried.append({"setting": setting, "valid_ndcg@20": round(value, 4)})
            if value > best_value:
                best, best_value, best_method = setting, value, method
        methods[label] = best_method
        chosen[label] = {"chosen": best, "tried": tried}
    return methods, chosen


def run(cold, model, encoder, args) -> dict:
    from interestgraph.evaluate.cold_users import score_cold_users
    from interestgraph.evaluate.intents import mean_ci

    methods, chosen = scorers(cold, model, encoder, args)
    report = {"choices": chosen, "users": {p: len(cold.part(p)) for p in ("valid", "test")}, "tables": {}}
    comparisons = []
    for n in cold.given:
        results = {name: score_cold_users(cold, "test", n, method, name=name) for name, method in methods.items()}
        rows = {}
        for name, result in results.items():
            rows[name] = {
                m: [round(v, 4) for v in mean_ci(result.per_user[m].to_numpy())] for m in ("recall@20", "ndcg@20")
            }
        report["tables"][n] = rows
        ours = results["interest-graph model (fold-in)"].per_user["ndcg@20"].to_numpy()
        for name, result in results.items():
            if name == "interest-graph model (fold-in)":
                continue
            theirs = result.per_user["ndcg@20"].to_numpy()
            mean, low, high = mean_ci(ours - theirs)
            ratio = round(float(ours.mean() / theirs.mean()), 3) if theirs.mean() > 0 else None
            comparisons.append(
                {"given": n, "baseline": name, "difference": round(mean, 4), "ci": [round(low, 4), round(high, 4)]}
                | {"ratio": ratio}
            )
    report["comparisons"] = comparisons
    return report


def markdown(report: dict, command: str, describe: str) -> str:
    chosen = {k: v["chosen"] for k, v in report["choices"].items()}
    lines = [
        f"`{command}`",
        "",
        describe,
        "",
        f"held-out users: {report['users']}; chosen on validation (n = 3): {chosen}",
    ]
    lines += ["", "| given | method | Recall@20 [95 % CI] | NDCG@20 [95 % CI] |", "|---:|---|---|---|"]
    for n, rows in report["tables"].items():
        for name, row in rows.items():
            cells = [f"{row[m][0]:.4f} [{row[m][1]:.4f}, {row[m][2]:.4f}]" for m in ("recall@20", "ndcg@20")]
            lines.append(f"| {n} | {name} | {cells[0]} | {cells[1]} |")
    lines += [
        "",
        "| given | model − baseline, NDCG@20 | difference [95 % CI] | model / baseline |",
        "|---:|---|---|---:|",
    ]
    for c in report["comparisons"]:
        low, high = c["ci"]
        lines.append(
            f"| {c['given']} | {c['baseline']} | {c['difference']:+.4f} [{low:+.4f}, {high:+.4f}] | {c['ratio']} |"
        )
    lines += ["", f"seconds: {report['seconds']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", help="ml-latest-small folder (default ../shared/datasets/ml-latest-small)")
    parser.add_argument("--synthetic", action="store_true", help="a synthetic log instead of MovieLens")
    parser.add_argument("--share", type=float, default=0.2, help="share of eligible users held out")
    parser.add_argument("--seed", type=int, default=2020, help="which users are held out; model training seed 0")
    parser.add_argument("--encoder", choices=("minilm", "lexical"), default="minilm")
    parser.add_argument("--cache-dir", default=str(ROOT / "graphs" / ".encoder-cache"), help="embedding cache")
    parser.add_argument("--epochs", type=int, default=None, help="TrainConfig.epochs (default: its own)")
    parser.add_argument("--out", help="folder for cold-user.md / .json")
    args = parser.parse_args(argv)
    command = "python benchmarks/cold_user.py " + shlex.join(sys.argv[1:] if argv is None else argv)

    from benchmarks.intent import make_encoder
    from interestgraph.evaluate.cold_users import cold_user_split
    from interestgraph.graph import build_interest_graph
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

    started = time.perf_counter()
    if args.synthetic:
        from interestgraph.data import generate_synthetic

        log = generate_synthetic(n_users=300, n_items=300, n_interactions=9_000, seed=0).log
    else:
        from interestgraph.data import load_movielens

        shared = [p / "shared" / "datasets" / "ml-latest-small" for p in (ROOT.parent, ROOT.parents[1])]
        path = Path(args.path or next((p for p in shared if p.is_dir()), shared[0]))
        if not path.is_dir():
            raise SystemExit(f"{path}: no such folder (ml-latest-small is read from ../shared/datasets; pass --path)")
        log = load_movielens(path)
    cold = cold_user_split(log, share=args.share, seed=args.seed)
    encoder = make_encoder(args)
    graph = build_interest_graph(cold.split, encoder=encoder)
    train = {"seed": 0, "verbose": False, **({"epochs": args.epochs} if args.epochs else {})}
    model = InterestGraphModel(ModelConfig(), TrainConfig(**train)).fit(graph)
    fitted = time.perf_counter() - started
    report = run(cold, model, encoder, args)
    report["seconds"] = {"load + build + train": round(fitted, 1), "total": round(time.perf_counter() - started, 1)}
    report["command"] = command
    text = markdown(report, command, cold.split.describe())
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "cold-user.md").write_text(text + "\n")
        (out / "cold-user.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
