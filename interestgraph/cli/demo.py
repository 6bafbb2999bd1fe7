"""``interestgraph demo``: the main job in one command, on the embedded default or on your own log.

Steps: get the data (the synthetic default with planted interests, or any ``--format``
the other verbs read), split it under the protocol (``rs-4`` by default; the synthetic
default is also split under every named protocol for the report), build the interest
graph with the packaged language model, measure how well ``w(v|u)`` recovers the planted
interests (synthetic only), train the interest-graph model with a CPU-sized
configuration, evaluate it beside the baselines under the one stated protocol (with a
paired comparison against the strongest), save the dataset, graph and model, draw the
analyst page of one user, and write ``report.md`` with the metric table. Files are
written only after every computing step has succeeded.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import time
from pathlib import Path

from ..artifacts import atomic_write_text
from .data_verbs import add_source_options, load_from_args, resolve_format, synthetic_config
from .verb import CommandResult, UsageError, add_json_flag, add_verb

BASELINES = ("popular", "itemknn", "bprmf", "lightgcn")


def __getattr__(name: str):
    # ``interestgraph.cli.demo.planted_recovery`` was its home before :mod:`interestgraph.evaluate.planted`; resolved
    # on first use so that ``interestgraph --help`` does not import the evaluation stack (and torch)
    if name == "planted_recovery":
        from ..evaluate.planted import planted_recovery

        return planted_recovery
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _baseline(name: str, seed: int):
    """The demo's CPU-sized baselines (early-stopped on validation NDCG@20 where they train)."""
    from ..baselines import BPRMF, ItemKNN, LightGCN, MostPopular

    return {
        "popular": lambda: MostPopular(),
        "itemknn": lambda: ItemKNN(k=100),
        "bprmf": lambda: BPRMF(lr=5e-3, max_epochs=150, eval_every=5, seed=seed),
        "lightgcn": lambda: LightGCN(lr=1e-2, batch_size=4096, max_epochs=120, eval_every=5, seed=seed),
    }[name]()


def page_name(user) -> str:
    """``user-<id>`` with every character outside ``[A-Za-z0-9._-]`` replaced by ``_`` (a user ID is never a path)."""
    return "user-" + re.sub(r"[^A-Za-z0-9._-]", "_", str(user)).lstrip(".")


def _page_user(graph, split) -> object:
    """A typical active user for the analyst page: among users with test positives, training activity nearest the 75th
    percentile."""
    import numpy as np

    counts = graph.edges["user-item"]["src"].value_counts()
    tested = graph.users.get_indexer(split.positive_pairs("test")["user_id"].unique())
    counts = counts[counts.index.isin(tested[tested >= 0])] if (tested >= 0).any() else counts
    target = float(np.percentile(counts.to_numpy(), 75))
    ranked = sorted(counts.items(), key=lambda kv: (abs(kv[1] - target), kv[0]))
    return graph.users[int(ranked[0][0])]


def run_demo(args: argparse.Namespace) -> CommandResult:
    from ..data.protocols import PROTOCOLS, split_log
    from ..data.synthetic import generate_synthetic
    from ..evaluate import compare, evaluate, planted_recovery
    from ..graph import build_interest_graph
    from ..model import InterestGraphModel, ModelConfig, TrainConfig
    from ..progress import progress
    from ..viz import show_user

    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()] if args.baselines else []
    unknown = sorted(set(baselines) - set(BASELINES))
    if unknown:
        raise UsageError(f"--baselines: unknown {', '.join(unknown)}; choose from {', '.join(BASELINES)}")
    if args.epochs < 1:
        raise UsageError(f"--epochs must be >= 1, got {args.epochs}")
    synthetic = resolve_format(args, "demo") == "synthetic"
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    out: Path = args.out
    steps = ["data", "split", "graph", "train", "evaluate", "page", "save", "report"]
    bar = progress(total=len(steps), desc="demo", unit="step")

    def step(name: str) -> None:
        seconds[name] = time.perf_counter() - step.t0
        step.t0 = time.perf_counter()
        bar.update()

    step.t0 = started
    bar.set_postfix_str("data")
    data = truth = given = None
    if synthetic:
        if args.source is not None:
            raise UsageError(f"--format synthetic reads no SOURCE (got {args.source})")
        data = generate_synthetic(**synthetic_config(args))
        log, truth = data.log, data.truth
    else:
        loaded = load_from_args(args, "demo")
        log, given = loaded.log, loaded.given_split
    step("data")
    bar.set_postfix_str("split")
    if given is not None and args.protocol:
        raise UsageError(f"--format {args.format} comes with its own train/test split; omit --protocol")
    protocol = args.protocol or "rs-4"
    split = given if given is not None else split_log(log, protocol, seed=args.split_seed)
    splits = (
        {name: (split if name == protocol else split_log(log, name, seed=args.split_seed)) for name in PROTOCOLS}
        if synthetic
        else {split.protocol.name: split}
    )
    step("split")
    bar.set_postfix_str("graph")
    graph = build_interest_graph(split, encoder=_encoder(args, out))
    recovery = planted_recovery(graph, truth) if truth is not None else None
    step("graph")
    bar.set_postfix_str("train")
    model = InterestGraphModel(ModelConfig(), TrainConfig(epochs=args.epochs, seed=args.seed, verbose=False)).fit(graph)
    step("train")
    bar.set_postfix_str("evaluate")
    results = {"interest-graph model": evaluate(model, split, name="interest-graph model")}
    fit_seconds = {"interest-graph model": float(model.report_.train_seconds)}
    for name in baselines:
        t0 = time.perf_counter()
        fitted = _baseline(name, args.seed).fit(split)
        fit_seconds[name] = time.perf_counter() - t0
        results[name] = evaluate(fitted, split, name=name)
    best = max(baselines, key=lambda n: results[n].metrics["ndcg@20"]) if baselines else None
    paired = compare(results["interest-graph model"], results[best]) if best else None
    step("evaluate")
    bar.set_postfix_str("page")
    user = args.user if args.user is not None else _page_user(graph, split)
    try:
        view = show_user(model, user, graph=graph)
    except KeyError as exc:
        raise UsageError(f"--user: {exc.args[0]}") from None
    step("page")
    bar.set_postfix_str("save")  # nothing is written before this point
    dataset_dir = data.save(out / "synthetic", overwrite=True) if data is not None else None
    graph_dir = graph.save(out / "graph", overwrite=True)
    model_dir = model.save(out / "model", overwrite=True)
    name = page_name(view.ego.user)
    page = view.save_html(out / f"{name}.html")
    picture = None
    with contextlib.suppress(ImportError):  # matplotlib is the optional viz extra
        picture = view.save_image(out / f"{name}.png")
    step("save")
    bar.set_postfix_str("report")
    summary = log.summary()
    report = _report(summary, splits, data, graph, recovery, results, fit_seconds, paired, model, view, seconds)
    report_path = atomic_write_text(out / "report.md", report)
    step("report")
    bar.close()
    total = round(time.perf_counter() - started, 3)
    width = max(len(n) for n in results)
    lines = [
        f"data: {summary['source']}: {summary['users']:,} users, {summary['items']:,} items, "
        f"{summary['interactions']:,} events",
        f"  {split.describe()}",
        "interest graph: "
        + ", ".join(f"{k} {v:,}" for k, v in graph.counts()["nodes"].items())
        + " nodes; "
        + ", ".join(f"{k} {v:,}" for k, v in graph.counts()["edges"].items())
        + " edges",
    ]
    if recovery is not None:
        lines.append(
            f"  planted interests recovered: strongest in top 10 for {recovery['strongest_in_top10']:.1%} of users; "
            f"{recovery['planted_in_top10']:.1%} of all planted interests in their user's top 10"
        )
    lines.append(f"model: {model.describe()}")
    lines.append(
        f"test ({len(results['interest-graph model'].per_user):,} users, full ranking over "
        f"{len(split.candidate_items):,} candidates, training items masked):"
    )
    lines += [
        f"  {name:<{width}}  recall@20 {r.metrics['recall@20']:.4f}  ndcg@20 {r.metrics['ndcg@20']:.4f}"
        for name, r in results.items()
    ]
    if paired:
        lines.append(f"  {paired['statement']}")
    lines += [
        f"analyst page: {page} (user {view.ego.user})" + (f"; picture {picture}" if picture else ""),
        *([f"dataset: {dataset_dir}"] if dataset_dir else []),
        f"graph:   {graph_dir}",
        f"model:   {model_dir}",
        f"report:  {report_path}",
        f"done in {total:.1f} s (" + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()) + ")",
    ]
    data_out = {
        "dataset": str(dataset_dir) if dataset_dir else None,
        "graph": str(graph_dir),
        "model": str(model_dir),
        "report": str(report_path),
        "page": str(page),
        "picture": str(picture) if picture else None,
        "user": str(view.ego.user),
        "log": summary,
        "splits": {k: v.summary() for k, v in splits.items()},
        "graph_counts": graph.counts(),
        "recovery": recovery,
        "metrics": {name: {k: round(v, 6) for k, v in r.metrics.items()} for name, r in results.items()},
        "comparison": paired,
        "protocol": split.protocol.to_dict(),
        "seconds": {**{k: round(v, 3) for k, v in seconds.items()}, "total": total},
    }
    return CommandResult(data_out, "\n".join(lines))


def _encoder(args: argparse.Namespace, out: Path):
    if args.encoder == "lexical":
        from ..encoder import LexicalEncoder

        return LexicalEncoder()
    from ..encoder import EncoderConfig, TextEncoder

    return TextEncoder(EncoderConfig(cache_dir=str(out / ".encoder-cache")))


def _report(
    summary: dict,
    splits: dict,
    data,
    graph,
    recovery: dict | None,
    results: dict,
    fit_seconds: dict,
    paired: dict | None,
    model,
    view,
    seconds: dict,
) -> str:
    """The Markdown report: data, splits, graph, the metric table with its protocol, the page, timings."""
    events = ", ".join(f"{k} {v:,}" for k, v in summary["events"].items())
    rows = "\n".join(
        f"| {name} | {s['train']['positive_pairs']:,} | {s['valid']['positive_pairs']:,} | "
        f"{s['test']['positive_pairs']:,} | {s['test']['users']:,} | {s['candidate_items']:,} | {s['cold_items']:,} |"
        for name, s in ((n, sp.summary()) for n, sp in splits.items())
    )
    main = results["interest-graph model"]
    metrics = "\n".join(
        f"| {name} | {r.metrics['recall@10']:.4f} | {r.metrics['ndcg@10']:.4f} | {r.metrics['recall@20']:.4f} | "
        f"{r.metrics['ndcg@20']:.4f} | {r.metrics['coverage@20']:.3f} | {fit_seconds[name]:.1f} |"
        for name, r in results.items()
    )
    truth = ""
    if data is not None:
        truth = (
            f" Planted truth: {len(data.truth.user_interests):,} user–interest rows, {len(data.truth.drift_time):,} "
            "users whose interests drift once."
        )
    recovered = ""
    if recovery is not None:
        recovered = (
            f"\n\nPlanted interests recovered by `w(v|u)`: the strongest planted interest is in the user's top 10 for "
            f"{recovery['strongest_in_top10']:.1%} of users; {recovery['planted_in_top10']:.1%} of all planted "
            "interests are in their user's top 10."
        )
    comparison = f"\n\n{paired['statement']}." if paired else ""
    reasons = "\n".join(
        f"- #{r['rank']} {r['title']}: " + "; ".join(f"{w['reason']} ({w['contribution']:+.3g})" for w in r["reasons"])
        for r in view.recommendations
    )
    return f"""# interestgraph demo report

Data: {summary["source"]}: {summary["users"]:,} users, {summary["items"]:,} items,
{summary["interactions"]:,} events ({events}),
{summary["first_time"]} to {summary["last_time"]}.{truth}

## Splits (positive user–item pairs per part)

| protocol | train | valid | test | test users | candidate items | cold items |
|---|---:|---:|---:|---:|---:|---:|
{rows}

## Interest graph (built on the {main.protocol.name} training part)

| node type | count |
|---|---:|
{chr(10).join(f"| {k} | {v:,} |" for k, v in graph.counts()["nodes"].items())}

| edge type | count |
|---|---:|
{chr(10).join(f"| {k} | {v:,} |" for k, v in graph.counts()["edges"].items())}

Encoder: `{graph.encoder_identity[:64]}`.{recovered}

## Accuracy on the test part

Split: {main.protocol.describe()}.
Full ranking over {len(splits[main.protocol.name].candidate_items):,} candidate items,
each user's training items masked; {len(main.per_user):,} test users; metrics are means over users.
The model: {model.describe()}. Baselines are CPU-sized (BPR-MF and LightGCN early-stopped on validation
NDCG@20 within 150 and 120 epochs); `interestgraph evaluate` and `benchmarks/` run the tuned comparisons.

| model | Recall@10 | NDCG@10 | Recall@20 | NDCG@20 | Coverage@20 | fit s |
|---|---:|---:|---:|---:|---:|---:|
{metrics}{comparison}

## One user, as an analyst sees them

`{page_name(view.ego.user)}.html` (open it from disk; click a recommendation to highlight its paths):
user {view.ego.user},
{view.subtitle}. Top recommendations and why:

{reasons or "- (no recommendation)"}

## Timings

{", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())}; total {sum(seconds.values()):.1f} s.
"""


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    demo = add_verb(
        verbs,
        common,
        "demo",
        help="the main job in one command: data → graph → model → evaluation → report and an analyst page",
        description="Run the main job end to end: generate the synthetic default (or read your log with --format), "
        "split it, build the interest graph with the packaged language model, train the interest-graph model "
        "(CPU-sized), evaluate it beside the baselines, and write report.md, the dataset, graph and model, and one "
        "user's analyst page under --out.",
        example="interestgraph demo --out demo\n  interestgraph demo events.csv --format csv --items items.csv "
        "--list-field categories --out demo-shop",
        run=run_demo,
    )
    add_source_options(demo, default_format="synthetic")
    demo.add_argument("--protocol", help="split protocol (default rs-4)")
    demo.add_argument(
        "--encoder",
        choices=("lm", "lexical"),
        default="lm",
        help="lm: the packaged all-MiniLM-L6-v2 (default); lexical: hashed character n-grams, no model",
    )
    demo.add_argument(
        "--epochs",
        type=int,
        default=30,
        help="most training epochs of the model (default 30; early-stopped on validation NDCG@20)",
    )
    demo.add_argument(
        "--baselines",
        default=",".join(BASELINES),
        help=f"comma-separated baselines to compare with (default {','.join(BASELINES)}; empty for none)",
    )
    demo.add_argument("--user", help="the user drawn on the analyst page (default: a typical active test user)")
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("demo"),
        help="output folder (default ./demo); the demo replaces its own previous output there",
    )
    add_json_flag(demo)
