"""mkdocs hook: the repository's Markdown pages outside ``docs/`` become pages of the site.

The README, ``benchmarks/README.md``, the artifact formats (``graphs/README.md``, ``models/README.md``) and
``notebooks/README.md`` are written for reading on the repository, beside what they describe, and link into
``docs/`` with ``../docs/...`` (and ``docs/`` links to them with ``../...``). This hook adds them to the site under
the names in ``REPO_PAGES`` and rewrites every relative link between the two sides, so ``mkdocs build --strict``
resolves (and checks) each of them as the repository does. Links that resolve to nothing are left as written, so
the strict build reports them.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File, InclusionLevel

# repository path -> path inside the site's docs
REPO_PAGES = {
    "README.md": "overview.md",
    "benchmarks/README.md": "benchmarks.md",
    "graphs/README.md": "formats/graphs.md",
    "models/README.md": "formats/models.md",
    "notebooks/README.md": "notebooks.md",
}
REPO_FILES = {"LICENSE": "LICENSE.txt"}  # copied as they are (not pages)
LINK = re.compile(r"(?<=\]\()([^)\s]+)(?=\))")
FENCE = re.compile(r"^ *(```|~~~).*?^ *\1", flags=re.S | re.M)


def _root(config) -> Path:
    return Path(config.config_file_path).resolve().parent


def on_files(files, config):
    root = _root(config)
    for repo_path, site_path in {**REPO_PAGES, **REPO_FILES}.items():
        files.append(
            File.generated(config, site_path, abs_src_path=str(root / repo_path), inclusion=InclusionLevel.INCLUDED)
        )
    return files


def _site_path(repo_path: str) -> str | None:
    """Where a repository file lives in the site's docs, or None when the site does not have it."""
    if repo_path.startswith("docs/"):
        return repo_path.removeprefix("docs/")
    return REPO_PAGES.get(repo_path) or REPO_FILES.get(repo_path)


def rewrite_links(markdown: str, page_repo_path: str, page_site_path: str) -> str:
    """Relative links of a page written for ``page_repo_path``, rewritten for its place ``page_site_path``."""

    def one(match: re.Match) -> str:
        target = match.group(1)
        if re.match(r"^[a-z]+:", target) or target.startswith(("#", "/")):
            return target
        path, hash_, anchor = target.partition("#")
        repo_target = posixpath.normpath(posixpath.join(posixpath.dirname(page_repo_path), path))
        site_target = _site_path(repo_target)
        if site_target is None:
            return target
        return posixpath.relpath(site_target, posixpath.dirname(page_site_path) or ".") + hash_ + anchor

    out, last = [], 0
    for fence in FENCE.finditer(markdown):  # code blocks keep their text
        out.append(LINK.sub(one, markdown[last : fence.start()]))
        out.append(fence.group(0))
        last = fence.end()
    out.append(LINK.sub(one, markdown[last:]))
    return "".join(out)


def on_page_markdown(markdown, page, config, files):
    site_path = page.file.src_uri
    repo_path = {v: k for k, v in REPO_PAGES.items()}.get(site_path, "docs/" + site_path)
    return rewrite_links(markdown, repo_path, site_path)
