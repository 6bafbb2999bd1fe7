"""read_table / read_log on every supported file format, and their errors (always DataError, never a pandas one)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from interestgraph.data.readers import infer_format, read_log, read_table, split_list_fields
from interestgraph.errors import DataError

EVENTS_CSV = (
    "user_id,item_id,timestamp,event,value\n"
    "u1,10,1700000000,rating,4.5\nu1,11,1700000100,view,2\nu2,10,1700000200,rating,3\n"
)
ITEMS_CSV = "item_id,title,genres\n10,Alpha,Drama|Comedy\n11,Beta,\n12,Gamma,War\n"


def _check_standard_log(log):
    inter = log.interactions
    assert inter["user_id"].tolist() == ["u1", "u1", "u2"]
    assert inter["item_id"].tolist() == [10, 11, 10]
    assert inter["timestamp"].tolist() == [1_700_000_000, 1_700_000_100, 1_700_000_200]
    assert inter["event"].tolist() == ["rating", "view", "rating"]
    assert inter["value"].tolist() == [4.5, 2.0, 3.0]
    assert log.has_timestamps


def _write_jsonl(path, records, *, compress=False):
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")


EVENT_RECORDS = [
    {"user_id": "u1", "item_id": 10, "timestamp": 1700000000, "event": "rating", "value": 4.5},
    {"user_id": "u1", "item_id": 11, "timestamp": 1700000100, "event": "view", "value": 2},
    {"user_id": "u2", "item_id": 10, "timestamp": 1700000200, "event": "rating", "value": 3},
]


# ------------------------------------------------------------------------ formats


def test_csv_with_catalog_and_list_field(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS_CSV)
    (tmp_path / "items.csv").write_text(ITEMS_CSV)
    log = read_log(tmp_path / "events.csv", tmp_path / "items.csv", list_fields={"genres": "|"})
    _check_standard_log(log)
    assert log.source == str(tmp_path / "events.csv")
    assert log.items["item_id"].tolist() == [10, 11, 12]
    assert log.items["title"].tolist() == ["Alpha", "Beta", "Gamma"]
    assert log.items["genres"].tolist() == [["Drama", "Comedy"], [], ["War"]]
    assert log.interest_fields == ("genres",)
    assert log.n_items == 3 and log.n_users == 2


def test_tsv(tmp_path):
    (tmp_path / "events.tsv").write_text(EVENTS_CSV.replace(",", "\t"))
    _check_standard_log(read_log(tmp_path / "events.tsv"))


def test_csv_with_custom_sep(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS_CSV.replace(",", ";"))
    _check_standard_log(read_log(tmp_path / "events.csv", sep=";"))


def test_explicit_format_overrides_the_name(tmp_path):
    (tmp_path / "events.txt").write_text(EVENTS_CSV)
    _check_standard_log(read_log(tmp_path / "events.txt", format="csv"))


def test_parquet(tmp_path):
    pd.DataFrame(EVENT_RECORDS).to_parquet(tmp_path / "events.parquet")
    pd.DataFrame(
        {"item_id": [10, 11, 12], "title": ["Alpha", "Beta", "Gamma"], "genres": [["Drama", "Comedy"], [], ["War"]]}
    ).to_parquet(tmp_path / "items.parquet")
    log = read_log(tmp_path / "events.parquet", tmp_path / "items.parquet", list_fields={"genres": None})
    _check_standard_log(log)
    assert log.items["genres"].tolist() == [["Drama", "Comedy"], [], ["War"]]
    # list columns are detected without list_fields too
    log2 = read_log(tmp_path / "events.parquet", tmp_path / "items.parquet")
    assert log2.interest_fields == ("genres",)
    assert log2.items["genres"].tolist() == [["Drama", "Comedy"], [], ["War"]]


def test_jsonl(tmp_path):
    _write_jsonl(tmp_path / "events.jsonl", EVENT_RECORDS)
    _write_jsonl(
        tmp_path / "items.ndjson",
        [
            {"item_id": 10, "title": "Alpha", "genres": ["Drama", "Comedy"]},
            {"item_id": 11, "title": "Beta", "genres": []},
        ],
    )
    log = read_log(tmp_path / "events.jsonl", tmp_path / "items.ndjson")
    _check_standard_log(log)
    assert log.items["genres"].tolist() == [["Drama", "Comedy"], []]


def test_gzipped_jsonl(tmp_path):
    _write_jsonl(tmp_path / "events.jsonl.gz", EVENT_RECORDS, compress=True)
    _check_standard_log(read_log(tmp_path / "events.jsonl.gz"))


def test_gzipped_csv(tmp_path):
    with gzip.open(tmp_path / "events.csv.gz", "wt") as handle:
        handle.write(EVENTS_CSV)
    _check_standard_log(read_log(tmp_path / "events.csv.gz"))


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("a.csv", "csv"),
        ("a.CSV.GZ", "csv"),
        ("a.tsv", "tsv"),
        ("a.tab", "tsv"),
        ("a.parquet", "parquet"),
        ("a.pq", "parquet"),
        ("a.jsonl", "jsonl"),
        ("a.json.gz", "jsonl"),
        ("a.ndjson", "jsonl"),
    ],
)
def test_infer_format(name, fmt):
    assert infer_format(name) == fmt


def test_read_table_returns_line_offsets(tmp_path):
    (tmp_path / "e.csv").write_text(EVENTS_CSV)
    _write_jsonl(tmp_path / "e.jsonl", EVENT_RECORDS)
    pd.DataFrame(EVENT_RECORDS).to_parquet(tmp_path / "e.parquet")
    assert read_table(tmp_path / "e.csv")[1:] == (2, str(tmp_path / "e.csv"))
    assert read_table(tmp_path / "e.jsonl")[1] == 1
    assert read_table(tmp_path / "e.parquet")[1] is None
    frame = pd.DataFrame(EVENT_RECORDS)
    table, offset, name = read_table(frame)
    assert offset is None and name == "dataframe" and table is frame


def test_jsonl_errors_give_line_numbers(tmp_path):
    records = [dict(r) for r in EVENT_RECORDS]
    records[2]["timestamp"] = "not a time"
    _write_jsonl(tmp_path / "events.jsonl", records)
    with pytest.raises(
        DataError, match=r"events\.jsonl: column 'timestamp' has 1 missing or unparseable timestamps .*line 3\)"
    ):
        read_log(tmp_path / "events.jsonl")


def test_tsv_errors_give_line_numbers(tmp_path):
    (tmp_path / "events.tsv").write_text("user_id\titem_id\nu1\t1\n\t2\n")
    with pytest.raises(DataError, match=r"events\.tsv: column 'user_id' has 1 null or empty IDs \(line 3\)"):
        read_log(tmp_path / "events.tsv")


# ----------------------------------------------------------------- column mapping


def test_column_mapping(tmp_path):
    (tmp_path / "events.csv").write_text(
        "customer,sku,ts,action,extra\nc1,A-1,2024-03-01,Purchase,x\nc2,B-2,2024-03-02T00:00:00Z,view,y\n"
    )
    (tmp_path / "items.csv").write_text("sku,name,cats\nA-1,Lamp,home;light\nB-2,Desk,home\n")
    log = read_log(
        tmp_path / "events.csv",
        tmp_path / "items.csv",
        columns={"user_id": "customer", "item_id": "sku", "timestamp": "ts", "event": "action"},
        item_columns={"item_id": "sku", "title": "name"},
        list_fields={"cats": ";"},
    )
    assert list(log.interactions.columns) == ["user_id", "item_id", "timestamp", "event", "value", "text"]
    assert log.interactions["user_id"].tolist() == ["c1", "c2"]
    assert log.interactions["item_id"].tolist() == ["A-1", "B-2"]
    assert log.interactions["timestamp"].tolist() == [1_709_251_200, 1_709_337_600]
    assert log.interactions["event"].tolist() == ["purchase", "view"]
    assert log.items["title"].tolist() == ["Lamp", "Desk"]
    assert log.items["cats"].tolist() == [["home", "light"], ["home"]]
    assert log.interest_fields == ("cats",)


def test_mapping_that_names_a_missing_column(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS_CSV)
    with pytest.raises(
        DataError,
        match=r"events\.csv: column mapping names missing column\(s\) 'customer' \(for 'user_id'\) \(columns present: "
        r"user_id, item_id, timestamp, event, value\)",
    ):
        read_log(tmp_path / "events.csv", columns={"user_id": "customer"})


def test_item_mapping_that_names_a_missing_column(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS_CSV)
    (tmp_path / "items.csv").write_text(ITEMS_CSV)
    with pytest.raises(DataError, match=r"items\.csv: column mapping names missing column\(s\) 'name' \(for 'title'\)"):
        read_log(tmp_path / "events.csv", tmp_path / "items.csv", item_columns={"title": "name"})


def test_list_field_that_is_not_a_column(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS_CSV)
    (tmp_path / "items.csv").write_text(ITEMS_CSV)
    with pytest.raises(DataError, match=r"items\.csv: list field 'tags' is not a column"):
        read_log(tmp_path / "events.csv", tmp_path / "items.csv", list_fields={"tags": "|"})


def test_list_fields_need_a_catalog(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS_CSV)
    with pytest.raises(ValueError, match="list_fields needs an items catalog"):
        read_log(tmp_path / "events.csv", list_fields={"genres": "|"})


def test_split_list_fields_directly():
    table = pd.DataFrame({"item_id": [1, 2, 3, 4], "tags": ["a|b", None, ["x", "y"], "solo"]})
    out = split_list_fields(table, {"tags": "|"}, "t")
    assert out["tags"].tolist() == [["a", "b"], [], ["x", "y"], ["solo"]]
    assert table["tags"].tolist()[0] == "a|b"  # input untouched
    out2 = split_list_fields(pd.DataFrame({"item_id": [1], "kw": ["a, b ,c"]}), {"kw": ","}, "t")
    assert out2["kw"].tolist() == [["a", " b ", "c"]]  # stripped later, by from_frames


def test_delimiter_on_parquet_list_column_is_harmless(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS_CSV)
    pd.DataFrame(
        {"item_id": [10, 11], "title": ["Alpha", "Beta"], "genres": [["Drama", "Comedy"], ["War"]]}
    ).to_parquet(tmp_path / "items.parquet")
    log = read_log(tmp_path / "events.csv", tmp_path / "items.parquet", list_fields={"genres": "|"})
    assert log.items["genres"].tolist() == [["Drama", "Comedy"], ["War"]]


# ---------------------------------------------------------------------- encodings


def test_utf8_bom_is_skipped(tmp_path):
    (tmp_path / "events.csv").write_bytes(b"\xef\xbb\xbf" + EVENTS_CSV.encode("utf-8"))
    table, _, _ = read_table(tmp_path / "events.csv")
    assert table.columns[0] == "user_id"
    _check_standard_log(read_log(tmp_path / "events.csv"))


def test_latin1_bytes_in_utf8_file(tmp_path):
    path = tmp_path / "items.csv"
    path.write_bytes("item_id,title\n1,Caf\xe9 au lait (1994)\n".encode("latin-1"))
    with pytest.raises(
        DataError, match=r"items\.csv: not valid utf-8\S* text at byte 19; pass encoding= \(e\.g\. 'latin-1'\)"
    ):
        read_table(path)
    table, _, _ = read_table(path, encoding="latin-1")
    assert table["title"].tolist() == ["Café au lait (1994)"]


def test_read_log_with_latin1(tmp_path):
    (tmp_path / "events.csv").write_bytes("user_id,item_id,text\nJosé,1,très bien\n".encode("latin-1"))
    with pytest.raises(DataError, match="pass encoding="):
        read_log(tmp_path / "events.csv")
    log = read_log(tmp_path / "events.csv", encoding="latin-1")
    assert log.interactions["user_id"].tolist() == ["José"]
    assert log.interactions["text"].tolist() == ["très bien"]


# ------------------------------------------------------------------- bad files


def test_unknown_suffix(tmp_path):
    (tmp_path / "events.xlsx").write_text("x")
    with pytest.raises(DataError, match=r"events\.xlsx: cannot tell the table format from the file name; pass format="):
        read_table(tmp_path / "events.xlsx")


def test_unknown_format_argument(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS_CSV)
    with pytest.raises(ValueError, match="format must be one of"):
        read_table(tmp_path / "events.csv", format="xml")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_log(tmp_path / "nope.csv")
    (tmp_path / "events.csv").write_text(EVENTS_CSV)
    with pytest.raises(DataError, match=r"items\.csv: no such file"):
        read_log(tmp_path / "events.csv", tmp_path / "items.csv")


def test_directory_is_not_a_file(tmp_path):
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataError, match=r"d\.csv: no such file"):
        read_table(tmp_path / "d.csv")


@pytest.mark.parametrize(
    "content, message",
    [
        (b'user_id,item_id\n1,2\n"3,4\n', r"cannot read as csv: Error tokenizing data.*EOF inside string"),
        (
            b"user_id,item_id\n1,2\n3,4,5,6\n",
            r"cannot read as csv: Error tokenizing data.*Expected 2 fields in line 3, saw 4",
        ),
        (b"", r"cannot read as csv: No columns to parse from file"),
        (bytes(range(256)) * 4, r"not valid utf-8\S* text at byte 128"),
    ],
    ids=["unclosed-quote", "extra-fields", "empty", "binary"],
)
def test_garbage_csv_is_a_data_error(tmp_path, content, message):
    path = tmp_path / "events.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_log(path)


def test_truncated_csv_row_is_caught_by_validation(tmp_path):
    (tmp_path / "events.csv").write_text("user_id,item_id,timestamp\n1,2,1700000000\n3,")
    with pytest.raises(DataError, match=r"events\.csv: column 'item_id' has 1 null or empty IDs \(line 3\)"):
        read_log(tmp_path / "events.csv")


def test_garbage_gzip_and_truncated_gzip(tmp_path):
    (tmp_path / "a.csv.gz").write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match=r"a\.csv\.gz: cannot read as csv: Not a gzipped file"):
        read_table(tmp_path / "a.csv.gz")
    (tmp_path / "b.jsonl.gz").write_bytes(
        gzip.compress(("\n".join(json.dumps(r) for r in EVENT_RECORDS * 20)).encode())[:-12]
    )
    with pytest.raises(DataError, match=r"b\.jsonl\.gz: cannot read as jsonl: .*end-of-stream"):
        read_table(tmp_path / "b.jsonl.gz")


def test_garbage_parquet(tmp_path):
    (tmp_path / "a.parquet").write_bytes(bytes(range(256)))
    with pytest.raises(DataError, match=r"a\.parquet: cannot read as parquet: .*"):
        read_table(tmp_path / "a.parquet")


def test_malformed_json_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"user_id": 1, "item_id": 2}\n{"user_id": 1, "item_id": \n{"user_id": 3, "item_id": 4}\n')
    with pytest.raises(DataError, match=r"events\.jsonl: cannot read as jsonl: "):
        read_log(path)


# ------------------------------------------------------------------- text fidelity

UNICODE_TITLES = [
    "مرحبا بالعالم (2020)",
    "שלום עולם: סרט",
    "日本語のタイトル",
    "Ünïcödé ✓ 🎬 naïve café",
    "mixed עברית and العربية text",
]
UNICODE_TAGS = [["دراما", "كوميديا"], ["קומדיה"], ["アニメ", "日本"], ["émoji 🎬"], ["עברית", "العربية"]]
HTML_TITLE = "<script>alert(\"x\")</script> & <b>Bold</b> &amp; 'quoted'"


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_unicode_rtl_and_html_survive_the_round_trip(tmp_path, fmt):
    titles = UNICODE_TITLES + [HTML_TITLE]
    tags = UNICODE_TAGS + [["<i>tag</i>", "a&b"]]
    ids = list(range(1, len(titles) + 1))
    events = pd.DataFrame(
        {
            "user_id": ["محمد", "דוד", "<u>", "محمد", "דוד", "<u>"],
            "item_id": ids,
            "event": "tag",
            "text": ["رائع", "מצוין", "<b>wow</b>", "ok", "ok", "ok"],
        }
    )
    if fmt == "csv":
        items = pd.DataFrame({"item_id": ids, "title": titles, "tags": ["|".join(t) for t in tags]})
        events.to_csv(tmp_path / "events.csv", index=False, encoding="utf-8")
        items.to_csv(tmp_path / "items.csv", index=False, encoding="utf-8")
        list_fields = {"tags": "|"}
    elif fmt == "parquet":
        events.to_parquet(tmp_path / "events.parquet")
        pd.DataFrame({"item_id": ids, "title": titles, "tags": tags}).to_parquet(tmp_path / "items.parquet")
        list_fields = {"tags": None}
    else:
        _write_jsonl(tmp_path / "events.jsonl", events.to_dict("records"))
        _write_jsonl(
            tmp_path / "items.jsonl", [{"item_id": i, "title": t, "tags": g} for i, t, g in zip(ids, titles, tags)]
        )
        list_fields = {"tags": None}
    log = read_log(tmp_path / f"events.{fmt}", tmp_path / f"items.{fmt}", list_fields=list_fields)
    assert log.items["title"].tolist() == titles
    assert log.items["tags"].tolist() == tags
    assert log.interactions["user_id"].tolist() == events["user_id"].tolist()
    assert log.interactions["text"].tolist() == events["text"].tolist()
    assert log.items["title"].iloc[-1] == HTML_TITLE  # no escaping at this layer


def test_na_like_strings_are_kept_as_text(tmp_path):
    (tmp_path / "events.csv").write_text("user_id,item_id,event,text\nNA,1,tag,null\nu2,2,tag,None\n")
    (tmp_path / "items.csv").write_text("item_id,title\n1,NaN\n2,N/A\n")
    log = read_log(tmp_path / "events.csv", tmp_path / "items.csv")
    assert log.interactions["user_id"].tolist() == ["NA", "u2"]
    assert log.interactions["text"].tolist() == ["null", "None"]
    assert log.items["title"].tolist() == ["NaN", "N/A"]


def test_leading_zero_ids_are_kept_as_given(tmp_path):
    (tmp_path / "events.csv").write_text("user_id,item_id\nu1,007\nu2,012\n")
    _write_jsonl(tmp_path / "items.jsonl", [{"item_id": "007", "title": "x"}, {"item_id": "012", "title": "y"}])
    log = read_log(tmp_path / "events.csv", tmp_path / "items.jsonl", missing_items="error")
    assert log.interactions["item_id"].tolist() == ["007", "012"]


def test_dataframe_sources_need_no_file(tmp_path):
    frame = pd.DataFrame({"who": ["a", "b"], "what": [1, 2], "when": np.array([1, 2], dtype=np.int64)})
    log = read_log(frame, columns={"user_id": "who", "item_id": "what", "timestamp": "when"})
    assert log.source == "dataframe"
    assert log.interactions["timestamp"].tolist() == [1, 2]
    assert list(frame.columns) == ["who", "what", "when"]  # renaming does not touch the input
