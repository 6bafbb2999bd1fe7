"""``benchmarks/planted_recovery.py`` and ``benchmarks/joint_ablation.py`` run end to end on tiny synthetic logs
(they measure; these only check that they work)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def test_planted_recovery_benchmark_reports_each_ranking_per_seed(tmp_path, capsys):
    from benchmarks import planted_recovery

    out = tmp_path / "out"
    assert (
        planted_recovery.main(
            ["--size", "0.06", "--lexical", "--seeds", "0,1", "--top", "5", "--epochs", "2", "--out", str(out)]
        )
        == 0
    )
    payload = json.loads((out / "planted-recovery.json").read_text())
    rows = payload["rows"]
    assert list(rows) == [
        "w(v|u) (the graph's user–interest edges)",
        "path model, initial parameters",
        "path model, trained",
    ]
    assert [len(runs) for runs in rows.values()] == [1, 2, 2] and payload["top"] == 5
    for runs in rows.values():
        for found in runs:
            assert 0.0 <= found["strongest_in_top10"] <= 1.0 and 0.0 < found["planted_in_top10"] <= 1.0
    text = (out / "planted-recovery.md").read_text()
    assert "protocol rs-4" in text and "path model, trained | 2 |" in text


def test_planted_recovery_benchmark_refuses_bad_arguments(capsys):
    import pytest

    from benchmarks import planted_recovery

    with pytest.raises(SystemExit):
        planted_recovery.main(["--top", "0"])
    assert "--top must be >= 1" in capsys.readouterr().err


def test_joint_ablation_reports_cold_items_and_pairs_each_variant_with_the_first(tmp_path):
    from benchmarks import joint_ablation
    from interestgraph.data import generate_synthetic
    from interestgraph.encoder.lexical import LexicalEncoder
    from interestgraph.graph.build import build_interest_graph

    log = generate_synthetic(n_users=60, n_items=90, n_interactions=2_000, seed=3).log
    graph_dir = tmp_path / "graphs" / "cold-4"
    build_interest_graph(log, protocol="cold-4", encoder=LexicalEncoder()).save(graph_dir)
    out = tmp_path / "out"
    assert (
        joint_ablation.main(
            [
                "--protocols",
                "cold-4",
                "--seeds",
                "0,1",
                "--variants",
                "0,1",
                "--epochs",
                "3",
                "--graph-dir",
                str(tmp_path / "graphs"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    payload = json.loads((out / "joint-ablation-cold-4.json").read_text())
    first, second = payload["variants"].values()
    assert first["vs_first_variant"] is None and second["vs_first_variant"]["users"] > 0
    assert (
        second["vs_first_variant"]["ci_low"]
        <= second["vs_first_variant"]["difference"]
        <= second["vs_first_variant"]["ci_high"]
    )
    for variant in (first, second):
        assert len(variant["runs"]) == 2 and all(0.0 <= run["cold_recall@20"] <= 1.0 for run in variant["runs"])
    import pandas as pd

    per_user = pd.read_parquet(out / "joint-ablation-cold-4-per-user.parquet")
    assert len(per_user) == second["vs_first_variant"]["users"] and per_user.filter(like=":ndcg@20").shape[1] == 2
    text = (out / "joint-ablation-cold-4.md").read_text()
    assert "cold items' recall@20" in text and "protocol cold-4" in text
