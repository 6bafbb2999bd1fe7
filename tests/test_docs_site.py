"""The documentation site builds: ``mkdocs build --strict`` over mkdocs.yml (docs/, the repository's Markdown pages
brought in by docs/hooks/repo_pages.py, and the API pages mkdocstrings generates from the docstrings), into a
temporary folder. Strict: a link or heading anchor that does not resolve, a page left out of the nav or a
docstring mkdocstrings cannot render fails the build."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API = ["data", "graph", "model", "train", "evaluate", "baselines", "recommend"]


def _need_mkdocs() -> None:
    if importlib.util.find_spec("mkdocs") and importlib.util.find_spec("mkdocstrings_handlers"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but mkdocs / mkdocstrings[python] are missing: they are in the dev extra (make test)")
    pytest.skip("mkdocs and mkdocstrings[python] not installed (pip install -e '.[dev]')")


def _hook():
    spec = importlib.util.spec_from_file_location("repo_pages", ROOT / "docs" / "hooks" / "repo_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    _need_mkdocs()
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INTERESTGRAPH_PROGRESS": "0"}
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    warnings = [line for line in run.stderr.splitlines() if not line.startswith("INFO")]
    assert run.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(warnings or run.stderr.splitlines())
    return out


def test_the_site_builds_strictly_with_every_page(site):
    pages = ["index.html", "overview/index.html", "benchmarks/index.html", "formats/graphs/index.html"]
    pages += [f"{p.stem}/index.html" for p in (ROOT / "docs").glob("*.md") if p.stem != "index"]
    assert [p for p in pages if not (site / p).is_file()] == []
    assert (site / "search" / "search_index.json").is_file()  # the built-in search
    # the README's links into docs/ point at the site's pages
    overview = (site / "overview" / "index.html").read_text()
    assert 'href="../getting-started/#what-make-demo-does"' in overview


@pytest.mark.parametrize("package", API)
def test_each_public_package_has_an_api_page_from_its_docstrings(site, package):
    html = (site / "api" / package / "index.html").read_text()
    ids = set(re.findall(rf'id="interestgraph\.{package}\.(\w+(?:\.\w+)?)"', html))
    module = __import__(f"interestgraph.{package}", fromlist=["__all__"])
    documented = {n for n in module.__all__ if getattr(getattr(module, n), "__doc__", None) and n[0].isupper()}
    # every public class has its section (constants without their own docstring are left out)
    assert {n for n in documented if isinstance(getattr(module, n), type)} <= ids, package
    functions = {n for n in module.__all__ if callable(getattr(module, n)) and not isinstance(getattr(module, n), type)}
    assert {f.split(".")[-1] for f in ids} >= functions, package


def test_links_between_the_repository_pages_and_docs_are_rewritten_for_the_site():
    hook = _hook()
    readme = "[a](docs/model.md#x) [b](benchmarks/README.md) [c](LICENSE) [d](#here) [e](https://x.org) [f](gone.md)"
    assert hook.rewrite_links(readme, "README.md", "overview.md") == (
        "[a](model.md#x) [b](benchmarks.md) [c](LICENSE.txt) [d](#here) [e](https://x.org) [f](gone.md)"
    )
    page = "[r](../README.md#quickstart) [g](../graphs/README.md) [s](scaling.md)\n```\n[k](../README.md)\n```\n"
    assert hook.rewrite_links(page, "docs/recommend.md", "recommend.md") == (
        "[r](overview.md#quickstart) [g](formats/graphs.md) [s](scaling.md)\n```\n[k](../README.md)\n```\n"
    )
    assert hook.rewrite_links("[m](../docs/model.md)", "graphs/README.md", "formats/graphs.md") == "[m](../model.md)"
