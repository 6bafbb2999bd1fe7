"""``interestgraph demo``: the main job on the embedded default, as far as the pipeline exists.

Today that is: generate the synthetic log with planted interests, validate
it, save it as a dataset directory, split it under every named protocol, and
write a Markdown report. Later stages (graph, model, evaluation, analyst
page) extend this same verb.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .app import CommandResult, add_json_flag, add_verb
from .data_verbs import add_synthetic_options, synthetic_config


def run_demo(args: argparse.Namespace) -> CommandResult:
    from ..data.protocols import PROTOCOLS, split_log
    from ..data.synthetic import generate_synthetic
    from ..progress import progress

    started = time.perf_counter()
    out: Path = args.out
    steps = ["generate", *PROTOCOLS, "save", "report"]
    bar = progress(total=len(steps), desc="demo", unit="step")
    bar.set_postfix_str("generate")
    data = generate_synthetic(**synthetic_config(args))
    bar.update()
    splits = {}
    for name in PROTOCOLS:
        bar.set_postfix_str(name)
        splits[name] = split_log(data.log, name)
        bar.update()
    bar.set_postfix_str("save")  # written only once every step above has succeeded
    dataset_dir = data.save(out / "synthetic", overwrite=True)
    bar.update()
    bar.set_postfix_str("report")
    summary = data.log.summary()
    seconds = time.perf_counter() - started
    report = _report(summary, splits, data, seconds)
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "report.md"
    tmp = report_path.with_suffix(".md.tmp")
    tmp.write_text(report, encoding="utf-8")
    tmp.replace(report_path)
    bar.update()
    bar.close()
    seconds = round(time.perf_counter() - started, 3)
    lines = [
        f"synthetic log: {summary['users']:,} users, {summary['items']:,} items, {summary['interactions']:,} events, "
        f"{summary['distinct_tags']:,} distinct tags, planted interests for every user",
        *(f"  {s.describe()}" for s in splits.values()),
        f"dataset: {dataset_dir}",
        f"report:  {report_path}",
        f"done in {seconds:.1f} s (pipeline so far: data layer; graph, model and evaluation stages come next)",
    ]
    return CommandResult({"dataset": str(dataset_dir), "report": str(report_path), "log": summary, "splits": {k: v.summary() for k, v in splits.items()}, "seconds": seconds}, "\n".join(lines))


def _report(summary: dict, splits: dict, data, seconds: float) -> str:
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
    demo.add_argument("--out", type=Path, default=Path("demo"), help="output folder (default ./demo); the demo replaces its own previous output there")
    add_synthetic_options(demo)
    add_json_flag(demo)
