"""The README, docs/ and benchmarks/README.md link to files and headings that exist (GitHub's heading anchors)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"```.*?```", flags=re.S)


def anchors(path: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces to '-', repeats
    numbered."""
    out: set[str] = set()
    seen: dict[str, int] = {}
    for line in FENCE.sub("", path.read_text()).split("\n"):
        heading = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(2).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def broken_links(root: Path) -> list[str]:
    """``"file: link"`` for every relative link whose file or heading anchor does not exist under ``root``."""
    bad = []
    skip = (".venv", ".git", "node_modules", "research")
    for page in sorted(p for p in root.rglob("*.md") if not set(p.relative_to(root).parts) & set(skip)):
        for match in LINK.finditer(FENCE.sub("", page.read_text())):
            target = match.group(1)
            if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists() or (anchor and (dest.suffix != ".md" or anchor not in anchors(dest))):
                bad.append(f"{page.relative_to(root)}: {target}")
    return bad


def test_every_relative_link_in_the_docs_resolves():
    assert not broken_links(ROOT), "broken links:\n" + "\n".join(broken_links(ROOT))


def test_a_missing_file_and_a_missing_heading_are_reported(tmp_path):
    page = "# Title here\n\n[ok](#title-here) [gone](b.md) [no](#nothing)\n```\n[x](z.md)\n```\n"
    (tmp_path / "a.md").write_text(page)
    assert broken_links(tmp_path) == ["a.md: b.md", "a.md: #nothing"]
