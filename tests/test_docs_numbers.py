"""The figures the README and docs quote from a command's output are the ones the command prints now: each test
runs the command (or the same call in-process) and compares what a page shows, digit for digit, so a stale number
fails the suite.

Checked in every run (ml-latest-small, about 15 s in all):

- the README's quickstart step 3 (``pop`` and ``itemknn`` NDCG@20 on the 603 test users) and the most-popular and
  ItemKNN rows of the README's results table (``rs-4`` and ``tl-4``) and of docs/evaluation.md, from
  ``interestgraph evaluate ../shared/datasets/ml-latest-small --format movielens --protocol P --models pop,itemknn``
  (the graph of the quickstart stores the same ``rs-4`` split; the slow check below runs step 3 itself);
- the counts in the comments of docs/getting-started.md's Python tour (``log.summary()``, ``split.describe()``).

Checked with ``IG_DOCS_SLOW=1`` only, because their commands take minutes on the 2-core development machine
(measured there while other jobs ran: the quickstart's steps 1-3 about 90 s, ``interestgraph demo`` 103 s):

- the README quickstart's steps 1-3, run as written (build, train, evaluate): the model's Recall@20 / NDCG@20 and
  the baselines' NDCG@20 in the text below the commands;
- what ``interestgraph demo`` prints, in docs/getting-started.md (every figure of the lines shown there).

``IG_DOCS_SLOW=1 .venv/bin/pytest tests/test_docs_numbers.py`` runs them all. Tests skip, with a reason, when
ml-latest-small is not in ../shared/datasets.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# ../shared from the repository root (a git worktree one level deeper reads ../../shared)
SHARED = next(
    (p for p in (ROOT.parent / "shared", ROOT.parents[1] / "shared") if (p / "datasets" / "ml-latest-small").is_dir()),
    ROOT.parent / "shared",
)
ML_SMALL = SHARED / "datasets" / "ml-latest-small"
needs_ml_small = pytest.mark.skipif(
    not (ML_SMALL / "ratings.csv").is_file(), reason=f"ml-latest-small not in ../shared/datasets ({ML_SMALL})"
)
slow = pytest.mark.skipif(
    os.environ.get("IG_DOCS_SLOW") != "1", reason="minutes of CPU: run with IG_DOCS_SLOW=1 (see the module docstring)"
)
NUMBER = r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?"


def quoted(page: str, pattern: str) -> tuple[str, ...]:
    """The groups of ``pattern`` in ``page``; fails, naming both, when the page no longer has the passage."""
    match = re.search(pattern, (ROOT / page).read_text(), flags=re.M | re.S)
    assert match, f"{page} no longer has the passage /{pattern}/: update tests/test_docs_numbers.py with the page"
    return match.groups()


def f4(value: float) -> str:
    return f"{value:.4f}"


@pytest.fixture(scope="module")
def baselines() -> dict[str, dict]:
    """``{protocol: {"pop": metrics, "itemknn": metrics}}``: what ``interestgraph evaluate ... --models pop,itemknn``
    computes (the same baselines, defaults and harness, called in-process: 12 s against 21 s through the CLI)."""
    from interestgraph.baselines import ItemKNN, MostPopular
    from interestgraph.cli.threads import thread_limit
    from interestgraph.data import load_movielens, split_log
    from interestgraph.evaluate import evaluate

    log = load_movielens(ML_SMALL)
    out = {}
    with thread_limit(1):  # faster than two threads on the shared 2-core machine (13.6 s against 21 s)
        for protocol in ("rs-4", "tl-4"):
            split = split_log(log, protocol)
            out[protocol] = {}
            for name, model in (("pop", MostPopular()), ("itemknn", ItemKNN())):
                result = evaluate(model.fit(split), split)
                out[protocol][name] = {**result.metrics, "users": len(result.per_user)}
    return out


@needs_ml_small
def test_the_readme_quickstart_step_3_baselines(baselines):
    users, itemknn, pop = quoted(
        "README.md",
        rf"on the ({NUMBER}) test users with its protocol: `itemknn \.\.\. ndcg@20 ({NUMBER})` and "
        rf"`pop \.\.\. ndcg@20\s+({NUMBER})`",
    )
    rs4 = baselines["rs-4"]
    assert (users, itemknn, pop) == (str(rs4["pop"]["users"]), f4(rs4["itemknn"]["ndcg@20"]), f4(rs4["pop"]["ndcg@20"]))
    assert rs4["itemknn"]["users"] == rs4["pop"]["users"]


@needs_ml_small
@pytest.mark.parametrize(("row", "name"), [("most-popular", "pop"), ("ItemKNN", "itemknn")])
def test_the_baseline_rows_of_the_results_tables(baselines, row, name):
    cells = rf" \| ({NUMBER})" * 4
    readme = quoted("README.md", rf"^\| {row}{cells} \|$")
    measured = [f4(baselines[p][name][m]) for p in ("rs-4", "tl-4") for m in ("recall@20", "ndcg@20")]
    assert list(readme) == measured, f"README results table, row {row}"
    evaluation = quoted("docs/evaluation.md", rf"^\| {row} \| ({NUMBER}) \| ({NUMBER}) \|")
    assert list(evaluation) == measured[:2], f"docs/evaluation.md, 'Measured on ml-latest-small', row {row}"


@needs_ml_small
def test_the_counts_in_the_getting_started_python_tour():
    from interestgraph.data import load_movielens, split_log

    log = load_movielens(ML_SMALL)
    summary = log.summary()
    page = "docs/getting-started.md"
    counts = quoted(
        page, rf"# a dict of counts: ({NUMBER}) users, ({NUMBER}) items, ({NUMBER}) ratings \+ ({NUMBER}) tags"
    )
    events = summary["events"]
    assert counts == tuple(f"{n:,}" for n in (summary["users"], summary["items"], events["rating"], events["tag"]))
    split = split_log(log, "rs-4").describe()
    pairs, users = quoted(page, rf"# protocol rs-4 \(\.\.\.seed 2020\); train ({NUMBER}) pairs / ({NUMBER}) users")
    assert f"seed 2020); train {pairs} pairs / {users} users," in split
    first = quoted(page, r"user 610 rated from (\d{4}-\d\d) on")[0]
    import pandas as pd

    seconds = log.interactions.loc[log.interactions["user_id"].astype(str) == "610", "timestamp"].min()
    assert pd.to_datetime(seconds, unit="s", utc=True).strftime("%Y-%m") == first


# ---------------------------------------------------------------- slow: IG_DOCS_SLOW=1


def quickstart_commands() -> list[list[str]]:
    """The README quickstart's steps 1-3: its first ``interestgraph build / train / evaluate`` commands, continuation
    lines joined (a later ``train``, the item-path model's, is not a step)."""
    block = quoted("README.md", r"^### Command line[^\n]*\n\n```bash\n(.*?)^```")[0]
    lines = re.sub(r"\\\n\s*", " ", block).splitlines()
    commands = [shlex.split(line.split("#")[0]) for line in lines if line.startswith("interestgraph ")]
    first = {}
    for c in commands:
        if c[1] in ("build", "train", "evaluate"):
            first.setdefault(c[1], c[1:])
    return list(first.values())


def run_interestgraph(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INTERESTGRAPH_PROGRESS": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "interestgraph", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"interestgraph {shlex.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}"
    return done.stdout


def test_the_quickstart_commands_are_found():
    assert [c[0] for c in quickstart_commands()] == ["build", "train", "evaluate"]


@slow
@needs_ml_small
def test_the_readme_quickstart_steps_1_to_3_print_the_quoted_figures(tmp_path):
    (tmp_path / "shared").symlink_to(SHARED, target_is_directory=True)  # ../shared/datasets/... as in the README
    repo = tmp_path / "repo"
    repo.mkdir()
    out = ""
    for args in quickstart_commands():
        out = run_interestgraph(args, repo)
    printed = {}  # model -> (users, recall@20, ndcg@20) from "NAME on test (N users): ..., recall@20 R, ndcg@20 N;"
    for name, users, recall, ndcg in re.findall(
        r"^(\S+) on test \((\d+) users\):.*?recall@20 ([\d.]+), ndcg@20 ([\d.]+);", out, flags=re.M
    ):
        printed[name] = (users, recall, ndcg)
    recall, ndcg = quoted("README.md", rf"the model's recall@20 and ndcg@20\s+\(({NUMBER}) / ({NUMBER})")
    users, itemknn, pop = quoted(
        "README.md",
        rf"on the ({NUMBER}) test users with its protocol: `itemknn \.\.\. ndcg@20 ({NUMBER})` and "
        rf"`pop \.\.\. ndcg@20\s+({NUMBER})`",
    )
    assert printed["models/ml-small"] == (users, recall, ndcg), out
    assert (printed["itemknn"][2], printed["pop"][2]) == (itemknn, pop), out


def demo_block() -> list[str]:
    """The lines of ``interestgraph demo`` output that docs/getting-started.md shows."""
    block = quoted("docs/getting-started.md", r"^## What `make demo` does\n.*?^```\n(.*?)^```")[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_the_demo_block_is_found():
    lines = demo_block()
    assert lines[0].startswith("planted interests recovered") and any("beats itemknn" in line for line in lines)


def label(line: str) -> str:
    """A demo line's leading words (at most three, up to its first figure), whitespace collapsed."""
    words = []
    for word in line.split()[:3]:
        if re.match(r"^[(\[+-]?\d", word):
            break
        words.append(word)
    return " ".join(words)


@slow
def test_the_demo_prints_the_figures_in_getting_started(tmp_path):
    out = run_interestgraph(["demo", "--out", "demo"], tmp_path)  # as `make demo` runs it
    printed = [" ".join(line.split()) for line in out.splitlines()]
    for line in demo_block():
        same = [p for p in printed if p.startswith(label(line))]
        assert same, f"the demo no longer prints a line starting {label(line)!r}:\n{out}"
        shown = re.findall(NUMBER, line)
        # the page shortens the protocol to "(...)": its figures are the first ones of the printed line
        assert re.findall(NUMBER, same[0])[: len(shown)] == shown, (
            f"docs/getting-started.md shows\n  {line}\nthe demo prints\n  {same[0]}"
        )


def test_a_demo_line_is_matched_by_its_leading_words():
    assert label("  interest-graph model  recall@20 0.5662  ndcg@20 0.3437") == "interest-graph model recall@20"
    assert label("test (996 users, full ranking") == "test"
    assert label("interest-graph model beats itemknn on ndcg@20") == "interest-graph model beats"
