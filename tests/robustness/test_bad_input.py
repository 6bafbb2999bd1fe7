"""Bad input to the readers and the CLI: every broken file is refused with a DataError that names the file, the
column and the problem (CLI: exit 1, one line on stderr, no traceback, nothing written), and every odd but valid
file (a byte-order mark, huge, right-to-left or HTML text, IDs shared by users and items) is read intact.

The DataFrame-level checks live in tests/data/test_validation.py and the per-format ones in
tests/data/test_readers.py; this suite goes through files on disk, ``load_source(..., "csv")`` and
``interestgraph inspect / build / generate``, and fuzzes the CSV reader with hypothesis.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interestgraph.cli import main
from interestgraph.data.formats import load_source
from interestgraph.data.readers import read_log, read_table
from interestgraph.data.storage import load_dataset, save_dataset
from interestgraph.errors import DataError

HEADER = "user_id,item_id,timestamp,event,value,text\n"
GOOD_ROW = "u1,1,1700000000,rating,4,fine\n"
ITEMS = "item_id,title\n1,Alpha\n2,Beta\n3,Gamma\n"
BIG = 1 << 20  # a 1 MB cell


def _write(directory: Path, name: str, content: bytes | str) -> Path:
    path = directory / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def _load(path: Path, items: Path | None = None, **options):
    return load_source(path, "csv", items=items, **options).log


def _cli_error(capsys, *argv: str, verb: str = "inspect") -> str:
    """Run the CLI expecting a data error; return its one stderr line (without the prefix)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 1, captured.err
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"interestgraph {verb}: error: "), lines[0]
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    assert captured.out == ""
    return lines[0].removeprefix(f"interestgraph {verb}: error: ")


def _assert_valid_log(log) -> None:
    """The invariants of a validated log, whatever the input was."""
    inter = log.interactions
    assert len(inter) > 0
    assert list(inter.columns[:6]) == ["user_id", "item_id", "timestamp", "event", "value", "text"]
    users, items = log.user_codes(), log.item_codes()
    assert users.min() >= 0 and users.max() < log.n_users
    assert items.min() >= 0 and items.max() < log.n_items
    assert inter["item_id"].isin(log.items["item_id"]).all()
    assert not log.items["item_id"].duplicated().any()
    assert np.isfinite(inter["value"].to_numpy()).all()
    assert (inter["timestamp"].to_numpy() >= 0).all()
    assert (inter["timestamp"].to_numpy() <= time.time() + 2 * 86_400).all()
    assert (inter["event"].str.len() > 0).all()
    for column in ("user_id", "item_id"):
        values = inter[column]
        assert values.notna().all()
        if values.dtype == object or str(values.dtype) in ("str", "string"):
            assert (values.astype(str).str.strip() != "").all()


# ------------------------------------------------------------ refused inputs (reader and CLI)

# (file content, regex the DataError must match after the file name); every case is one bad thing on line 3.
BAD_EVENTS = {
    "cut-mid-field": (HEADER + GOOD_ROW + "u2,2,17000", r"column 'event' has 1 null or empty values \(line 3\)"),
    "fewer-columns": (
        HEADER + GOOD_ROW + "u2,2\n",
        r"column 'timestamp' has 1 missing or unparseable timestamps \(e\.g\. nan; line 3\)",
    ),
    "last-column-missing": (
        "user_id,item_id,value\nu1,1,4\nu2,2\n",
        r"column 'value' has 1 missing, NaN or infinite values \(line 3\)",
    ),
    "cut-inside-quotes": (
        HEADER + GOOD_ROW + 'u2,2,1700000001,tag,1,"half a review',
        r"cannot read as csv: .*EOF inside string starting at row 2",
    ),
    "semicolon-delimited": (
        "user_id;item_id;timestamp\nu1;1;1700000000\nu2;2;1700000001\n",
        r"missing required column\(s\) 'user_id', 'item_id' \(columns present: user_id;item_id;timestamp\); the header "
        r"looks ';'-delimited: pass sep=';'",
    ),
    "tab-in-a-csv": (
        "user_id\titem_id\nu1\t1\n",
        r"missing required column\(s\) 'user_id', 'item_id' \(columns present: user_id\\titem_id\); the header looks "
        r"'\\t'-delimited",
    ),
    "random-binary": (
        bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)),
        r"not valid utf-8\S* text at byte \d+; pass encoding=",
    ),
    "png-header": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        r"not valid utf-8\S* text at byte 0; pass encoding=",
    ),
    "nul-bytes": (
        b"\x00" * 200 + b"\n" + b"\x00" * 200,
        r"missing required column\(s\) 'user_id', 'item_id' \(columns present: (\\x00)+\.\.\.\)$",
    ),
    "latin-1-text": (
        (HEADER + GOOD_ROW + "Jos\xe9,2,1700000001,tag,1,tr\xe8s bien\n").encode("latin-1"),
        r"not valid utf-8\S* text at byte 76; pass encoding= \(e\.g\. 'latin-1'\)",
    ),
    "text-timestamp": (
        HEADER + GOOD_ROW + "u2,2,last tuesday,view,1,\n",
        r"column 'timestamp' has 1 missing or unparseable timestamps \(e\.g\. 'last tuesday'; line 3\)",
    ),
    "text-rating": (
        HEADER + GOOD_ROW + "u2,2,1700000001,rating,five stars,\n",
        r"column 'value' has 1 non-numeric values \(e\.g\. 'five stars'; line 3\)",
    ),
    "nan-rating": (
        HEADER + GOOD_ROW + "u2,2,1700000001,rating,NaN,\n",
        r"column 'value' has 1 non-numeric values \(e\.g\. 'NaN'; line 3\)",
    ),
    "inf-rating": (
        HEADER + GOOD_ROW + "u2,2,1700000001,rating,inf,\n",
        r"column 'value' has 1 missing, NaN or infinite values \(line 3\)",
    ),
    "minus-infinity-count": (
        HEADER + GOOD_ROW + "u2,2,1700000001,view,-Infinity,\n",
        r"column 'value' has 1 missing, NaN or infinite values \(line 3\)",
    ),
    "nan-timestamp": (
        HEADER + GOOD_ROW + "u2,2,nan,view,1,\n",
        r"column 'timestamp' has 1 missing or unparseable timestamps \(e\.g\. 'nan'; line 3\)",
    ),
    "inf-timestamp": (
        HEADER + GOOD_ROW + "u2,2,inf,view,1,\n",
        r"column 'timestamp' has 1 missing or unparseable timestamps \(e\.g\. inf; line 3\)",
    ),
    "negative-timestamp": (
        HEADER + GOOD_ROW + "u2,2,-1,view,1,\n",
        r"column 'timestamp' has 1 negative timestamps \(before 1970-01-01; line 3\)",
    ),
    "date-before-1970": (
        "user_id,item_id,timestamp\nu1,1,2024-01-01\nu2,2,1969-12-31T23:59:59Z\n",
        r"column 'timestamp' has 1 negative timestamps \(before 1970-01-01; line 3\)",
    ),
    "far-future-seconds": (
        HEADER + GOOD_ROW + "u2,2,32503680000,view,1,\n",
        r"column 'timestamp' has 1 timestamps in the future \(after \d{4}-\d\d-\d\dT[\d:]+Z; line 3\)$",
    ),
    "milliseconds": (
        HEADER + GOOD_ROW + "u2,2,1700000001000,view,1,\n",
        r"column 'timestamp' has 1 timestamps in the future .*line 3\); are they milliseconds\? pass "
        r"timestamp_unit='ms'",
    ),
    "huge-number-timestamp": (
        HEADER + GOOD_ROW + "u2,2,1e300,view,1,\n",
        r"column 'timestamp' has 1 timestamps in the future .*line 3\)",
    ),
    "25-digit-timestamp": (
        HEADER + GOOD_ROW + "u2,2,9999999999999999999999999,view,1,\n",
        r"column 'timestamp' has 1 timestamps in the future .*line 3\)",
    ),
    # past pandas' nanosecond range (2262): was an OutOfBoundsDatetime (CLI exit 2, no file named)
    "year-9999-date": (
        "user_id,item_id,timestamp\nu1,1,2024-01-01\nu2,2,9999-12-31\n",
        r"column 'timestamp' has 1 timestamps in the future \(after [^;]+; line 3\)$",
    ),
    "year-99999-date": (
        "user_id,item_id,timestamp\nu1,1,2024-01-01\nu2,2,99999-01-01\n",
        r"column 'timestamp' has 1 missing or unparseable timestamps \(e\.g\. '99999-01-01'; line 3\)",
    ),
    "zero-bytes": (b"", r"cannot read as csv: No columns to parse from file"),
    "blank-lines-only": ("\n\n\n", r"cannot read as csv: No columns to parse from file"),
    "header-only": (HEADER, r"no interactions left after validation \(the table has no rows\)"),
    "header-only-no-newline": (HEADER.strip(), r"no interactions left after validation \(the table has no rows\)"),
    "bom-then-nothing": (b"\xef\xbb\xbf", r"cannot read as csv: No columns to parse from file"),
    "header-without-ids": (
        "when,what\n1700000000,x\n",
        r"missing required column\(s\) 'user_id', 'item_id' \(columns present: when, what\)$",
    ),
    "whitespace-user-id": (
        HEADER + GOOD_ROW + "   ,2,1700000001,view,1,\n",
        r"column 'user_id' has 1 null or empty IDs \(line 3\)",
    ),
}


@pytest.mark.parametrize("content, message", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_bad_interactions_file_is_a_data_error_naming_the_problem(tmp_path, content, message):
    path = _write(tmp_path, "events.csv", content)
    with pytest.raises(DataError) as info:
        _load(path)
    text = str(info.value)
    assert text.startswith(f"{path}: "), text
    assert re.search(message, text), text
    assert "\n" not in text and len(text) < 500


@pytest.mark.parametrize("content, message", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_bad_interactions_file_in_the_cli_is_one_line_exit_1(tmp_path, capsys, content, message):
    path = _write(tmp_path, "events.csv", content)
    line = _cli_error(capsys, "inspect", str(path), "--format", "csv")
    line = line.split("; say which of your columns")[0]  # the CLI's --map hint (tests/cli/test_front_door.py)
    assert line.startswith(f"{path}: ") and re.search(message, line), line


GOOD_EVENTS = HEADER + GOOD_ROW + "u2,2,1700000001,view,1,\n"
BAD_CATALOGS = {
    "duplicate-item-id": (
        "item_id,title\n1,Alpha\n2,Beta\n1,Alpha again\n",
        r"column 'item_id' has 1 duplicate IDs \(e\.g\. 1; lines 2, 4\)",
    ),
    "duplicate-after-strip": (
        'item_id,title\nb7,Alpha\n" b7 ",Beta\n',
        r"column 'item_id' has 1 duplicate IDs \(e\.g\. 'b7'; lines 2, 3\)",
    ),
    "duplicate-unicode-id": (
        "item_id,title\nשלום,Alpha\n2,Beta\nשלום,Gamma\n",
        r"column 'item_id' has 1 duplicate IDs \(e\.g\. 'שלום'; lines 2, 4\)",
    ),
    "empty-item-id": ("item_id,title\n1,Alpha\n,Beta\n", r"column 'item_id' has 1 null or empty IDs \(line 3\)"),
    "no-item-id-column": (
        "id,title\n1,Alpha\n",
        r"missing required column\(s\) 'item_id' \(columns present: id, title\)",
    ),
    "semicolon-catalog": (
        "item_id;title\n1;Alpha\n",
        r"missing required column\(s\) 'item_id' \(columns present: item_id;title\)",
    ),
    "latin-1-title": ("item_id,title\n1,Caf\xe9\n".encode("latin-1"), r"not valid utf-8\S* text at byte 19"),
    "binary-catalog": (b"\xff\xfe\x00\x01" * 64, r"not valid utf-8\S* text at byte 0"),
    "zero-byte-catalog": (b"", r"cannot read as csv: No columns to parse from file"),
    "unclosed-quote-title": ('item_id,title\n1,Alpha\n2,"Beta', r"cannot read as csv: .*EOF inside string"),
}


@pytest.mark.parametrize("content, message", BAD_CATALOGS.values(), ids=BAD_CATALOGS.keys())
def test_bad_catalog_file_is_a_data_error_naming_the_catalog(tmp_path, capsys, content, message):
    events = _write(tmp_path, "events.csv", GOOD_EVENTS)
    items = _write(tmp_path, "items.csv", content)
    with pytest.raises(DataError) as info:
        _load(events, items)
    assert str(info.value).startswith(f"{items}: ") and re.search(message, str(info.value)), str(info.value)
    line = _cli_error(capsys, "inspect", str(events), "--format", "csv", "--items", str(items))
    assert line.startswith(f"{items}: ") and re.search(message, line), line


def test_header_only_catalog_names_the_unmatched_items(tmp_path):
    events = _write(tmp_path, "events.csv", GOOD_EVENTS)
    items = _write(tmp_path, "items.csv", "item_id,title\n")
    with pytest.raises(
        DataError,
        match=r"no interactions left after validation \(dropped 2 interactions refer to 2 items not in .*items\.csv "
        r"\(column 'item_id', e\.g\. 1, 2; lines 2, 3\)",
    ):
        _load(events, items)


def test_ms_unit_still_refuses_far_future_milliseconds(tmp_path):
    path = _write(tmp_path, "events.csv", "user_id,item_id,timestamp\nu1,1,1700000000000\nu2,2,32503680000000\n")
    with pytest.raises(DataError, match=r"1 timestamps in the future \(after [^;]+; line 3\)$"):
        read_log(path, timestamp_unit="ms")
    ok = _write(tmp_path, "ok.csv", "user_id,item_id,timestamp\nu1,1,1700000000500\n")
    assert read_log(ok, timestamp_unit="ms").interactions["timestamp"].tolist() == [1_700_000_000]


def test_error_messages_escape_control_characters_in_headers(tmp_path):
    # an escape sequence in a header must not reach the terminal raw
    path = _write(tmp_path, "events.csv", "\x1b[31mred\x1b[0m,\x07bell\n1,2\n")
    with pytest.raises(DataError) as info:
        _load(path)
    text = str(info.value)
    assert "\x1b" not in text and "\x07" not in text
    assert r"columns present: \x1b[31mred\x1b[0m, \x07bell" in text


# ------------------------------------------------------------ no partial output


def test_build_with_bad_input_writes_no_graph_directory(tmp_path, capsys):
    bad = _write(tmp_path, "events.csv", BAD_EVENTS["text-timestamp"][0])
    out = tmp_path / "graphs" / "g"
    line = _cli_error(
        capsys, "build", str(bad), "--format", "csv", "--encoder", "lexical", "--out", str(out), verb="build"
    )
    assert "column 'timestamp'" in line
    assert not out.exists()
    assert not (tmp_path / "graphs").exists() or not any((tmp_path / "graphs").iterdir())


def test_build_over_an_existing_graph_with_bad_input_keeps_the_old_one(tmp_path, capsys):
    bad = _write(tmp_path, "events.csv", BAD_EVENTS["year-9999-date"][0])
    out = tmp_path / "g"
    out.mkdir()
    (out / "marker.txt").write_text("old graph")
    (out / "manifest.json").write_text('{"format": "interestgraph-graph"}')  # --overwrite replaces only artifacts
    line = _cli_error(
        capsys,
        "build",
        str(bad),
        "--format",
        "csv",
        "--encoder",
        "lexical",
        "--out",
        str(out),
        "--overwrite",
        verb="build",
    )
    assert "timestamps in the future" in line
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".g", "g"))] == ["g"]
    assert (out / "marker.txt").read_text() == "old graph"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--n-users", "0"], "n_users must be >= 1, got 0"),
        (["--n-events", "-10"], "n_interactions must be >= 1, got -10"),
    ],
)
def test_generate_with_bad_sizes_writes_nothing(tmp_path, capsys, flags, message):
    out = tmp_path / "ds"
    code = main(["generate", "--out", str(out), "--n-users", "5", "--n-items", "5", "--n-events", "10", *flags])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0] and err[0].startswith("interestgraph generate: error: ")
    assert list(tmp_path.iterdir()) == []


def test_generate_failing_mid_write_leaves_no_directory(tmp_path, capsys, monkeypatch):
    from interestgraph.data import storage

    def half_write(log, directory):
        (directory / "interactions.parquet").write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage, "write_log_tables", half_write)
    out = tmp_path / "ds"
    line = _cli_error(
        capsys, "generate", "--out", str(out), "--n-users", "5", "--n-items", "5", "--n-events", "60", verb="generate"
    )
    assert "No space left on device" in line
    assert list(tmp_path.iterdir()) == []  # neither DIR nor its staging directory


# ------------------------------------------------------------ accepted inputs


def test_bom_in_events_and_catalog_with_quoted_header(tmp_path):
    bom = b"\xef\xbb\xbf"
    events = _write(
        tmp_path, "events.csv", bom + b'"user_id","item_id","timestamp"\nu1,1,1700000000\nu2,2,1700000001\n'
    )
    items = _write(tmp_path, "items.csv", bom + ITEMS.encode())
    table, _, _ = read_table(events)
    assert list(table.columns) == ["user_id", "item_id", "timestamp"]
    catalog, _, _ = read_table(items)
    assert catalog.columns[0] == "item_id"
    log = _load(events, items)
    assert log.interactions["user_id"].tolist() == ["u1", "u2"]
    assert log.interactions["item_id"].tolist() == [1, 2]
    assert log.interactions["timestamp"].tolist() == [1_700_000_000, 1_700_000_001]
    assert log.items["title"].tolist() == ["Alpha", "Beta", "Gamma"]
    assert not any("\ufeff" in str(c) for c in (*log.interactions.columns, *log.items.columns))


def test_bom_in_a_mapped_csv(tmp_path):
    events = _write(tmp_path, "events.csv", b"\xef\xbb\xbfcustomer,sku\nc1,s1\n")
    log = _load(events, columns={"user_id": "customer", "item_id": "sku"})
    assert log.interactions[["user_id", "item_id"]].values.tolist() == [["c1", "s1"]]


@pytest.mark.parametrize("field", ["title", "text", "user_id"])
def test_one_megabyte_cells_are_read_whole(tmp_path, field, capsys):
    big = "x" * (BIG - 7) + "<é>טקסט"
    events_text = HEADER + GOOD_ROW.replace("fine", big if field == "text" else "fine").replace(
        "u1", big if field == "user_id" else "u1", 1
    )
    items_text = ITEMS.replace("Alpha", big if field == "title" else "Alpha")
    events = _write(tmp_path, "events.csv", events_text)
    items = _write(tmp_path, "items.csv", items_text)
    log = _load(events, items)
    if field == "title":
        assert log.items["title"].iloc[0] == big
    elif field == "text":
        assert log.interactions["text"].iloc[0] == big
    else:
        assert log.interactions["user_id"].iloc[0] == big and log.n_users == 1
    assert main(["inspect", str(events), "--format", "csv", "--items", str(items)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "1 users, 3 items" in captured.out and len(captured.out) < 2000


RTL_AND_CONTROL_IDS = ["\u202eevil.exe", "שלום", "مستخدم\u200f", "a\u200bb", "😀", "Ünïcödé"]


def test_unicode_rtl_and_zero_width_ids_round_trip_through_csv_and_a_dataset(tmp_path, capsys):
    users = RTL_AND_CONTROL_IDS
    items = ["מוצר", "منتج\u202b", "\u2066iso\u2069", "日本", "x\u200dy", "<i>"]
    titles = ["כותרת עם (סוגריים) 2020", "عنوان «مقتبس»", "\u202etxt.exe", "タイトル", "🎬 émoji", "<b>bold</b>"]
    rows = [
        (u, i, str(1_700_000_000 + k), "tag", "1", f"<script>alert({k})</script> {u}")
        for k, (u, i) in enumerate(zip(users, items))
    ]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        [("user_id", "item_id", "timestamp", "event", "value", "text"), *rows]
    )
    events = _write(tmp_path, "events.csv", buffer.getvalue())
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([("item_id", "title"), *zip(items, titles)])
    catalog = _write(tmp_path, "items.csv", buffer.getvalue())
    log = _load(events, catalog)
    assert log.interactions["user_id"].tolist() == users
    assert log.interactions["item_id"].tolist() == items
    assert log.interactions["text"].tolist() == [r[5] for r in rows]
    assert dict(zip(log.items["item_id"], log.items["title"])) == dict(zip(items, titles))
    assert sorted(log.user_ids.tolist()) == sorted(users) and log.n_items == len(items)
    again = load_dataset(save_dataset(log, tmp_path / "ds"))
    assert again.interactions["user_id"].tolist() == users
    assert again.interactions["text"].tolist() == log.interactions["text"].tolist()
    assert again.items["title"].tolist() == log.items["title"].tolist()
    assert main(["inspect", str(events), "--format", "csv", "--items", str(catalog), "--json"]) == 0
    assert capsys.readouterr().err == ""


def test_html_and_script_in_titles_are_plain_text(tmp_path):
    titles = ['<script>alert("x")</script>', "<img src=x onerror=alert(1)>", "Tom &amp; Jerry &lt;3", "</td></tr><!--"]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([("item_id", "title"), *enumerate(titles, start=1)])
    events = _write(tmp_path, "events.csv", "user_id,item_id\n<u>,1\n<u>,2\n&amp;,3\n&amp;,4\n")
    items = _write(tmp_path, "items.csv", buffer.getvalue())
    log = _load(events, items)
    assert log.items["title"].tolist() == titles  # neither escaped nor stripped
    assert log.interactions["user_id"].tolist() == ["<u>", "<u>", "&amp;", "&amp;"]


def test_user_and_item_ids_that_collide_are_kept_apart(tmp_path):
    from interestgraph.encoder.lexical import LexicalEncoder
    from interestgraph.graph.build import build_interest_graph

    events = _write(
        tmp_path,
        "events.csv",
        "user_id,item_id,timestamp,event\n1,1,1700000000,view\n1,2,1700000001,view\n2,1,1700000002,view\n3,3,1700000003,view\n2,3,1700000004,view\n",
    )
    items = _write(tmp_path, "items.csv", "item_id,title,genres\n1,One,a|b\n2,Two,b\n3,Three,c\n")
    log = _load(events, items, list_fields={"genres": "|"})
    assert log.user_ids.tolist() == [1, 2, 3] and log.item_ids.tolist() == [1, 2, 3]
    assert log.user_codes().tolist() == [0, 0, 1, 2, 1]
    assert log.item_codes().tolist() == [0, 1, 0, 2, 2]
    graph = build_interest_graph(log, encoder=LexicalEncoder())
    counts = graph.counts()
    assert counts["nodes"]["user"] == 3 and counts["nodes"]["item"] == 3
    assert counts["edges"]["user-item"] == 5  # user 1 -> item 1 is an edge, not a self-loop folded away


def test_text_ids_equal_across_types_are_kept_apart(tmp_path):
    events = _write(tmp_path, "events.csv", "user_id,item_id\nabc,abc\nxyz,abc\nabc,xyz\n")
    log = _load(events)
    assert log.n_users == 2 and log.n_items == 2 and len(log) == 3
    assert log.interactions[["user_id", "item_id"]].values.tolist() == [["abc", "abc"], ["xyz", "abc"], ["abc", "xyz"]]


# ------------------------------------------------------------ property-based fuzzing of the CSV reader

_FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _read_or_data_error(events: bytes, items: bytes | None = None, **options) -> None:
    """Read the bytes as CSV files: a valid log or a DataError naming a file; any other exception fails."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "events.csv", events)
        items_path = None if items is None else _write(Path(tmp), "items.csv", items)
        try:
            log = _load(path, items_path, **options)
        except DataError as exc:
            text = str(exc)
            assert text.startswith((f"{path}: ", f"{items_path}: ")), text
            assert "\n" not in text and "\x00" not in text and len(text) < 2000, text[:300]
            return
        _assert_valid_log(log)


@_FUZZ
@given(st.binary(max_size=2048))
def test_fuzz_random_bytes(data):
    _read_or_data_error(data)


@_FUZZ
@given(st.binary(max_size=512))
def test_fuzz_random_bytes_after_a_valid_header(data):
    _read_or_data_error(HEADER.encode() + data)


_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "1",
            "007",
            "-1",
            "0",
            "1.5",
            "1e308",
            "-1e309",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "NA",
            "null",
            "1700000000",
            "1700000000000",
            "2024-02-30",
            "2024-03-01T12:00:00Z",
            "9999-12-31",
            "0001-01-01",
            "rating",
            "view",
            "RATING",
            "true",
            '"',
            '""',
            ",",
            ";",
            "\t",
            "\r",
            "\n",
            "\u202e",
            "\ufeff",
            "\x00",
            "<script>",
            "שלום",
            "😀",
            "9223372036854775808",
            "-9223372036854775809",
            "1,5",
        ]
    ),
    st.text(max_size=6),
)
_COLUMNS = st.sampled_from(
    ["user_id", "item_id", "timestamp", "event", "value", "text", "title", "extra", "", "user_id "]
)


@_FUZZ
@given(
    header=st.just(HEADER.strip().split(",")) | st.lists(_COLUMNS, min_size=1, max_size=7),
    rows=st.lists(st.lists(_CELLS, min_size=0, max_size=8), max_size=8),
    quoted=st.booleans(),
)
def test_fuzz_small_tables(header, rows, quoted):
    buffer = io.StringIO()
    if quoted:  # well-formed CSV (every cell quoted as needed) with odd values
        csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    else:  # cells pasted with commas: broken quoting, ragged rows, embedded newlines
        buffer.write("\n".join(",".join(row) for row in [header, *rows]))
    _read_or_data_error(buffer.getvalue().encode("utf-8", errors="surrogatepass"))


@_FUZZ
@given(
    ids=st.lists(st.sampled_from(["1", "2", "3", " 1", "01", "", "a", "1.0", "\u202e1", "2 "]), min_size=1, max_size=6),
    titles=st.lists(_CELLS, min_size=6, max_size=6),
    genres=st.lists(st.sampled_from(["", "a|b", "|", "||x", "a", "<b>|c"]), min_size=6, max_size=6),
)
def test_fuzz_small_catalogs(ids, titles, genres):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([("item_id", "title", "genres"), *zip(ids, titles, genres)])
    events = "user_id,item_id,timestamp\nu1,1,1700000000\nu2,2,1700000001\nu3,a,1700000002\n"
    _read_or_data_error(
        events.encode(), buffer.getvalue().encode("utf-8", errors="surrogatepass"), list_fields={"genres": "|"}
    )
