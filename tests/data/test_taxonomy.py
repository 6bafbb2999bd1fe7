"""Invariants of the built-in synthetic-data taxonomy."""

from __future__ import annotations

import re
import string
from collections import Counter

from interestgraph.data.synthetic.taxonomy import (
    DESCRIPTION_TEMPLATES,
    DOMAINS,
    QUERY_TEMPLATES,
    REVIEW_TEMPLATES,
    Cluster,
    Domain,
    Interest,
    all_interests,
)

_KEYWORD_RE = re.compile(r"[a-z]+")

TITLE_FIELDS = {"Adj", "Noun", "Noun2"}
REVIEW_FIELDS = {"noun", "keyword", "interest"}
QUERY_FIELDS = {"interest", "keyword", "noun"}
DESCRIPTION_FIELDS = {"noun", "interest", "interest2", "keyword", "keyword2"}


def _interests() -> list[Interest]:
    return [i for d in DOMAINS for c in d.clusters for i in c.interests]


def _fields(template: str) -> set[str]:
    """Placeholder names of a str.format template (raises on malformed braces)."""
    names = set()
    for _literal, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        assert field, f"positional placeholder in {template!r}"
        assert not spec and conversion is None, f"format spec/conversion in {template!r}"
        names.add(field)
    return names


def _check_template_set(templates: tuple[str, ...], allowed: set[str], lo: int, hi: int) -> None:
    assert isinstance(templates, tuple)
    assert lo <= len(templates) <= hi, len(templates)
    assert len(set(templates)) == len(templates), "duplicate template"
    for template in templates:
        assert template.isascii(), template
        used = _fields(template)
        assert used, f"template without placeholders: {template!r}"
        assert used <= allowed, f"{template!r} uses {sorted(used - allowed)}"


def test_types():
    assert isinstance(DOMAINS, tuple)
    for d in DOMAINS:
        assert isinstance(d, Domain)
        assert isinstance(d.clusters, tuple)
        for c in d.clusters:
            assert isinstance(c, Cluster)
            assert isinstance(c.interests, tuple)
            for i in c.interests:
                assert isinstance(i, Interest)
                assert isinstance(i.synonyms, tuple)
                assert isinstance(i.keywords, tuple)


def test_counts():
    assert len(DOMAINS) == 10
    for d in DOMAINS:
        assert 4 <= len(d.clusters) <= 5, d.name
        for c in d.clusters:
            assert 5 <= len(c.interests) <= 8, (d.name, c.name)
    assert 250 <= len(_interests()) <= 320


def test_domain_and_cluster_names_unique():
    domain_names = [d.name for d in DOMAINS]
    assert len(set(domain_names)) == len(domain_names)
    cluster_names = [c.name for d in DOMAINS for c in d.clusters]
    assert len(set(cluster_names)) == len(cluster_names)
    for name in domain_names + cluster_names + [d.item_noun for d in DOMAINS]:
        assert name and name == name.lower() and name.isascii(), name


def test_interest_names_and_synonyms_globally_unique():
    interests = _interests()
    names = [i.name for i in interests]
    dup_names = [n for n, k in Counter(names).items() if k > 1]
    assert not dup_names, dup_names

    synonyms = [s for i in interests for s in i.synonyms]
    dup_syns = [s for s, k in Counter(synonyms).items() if k > 1]
    assert not dup_syns, dup_syns

    clash = set(names) & set(synonyms)
    assert not clash, sorted(clash)


def test_labels_lowercase_ascii():
    for i in _interests():
        for label in (i.name, *i.synonyms):
            assert label, i
            assert label == label.lower(), label
            assert label.isascii(), label
            assert label == label.strip() and "  " not in label, label


def test_about_half_have_synonyms():
    interests = _interests()
    with_syn = sum(1 for i in interests if i.synonyms)
    assert 0.35 <= with_syn / len(interests) <= 0.75
    assert all(len(i.synonyms) <= 2 for i in interests)


def test_keywords():
    for i in _interests():
        assert 5 <= len(i.keywords) <= 7, i.name
        assert len(set(i.keywords)) == len(i.keywords), i.name
        for kw in i.keywords:
            assert _KEYWORD_RE.fullmatch(kw), (i.name, kw)


def test_adjectives():
    for d in DOMAINS:
        assert 15 <= len(d.adjectives) <= 25, d.name
        assert len(set(d.adjectives)) == len(d.adjectives), d.name
        for adj in d.adjectives:
            assert adj.isascii() and adj.isalpha(), adj
            assert adj == adj.title(), adj


def test_title_templates():
    for d in DOMAINS:
        _check_template_set(d.title_templates, TITLE_FIELDS, 6, 10)
        for template in d.title_templates:
            assert "Noun" in _fields(template), template


def test_text_templates():
    _check_template_set(REVIEW_TEMPLATES, REVIEW_FIELDS, 10, 15)
    _check_template_set(QUERY_TEMPLATES, QUERY_FIELDS, 8, 12)
    _check_template_set(DESCRIPTION_TEMPLATES, DESCRIPTION_FIELDS, 6, 10)


def test_templates_render():
    d = DOMAINS[0]
    a, b = d.clusters[0].interests[:2]
    for template in d.title_templates:
        template.format(Adj=d.adjectives[0], Noun=a.keywords[0].title(), Noun2=b.keywords[0].title())
    values = dict(
        noun=d.item_noun,
        interest=a.name,
        interest2=b.name,
        keyword=a.keywords[0],
        keyword2=a.keywords[1],
    )
    for template in REVIEW_TEMPLATES + QUERY_TEMPLATES + DESCRIPTION_TEMPLATES:
        assert "{" not in template.format(**values)


def test_all_interests_declaration_order():
    expected = [(d.name, c.name, i) for d in DOMAINS for c in d.clusters for i in c.interests]
    got = all_interests()
    assert isinstance(got, list)
    assert len(got) == len(_interests())
    assert got == expected
    assert all(isinstance(row, tuple) and len(row) == 3 for row in got)
