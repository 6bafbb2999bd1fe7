"""The Python examples in README.md and docs/*.md run: each page's fenced ```python blocks, in order, in one
namespace, from a temporary working directory (nothing is written into the repository).

A block that cannot run here says why on the line before its fence, ``<!-- not run: needs a GPU -->`` (a reason is
required); every block, run or not, must at least compile.

The examples are written for ml-latest-small (``../shared/datasets/ml-latest-small`` from the repository root).
Building its interest graph and training on it takes about a minute and a half on the 2-core development machine,
so the examples run on a slice of it with the same layout and path: 60 users (42 and 610, which the examples name,
and the 58 lowest other IDs), their ratings and tags of the 300 most-rated movies plus the movies the examples name
(1, 260, 1196, 2571). What the examples teach (the calls, their arguments, what they return) is the same; the
figures the pages quote are checked on the full data by tests/test_docs_numbers.py. Pages that load a model a
previous page's commands trained (``models/ml-rs4`` from docs/evaluation.md, ``models/ml-small`` from the README's
quickstart) get it from the same commands on the slice (``interestgraph build`` and ``train``, 3 epochs).
The README's command-line quickstart (a shell block) runs too, every ``interestgraph`` command as written, on the
same slice. The tests skip, with a reason, when ml-latest-small is not in ../shared/datasets.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
# ../shared from the repository root (a git worktree one level deeper reads ../../shared)
ML_SMALL = (
    next(
        (
            p
            for p in (ROOT.parent / "shared", ROOT.parents[1] / "shared")
            if (p / "datasets" / "ml-latest-small").is_dir()
        ),
        ROOT.parent / "shared",
    )
    / "datasets"
    / "ml-latest-small"
)
SLICE_USERS, SLICE_ITEMS, NAMED_ITEMS, NAMED_USERS = 60, 300, (1, 260, 1196, 2571), (42, 610)
# what a page's examples load, and the commands (of the page that says so) that make it
SETUP = {
    "docs/recommend.md": {
        "models/ml-rs4": "docs/evaluation.md: interestgraph build ... --protocol rs-4 --out graphs/ml-rs4; train",
        "models/ml-small": "README.md quickstart: interestgraph build ... --out graphs/ml-small; train",
    }
}
PAGE_BUDGET_S = 60  # one page's examples, slice included; measured 2-8 s each on the 2-core machine

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", flags=re.S | re.M)
NOT_RUN = re.compile(r"^<!--\s*not run\b(.*?)-->\s*$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # the first code line's number in the page (1-based)
    code: str
    skip: str | None  # the reason given by a ``<!-- not run: ... -->`` marker


def python_blocks(page: str, text: str) -> list[Block]:
    """The page's fenced ```python blocks, with the reason of a ``<!-- not run: REASON -->`` marker on the last
    non-blank line before the fence; a marker without a reason raises ``ValueError``."""
    blocks = []
    for match in FENCE.finditer(text):
        if match.group(1) != "python":
            continue
        before = [line for line in text[: match.start()].splitlines() if line.strip()]
        marker = NOT_RUN.match(before[-1].strip()) if before else None
        skip = None
        if marker:
            skip = marker.group(1).strip().lstrip(":").strip()
            if not skip:
                line = text[: match.start()].count("\n")
                raise ValueError(f"{page}:{line}: '<!-- not run -->' needs a reason: '<!-- not run: REASON -->'")
        line = text[: match.start(2)].count("\n") + 1
        blocks.append(Block(page, line, match.group(2), skip))
    return blocks


def page_blocks(page: str) -> list[Block]:
    return python_blocks(page, (ROOT / page).read_text())


def test_the_extractor_reads_blocks_markers_and_lines():
    text = (
        "# t\n\n```python\nx = 1\n```\n\n<!-- not run: needs a GPU -->\n```python\ny = x\n```\n"
        "```bash\nls\n```\n```python\n```\n"
    )
    blocks = python_blocks("p.md", text)
    assert [(b.line, b.code, b.skip) for b in blocks] == [
        (4, "x = 1\n", None),
        (9, "y = x\n", "needs a GPU"),
        (15, "", None),
    ]
    with pytest.raises(ValueError, match=r"p.md:1: '<!-- not run -->' needs a reason"):
        python_blocks("p.md", "<!-- not run -->\n```python\nx\n```\n")


@pytest.mark.parametrize("page", PAGES)
def test_every_python_block_compiles_and_every_marker_has_a_reason(page):
    for block in page_blocks(page):
        compile("\n" * (block.line - 1) + block.code, str(ROOT / page), "exec")


def _write_slice(dest: Path) -> None:
    """ml-latest-small cut to SLICE_USERS users and SLICE_ITEMS movies (plus the named ones), same files and columns."""
    import pandas as pd

    ratings = pd.read_csv(ML_SMALL / "ratings.csv")
    items = set(ratings["movieId"].value_counts().index[:SLICE_ITEMS]) | set(NAMED_ITEMS)
    others = sorted(set(ratings["userId"]) - set(NAMED_USERS))[: SLICE_USERS - len(NAMED_USERS)]
    users = set(NAMED_USERS) | set(others)
    dest.mkdir(parents=True)
    ratings[ratings["movieId"].isin(items) & ratings["userId"].isin(users)].to_csv(dest / "ratings.csv", index=False)
    tags = pd.read_csv(ML_SMALL / "tags.csv", dtype=str)
    keep = tags["movieId"].astype(int).isin(items) & tags["userId"].astype(int).isin(users)
    tags[keep].to_csv(dest / "tags.csv", index=False)
    for name in ("movies.csv", "links.csv"):
        table = pd.read_csv(ML_SMALL / name, dtype=str)
        table[table["movieId"].astype(int).isin(items)].to_csv(dest / name, index=False)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A working directory whose ``../shared/datasets/ml-latest-small`` is the slice."""
    if not (ML_SMALL / "ratings.csv").is_file():
        pytest.skip(f"ml-latest-small not in ../shared/datasets ({ML_SMALL}): the examples read it")
    base = tmp_path_factory.mktemp("docs-examples")
    _write_slice(base / "shared" / "datasets" / "ml-latest-small")
    (base / "repo").mkdir()
    return base / "repo"


def _one_thread():
    """One CPU thread for torch, OpenMP and BLAS while a page runs: on the shared 2-core machine the examples took
    8.5 s (README) and 3.0 s (getting-started) with one thread against 14.5 s and 6.0 s with the default two."""
    from interestgraph.cli.threads import thread_limit

    return thread_limit(1)


@contextlib.contextmanager
def _cwd(path: Path):
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _setup(page: str, workdir: Path, capsys) -> None:
    """The artifacts a page's examples load, made by the commands the docs give for them (on the slice)."""
    from interestgraph.cli import main

    for model, origin in SETUP.get(page, {}).items():
        if (workdir / model).is_dir():
            continue
        graph = "graphs/" + Path(model).name
        build = ["build", "../shared/datasets/ml-latest-small", "--format", "movielens", "--protocol", "rs-4"]
        build += ["--out", graph, "--encoder-cache", "graphs/.encoder-cache", "-q"]
        with _cwd(workdir), _one_thread():
            assert main(build) == 0, f"setup for {page} ({origin}): build failed"
            assert main(["train", graph, "--out", model, "--epochs", "3", "-q"]) == 0, f"setup for {page}: train"
        capsys.readouterr()


def _repo_root() -> set[Path]:
    return {p for p in ROOT.iterdir() if not p.name.startswith(".")}


RUNNABLE = [page for page in PAGES if any(b.skip is None and b.code.strip() for b in page_blocks(page))]


@pytest.mark.parametrize("page", RUNNABLE)
def test_the_python_examples_of_a_page_run(page, workdir, capsys, monkeypatch):
    monkeypatch.setenv("INTERESTGRAPH_PROGRESS", "0")
    _setup(page, workdir, capsys)
    namespace: dict = {"__name__": "__docs_example__"}
    repo_before = _repo_root()
    start = time.perf_counter()
    with _cwd(workdir), _one_thread():
        for block in page_blocks(page):
            if block.skip is None:
                # padded so that a traceback names the page's own line numbers
                exec(compile("\n" * (block.line - 1) + block.code, str(ROOT / page), "exec"), namespace)
    seconds = time.perf_counter() - start
    assert seconds < PAGE_BUDGET_S, (
        f"{page}'s examples took {seconds:.0f} s (budget {PAGE_BUDGET_S} s): make them smaller or mark the slow ones "
        "'<!-- not run: REASON -->'"
    )
    assert _repo_root() == repo_before, "an example wrote into the repository root"


def readme_commands() -> list[list[str]]:
    """The arguments of each ``interestgraph`` command in the README's command-line quickstart (lines joined)."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^### Command line[^\n]*\n\n```bash\n(.*?)^```", text, flags=re.M | re.S)
    assert match, "README.md has no '### Command line' quickstart block: update tests/test_docs_examples.py"
    lines = re.sub(r"\\\n\s*", " ", match.group(1)).splitlines()
    return [shlex.split(line, comments=True)[1:] for line in lines if line.startswith("interestgraph ")]


def test_the_readme_quickstart_commands_run_on_the_slice(workdir):
    """Every command of the README's quickstart, as written, on the slice (its figures: tests/test_docs_numbers.py)."""
    from interestgraph.cli import main

    commands = readme_commands()
    assert [c[0] for c in commands] == [
        "build",
        "train",
        "evaluate",
        "recommend",
        "show",
        "explain",
        "recommend",
        "train",
        "recommend",
    ]
    cwd = workdir.parent / "cli"  # beside the examples' directory: same ../shared, own graphs/ and models/
    cwd.mkdir()
    printed = {}
    with _cwd(cwd):
        for args in commands:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main([*args, "-q"])
            assert code == 0, f"interestgraph {shlex.join(args)} exited {code}"
            printed.setdefault(shlex.join(args[:2]), out.getvalue())  # the first of a verb: step 4, not "more"
    assert re.search(
        r"^models/ml-small on test \(\d+ users\):.* ndcg@20 0\.\d{4};", printed["evaluate graphs/ml-small"], re.M
    )
    assert "1196" in printed["explain models/ml-small"] and (cwd / "user42.html").is_file()
    assert "user 42 · item " in printed["recommend models/ml-small"]  # step 4's --explain 1: the first one's walks
    # the item-path model's new user: five items, none of the given ones, and the first one's shares per liked item
    ranked = printed["recommend models/ml-small-ip"]
    assert "a new user who liked 3 item(s)" in ranked and "because you liked" in ranked
    assert "popularity prior" in ranked
