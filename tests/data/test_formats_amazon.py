"""Amazon Reviews 2018 adapter: tiny JSON-lines fixtures written per test."""

from __future__ import annotations

import ast
import builtins
import gzip
import json

import pandas as pd
import pytest

from interestgraph.data.formats.amazon import load_amazon
from interestgraph.errors import DataError

# 2009-09-13T00:00:00Z, the date of "09 13, 2009"
SEP_13_2009 = 1252800000

REVIEWS = [
    {
        "overall": 5.0,
        "verified": True,
        "reviewTime": "01 02, 2015",
        "reviewerID": "A1",
        "asin": "B001",
        "reviewerName": "Ann",
        "reviewText": "Loved it",
        "summary": "Great",
        "unixReviewTime": 1420156800,
        "vote": "3",
        "style": {"Format:": " Paperback"},
    },
    {"overall": 3.0, "reviewerID": "A1", "asin": "B002", "reviewText": "Okay book", "unixReviewTime": 1420243200},
    {"overall": 4.0, "reviewerID": "A2", "asin": "B001", "summary": "Nice", "reviewTime": "09 13, 2009"},
    {
        "overall": 1.0,
        "reviewerID": "A2",
        "asin": "B003",
        "unixReviewTime": 1420329600,
        "image": ["https://example.invalid/x.jpg"],
    },
    {
        "overall": 2.0,
        "reviewerID": "A3",
        "asin": "0000031852",
        "summary": "Fine",
        "reviewText": "Works",
        "unixReviewTime": 1420416000,
    },
    {
        "overall": 5.0,
        "reviewerID": "A3",
        "asin": "B999",
        "summary": "Gone",
        "reviewText": "Not in meta",
        "unixReviewTime": 1420502400,
    },
]

META = [
    {
        "asin": "B001",
        "title": "Book One",
        "description": ["Para one.", "", "Para two."],
        "category": ["Books", "Literature &amp; Fiction", " ", ""],
        "brand": "Acme",
        "feature": ["Hardcover", "Signed"],
        "also_buy": ["B002"],
        "rank": "1,234 in Books",
        "price": "$9.99",
    },
    {"asin": "B002", "title": "Book Two", "description": "A string description", "category": ["Books"]},
    {"asin": "B003", "title": "Gadget"},
    {"asin": "0000031852", "title": "Numbered", "category": ["Books", "Kids &amp; Teens"]},
    {"asin": "B001", "title": "Book One DUPLICATE", "category": ["Other"]},
    {"asin": "B004", "title": "Never reviewed", "brand": "Zed", "category": ["Toys"]},
]


def write_jsonl(path, records, *, compress=False):
    text = "".join(json.dumps(r) + "\n" for r in records)
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    reviews = write_jsonl(tmp_path / "reviews.jsonl.gz", REVIEWS, compress=True)
    meta = write_jsonl(tmp_path / "meta.jsonl", META)
    return reviews, meta


def test_load_with_meta_counts_ids_values(files):
    reviews, meta = files
    log = load_amazon(reviews, meta)
    inter = log.interactions
    assert len(log) == 5  # the B999 review is dropped
    assert log.n_users == 3
    assert log.n_items == 5  # B001, B002, B003, 0000031852, B004 (duplicate B001 row dropped)
    assert inter["user_id"].tolist() == ["A1", "A1", "A2", "A2", "A3"]
    assert inter["item_id"].tolist() == ["B001", "B002", "B001", "B003", "0000031852"]  # originals, leading zeros kept
    assert inter["value"].tolist() == [5.0, 3.0, 4.0, 1.0, 2.0]
    assert inter["event"].unique().tolist() == ["review"]
    assert log.has_timestamps
    assert inter["timestamp"].tolist() == [1420156800, 1420243200, SEP_13_2009, 1420329600, 1420416000]
    assert inter["timestamp"].dtype == "int64"


def test_review_text_composition(files):
    reviews, meta = files
    text = load_amazon(reviews, meta).interactions["text"]
    assert text.iloc[0] == "Great. Loved it"
    assert text.iloc[1] == "Okay book"
    assert text.iloc[2] == "Nice"
    assert pd.isna(text.iloc[3])
    assert text.iloc[4] == "Fine. Works"
    assert int(text.notna().sum()) == 4


def test_include_text_false(files):
    reviews, meta = files
    log = load_amazon(reviews, meta, include_text=False)
    assert int(log.interactions["text"].notna().sum()) == 0
    assert len(log) == 5


def test_catalog_fields_and_categories(files):
    reviews, meta = files
    log = load_amazon(reviews, meta)
    assert log.interest_fields == ("categories",)
    assert log.text_fields == ("title", "description", "feature", "brand")
    items = log.items.set_index("item_id")
    assert items.index.tolist() == ["0000031852", "B001", "B002", "B003", "B004"]
    assert items.loc["B001", "title"] == "Book One"  # the first of the duplicate rows wins
    assert items.loc["B001", "description"] == "Para one. Para two."
    assert items.loc["B002", "description"] == "A string description"
    assert items.loc["B003", "description"] == ""
    assert items.loc["B001", "feature"] == "Hardcover Signed"
    assert items.loc["B001", "brand"] == "Acme"
    assert items.loc["B002", "brand"] == ""
    assert items.loc["B001", "categories"] == ["Books", "Literature & Fiction"]
    assert items.loc["0000031852", "categories"] == ["Books", "Kids & Teens"]
    assert items.loc["B003", "categories"] == []
    assert items.loc["B004", "categories"] == ["Toys"]


def test_notes_record_missing_items_and_duplicate_meta(files):
    reviews, meta = files
    log = load_amazon(reviews, meta)
    assert len(log.notes) == 2
    missing, duplicate = log.notes
    assert "1 interactions" in missing and "'B999'" in missing and "line 6" in missing
    assert "1 duplicate product rows" in duplicate and "'B001'" in duplicate and "line 5" in duplicate


def test_missing_items_error(files):
    reviews, meta = files
    with pytest.raises(DataError, match="B999"):
        load_amazon(reviews, meta, missing_items="error")


def test_without_meta_builds_bare_catalog(files):
    reviews, _ = files
    log = load_amazon(reviews)
    assert len(log) == 6
    assert log.notes == ()
    assert log.n_items == 5
    assert sorted(log.items["item_id"]) == ["0000031852", "B001", "B002", "B003", "B999"]
    assert log.interest_fields == ()
    assert (log.items["title"] == "").all()


def test_identical_reviews_follow_duplicates_option(tmp_path):
    reviews = write_jsonl(tmp_path / "r.jsonl", [REVIEWS[0], REVIEWS[1], REVIEWS[0]])
    log = load_amazon(reviews)
    assert len(log) == 2
    assert len(log.notes) == 1 and "1 duplicate interaction rows" in log.notes[0] and "line 3" in log.notes[0]
    assert len(load_amazon(reviews, duplicates="keep")) == 3
    with pytest.raises(DataError, match="duplicate"):
        load_amazon(reviews, duplicates="error")


def test_malformed_line_names_line_number(tmp_path):
    path = tmp_path / "reviews.jsonl"
    lines = [json.dumps(REVIEWS[0]), json.dumps(REVIEWS[1]), '{"reviewerID": "A1", "asin": ', json.dumps(REVIEWS[2])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 3\b") as info:
        load_amazon(path)
    assert str(path) in str(info.value)


def test_malformed_gzip_line_names_line_number(tmp_path):
    path = tmp_path / "reviews.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(REVIEWS[0]) + "\n" + "not json\n")
    with pytest.raises(DataError, match=r"line 2\b"):
        load_amazon(path)


def test_python_dict_lines_refused_and_never_evaluated(tmp_path, monkeypatch):
    canary = tmp_path / "evaluated"
    path = tmp_path / "old_dump.json"
    evil = f"{{'reviewerID': 'A9', 'asin': open({str(canary)!r}, 'w').write('x'), 'overall': 5.0}}"
    path.write_text(json.dumps(REVIEWS[0]) + "\n" + evil + "\n", encoding="utf-8")

    def forbidden(*args, **kwargs):
        raise AssertionError("Python literals must never be evaluated")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(ast, "literal_eval", forbidden)
    with pytest.raises(DataError, match="not JSON lines") as info:
        load_amazon(path)
    assert "line 2" in str(info.value)
    assert not canary.exists()


def test_python_dict_meta_refused(tmp_path, files):
    reviews, _ = files
    meta = tmp_path / "meta_old.json"
    meta.write_text("{'asin': 'B001', 'title': 'x'}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"not JSON lines.*line 1\b"):
        load_amazon(reviews, meta)


def test_missing_asin_field_is_named(tmp_path):
    broken = [dict(r) for r in REVIEWS[:3]]
    del broken[1]["asin"]
    path = write_jsonl(tmp_path / "reviews.jsonl", broken)
    with pytest.raises(DataError, match=r"'asin'.*line 2\b"):
        load_amazon(path)


@pytest.mark.parametrize("field", ["reviewerID", "overall"])
def test_other_required_fields_are_named(tmp_path, field):
    broken = [{k: v for k, v in r.items() if k != field} for r in REVIEWS[:2]]
    path = write_jsonl(tmp_path / "reviews.jsonl", broken)
    with pytest.raises(DataError, match=repr(field)):
        load_amazon(path)


def test_missing_asin_in_meta_is_named(tmp_path, files):
    reviews, _ = files
    meta = write_jsonl(tmp_path / "meta.jsonl", [META[0], {"title": "no id"}])
    with pytest.raises(DataError, match=r"'asin'.*line 2\b"):
        load_amazon(reviews, meta)


def test_missing_time_fields(tmp_path):
    record = {k: v for k, v in REVIEWS[0].items() if k not in ("unixReviewTime", "reviewTime")}
    path = write_jsonl(tmp_path / "reviews.jsonl", [REVIEWS[1], record])
    with pytest.raises(DataError, match=r"unixReviewTime.*reviewTime.*line 2\b"):
        load_amazon(path)


def test_bad_review_time(tmp_path):
    record = {k: v for k, v in REVIEWS[0].items() if k != "unixReviewTime"} | {"reviewTime": "yesterday"}
    path = write_jsonl(tmp_path / "reviews.jsonl", [record])
    with pytest.raises(DataError, match=r"'reviewTime'.*'yesterday'.*line 1\b"):
        load_amazon(path)


def test_non_json_constants_rejected(tmp_path):
    path = tmp_path / "reviews.jsonl"
    path.write_text(
        '{"overall": NaN, "reviewerID": "A1", "asin": "B001", "unixReviewTime": 1420156800}\n', encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"line 1\b"):
        load_amazon(path)


def test_non_object_line_rejected(tmp_path):
    path = tmp_path / "reviews.jsonl"
    path.write_text(json.dumps(REVIEWS[0]) + "\n[1, 2]\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 2 is a JSON list"):
        load_amazon(path)


def test_bom_and_blank_lines_are_tolerated(tmp_path):
    path = tmp_path / "reviews.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(REVIEWS[0]) + "\n\n" + json.dumps(REVIEWS[1]) + "\n\n").encode())
    log = load_amazon(path)
    assert len(log) == 2
    assert log.interactions["item_id"].tolist() == ["B001", "B002"]


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_amazon(tmp_path / "nope.json.gz")


def test_invalid_utf8_names_line(tmp_path):
    path = tmp_path / "reviews.jsonl"
    path.write_bytes(
        (json.dumps(REVIEWS[0]) + "\n").encode()
        + b'{"overall": 5.0, "reviewerID": "A1", "asin": "\xff\xfe", "unixReviewTime": 1}\n'
    )
    with pytest.raises(DataError, match=r"line 2 is not valid UTF-8"):
        load_amazon(path)
