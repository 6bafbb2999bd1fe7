"""benchmarks/item_path.py runs end to end on a tiny synthetic log (it measures; this only checks what it reports)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def test_item_path_benchmark_tunes_tests_once_and_pairs_against_the_best_baseline(tmp_path, capsys):
    from benchmarks import item_path

    grid = {"ridge": [50.0, 400.0], "side_weight": [0.0], "theta": [0.1], "half_life_items": [5.0]}
    argv = [
        "--format", "synthetic", "--synthetic", json.dumps({"n_users": 80, "n_items": 90, "n_interactions": 2500}),
        "--protocols", "rs-4,cold-4", "--seeds", "0,1", "--baselines", "ease,itemknn", "--grid", json.dumps(grid),
        "--encoder", "lexical", "--refit", "--out", str(tmp_path),
    ]  # fmt: skip
    assert item_path.main(argv) == 0
    payload = json.loads((tmp_path / "item-path-benchmark.json").read_text())
    assert set(payload["runs"]) == {"rs-4:0", "rs-4:1", "cold-4:0", "cold-4:1"}
    for key, run in payload["runs"].items():
        path = run["item-path"]
        simulated = 6 * 4 if key.startswith("cold") else 0  # cold weights chosen on the in-training simulation
        assert path["configurations"] == len(path["sweep"]) == 2 + 4 + simulated  # two ridges, four components
        assert len(path["cold_simulation"]) == simulated
        assert path["valid_ndcg@20"] == max(r["ndcg@20"] for r in path["sweep"] if not r.get("simulation"))
        assert run["ease"]["configurations"] == 6 and run["itemknn"]["configurations"] == 6
        tested = {name: run[name]["test"]["ndcg@20"] for name in ("ease", "itemknn")}
        assert run["against"] == max(tested, key=tested.get)  # the best baseline on test
        assert abs(run["ratio"] - path["test"]["ndcg@20"] / tested[run["against"]]) < 1e-12
        assert run["paired"]["ci_low"] <= run["paired"]["difference"] <= run["paired"]["ci_high"]
    assert "test_cold" in payload["runs"]["cold-4:0"]["item-path"]
    assert payload["runs"]["cold-4:0"]["item-path"]["chosen"]["cold_theta"] is not None
    for run in payload["runs"].values():  # --refit: every model tested once more after a refit on train+valid
        assert all("test_refit" in run[name] for name in ("item-path", "ease", "itemknn"))
        assert run["refit"]["ratio"] > 0 and run["refit"]["against"] in ("ease", "itemknn")
    for protocol in ("rs-4", "cold-4", "rs-4:refit", "cold-4:refit"):
        for stats in payload["pooled"][protocol].values():
            assert stats["ci_low"] <= stats["mean_difference"] <= stats["ci_high"]
    printed = capsys.readouterr().out
    assert "pooled over seeds" in printed and "the best baseline on test" in printed


def test_without_text_tunes_a_second_model_with_no_text_component_and_pairs_it(tmp_path):
    from benchmarks import item_path

    grid = {"ridge": [100.0], "side_weight": [0.0], "theta": [0.1], "half_life_items": [5.0]}
    argv = [
        "--format", "synthetic", "--synthetic", json.dumps({"n_users": 80, "n_items": 90, "n_interactions": 2500}),
        "--protocols", "rs-4", "--seeds", "0,1", "--baselines", "", "--grid", json.dumps(grid),
        "--encoder", "lexical", "--without-text", "--out", str(tmp_path),
    ]  # fmt: skip
    assert item_path.main(argv) == 0
    payload = json.loads((tmp_path / "item-path-benchmark.json").read_text())
    for run in payload["runs"].values():
        plain = run[item_path.NO_TEXT]
        assert "text" not in plain["chosen"]["theta"] and plain["configurations"] == 1 + 3  # one ridge, 3 components
        assert run["item-path"]["configurations"] == 1 + 4
    stats = payload["pooled"]["rs-4"][item_path.NO_TEXT]
    assert stats["ci_low"] <= stats["mean_difference"] <= stats["ci_high"]
