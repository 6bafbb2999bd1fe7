"""Free-text intents: the model's query route against text retrieval, on held-out tags and planted paraphrases.

Not a test: it measures. Protocol (:mod:`interestgraph.evaluate.intents`, documented in benchmarks/README.md):

* ``--dataset movielens``: ml-latest-small's ``tags.csv``, a time cut per tagging user (last 20 % of the user's tag
  events = test queries, the 20 % before = validation queries; nothing of the user from the validation cut on,
  and no event on a held-out target, reaches the graph). A query is ``(user, tag text)``; relevant = the movies
  the user tagged with it in that part.
* ``--dataset synthetic``: a synthetic log with planted interests and no synonym before the cut
  (``PLANTED_LOG``), split ``tl-4``; one query per (user, planted interest) in the user's valid / test positives,
  written from a paraphrase (a taxonomy synonym the catalogue text does not contain).

One graph (default :class:`GraphConfig`, the MiniLM encoder) is built on the split's training part and the default
:class:`InterestGraphModel` trained on it. Two tasks, every catalogue item ranked:

* **query alone** (an anonymous user, nothing masked): the model's query route
  (:func:`interestgraph.recommend.intent_scores`, what ``recommend --query`` serves; ``top`` / ``threshold`` chosen
  on validation), TF-IDF and BM25 over item text (title, genres / text fields, training tags), dense retrieval with
  the same encoder over the same text, popularity;
* **query + history** (personalised search; the user's training positives masked): the model without the query
  (history alone), the route with the history given as items (``intent_scores(items=...)``), the route mixed with
  the model's history scores (weight chosen on validation), the best text baseline mixed with the same history
  scores, and the query-alone methods under the same mask.

Beside them, the item-path model (:class:`~interestgraph.model.ItemPathModel`, settings chosen by
:func:`~interestgraph.model.tune_item_path` on the split's validation part, then
:meth:`~interestgraph.model.ItemPathModel.index_queries` over the same item documents the text baselines index): its
query route (the query steps to its ``top`` best-matching documents, cosine-weighted, and the model's paths go on from
them; ``top`` and the popularity prior chosen on the validation queries, ``ITEM_PATH_GRID``), the same route with the
user's training items given too (personalised; chosen separately), and its history alone.

Recall@20 / NDCG@20 are averaged over each user's queries, then over users; 95 % intervals bootstrap users;
paired differences likewise. Validation picks every setting; the test part is scored once with the chosen ones.

    OMP_NUM_THREADS=1 python benchmarks/intent.py --dataset movielens --out results/intent
    OMP_NUM_THREADS=1 python benchmarks/intent.py --dataset synthetic --out results/intent
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

METRICS = ("recall@20", "ndcg@20")
ROUTE_GRID = [{"top": t, "threshold": h} for t in (5, 2, 10) for h in (0.3, 0.5)]
#: the item-path model's query route: matched items x the popularity prior (pseudo-mass)
ITEM_PATH_GRID = [{"top": t, "prior": p} for t in (5, 2, 10, 20) for p in (0.0, 1.0)]
MIX_GRID = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.98)
UNSEEN, SEEN = "ndcg@20 on queries with an unseen word", "ndcg@20 on queries with every word seen"
HEADER = "| method | Recall@20 [95 % CI] | NDCG@20 [95 % CI] | NDCG@20 unseen-word queries / all-seen |"


def load_intents(args):
    """The :class:`IntentSet` of ``--dataset``."""
    from interestgraph.evaluate.intents import PLANTED_LOG, planted_intents, tag_intents

    if args.dataset == "movielens":
        from interestgraph.data import load_movielens

        shared = [p / "shared" / "datasets" / "ml-latest-small" for p in (ROOT.parent, ROOT.parents[1])]
        path = Path(args.path or next((p for p in shared if p.is_dir()), shared[0]))
        if not (path / "tags.csv").is_file():
            raise SystemExit(f"{path}: no tags.csv (ml-latest-small is read from ../shared/datasets; pass --path)")
        return tag_intents(load_movielens(path))
    from interestgraph.data import generate_synthetic

    data = generate_synthetic(
        n_users=args.users, n_items=args.items, n_interactions=args.events, seed=args.seed, **PLANTED_LOG
    )
    return planted_intents(data, seed=args.seed)


def make_encoder(args):
    if args.encoder == "lexical":
        from interestgraph.encoder.lexical import LexicalEncoder

        return LexicalEncoder()
    from interestgraph.encoder import EncoderConfig, TextEncoder

    return TextEncoder(EncoderConfig(cache_dir=args.cache_dir))


class Methods:
    """Every method's ``(n_queries, n_items)`` scores for the queries of one part (rows in the part's order)."""

    def __init__(self, intents, model, encoder):
        from interestgraph.baselines.retrieval import BM25Retrieval, DenseRetrieval, PopularityRetrieval, TfidfRetrieval
        from interestgraph.evaluate.intents import item_documents

        self.intents, self.model, self.encoder = intents, model, encoder
        log = intents.split.log
        if not model.item_ids.equals(log.item_ids):
            raise RuntimeError("the model's items are not in the log's order")
        self.model_users = model.user_ids
        documents = item_documents(intents.split)
        history = intents.history()
        self.text = {
            "TF-IDF": TfidfRetrieval().fit(documents),
            "BM25": BM25Retrieval().fit(documents),
            "dense (same encoder)": DenseRetrieval(encoder).fit(documents),
            "popularity": PopularityRetrieval(np.asarray(history.sum(axis=0)).ravel()).fit(),
        }
        self.history = history

    def text_scores(self, name: str, queries) -> np.ndarray:
        return np.asarray(self.text[name].score(queries["text"].tolist()), dtype=np.float64)

    def route(self, queries, top: int, threshold: float, *, with_history: bool = False) -> tuple[np.ndarray, int]:
        """The model's query route per query (zero = no walk reaches the item = not ranked); unmapped queries are
        rows of -inf. Returns the scores and the number of unmapped queries."""
        from interestgraph.progress import progress
        from interestgraph.recommend import intent_scores

        log = self.intents.split.log
        out = np.full((len(queries), log.n_items), -np.inf)
        unmapped = 0
        users = log.user_ids.get_indexer(queries["user_id"])
        bar = progress(total=len(queries), desc=f"route top={top} threshold={threshold}", unit="query")
        for r, text in enumerate(queries["text"]):
            items = None
            if with_history:
                row = self.history[users[r]]
                items = log.item_ids[row.indices].tolist() or None
            try:
                scores, _ = intent_scores(
                    self.model, text, items=items, encoder=self.encoder, top=top, threshold=threshold
                )
            except ValueError as exc:
                if "no interest point" not in str(exc):
                    raise
                unmapped += 1
            else:
                out[r] = np.where(scores != 0, scores, -np.inf)
            bar.update()
        bar.close()
        return out, unmapped

    def item_path_route(
        self, model, queries, top: int, prior: float, *, with_history: bool = False, encoder=None
    ) -> np.ndarray:
        """The item-path model's query route (:meth:`~interestgraph.model.ItemPathModel.query_scores`: the query
        steps to its ``top`` best-matching item documents, the model's paths go on from them); with the history, the
        user's training items are given too, oldest first (their first-step weights as the model's own)."""
        item_lists = None
        if with_history:
            rows = model.user_ids.get_indexer(queries["user_id"])
            item_lists = []
            for row in rows:
                if row < 0:
                    item_lists.append([])
                    continue
                steps = model.history_[row]
                order = np.argsort(steps.data, kind="stable")  # the latest weighs most: oldest first
                item_lists.append(list(model.item_ids[model.active_items_[steps.indices[order]]]))
        texts = queries["text"].tolist()
        encoder = self.encoder if encoder is None else encoder
        return model.query_scores(texts, item_lists=item_lists, top=top, prior=prior, encoder=encoder).numpy()

    def history_scores(self, queries) -> np.ndarray:
        """The model's recommendation without the query (its score of the user; zeros for a user it does not know)."""
        rows = self.model_users.get_indexer(queries["user_id"])
        known = rows >= 0
        scores = np.zeros((len(queries), self.intents.split.log.n_items))
        if known.any():
            scores[known] = self.model.score(rows[known]).double().numpy()
        return scores


def _score(intents, part, name, matrix, *, mask):
    from interestgraph.evaluate.intents import score_queries

    return score_queries(intents, part, lambda batch: matrix[batch.index.to_numpy()], name=name, mask_history=mask)


def run(intents, model, encoder, args, item_path=None, tuned=None) -> dict:
    """Both tasks on validation (settings) and test (once); returns the report. ``item_path``: an
    :class:`~interestgraph.model.ItemPathModel` with a query index, scored beside the interest-graph model;
    ``tuned``: ``(the same model indexed by a fine-tuned encoder, that encoder)``, scored beside it."""
    from interestgraph.evaluate.intents import mix, paired_ci

    methods = Methods(intents, model, encoder)
    parts = {p: intents.part(p) for p in ("valid", "test")}
    report: dict = {"summary": intents.summary(), "notes": list(intents.notes), "choices": {}, "tasks": {}}
    timings: dict[str, float] = {}

    # ---- query alone: the route's settings on validation
    started = time.perf_counter()
    grid = ROUTE_GRID if not args.quick else ROUTE_GRID[:1]
    best, best_value, tried = None, -1.0, []
    for setting in grid:
        scores, unmapped = methods.route(parts["valid"], **setting)
        value = _score(intents, "valid", "route", scores, mask=False).metrics["ndcg@20"]
        tried.append({**setting, "valid_ndcg@20": round(value, 4), "unmapped": unmapped})
        if value > best_value:
            best, best_value = setting, value
    report["choices"]["route"] = {"chosen": best, "tried": tried}
    timings["route grid (valid)"] = time.perf_counter() - started

    test_scores: dict[str, np.ndarray] = {}
    valid_scores: dict[str, np.ndarray] = {}
    unmapped: dict[str, int] = {}
    for part, store in (("valid", valid_scores), ("test", test_scores)):
        q = parts[part]
        started = time.perf_counter()
        store["model query route"], unmapped[part] = methods.route(q, **best)
        timings[f"route ({part})"] = time.perf_counter() - started
        for name in methods.text:
            store[name] = methods.text_scores(name, q)
        store["model, history alone"] = methods.history_scores(q)
    report["unmapped_queries"] = unmapped

    if item_path is not None:  # the item-path model's route: settings on validation, per task (and encoder)
        started = time.perf_counter()
        variants = [("", item_path, None)] + ([(" (tuned encoder)", *tuned)] if tuned is not None else [])
        for suffix, ip_model, ip_encoder in variants:
            for label, with_history in (
                ("item-path query route" + suffix, False),
                ("item-path route, history as items" + suffix, True),
            ):
                tried, chosen, chosen_value = [], None, -1.0
                for setting in ITEM_PATH_GRID if not args.quick else ITEM_PATH_GRID[:1]:
                    scores = methods.item_path_route(
                        ip_model, parts["valid"], **setting, with_history=with_history, encoder=ip_encoder
                    )
                    value = _score(intents, "valid", label, scores, mask=with_history).metrics["ndcg@20"]
                    tried.append({**setting, "valid_ndcg@20": round(value, 4)})
                    if value > chosen_value:
                        chosen, chosen_value = setting, value
                report["choices"][label] = {"chosen": chosen, "tried": tried}
                for part, store in (("valid", valid_scores), ("test", test_scores)):
                    store[label] = methods.item_path_route(
                        ip_model, parts[part], **chosen, with_history=with_history, encoder=ip_encoder
                    )
        for part, store in (("valid", valid_scores), ("test", test_scores)):
            rows = item_path.user_ids.get_indexer(parts[part]["user_id"])
            store["item-path, history alone"] = item_path.score(rows).double().numpy()
        timings["item-path routes (grid + valid + test)"] = time.perf_counter() - started

    query_alone = ["model query route", "TF-IDF", "BM25", "dense (same encoder)", "popularity"]
    if item_path is not None:
        query_alone.insert(1, "item-path query route")
    if tuned is not None:
        query_alone.insert(2, "item-path query route (tuned encoder)")
    text_methods = ["TF-IDF", "BM25", "dense (same encoder)"]
    results = {"query alone": {}, "query + history": {}}
    valid_results = {"query alone": {}, "query + history": {}}
    for name in query_alone:
        for part, store, sink in (("valid", valid_scores, valid_results), ("test", test_scores, results)):
            sink["query alone"][name] = _score(intents, part, name, store[name], mask=False)
    best_text = max(text_methods, key=lambda n: valid_results["query alone"][n].metrics["ndcg@20"])
    report["choices"]["best text baseline (valid)"] = best_text

    # ---- query + history
    started = time.perf_counter()
    for part, store in (("valid", valid_scores), ("test", test_scores)):
        store["model route, history as items"], _ = methods.route(parts[part], **best, with_history=True)
    timings["route with history (valid + test)"] = time.perf_counter() - started
    mixes = {"model route + model history": "model query route", f"{best_text} + model history": best_text}
    for label, source in mixes.items():
        tried, chosen, chosen_value = [], None, -1.0
        for weight in MIX_GRID:
            scores = mix(valid_scores[source], valid_scores["model, history alone"], weight)
            value = _score(intents, "valid", label, scores, mask=True).metrics["ndcg@20"]
            tried.append({"weight": weight, "valid_ndcg@20": round(value, 4)})
            if value > chosen_value:
                chosen, chosen_value = weight, value
        report["choices"][label] = {"chosen_weight": chosen, "tried": tried}
        for store in (valid_scores, test_scores):
            store[label] = mix(store[source], store["model, history alone"], chosen)
    personal = [
        *mixes,
        "model route, history as items",
        "model, history alone",
        "model query route",
        best_text,
        "popularity",
    ]
    if item_path is not None:
        personal[:0] = ["item-path route, history as items", "item-path, history alone", "item-path query route"]
    if tuned is not None:
        personal[1:1] = ["item-path route, history as items (tuned encoder)"]
    for name in personal:
        for part, store, sink in (("valid", valid_scores, valid_results), ("test", test_scores, results)):
            sink["query + history"][name] = _score(intents, part, name, store[name], mask=True)

    # ---- report
    from interestgraph.evaluate.intents import mean_ci, user_means

    test_q = parts["test"].set_index("query")
    for task, table in results.items():
        rows = {}
        for name, result in table.items():
            means = user_means(result.per_query)
            row = {"queries": result.metrics["queries"], "users": result.metrics["users"], "notes": result.notes}
            for metric in METRICS:
                mean, low, high = mean_ci(means[metric].to_numpy())
                row[metric] = [round(mean, 4), round(low, 4), round(high, 4)]
            unseen = result.per_query["query"].map(test_q["unseen_words"]).to_numpy() > 0
            if unseen.any():
                row[UNSEEN] = round(float(user_means(result.per_query[unseen])["ndcg@20"].mean()), 4)
                row[SEEN] = round(float(user_means(result.per_query[~unseen])["ndcg@20"].mean()), 4)
            rows[name] = row
        report["tasks"][task] = rows
    qa, qh = results["query alone"], results["query + history"]
    comparisons = [
        paired_ci(qa["model query route"], qa[best_text]),
        *[paired_ci(qa["model query route"], qa[n]) for n in text_methods if n != best_text],
        paired_ci(qh["model route + model history"], qh["model query route"]),
        paired_ci(qh["model route + model history"], qh["model, history alone"]),
        paired_ci(qh["model route, history as items"], qh["model query route"]),
        paired_ci(qh["model route, history as items"], qh["model, history alone"]),
        paired_ci(qh["model route + model history"], qh[f"{best_text} + model history"]),
    ]
    if item_path is not None:
        route, personal_route = "item-path query route", "item-path route, history as items"
        comparisons += [
            paired_ci(qa[route], qa["model query route"]),
            paired_ci(qa[route], qa[best_text]),
            paired_ci(qh[personal_route], qh[route]),
            paired_ci(qh[personal_route], qh["item-path, history alone"]),
            paired_ci(qh[personal_route], qh["model route, history as items"]),
            paired_ci(qh[personal_route], qh["model route + model history"]),
        ]
    if tuned is not None:
        comparisons += [
            paired_ci(qa["item-path query route (tuned encoder)"], qa["item-path query route"]),
            paired_ci(qh["item-path route, history as items (tuned encoder)"], qh["item-path route, history as items"]),
        ]
    report["valid"] = {
        task: {name: {m: round(r.metrics[m], 4) for m in METRICS} for name, r in table.items()}
        for task, table in valid_results.items()
    }
    report["comparisons"] = [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in c.items()} for c in comparisons
    ]
    report["seconds"] = {k: round(v, 1) for k, v in timings.items()}
    return report


def markdown(report: dict, command: str) -> str:
    s = report["summary"]
    lines = [f"`{command}`", "", f"{s['split']}", ""]
    for part in ("valid", "test"):
        p = s[part]
        lines.append(
            f"- {part}: {p['queries']} queries from {p['users']} users ({p['relevant_items']} relevant items); "
            f"{p['queries_with_unseen_word']} with a word never seen before the cut, {p['queries_all_words_unseen']} "
            "with every word unseen"
        )
    lines += [f"- {n}" for n in report["notes"]]
    choices = report["choices"]
    lines.append(
        f"- route chosen on validation: {choices['route']['chosen']}; unmapped queries {report['unmapped_queries']}; "
        f"best text baseline on validation: {choices['best text baseline (valid)']}"
    )
    for key, value in report["choices"].items():
        if isinstance(value, dict) and "chosen_weight" in value:
            lines.append(f"- {key}: history weight {value['chosen_weight']} chosen on validation")
        elif key.startswith("item-path"):
            lines.append(f"- {key}: {value['chosen']} chosen on validation over {len(value['tried'])} settings")
    if "item_path" in report:
        lines.append(f"- item-path model: {report['item_path']}")
    if "encoder_tuning" in report:
        epochs = len(report["encoder_tuning"]["loss_per_epoch"])
        tuning = report["encoder_tuning"]
        lines.append(f"- encoder fine-tuning (top 2 layers, contrastive, {epochs} epoch(s)): {tuning}")
    for task, rows in report["tasks"].items():
        lines += ["", f"**{task}** (test)", "", HEADER, "|---|---|---|---|"]
        for name, row in rows.items():
            cells = [f"{row[m][0]:.4f} [{row[m][1]:.4f}, {row[m][2]:.4f}]" for m in METRICS]
            unseen, seen = row.get(UNSEEN), row.get(SEEN)
            split = f"{unseen:.4f} / {seen:.4f}" if unseen is not None else ""
            lines.append(f"| {name} | {cells[0]} | {cells[1]} | {split} |")
    lines += [
        "",
        "| paired (test, per-user NDCG@20) | difference [95 % CI] | relative | decided |",
        "|---|---|---|---|",
    ]
    for c in report["comparisons"]:
        lines.append(
            f"| {c['a']} − {c['b']} | {c['difference']:+.4f} [{c['ci_low']:+.4f}, {c['ci_high']:+.4f}] | "
            f"{c['relative']:+.1%} | {'yes' if c['decided'] else 'no: the interval spans 0'} |"
        )
    lines += ["", f"seconds: {report['seconds']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=("movielens", "synthetic"), default="movielens")
    parser.add_argument("--path", help="ml-latest-small folder (default ../shared/datasets/ml-latest-small)")
    parser.add_argument("--users", type=int, default=1000, help="synthetic users")
    parser.add_argument("--items", type=int, default=2000, help="synthetic items")
    parser.add_argument("--events", type=int, default=50_000, help="synthetic events")
    parser.add_argument("--seed", type=int, default=0, help="synthetic log and paraphrase seed; model training seed")
    parser.add_argument("--encoder", choices=("minilm", "lexical"), default="minilm")
    parser.add_argument("--cache-dir", default=str(ROOT / "graphs" / ".encoder-cache"), help="embedding cache")
    parser.add_argument("--epochs", type=int, default=None, help="TrainConfig.epochs (default: its own)")
    parser.add_argument("--quick", action="store_true", help="one route setting only (smoke runs)")
    parser.add_argument(
        "--tune-encoder",
        action="store_true",
        help="also fine-tune the encoder's top 2 layers on the training part's (label or tag, item document) pairs "
        "(fine_tune_contrastive, --encoder-epochs epochs) and score the item-path route with it",
    )
    parser.add_argument(
        "--encoder-epochs", type=int, default=1, help="epochs of the --tune-encoder fine-tuning (default 1)"
    )
    parser.add_argument(
        "--encoder-lr",
        type=float,
        default=None,
        help="learning rate of the --tune-encoder fine-tuning (default: fine_tune_contrastive's, 1e-4)",
    )
    parser.add_argument("--out", help="folder for intent-<dataset>.md / .json")
    args = parser.parse_args(argv)
    command = "python benchmarks/intent.py " + shlex.join(sys.argv[1:] if argv is None else argv)

    from interestgraph.graph import build_interest_graph
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig, tune_item_path

    started = time.perf_counter()
    intents = load_intents(args)
    encoder = make_encoder(args)
    graph = build_interest_graph(intents.split, encoder=encoder)
    train = {"seed": args.seed, "verbose": False, **({"epochs": args.epochs} if args.epochs else {})}
    model = InterestGraphModel(ModelConfig(), TrainConfig(**train)).fit(graph)
    fitted = time.perf_counter() - started
    started = time.perf_counter()
    item_path, tried = tune_item_path(graph)
    item_path = item_path.index_queries(graph, encoder)
    item_path_seconds = time.perf_counter() - started
    tuned = None
    if args.tune_encoder:
        from interestgraph.encoder import EncoderConfig, TextEncoder
        from interestgraph.encoder.contrastive import fine_tune_contrastive
        from interestgraph.evaluate.intents import text_document_pairs

        started = time.perf_counter()
        tuned_encoder = TextEncoder(EncoderConfig(mode="top", top_layers=2))
        tuning = fine_tune_contrastive(
            tuned_encoder,
            text_document_pairs(intents.split),
            epochs=args.encoder_epochs,
            **({"lr": args.encoder_lr} if args.encoder_lr else {}),
        )
        tuned = (item_path.index_queries(graph, tuned_encoder), tuned_encoder)
        tuning_seconds = time.perf_counter() - started
    report = run(intents, model, encoder, args, item_path=item_path, tuned=tuned)
    if tuned is not None:
        report["encoder_tuning"] = {k: v for k, v in tuning.items() if k != "seconds"}
        report["seconds"]["encoder fine-tuning + index"] = round(tuning_seconds, 1)
    report["item_path"] = (
        f"{item_path.describe()}, chosen on the split's validation part over {len(tried)} configurations"
    )
    report["seconds"]["load + build + train"] = round(fitted, 1)
    report["seconds"]["item-path tune + query index"] = round(item_path_seconds, 1)
    report["command"] = command
    text = markdown(report, command)
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"intent-{args.dataset}.md").write_text(text + "\n")
        (out / f"intent-{args.dataset}.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
