"""What the CLI prints as text: a repeated ``--user`` refused, control characters escaped, ``--encoding``."""

from __future__ import annotations

import json

import pytest

from interestgraph.cli import main


@pytest.mark.parametrize("verb", ["recommend", "explain"])
def test_repeated_user_is_a_usage_error_pointing_to_users_file(saved, capsys, verb):
    root, _, model = saved
    a, b = (str(u) for u in model.user_ids[:2])
    extra = ["--item", str(model.item_ids[0])] if verb == "explain" else []
    with pytest.raises(SystemExit) as exc:
        main([verb, str(root / "m"), "--user", a, "--user", b, *extra])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "--user given more than once" in err and "--users FILE" in err
    assert repr(a) in err and repr(b) in err


def test_single_user_still_recommends(saved, capsys):
    root, _, model = saved
    user = str(model.user_ids[0])
    assert main(["recommend", str(root / "m"), "--user", user, "-k", "3", "--json"]) == 0


ESC = "\x1b[31m"  # an ANSI colour code


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A model whose titles hold an ANSI colour code and a carriage return, and one user ID an ANSI code."""
    root = tmp_path_factory.mktemp("hostile")
    events = ["user_id,item_id,rating"]
    for u in range(12):
        events += [f"{'u' + ESC + str(u) if u == 0 else f'u{u}'},{(u + j) % 10},4" for j in range(5)]
    (root / "events.csv").write_text("\n".join(events) + "\n")
    items = ["item_id,title,genres"] + [f'{i},"Film{ESC}{i}\rX",{"a|b" if i % 2 else "c|d"}' for i in range(10)]
    (root / "items.csv").write_text("\n".join(items) + "\n")
    source = ["--format", "csv", "--items", str(root / "items.csv"), "--list-field", "genres"]
    assert main(["build", str(root / "events.csv"), *source, "--encoder", "lexical", "--out", str(root / "g")]) == 0
    assert main(["train", str(root / "g"), "--out", str(root / "m"), "--epochs", "1", "--dim", "4"]) == 0
    (root / "users.txt").write_text(f"u{ESC}0\nu1\n")
    return root


def _text(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["recommend", "{m}", "--user", "u" + ESC + "0", "-k", "3"],
        ["recommend", "{m}", "--users", "{users}", "-k", "3"],
        ["explain", "{m}", "--user", "u" + ESC + "0", "--item", "1"],
        ["explain", "{m}", "--users", "{users}", "--item", "1"],
    ],
    ids=["recommend", "recommend-batch", "explain", "explain-batch"],
)
def test_control_characters_in_titles_and_ids_are_escaped_in_text_output(hostile, capsys, argv):
    capsys.readouterr()
    out = _text(capsys, *(a.format(m=hostile / "m", users=hostile / "users.txt") for a in argv))
    assert "\x1b" not in out and "\r" not in out
    assert "\\x1b[31m" in out
    if argv == ["recommend", "{m}", "--user", "u" + ESC + "0", "-k", "3"]:
        assert "\\r" in out  # the titles, escaped (batch rows fold whitespace in titles to a space)


def test_json_output_keeps_the_characters_themselves(hostile, capsys):
    capsys.readouterr()
    data = json.loads(_text(capsys, "recommend", str(hostile / "m"), "--user", "u" + ESC + "0", "-k", "3", "--json"))
    assert data and all(r["title"] == f"Film{ESC}{r['item']}\rX" for r in data)


def test_terminal_text_escapes_controls_but_keeps_layout():
    from interestgraph.cli.verb import terminal_text

    assert terminal_text("a\tb\nc\x1b[0m\r\x07\x7f\x85é日本") == "a\tb\nc\\x1b[0m\\r\\x07\\x7f\\x85é日本"


def _latin1_log(root):
    events = root / "events.csv"
    events.write_bytes("user_id,item_id\nJosé,1\nJosé,2\nZoë,1\nZoë,3\n".encode("latin-1"))
    items = root / "items.csv"
    items.write_bytes("item_id,title\n1,Amélie\n2,Señor\n3,Café\n".encode("latin-1"))
    return events, items


def test_latin1_error_names_the_cli_option_and_encoding_reads_it(tmp_path, capsys):
    events, items = _latin1_log(tmp_path)
    argv = ["inspect", str(events), "--format", "csv", "--items", str(items), "--json"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert "not valid utf-8" in err and "--encoding latin-1" in err and len(err.splitlines()) == 1
    assert main([*argv, "--encoding", "latin-1"]) == 0
    summary = json.loads(capsys.readouterr().out)["log"]
    assert (summary["users"], summary["items"], summary["interactions"]) == (2, 3, 4)


def test_encoding_reaches_the_catalog_and_the_graph(tmp_path, capsys):
    from interestgraph.graph import InterestGraph

    events, items = _latin1_log(tmp_path)
    argv = ["build", str(events), "--format", "csv", "--items", str(items), "--encoding", "latin-1"]
    assert main([*argv, "--encoder", "lexical", "--out", str(tmp_path / "g")]) == 0
    graph = InterestGraph.load(tmp_path / "g")
    assert set(graph.split.log.user_ids) == {"José", "Zoë"}
    assert sorted(graph.split.log.items["title"]) == ["Amélie", "Café", "Señor"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--encoding", "klingon-8"], "--encoding 'klingon-8': not a text encoding"),
        (["--format", "movielens", "--encoding", "latin-1"], "--encoding applies to --format csv only"),
    ],
)
def test_bad_encoding_flags_are_usage_errors(tmp_path, capsys, flags, message):
    events, _ = _latin1_log(tmp_path)
    argv = ["inspect", str(events), *flags]
    if "--format" not in flags:
        argv += ["--format", "csv"]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_load_source_refuses_an_encoding_for_formats_that_know_their_own(tmp_path):
    from interestgraph.data.formats import load_source

    with pytest.raises(ValueError, match="encoding= applies to format 'csv' only"):
        load_source(tmp_path, "movielens", encoding="latin-1")
