"""What the CLI prints as text: a repeated ``--user`` refused, control characters escaped, ``--encoding``."""

from __future__ import annotations

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
    import json

    capsys.readouterr()
    data = json.loads(_text(capsys, "recommend", str(hostile / "m"), "--user", "u" + ESC + "0", "-k", "3", "--json"))
    assert data and all(r["title"] == f"Film{ESC}{r['item']}\rX" for r in data)


def test_terminal_text_escapes_controls_but_keeps_layout():
    from interestgraph.cli.verb import terminal_text

    assert terminal_text("a\tb\nc\x1b[0m\r\x07\x7f\x85é日本") == "a\tb\nc\\x1b[0m\\r\\x07\\x7f\\x85é日本"
