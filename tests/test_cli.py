"""CLI conventions: --help with an example on every verb, --json, exit codes 0 / 1 / 2, stderr only for noise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interestgraph.cli import main
from interestgraph.cli.app import build_parser

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets" / "ml-latest-small"
VERBS = sorted(build_parser()._subparsers._group_actions[0].choices)


def test_verbs_registered():
    assert {"demo", "generate", "inspect"} <= set(VERBS)


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help_with_an_example(verb, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([verb, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and f"interestgraph {verb}" in out


def test_no_verb_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "VERB" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", "--format", "bogus"])
    assert exit_info.value.code == 2
    assert main(["inspect", "--format", "movielens"]) == 2  # needs a SOURCE
    err = capsys.readouterr().err
    assert "needs a SOURCE path" in err


def test_data_error_is_one_line_exit_1(tmp_path, capsys):
    bad = tmp_path / "events.csv"
    bad.write_text("user_id,item_id,timestamp\nu1,i1,yesterday\nu2,,1600000000\n")
    assert main(["inspect", str(bad), "--format", "csv"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("interestgraph inspect: error:")
    assert "'item_id'" in err[0] and "line 3" in err[0]
    assert "Traceback" not in "\n".join(err)


def test_debug_shows_traceback(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "missing.csv"), "--format", "csv", "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "no such file" in err


def test_generate_then_inspect_json(tmp_path, capsys):
    out = tmp_path / "ds"
    assert (
        main(["generate", "--out", str(out), "--n-users", "40", "--n-items", "60", "--n-events", "800", "--json"]) == 0
    )
    generated = json.loads(capsys.readouterr().out)
    assert generated["summary"]["interactions"] == 800
    assert (
        main(["generate", "--out", str(out), "--n-users", "40", "--n-items", "60", "--n-events", "800"]) == 1
    )  # exists
    assert "--overwrite" in capsys.readouterr().err
    assert main(["inspect", str(out), "--format", "dataset", "--protocol", "tl-4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["log"]["users"] == 40
    assert result["split"]["protocol"]["name"] == "tl-4"
    parts = result["split"]
    assert parts["train"]["positive_pairs"] > parts["test"]["positive_pairs"] > 0


def test_demo_runs_the_main_job_end_to_end(tmp_path, capsys):
    """data → splits → graph → model → evaluation beside baselines → saved artifacts, report and analyst page."""
    out = tmp_path / "demo"
    tiny = [
        "--n-users",
        "50",
        "--n-items",
        "80",
        "--n-events",
        "1000",
        "--encoder",
        "lexical",
        "--epochs",
        "3",
        "--baselines",
        "popular,itemknn",
    ]
    assert main(["demo", "--out", str(out), *tiny, "--json", "-q"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["splits"]) == {"rs-4", "tl-4", "cold-4"} and result["protocol"]["name"] == "rs-4"
    assert set(result["metrics"]) == {"interest-graph model", "popular", "itemknn"}
    assert all(0 <= m["ndcg@20"] <= 1 for m in result["metrics"].values())
    assert result["comparison"]["a"] == "interest-graph model" and result["comparison"]["b"] in {"popular", "itemknn"}
    assert 0 <= result["recovery"]["strongest_in_top10"] <= 1
    report = (out / "report.md").read_text()
    assert (
        "| rs-4 |" in report
        and "seed 2020" in report
        and "| interest-graph model |" in report
        and "| itemknn |" in report
    )
    assert f"{result['metrics']['interest-graph model']['ndcg@20']:.4f}" in report
    for key in ("dataset", "graph", "model"):
        assert (Path(result[key]) / "manifest.json").is_file()
    page = Path(result["page"])
    assert page.is_file() and page.name == f"user-{result['user']}.html" and Path(result["picture"]).is_file()
    from interestgraph.viz import show_user

    assert len(show_user(result["model"], result["user"]).recommendations) == 5  # the saved model finds its saved graph
    # your own log through the same command: the dataset the demo wrote, read back with --format dataset, split tl-4
    assert (
        main(
            [
                "demo",
                str(out / "synthetic"),
                "--format",
                "dataset",
                "--protocol",
                "tl-4",
                "--out",
                str(tmp_path / "own"),
                "--encoder",
                "lexical",
                "--epochs",
                "2",
                "--baselines",
                "",
                "--json",
                "-q",
            ]
        )
        == 0
    )
    own = json.loads(capsys.readouterr().out)
    assert (
        own["dataset"] is None
        and own["recovery"] is None
        and own["comparison"] is None
        and list(own["splits"]) == ["tl-4"]
    )
    assert set(own["metrics"]) == {"interest-graph model"} and (tmp_path / "own" / "report.md").is_file()
    for bad, message in (
        (["--baselines", "popular,nope"], "--baselines: unknown nope"),
        (["--epochs", "0"], "--epochs"),
        (["--user", "nobody"], "--user"),
    ):
        assert main(["demo", "--out", str(tmp_path / "bad"), *tiny, *bad, "-q"]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()  # nothing half-written


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} not present (ml-latest-small is read from ../shared)")
def test_inspect_movielens_json(capsys):
    assert main(["inspect", str(SHARED), "--format", "movielens", "--protocol", "rs-4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["log"]["users"] == 610 and result["log"]["items"] == 9742
    assert result["log"]["events"] == {"rating": 100836, "tag": 3683}
    assert result["split"]["train"]["users"] == 603


def test_console_script_runs_in_a_subprocess(tmp_path):
    """The installed entry point (or python -m) keeps stdout clean JSON and exits 0."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "interestgraph",
            "inspect",
            "--format",
            "synthetic",
            "--n-users",
            "20",
            "--n-items",
            "30",
            "--n-events",
            "400",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["log"]["interactions"] == 400


def test_build_prints_the_specified_json_and_writes_a_loadable_graph(tmp_path, capsys):
    from interestgraph.graph import InterestGraph

    out = tmp_path / "g"
    args = [
        "build",
        "--format",
        "synthetic",
        "--n-users",
        "60",
        "--n-items",
        "90",
        "--n-events",
        "1500",
        "--protocol",
        "rs-4",
        "--encoder",
        "lexical",
        "--out",
        str(out),
        "--json",
    ]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["nodes"]) == {"user", "item", "interest"}
    assert {"user-item", "item-interest", "user-interest", "interest-interest"} <= set(result["edges"])
    assert isinstance(result["seconds"], float) and result["protocol"]["name"] == "rs-4"
    graph = InterestGraph.load(out)
    assert graph.counts() == {"nodes": result["nodes"], "edges": result["edges"]}
    assert main(args) == 1  # exists: refuse without --overwrite
    assert "--overwrite" in capsys.readouterr().err


def test_evaluate_json_and_graph_split(tmp_path, capsys):
    synthetic = ["--format", "synthetic", "--n-users", "80", "--n-items", "120", "--n-events", "2500"]
    assert (
        main(["evaluate", *synthetic, "--protocol", "rs-4", "--models", "pop,itemknn", "--cutoffs", "5,10", "--json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"pop", "itemknn"}
    assert {"recall@10", "ndcg@10", "recall@5", "protocol", "seconds"} <= set(result["pop"])
    assert result["pop"]["protocol"]["name"] == "rs-4"
    graph_dir = tmp_path / "g"
    assert main(["build", *synthetic, "--protocol", "tl-4", "--encoder", "lexical", "--out", str(graph_dir)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(graph_dir), "--format", "graph", "--models", "pop", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pop"]["protocol"]["name"] == "tl-4"  # the graph's stored split
    assert main(["evaluate", str(graph_dir), "--format", "graph", "--protocol", "rs-4", "--models", "pop"]) == 2
    assert "stores a split made under tl-4" in capsys.readouterr().err
    assert main(["evaluate", *synthetic, "--models", "pop,nope"]) == 2


def test_train_then_evaluate_the_model_directory(tmp_path, capsys):
    graph_dir, model_dir = tmp_path / "g", tmp_path / "m"
    synthetic = ["--format", "synthetic", "--n-users", "80", "--n-items", "100", "--n-events", "2500"]
    assert main(["build", *synthetic, "--protocol", "rs-4", "--encoder", "lexical", "--out", str(graph_dir)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "train",
                str(graph_dir),
                "--out",
                str(model_dir),
                "--epochs",
                "2",
                "--dim",
                "8",
                "--user-batch",
                "32",
                "--json",
            ]
        )
        == 0
    )
    trained = json.loads(capsys.readouterr().out)
    assert trained["epochs"] == 2 and 0 < trained["valid"]["ndcg@20"] <= 1 and trained["protocol"]["name"] == "rs-4"
    assert (model_dir / "model_card.md").is_file()
    assert main(["evaluate", str(graph_dir), "--format", "graph", "--models", f"pop,{model_dir}", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert set(results) == {"pop", str(model_dir)} and "ndcg@20" in results[str(model_dir)]
    # a model is only evaluated on the graph it was trained on
    other = tmp_path / "g2"
    assert main(["build", *synthetic, "--protocol", "tl-4", "--encoder", "lexical", "--out", str(other)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(other), "--format", "graph", "--models", str(model_dir)]) == 2
    assert "trained on" in capsys.readouterr().err
    # the epoch lines go to stderr, and -q silences them
    assert main(["train", str(graph_dir), "--out", str(tmp_path / "m-lines"), "--epochs", "2", "--dim", "8"]) == 0
    assert "epoch 2: loss" in capsys.readouterr().err
    assert main(["train", str(graph_dir), "--out", str(tmp_path / "m-quiet"), "--epochs", "2", "--dim", "8", "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["train", str(graph_dir), "--out", str(model_dir)]) == 2  # exists without --overwrite
    assert main(["train", str(graph_dir), "--out", str(tmp_path / "m3"), "--max-length", "5"]) == 2
    # refined similarity edges from the command line; a lexical graph has no encoder to fine-tune
    assert (
        main(
            [
                "train",
                str(graph_dir),
                "--out",
                str(tmp_path / "m4"),
                "--epochs",
                "2",
                "--dim",
                "8",
                "--similarity-edges",
                "refined",
                "--remine-every",
                "1",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["model_config"]["similarity_edges"] == "refined"
    assert (
        main(
            [
                "train",
                str(graph_dir),
                "--out",
                str(tmp_path / "m6"),
                "--epochs",
                "1",
                "--dim",
                "8",
                "--typed-gates",
                "--edge-types",
                "user-item,item-interest,item-item",
                "--json",
            ]
        )
        == 0
    )
    typed = json.loads(capsys.readouterr().out)["model_config"]
    assert typed["typed_gates"] is True and typed["edge_types"] == ["user-item", "item-interest", "item-item"]
    assert main(["train", str(graph_dir), "--out", str(tmp_path / "m5"), "--epochs", "2", "--encoder-mode", "top"]) != 0
    assert "encoder_mode" in capsys.readouterr().err and not (tmp_path / "m5").exists()


def test_config_files_set_flags_and_flags_win(tmp_path, capsys):
    out = tmp_path / "ds"
    config = tmp_path / "ig.toml"
    config.write_text(
        f'n-users = 30\nseed = 5\nepochs = 4\n\n[generate]\nout = "{out}"\nn_items = 50\nn-events = '
        "600\n\n[train]\nepochs = 2\n"
    )  # top-level epochs: not generate's, no error
    assert (
        main(["generate", "--config", str(config), "--n-users", "25", "--json"]) == 0
    )  # --out comes from the file; the flag beats the file
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert (summary["users"], summary["items"], summary["interactions"]) == (25, 50, 600) and (
        out / "manifest.json"
    ).is_file()
    # train: flag names, any ModelConfig / TrainConfig field and a model table; the old JSON layout still works
    graph_dir = tmp_path / "g"
    assert (
        main(
            [
                "build",
                "--format",
                "synthetic",
                "--n-users",
                "60",
                "--n-items",
                "80",
                "--n-events",
                "1500",
                "--encoder",
                "lexical",
                "--out",
                str(graph_dir),
            ]
        )
        == 0
    )
    capsys.readouterr()
    trainer = tmp_path / "train.toml"
    trainer.write_text(
        '[train]\nepochs = 2\nuser-batch = 32\nedge-types = ["user-item", "item-interest"]\nholdout_mode = '
        '"random"\nmodel = { dim = 8, gate_rank = 2 }\n'
    )
    assert main(["train", str(graph_dir), "--out", str(tmp_path / "m"), "--config", str(trainer), "--json", "-q"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["epochs"] == 2 and trained["model_config"]["dim"] == 8 and trained["model_config"]["gate_rank"] == 2
    assert (
        trained["model_config"]["edge_types"] == ["user-item", "item-interest"]
        and trained["train_config"]["holdout_mode"] == "random"
    )
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps({"model": {"dim": 4}, "train": {"epochs": 1, "user_batch": 32}}))
    assert (
        main(
            [
                "train",
                str(graph_dir),
                "--out",
                str(tmp_path / "m2"),
                "--config",
                str(legacy),
                "--dim",
                "6",
                "--json",
                "-q",
            ]
        )
        == 0
    )
    trained = json.loads(capsys.readouterr().out)
    assert trained["epochs"] == 1 and trained["model_config"]["dim"] == 6
    # what is wrong with a file is named, exit 2, nothing written
    bad = tmp_path / "bad.toml"
    for text, message in (
        ("n-userz = 3\n", "unknown setting(s) 'n-userz' (no verb has such a flag)"),
        ("[generate]\nepochs = 3\n", "unknown setting(s) 'epochs' for 'interestgraph generate'"),
        ("n-users = \n", "not a readable TOML file"),
        ("generate = 3\n", "[generate] must be a table"),
    ):
        bad.write_text(text)
        assert main(["generate", "--config", str(bad), "--out", str(tmp_path / "never")]) == 2
        assert message in capsys.readouterr().err
    assert main(["generate", "--config", str(tmp_path / "x.yaml"), "--out", str(tmp_path / "never")]) == 2
    assert ".toml or .json" in capsys.readouterr().err and not (tmp_path / "never").exists()


def test_config_values_are_checked_like_flags(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    cases = (
        ('[demo]\nencoder = "lexcial"\n', "invalid choice: 'lexcial'"),
        ('[generate]\nn-users = "many"\n', "invalid int value"),
        ('[generate]\noverwrite = "false"\n', "'overwrite' is a switch"),
        ("[generate]\nn-users = [1, 2]\nn-items = { a = 1 }\n", "takes a value"),
    )
    for text, message in cases:
        bad.write_text(text)
        verb = text.split("]")[0][1:]
        try:
            code = main([verb, "--config", str(bad), "--out", str(tmp_path / "never"), "-q"])
        except SystemExit as exit_info:  # argparse's own usage errors
            code = exit_info.code
        assert code == 2, text
        assert message in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
    # a repeatable flag on the command line replaces the file's values; a string is one value
    events = tmp_path / "events.csv"
    events.write_text("customer,sku,when\nc1,s1,1600000000\nc1,s2,1600000100\nc2,s1,1600000200\n")
    config = tmp_path / "map.toml"
    config.write_text('[inspect]\nformat = "csv"\nmap = "user_id=nobody"\n')
    assert (
        main(
            [
                "inspect",
                str(events),
                "--config",
                str(config),
                "--map",
                "user_id=customer",
                "--map",
                "item_id=sku",
                "--map",
                "timestamp=when",
                "--json",
                "-q",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["log"]["users"] == 2
    config.write_text('[inspect]\nformat = "csv"\nmap = ["user_id=customer", "item_id=sku", "timestamp=when"]\n')
    assert main(["inspect", str(events), "--config", str(config), "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["log"]["items"] == 2


def test_a_model_trained_from_relative_paths_is_shown_from_anywhere(tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert (
        main(
            [
                "build",
                "--format",
                "synthetic",
                "--n-users",
                "60",
                "--n-items",
                "80",
                "--n-events",
                "1500",
                "--encoder",
                "lexical",
                "--out",
                "g",
                "-q",
            ]
        )
        == 0
    )
    assert main(["train", "g", "--out", "m", "--epochs", "1", "--dim", "8", "-q"]) == 0
    monkeypatch.chdir(tmp_path)
    from interestgraph.graph import InterestGraph

    user = InterestGraph.load(work / "g").users[0]
    assert main(["show", str(work / "m"), "--user", str(user), "--out", "u.html", "-q"]) == 0
    assert (tmp_path / "u.html").is_file()
