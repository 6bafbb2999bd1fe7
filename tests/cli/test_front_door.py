"""Issue 29's command-line frictions: artifacts recognised by their manifest, batch recommend / explain, unknown
users, verb usage on a mistyped flag, own-CSV hints, the no-validation warning, threads, start-up imports."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interestgraph.cli import main

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = ["--format", "synthetic", "--n-users", "80", "--n-items", "100", "--n-events", "2500"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny rs-4 graph and a model trained on it (about 2 s)."""
    base = tmp_path_factory.mktemp("front")
    graph, model = base / "g", base / "m"
    assert main(["build", *SYNTHETIC, "--protocol", "rs-4", "--encoder", "lexical", "--out", str(graph), "-q"]) == 0
    assert main(["train", str(graph), "--out", str(model), "--epochs", "2", "--dim", "8", "-q"]) == 0
    from interestgraph.model import InterestGraphModel

    return graph, model, InterestGraphModel.load(model)


def _exit(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        return exc.code


# ---------------------------------------------------------------- artifacts are recognised by their manifest


def test_evaluate_takes_a_graph_or_a_model_directory_without_format(trained, capsys):
    graph, model, _ = trained
    capsys.readouterr()
    assert main(["evaluate", str(graph), "--models", "pop", "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["pop"]["protocol"]["name"] == "rs-4"  # the graph's stored split
    # a model directory: evaluated on the graph it records, beside the default baselines
    assert main(["evaluate", str(model), "--json", "-q"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert list(results) == [str(model), "pop", "itemknn"] and 0 < results[str(model)]["ndcg@20"] <= 1
    assert main(["evaluate", str(model), "--models", "pop", "-q"]) == 0
    out = capsys.readouterr().out
    assert f"{model}: evaluated on its training graph {graph}" in out and "itemknn" not in out


def test_a_dataset_directory_needs_no_format_and_raw_data_is_asked_for_it(tmp_path, capsys):
    data = tmp_path / "ds"
    assert main(["generate", "--out", str(data), "--n-users", "30", "--n-items", "40", "--n-events", "500", "-q"]) == 0
    assert "interestgraph inspect " + str(data) + " --protocol rs-4" in capsys.readouterr().out
    assert main(["inspect", str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["log"]["interactions"] == 500
    movielens = tmp_path / "ml"
    movielens.mkdir()
    (movielens / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")
    assert main(["inspect", str(movielens)]) == 2
    err = capsys.readouterr().err
    assert "is raw data" in err and "--format movielens" in err
    assert main(["inspect"]) == 2
    assert "--format synthetic" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "nothere")]) == 1  # a missing file is a data error, as with --format
    assert "no such file or directory" in capsys.readouterr().err
    (tmp_path / "events.csv").write_text("user_id,item_id\n")
    assert main(["build", str(tmp_path / "events.csv"), "--out", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err
    assert "needs --format" in err and "(a table: --format csv" in err


def test_a_directory_of_the_wrong_kind_is_named(trained, capsys):
    graph, model, _ = trained
    assert main(["train", str(model), "--out", str(model.parent / "never")]) == 2
    assert "is a model directory (written by 'interestgraph train'), not a graph directory" in capsys.readouterr().err
    assert main(["recommend", str(graph), "--user", "u01"]) == 2
    assert f"train a model on it: interestgraph train {graph}" in capsys.readouterr().err
    assert main(["build", str(graph), "--out", str(graph.parent / "never")]) == 2
    assert "is a graph directory" in capsys.readouterr().err and not (graph.parent / "never").exists()


# ---------------------------------------------------------------- batch mode


def test_batch_recommend_streams_one_json_object_per_user(trained, tmp_path, capsys):
    _, model_dir, model = trained
    users = [str(u) for u in model.user_ids[:3]]
    listing = tmp_path / "users.txt"
    listing.write_text(f"{users[0]}\n# a comment\n\nnobody\n{users[1]}\n{users[2]}\n")
    assert main(["recommend", str(model_dir), "--users", str(listing), "-k", "3", "--json"]) == 1  # one unknown
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [line["user"] for line in lines] == [users[0], "nobody", users[1], users[2]]
    assert "error" in lines[1] and "not among the model's" in captured.err and "--items" in captured.err
    # each line is what the single-user command prints
    for line in (lines[0], lines[3]):
        assert len(line["items"]) == 3
        assert main(["recommend", str(model_dir), "--user", line["user"], "-k", "3", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == line["items"]
    assert "users/s" in captured.err


def test_all_users_text_rows_and_users_from_stdin(trained, monkeypatch, capsys):
    _, model_dir, model = trained
    assert main(["recommend", str(model_dir), "--all-users", "-k", "2", "--batch-size", "7", "-q"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "user\trank\titem\tscore\ttitle" and len(rows) == 1 + 2 * model.n_users
    assert {r.split("\t")[0] for r in rows[1:]} == {str(u) for u in model.user_ids}
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{model.user_ids[4]}\n"))
    assert main(["recommend", str(model_dir), "--users", "-", "-k", "1", "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["user"] == model.user_ids[4]
    assert main(["recommend", str(model_dir), "--user", "u01", "--all-users"]) == 2
    assert "give one of --user ID, --users FILE" in capsys.readouterr().err


def test_batch_explain_matches_single_explanations(trained, tmp_path, capsys):
    _, model_dir, model = trained
    user, item = str(model.user_ids[0]), str(model.item_ids[5])
    pairs = tmp_path / "pairs.txt"
    pairs.write_text(f"{user} {item}\n{model.user_ids[1]},{model.item_ids[6]}\n")
    assert main(["explain", str(model_dir), "--users", str(pairs), "--top", "2", "--json", "-q"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["user"], x["item"]) for x in lines] == [
        (model.user_ids[0], model.item_ids[5]),
        (model.user_ids[1], model.item_ids[6]),
    ]
    assert main(["explain", str(model_dir), "--user", user, "--item", item, "--top", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == lines[0]
    assert main(["explain", str(model_dir), "--all-users", "--item", item, "--json", "-q"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == model.n_users
    pairs.write_text(f"{user}\n")
    assert main(["explain", str(model_dir), "--users", str(pairs)]) == 2
    assert "each line is 'USER ITEM'" in capsys.readouterr().err


def test_recommend_explain_lists_the_walks_of_the_first_recommendations(trained, capsys):
    _, model_dir, model = trained
    user = str(model.user_ids[0])
    assert main(["recommend", str(model_dir), "--user", user, "-k", "4", "--explain", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [("explanation" in r) for r in rows] == [True, True, False, False]
    for row in rows[:2]:  # the same as the explain verb's, for the same user and item
        argv = ["explain", str(model_dir), "--user", user, "--item", str(row["item"]), "--top", "3", "--json"]
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out) == row["explanation"]
    assert main(["recommend", str(model_dir), "--user", user, "-k", "3", "--explain", "1", "--top", "2"]) == 0
    text = capsys.readouterr().out
    assert text.count(f"user {user} · item ") == 1 and f"· item {rows[0]['item']} (" in text
    assert main(["recommend", str(model_dir), "--all-users", "--explain", "1", "-q"]) == 2
    assert "--explain works with --user or --query" in capsys.readouterr().err


# ---------------------------------------------------------------- unknown users, mistyped flags


def test_an_unknown_user_is_a_data_condition_with_its_reason(trained, capsys):
    _, model_dir, _ = trained
    assert main(["recommend", str(model_dir), "--user", "54"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "keeps only users with at least 5 positive items" in err and "--items" in err and "--query" in err
    assert main(["explain", str(model_dir), "--user", "54", "--item", "i001"]) == 1
    assert "protocol rs-4 keeps only users" in capsys.readouterr().err


def test_a_mistyped_flag_shows_the_verbs_usage(trained, capsys):
    _, model_dir, _ = trained
    assert _exit(["recommend", str(model_dir), "--usr", "u01"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: interestgraph recommend ")
    assert "unrecognized arguments: --usr u01 (--usr: did you mean --user?)" in err


def test_recommend_scores_are_right_aligned(trained, capsys):
    _, model_dir, model = trained
    assert main(["recommend", str(model_dir), "--user", str(model.user_ids[0]), "-k", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(k for k, line in enumerate(lines) if line.lstrip().startswith("rank"))
    end = lines[header].index("score") + len("score")  # the column's right edge
    rows = lines[header + 1 : header + 6]
    assert len(rows) == 5 and all(row[end - 1].isdigit() and row[end : end + 2] == "  " for row in rows)


# ---------------------------------------------------------------- own CSV, no validation part


def test_own_csv_hints(tmp_path, capsys):
    events = tmp_path / "events.csv"
    events.write_text("customer,sku,when\nc1,s1,1600000000\nc1,s2,1600000100\n")
    assert main(["inspect", str(events), "--format", "csv"]) == 1
    assert "--map user_id=YOUR_USER_COLUMN --map item_id=YOUR_ITEM_COLUMN" in capsys.readouterr().err
    items = tmp_path / "items.csv"
    items.write_text("sku,name\ns1,A\n")
    argv = ["inspect", str(events), "--format", "csv", "--map", "user_id=customer", "--map", "item_id=sku"]
    assert main([*argv, "--items", str(items)]) == 1
    assert "--item-map item_id=YOUR_ITEM_COLUMN" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    assert "--format csv --map user_id=customer" in capsys.readouterr().out


def test_train_without_a_validation_part_says_so_first(tmp_path, capsys):
    graph = tmp_path / "g"
    assert main(["build", *SYNTHETIC, "--encoder", "lexical", "--out", str(graph), "-q"]) == 0
    capsys.readouterr()
    assert main(["train", str(graph), "--out", str(tmp_path / "m"), "--epochs", "2", "--dim", "8"]) == 0
    captured = capsys.readouterr()
    warning = captured.err.index("interestgraph: warning:")
    assert "has no validation part" in captured.err and warning < captured.err.index("epoch 1:")
    assert "kept the last of 2 epochs" in captured.out
    assert main(["evaluate", str(graph)]) == 2
    assert "--protocol rs-4" in capsys.readouterr().err


# ---------------------------------------------------------------- threads


def test_thread_settings_precedence(monkeypatch):
    from interestgraph.cli import threads

    monkeypatch.delenv("INTERESTGRAPH_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.resolve_threads(2) == (2, "--threads")
    assert threads.resolve_threads() == (3, "OMP_NUM_THREADS")
    monkeypatch.setenv("INTERESTGRAPH_THREADS", "5")
    assert threads.resolve_threads() == (5, "INTERESTGRAPH_THREADS")
    monkeypatch.setenv("INTERESTGRAPH_THREADS", "zero")
    with pytest.raises(ValueError, match="INTERESTGRAPH_THREADS must be a whole number"):
        threads.resolve_threads()
    monkeypatch.delenv("INTERESTGRAPH_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(threads, "usable_cpus", lambda: 16)
    monkeypatch.setattr(threads, "physical_cores", lambda: 12)
    assert threads.default_threads(load=0.0) == 8  # the cap
    assert threads.default_threads(load=10.2) == 6  # what the load leaves
    assert threads.default_threads(load=40.0) == 1
    assert threads.resolve_threads()[1] == "default"


def test_thread_limit_applies_for_the_run_and_restores(monkeypatch):
    import torch

    from interestgraph.cli.threads import thread_limit

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = torch.get_num_threads()
    with thread_limit(before + 1):
        assert torch.get_num_threads() == before + 1 and os.environ["MKL_NUM_THREADS"] == str(before + 1)
    assert torch.get_num_threads() == before and os.environ["OMP_NUM_THREADS"] == "1"


def test_the_threads_flag_reaches_the_run(trained, monkeypatch, capsys):
    from interestgraph.cli import app

    seen = []
    real = app.thread_limit

    def recording(n):
        seen.append(n)
        return real(n)

    monkeypatch.setattr(app, "thread_limit", recording)
    _, model_dir, model = trained
    assert main(["recommend", str(model_dir), "--user", str(model.user_ids[0]), "--threads", "3", "-q"]) == 0
    monkeypatch.setenv("INTERESTGRAPH_THREADS", "2")
    assert main(["recommend", str(model_dir), "--user", str(model.user_ids[0]), "-q"]) == 0
    assert seen == [3, 2]
    assert _exit(["recommend", str(model_dir), "--user", "u01", "--threads", "0"]) == 2
    assert "--threads: must be >= 1" in capsys.readouterr().err


# ---------------------------------------------------------------- start-up


def test_help_imports_no_numerical_library():
    """``interestgraph --help`` builds every verb's parser without pandas, numpy or torch."""
    code = (
        "import sys; from interestgraph.cli.app import build_parser; build_parser(); "
        "print(sorted(m for m in ('pandas', 'numpy', 'torch', 'scipy') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_parsers_names_are_the_data_layers():
    from interestgraph.cli import choices
    from interestgraph.data.formats import FORMATS
    from interestgraph.data.protocols import DEFAULT_SEED, PROTOCOLS

    assert choices.FORMATS == FORMATS and tuple(sorted(PROTOCOLS)) == choices.PROTOCOLS
    assert choices.DEFAULT_SPLIT_SEED == DEFAULT_SEED
    assert set(choices.RAW_FORMATS) == set(FORMATS) - {"dataset", "synthetic"}


def test_stdout_is_line_buffered_when_piped():
    code = (
        "import sys; from interestgraph.cli import app; app._line_buffered_stdout(); print(sys.stdout.line_buffering)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip() == "True"


def test_show_without_out_writes_to_the_temp_directory_and_says_so(trained, tmp_path, monkeypatch, capsys):
    import tempfile

    _, model_dir, model = trained
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    work = tmp_path / "clone"
    work.mkdir()
    monkeypatch.chdir(work)
    user = str(model.user_ids[0])
    assert main(["show", str(model_dir), "--user", user, "--no-timeline"]) == 0
    out = capsys.readouterr().out
    page = tmp_path / "tmp" / "interestgraph" / f"user-{user}.html"
    assert page.is_file() and out.startswith(f"wrote {page}: ") and "temp directory" in out
    assert list(work.iterdir()) == []  # nothing in the working directory
    assert main(["show", str(model_dir), "--user", user, "--no-timeline", "-q"]) == 0  # its own page: replaced
    assert main(["show", str(model_dir), "--user", "nobody"]) == 1


def test_show_counts_are_pluralised():
    from interestgraph.cli.show_verb import plural

    assert (plural(1, "period"), plural(2, "period"), plural(1200, "node")) == ("1 period", "2 periods", "1,200 nodes")


def test_importing_the_clone_folder_from_above_it_says_what_to_do(tmp_path):
    """A folder above a clone named ``interestgraph/``: the import fails at once with a message (issue 29)."""
    clone = tmp_path / "interestgraph"
    (clone / "interestgraph").mkdir(parents=True)
    (clone / "__init__.py").write_text((ROOT / "__init__.py").read_text())
    (clone / "interestgraph" / "__init__.py").write_text("__version__ = 'inner'\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-c", "import interestgraph"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: 'import interestgraph' found " + str(clone))
    assert f"pip install -e {clone}" in last


def test_a_model_is_loaded_without_importing_torch_dynamo(trained):
    """The scorer's layers are built without the meta device (``skip_init`` imported ``torch._dynamo``, a large part of
    every ``recommend`` call's start-up)."""
    _, model_dir, _ = trained
    code = (
        "import sys; from interestgraph.model import InterestGraphModel; "
        f"InterestGraphModel.load({str(model_dir)!r}); print('torch._dynamo' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_layers_built_without_init_draw_no_random_number():
    import torch
    from torch import nn

    from interestgraph.paths.scorer import without_init

    torch.manual_seed(0)
    layers = [without_init(nn.Embedding, 7, 3), without_init(nn.Linear, 3, 2, bias=False)]
    drawn = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(drawn, torch.rand(1))
    assert type(layers[0]) is nn.Embedding and layers[0].weight.shape == (7, 3) and layers[0].weight.requires_grad
    assert type(layers[1]) is nn.Linear and layers[1].bias is None
