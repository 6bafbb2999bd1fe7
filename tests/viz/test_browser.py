"""The analyst page in a real browser: headless Chromium opens it from disk, draws it, and runs no label.

CI installs Debian's ``chromium`` (the README's test command does), so under ``CI=true`` a missing
browser fails this test; elsewhere it skips with the reason. Screenshots are written to
``$INTERESTGRAPH_SCREENSHOTS`` when set (to look at them), else to the test's temporary directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from interestgraph.viz import show_user

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,1100",
    "--hide-scrollbars",
]


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but no chromium on PATH: the README's test command installs it with apt-get (make test)")
    pytest.skip("no chromium on PATH (apt-get install chromium; CI installs it)")


def _run(page: Path, tmp: Path, *action: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    return subprocess.run(
        [_browser(), *FLAGS, f"--user-data-dir={profile}", *action, page.as_uri() + page_hash.get(page, "")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp)},
    )


page_hash: dict[Path, str] = {}


def _dom(page: Path, tmp: Path) -> str:
    done = _run(page, tmp, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _attr(dom: str, name: str) -> str | None:
    found = re.search(rf'{name}="([^"]*)"', dom)
    return found.group(1) if found else None


def _screenshot(page: Path, tmp: Path, name: str) -> Path:
    folder = Path(os.environ.get("INTERESTGRAPH_SCREENSHOTS", tmp))
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / name
    done = _run(page, tmp, f"--screenshot={shot}")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    return shot


def test_page_draws_every_node_and_runs_no_label(trained, user, titles, tmp_path):
    _graph, model, _root = trained
    _browser()
    view = show_user(model, user)
    labels = set(view.nodes["label"])
    assert labels & set(titles)
    page = view.save_html(tmp_path / "user.html")
    dom = _dom(page, tmp_path)
    assert _attr(dom, "data-ig-status") == "ready"
    assert _attr(dom, "data-ig-errors") is None, _attr(dom, "data-ig-errors")
    assert _attr(dom, "data-pwned") is None
    assert int(_attr(dom, "data-ig-nodes")) == len(view.nodes) == dom.count('class="node r-')
    assert int(_attr(dom, "data-ig-edges")) == len(view.edges)
    assert int(_attr(dom, "data-ig-series")) == view.timeline["interest"].nunique()
    assert dom.count('class="ig-score"') == len(view.recommendations) == 5
    assert "&lt;script&gt;document.documentElement" in dom  # the hostile title is on the page, as text
    shot = _screenshot(page, tmp_path, "user.png")
    assert shot.stat().st_size > 30_000

    # clicking recommendation 2 (opened with #select=2) lights exactly the edges of its drawn paths
    page_hash[page] = "#select=2"
    dom = _dom(page, tmp_path)
    assert _attr(dom, "data-ig-selected") == "2"
    expected = int(view.edges["paths"].map(lambda p: 2 in p).sum())
    assert expected > 0 and len(re.findall(r'class="edge [^"]*\bhl\b', dom)) == expected
    _screenshot(page, tmp_path, "user-select-2.png")


def test_graph_only_page_in_the_browser(trained, user, tmp_path):
    _graph, _, root = trained
    _browser()
    view = show_user(root / "graph", user)
    page = view.save_html(tmp_path / "graph.html")
    dom = _dom(page, tmp_path)
    assert (
        _attr(dom, "data-ig-status") == "ready"
        and _attr(dom, "data-ig-errors") is None
        and _attr(dom, "data-pwned") is None
    )
    assert int(_attr(dom, "data-ig-nodes")) == len(view.nodes)
    assert "Recommendations need a trained model." in dom
    _screenshot(page, tmp_path, "graph-only.png")
