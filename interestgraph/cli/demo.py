"""``interestgraph demo``: the main job on the embedded default, as far as the pipeline exists.

Today that is: generate the synthetic log with planted interests, validate
it, split it under every named protocol, build the interest graph under
``rs-4`` (language-model embeddings of interests and items), measure how well
the graph recovers the planted interests, save the dataset and the graph, and
write a Markdown report. Later stages (model, evaluation, analyst page) extend
this same verb.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ..artifacts import atomic_write_text
from .app import CommandResult, add_json_flag, add_verb
from .data_verbs import add_synthetic_options, synthetic_config


def run_demo(args: argparse.Namespace) -> CommandResult:
    from ..data.protocols import PROTOCOLS, split_log
    from ..data.synthetic import generate_synthetic
    from ..graph import build_interest_graph
    from ..progress import progress

    started = time.perf_counter()
    out: Path = args.out
    steps = ["generate", *PROTOCOLS, "graph", "save", "report"]
    bar = progress(total=len(steps), desc="demo", unit="step")
    bar.set_postfix_str("generate")
    data = generate_synthetic(**synthetic_config(args))
    bar.update()
    splits = {}
    for name in PROTOCOLS:
        bar.set_postfix_str(name)
        splits[name] = split_log(data.log, name)
        bar.update()
    bar.set_postfix_str("graph")
    graph = build_interest_graph(splits["rs-4"], encoder=_encoder(args, out))
    recovery = planted_recovery(graph, data.truth)
    bar.update()
    bar.set_postfix_str("save")  # written only once every step above has succeeded
    dataset_dir = data.save(out / "synthetic", overwrite=True)
    graph_dir = graph.save(out / "graph", overwrite=True)
    bar.update()
    bar.set_postfix_str("report")
    summary = data.log.summary()
    seconds = time.perf_counter() - started
    report = _report(summary, splits, data, graph, recovery, seconds)
    report_path = atomic_write_text(out / "report.md", report)
    bar.update()
    bar.close()
    seconds = round(time.perf_counter() - started, 3)
    lines = [
        f"synthetic log: {summary['users']:,} users, {summary['items']:,} items, {summary['interactions']:,} events, "
        f"{summary['distinct_tags']:,} distinct tags, planted interests for every user",
        *(f"  {s.describe()}" for s in splits.values()),
        f"interest graph (rs-4): " + ", ".join(f"{k} {v:,}" for k, v in graph.counts()["nodes"].items()) + " nodes; "
        + ", ".join(f"{k} {v:,}" for k, v in graph.counts()["edges"].items()) + " edges",
        f"  planted interests recovered: strongest in top 10 for {recovery['strongest_in_top10']:.1%} of users; "
        f"{recovery['planted_in_top10']:.1%} of all planted interests in their user's top 10",
        f"dataset: {dataset_dir}",
        f"graph:   {graph_dir}",
        f"report:  {report_path}",
        f"done in {seconds:.1f} s (pipeline so far: data layer and interest graph; model and evaluation stages come next)",
    ]
    data_out = {
        "dataset": str(dataset_dir), "graph": str(graph_dir), "report": str(report_path), "log": summary,
        "splits": {k: v.summary() for k, v in splits.items()}, "graph_counts": graph.counts(), "recovery": recovery, "seconds": seconds,
    }
    return CommandResult(data_out, "\n".join(lines))


def _encoder(args: argparse.Namespace, out: Path):
    if args.encoder == "lexical":
        from ..encoder import LexicalEncoder

        return LexicalEncoder()
    from ..encoder import EncoderConfig, TextEncoder

    return TextEncoder(EncoderConfig(cache_dir=str(out / ".encoder-cache")))


def planted_recovery(graph, truth, top: int = 10, scores: np.ndarray | None = None) -> dict[str, float]:
    """Share of users whose strongest planted interest is in their top-``top`` interests, and share of all
    planted interests (active at the decay reference time) that are.

    Args:
        scores: ``(n_users, n_interests)`` how much each user is taken to care about each interest (a trained
            model's :meth:`~interestgraph.model.InterestGraphModel.interest_scores`); None ranks by the graph's
            ``w(v|u)`` edges.
    """
    lookup = {label: k for k, label in enumerate(graph.interests["label"])}
    if scores is None:
        table = graph.edges["user-interest"].sort_values(["src", "weight"], ascending=[True, False], kind="stable")
        tops = table.groupby("src").head(top).groupby("src")["dst"].apply(set)
    else:
        order = np.argsort(-np.asarray(scores), axis=1, kind="stable")[:, :top]
        tops = {u: set(row.tolist()) for u, row in enumerate(order)}
    strongest = planted = found = 0
    for code, user in enumerate(graph.users):
        codes = [lookup[p] for p in truth.interests_of(user, at=graph.reference_time) if p in lookup]
        mine = tops.get(code, set())
        strongest += bool(codes) and codes[0] in mine
        found += sum(c in mine for c in codes)
        planted += len(codes)
    return {"strongest_in_top10": strongest / max(len(graph.users), 1), "planted_in_top10": found / max(planted, 1)}


def _report(summary: dict, splits: dict, data, graph, recovery: dict, seconds: float) -> str:
    rows = "\n".join(
        f"| {name} | {s['train']['positive_pairs']:,} | {s['valid']['positive_pairs']:,} | {s['test']['positive_pairs']:,} | {s['test']['users']:,} | {s['candidate_items']:,} | {s['cold_items']:,} |"
        for name, s in ((n, sp.summary()) for n, sp in splits.items())
    )
    events = ", ".join(f"{k} {v:,}" for k, v in summary["events"].items())
    drifting = len(data.truth.drift_time)
    return f"""# interestgraph demo report

Data: {summary['source']}: {summary['users']:,} users, {summary['items']:,} items, {summary['interactions']:,} events ({events}),
{summary['first_time']} to {summary['last_time']}. Planted truth: {len(data.truth.user_interests):,} user–interest rows,
{drifting:,} users whose interests drift once.

## Splits (positive user–item pairs per part)

| protocol | train | valid | test | test users | candidate items | cold items |
|---|---:|---:|---:|---:|---:|---:|
{rows}

Protocols:

{chr(10).join(f'- {s.protocol.describe()}' for s in splits.values())}

## Interest graph (built on the rs-4 training part)

| node type | count |
|---|---:|
{chr(10).join(f"| {k} | {v:,} |" for k, v in graph.counts()["nodes"].items())}

| edge type | count |
|---|---:|
{chr(10).join(f"| {k} | {v:,} |" for k, v in graph.counts()["edges"].items())}

Encoder: `{graph.encoder_identity[:64]}`. Planted interests recovered by `w(v|u)`: the
strongest planted interest is in the user's top 10 for {recovery['strongest_in_top10']:.1%} of users;
{recovery['planted_in_top10']:.1%} of all planted interests are in their user's top 10.

Generated in {seconds:.1f} s.
"""


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    demo = add_verb(
        verbs, common, "demo",
        help="run the pipeline end to end on the embedded synthetic default",
        description="Run the main job on the embedded synthetic default: generate a log with planted interests, "
        "validate and save it, split it under every named protocol, and write a report.",
        example="interestgraph demo --out demo",
        run=run_demo,
    )
    demo.add_argument("--encoder", choices=("lm", "lexical"), default="lm", help="lm: the packaged all-MiniLM-L6-v2 (default); lexical: hashed character n-grams, no model")
    demo.add_argument("--out", type=Path, default=Path("demo"), help="output folder (default ./demo); the demo replaces its own previous output there")
    add_synthetic_options(demo)
    add_json_flag(demo)
