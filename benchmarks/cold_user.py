"""New users: the ``cold-user`` protocol on ml-latest-small (or a synthetic log), given 1, 3 or 5 first positives.

Not a test: it measures. Protocol (:mod:`interestgraph.evaluate.cold_users`, documented in benchmarks/README.md):
20 % of the users with more than 5 positives (ratings >= 4) are held out of training entirely (seed 2020), half of
them validation users, half test users; the others' positives are split 9:1 in time (validation for early
stopping). Each held-out user is given their first ``n`` positives in time order (``n`` = 1, 3, 5) and every other
catalogue item is ranked; relevant = the rest of their positives. Methods, all folded in without retraining:

* the item-path model (:meth:`~interestgraph.model.ItemPathModel.fold_in`: its paths from the given items plus
  its popularity prior as ``prior`` pseudo-units of first-step mass), its settings chosen by
  :func:`~interestgraph.model.tune_item_path` on the warm users' validation part, ``prior`` from ``PRIOR_GRID`` on
  the validation users;
* the default :class:`InterestGraphModel` (:func:`interestgraph.recommend.fold_in_scores`: the given items as a new
  user's first steps, every other weight frozen);
* popularity (training positives per item);
* ItemKNN fold-in (``Σ_given`` the given items' neighbour rows), ``k`` chosen on the validation users;
* EASE fold-in (``x_given · B``), ``λ`` chosen on the validation users;
* EASE fold-in with the item-path model's popularity prior (the same form, scale and ``PRIOR_GRID``,
  chosen jointly with ``λ``): the strongest baseline we know of for this protocol, so the prior is not counted as
  the model's own gain;
* text content (cosine to the mean MiniLM vector of the given items' catalogue text).

Settings are chosen on the validation users at ``n = 3``; the test users are scored once. Recall@20 / NDCG@20 with
95 % bootstrap intervals over users, and paired differences of the item-path model against every other method.

**One line of text** (held-out users who wrote tags or queries; at least ``MIN_TEXT_USERS`` in each part, else the
table is skipped and the report says so): each is given only their first texts as one line
(:func:`~interestgraph.evaluate.cold_users.score_cold_users_text`) and every item is ranked against all their
positives. Methods: the item-path model's query route (:meth:`~interestgraph.model.ItemPathModel.query_scores`, its
index over the item documents; ``top`` and ``prior`` chosen on the validation users over ``QUERY_GRID``), the
interest-graph model's query route (:func:`interestgraph.recommend.intent_scores`, package defaults), popularity,
text content (cosine of the line with the items' catalogue text) and dense retrieval over the same item documents.

    OMP_NUM_THREADS=1 python benchmarks/cold_user.py --out results/cold-user
"""

from __future__ import annotations

import argparse
import functools
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
PRIOR_GRID = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
MODEL = "item-path model (fold-in)"
QUERY_GRID = [(top, prior) for top in (5, 20) for prior in (0.0, 1.0, 3.0)]
MIN_TEXT_USERS = 10
QUERY_MODEL = "item-path model (query route)"


def _given_matrix(given: list[list], ids):
    import scipy.sparse as sp

    rows = np.repeat(np.arange(len(given)), [len(g) for g in given])
    cols = ids.get_indexer([i for g in given for i in g])
    return sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(given), len(ids)))


def _mass_prior_scale(scores, history) -> float:
    """The item-path model's ``prior_scale_`` for another scorer: the mean over (up to 256 seeded) training users of
    their top score over their history's mass."""
    rows = np.flatnonzero(np.diff(history.indptr) > 0)
    rows = np.sort(np.random.default_rng(0).choice(rows, min(256, len(rows)), replace=False))
    top = np.asarray(scores(history[rows])).max(axis=1)
    return float(np.mean(top / np.asarray(history[rows].sum(axis=1)).ravel()))


def _choose(cold, label: str, candidates: dict) -> tuple[object, dict]:
    """The candidate with the best validation NDCG@20 at ``n = 3`` (the first on ties) and the record of all."""
    from interestgraph.evaluate.cold_users import score_cold_users

    best, best_value, tried = None, -1.0, []
    for setting, method in candidates.items():
        value = score_cold_users(cold, "valid", 3, method, name=label).metrics["ndcg@20"]
        tried.append({"setting": setting, "valid_ndcg@20": round(value, 4)})
        if value > best_value:
            best, best_value = setting, value
    return candidates[best], {"chosen": best, "tried": tried}


def scorers(cold, model, item_path, encoder, args) -> tuple[dict, dict]:
    """Every method as ``given lists -> (B, n_items)``; and the settings chosen on validation."""
    from interestgraph.baselines import EASE, ItemKNN
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

    @functools.cache
    def ease_fit(l2):
        fitted = EASE(l2=l2).fit(split)
        weights = fitted.weights_.numpy().astype(np.float64)
        return fitted, weights, _mass_prior_scale(lambda x: x[:, fitted.active_] @ weights, train.tocsr())

    def ease(l2, prior=None):
        fitted, weights, scale = ease_fit(l2)

        def score(given):
            x = _given_matrix(given, ids)
            out = np.zeros((len(given), len(ids)))
            out[:, fitted.active_] = np.asarray(x[:, fitted.active_] @ weights)
            if prior is None:
                return out
            out += prior * scale * counts[None, :] / counts.max()
            return out / np.asarray(x.sum(axis=1))

        return score

    def folded(prior):
        return lambda given: item_path.fold_in(given, prior=prior).numpy()

    methods = {
        MODEL: None,
        "interest-graph model (fold-in)": model_scores,
        "popularity": lambda given: np.tile(counts, (len(given), 1)),
        "text content (same encoder)": text_scores,
    }
    chosen = {}
    for label, candidates in (
        (MODEL, {prior: folded(prior) for prior in PRIOR_GRID}),
        ("ItemKNN fold-in", {k: knn(k) for k in KNN_GRID}),
        ("EASE fold-in", {l2: ease(l2) for l2 in EASE_GRID}),
        (
            "EASE fold-in + popularity prior",
            {(l2, prior): ease(l2, prior) for l2 in EASE_GRID for prior in PRIOR_GRID},
        ),
    ):
        methods[label], chosen[label] = _choose(cold, label, candidates)
    return methods, chosen


def text_scorers(cold, model, item_path, encoder) -> tuple[dict, dict]:
    """The one-line-of-text methods as ``lines -> (B, n_items)``, and the item-path route's choice on validation."""
    from interestgraph.baselines.retrieval import DenseRetrieval
    from interestgraph.evaluate.cold_users import score_cold_users_text
    from interestgraph.evaluate.intents import item_documents
    from interestgraph.recommend import intent_scores

    split = cold.split
    counts = np.asarray(split.positive_matrix("train").sum(axis=0), dtype=np.float64).ravel()
    titles = DenseRetrieval(encoder).fit(split.log.item_texts())
    documents = DenseRetrieval(encoder).fit(item_documents(split))

    def graph_route(lines):
        out = np.full((len(lines), len(split.log.item_ids)), -np.inf)
        for r, line in enumerate(lines):
            try:
                scores, _ = intent_scores(model, line, encoder=encoder)
            except ValueError as exc:  # no interest point close enough: a miss
                if "no interest point" not in str(exc):
                    raise
                continue
            out[r] = np.where(scores != 0, scores, -np.inf)
        return out

    def route(top, prior):
        return lambda lines: item_path.query_scores(lines, top=top, prior=prior, encoder=encoder).numpy()

    best, best_value, tried = None, -1.0, []
    for setting in QUERY_GRID:
        value = score_cold_users_text(cold, "valid", route(*setting), name=QUERY_MODEL).metrics["ndcg@20"]
        tried.append({"setting": setting, "valid_ndcg@20": round(value, 4)})
        if value > best_value:
            best, best_value = setting, value
    methods = {
        QUERY_MODEL: route(*best),
        "interest-graph model (query route)": graph_route,
        "popularity": lambda lines: np.tile(counts, (len(lines), 1)),
        "text content (same encoder)": lambda lines: titles.score(lines),
        "dense retrieval (item documents)": lambda lines: documents.score(lines),
    }
    return methods, {"chosen": best, "tried": tried}


def run_text(cold, model, item_path, encoder) -> dict:
    """The one-line-of-text table (or why it was skipped)."""
    from interestgraph.evaluate.cold_users import score_cold_users_text

    with_text = {p: int(cold.part(p)["text"].notna().sum()) for p in ("valid", "test")}
    if min(with_text.values()) < MIN_TEXT_USERS:
        return {"users": with_text, "skipped": f"fewer than {MIN_TEXT_USERS} users with a text in a part"}
    methods, chosen = text_scorers(cold, model, item_path, encoder)
    results = {name: score_cold_users_text(cold, "test", method, name=name) for name, method in methods.items()}
    rows, comparisons = _summarise(results, QUERY_MODEL)
    return {"users": with_text, "choice": chosen, "table": rows, "comparisons": comparisons}


def _summarise(results: dict, ours: str) -> tuple[dict, list[dict]]:
    """Each method's mean Recall@20 / NDCG@20 with 95 % intervals, and ``ours`` − each other method's NDCG@20
    (paired per user) with the ratio of the means."""
    from interestgraph.evaluate.intents import mean_ci

    rows = {
        name: {m: [round(v, 4) for v in mean_ci(r.per_user[m].to_numpy())] for m in ("recall@20", "ndcg@20")}
        for name, r in results.items()
    }
    mine = results[ours].per_user["ndcg@20"].to_numpy()
    comparisons = []
    for name, result in results.items():
        if name == ours:
            continue
        theirs = result.per_user["ndcg@20"].to_numpy()
        mean, low, high = mean_ci(mine - theirs)
        ratio = round(float(mine.mean() / theirs.mean()), 3) if theirs.mean() > 0 else None
        comparisons.append(
            {"baseline": name, "difference": round(mean, 4), "ci": [round(low, 4), round(high, 4)], "ratio": ratio}
        )
    return rows, comparisons


def run(cold, model, item_path, encoder, args) -> dict:
    from interestgraph.evaluate.cold_users import score_cold_users

    methods, chosen = scorers(cold, model, item_path, encoder, args)
    report = {"choices": chosen, "users": {p: len(cold.part(p)) for p in ("valid", "test")}, "tables": {}}
    comparisons = []
    for n in cold.given:
        results = {name: score_cold_users(cold, "test", n, method, name=name) for name, method in methods.items()}
        report["tables"][n], against = _summarise(results, MODEL)
        comparisons += [{"given": n} | c for c in against]
    report["comparisons"] = comparisons
    report["text"] = run_text(cold, model, item_path, encoder)
    return report


def markdown(report: dict, command: str, describe: str) -> str:
    chosen = {k: v["chosen"] for k, v in report["choices"].items()}
    lines = [
        f"`{command}`",
        "",
        describe,
        "",
        f"held-out users: {report['users']}; chosen on validation (n = 3): {chosen}",
        f"item-path model, chosen by tune_item_path on the warm validation part ({report['item_path']['tried']} "
        f"configurations): {report['item_path']['chosen']}",
    ]
    lines += ["", "| given | method | Recall@20 [95 % CI] | NDCG@20 [95 % CI] |", "|---:|---|---|---|"]
    for n, rows in report["tables"].items():
        for name, row in rows.items():
            cells = [f"{row[m][0]:.4f} [{row[m][1]:.4f}, {row[m][2]:.4f}]" for m in ("recall@20", "ndcg@20")]
            lines.append(f"| {n} | {name} | {cells[0]} | {cells[1]} |")
    lines += [
        "",
        "| given | item-path model − this, NDCG@20 | difference [95 % CI] | item-path model / this |",
        "|---:|---|---|---:|",
    ]
    for c in report["comparisons"]:
        low, high = c["ci"]
        lines.append(
            f"| {c['given']} | {c['baseline']} | {c['difference']:+.4f} [{low:+.4f}, {high:+.4f}] | {c['ratio']} |"
        )
    text = report.get("text")
    if text is not None:
        lines += ["", f"**One line of text** (users with a text: {text['users']})"]
        if "skipped" in text:
            lines.append(f"skipped: {text['skipped']}")
        else:
            lines.append(f"item-path query route (top, prior) chosen on validation: {text['choice']['chosen']}")
            lines += ["", "| method | Recall@20 [95 % CI] | NDCG@20 [95 % CI] |", "|---|---|---|"]
            for name, row in text["table"].items():
                cells = [f"{row[m][0]:.4f} [{row[m][1]:.4f}, {row[m][2]:.4f}]" for m in ("recall@20", "ndcg@20")]
                lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
            lines += ["", "| item-path query route − this, NDCG@20 | difference [95 % CI] | ratio |", "|---|---|---:|"]
            for c in text["comparisons"]:
                low, high = c["ci"]
                lines.append(f"| {c['baseline']} | {c['difference']:+.4f} [{low:+.4f}, {high:+.4f}] | {c['ratio']} |")
    lines += ["", f"seconds: {report['seconds']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", help="ml-latest-small folder (default ../shared/datasets/ml-latest-small)")
    parser.add_argument("--synthetic", action="store_true", help="a synthetic log instead of MovieLens")
    parser.add_argument("--users", type=int, default=300, help="synthetic users")
    parser.add_argument("--items", type=int, default=300, help="synthetic items")
    parser.add_argument("--events", type=int, default=9_000, help="synthetic events")
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
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig, tune_item_path

    started = time.perf_counter()
    if args.synthetic:
        from interestgraph.data import generate_synthetic

        log = generate_synthetic(n_users=args.users, n_items=args.items, n_interactions=args.events, seed=0).log
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
    item_path, tried = tune_item_path(graph)
    item_path = item_path.index_queries(graph, encoder)  # for the one-line-of-text users
    tuned = time.perf_counter() - started - fitted
    report = run(cold, model, item_path, encoder, args)
    report["item_path"] = {
        "tried": len(tried),
        "chosen": {"ridge": item_path.config.ridge, "theta": item_path.theta_, "first_step": item_path.first_step_}
        | {"half_life_items": item_path.config.first_step_half_life_items},
    }
    report["seconds"] = {
        "load + build + train": round(fitted, 1),
        "tune item-path + query index": round(tuned, 1),
        "total": round(time.perf_counter() - started, 1),
    }
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
