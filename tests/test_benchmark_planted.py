"""``benchmarks/planted_recovery.py`` runs end to end on a tiny synthetic log (it measures; this only checks that it works)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def test_planted_recovery_benchmark_reports_each_ranking_per_seed(tmp_path, capsys):
    from benchmarks import planted_recovery

    out = tmp_path / "out"
    assert planted_recovery.main(["--size", "0.06", "--lexical", "--seeds", "0,1", "--top", "5", "--epochs", "2", "--out", str(out)]) == 0
    payload = json.loads((out / "planted-recovery.json").read_text())
    rows = payload["rows"]
    assert list(rows) == ["w(v|u) (the graph's user–interest edges)", "path model, initial parameters", "path model, trained"]
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
