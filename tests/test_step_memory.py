"""Smoke run of benchmarks/step_memory.py: one row per case with the measured growth and the trainer's estimate."""

from __future__ import annotations

import json

from benchmarks import step_memory
from interestgraph.train.memory import step_bytes


def test_rows_growth_estimates_and_the_slope_line(tmp_path):
    code = step_memory.main(
        ["--sizes", "8000", "--batches", "8,32", "--allocators", "default", "--steps", "1", "--out", str(tmp_path)]
    )
    assert code == 0
    payload = json.loads((tmp_path / "step-memory.json").read_text())
    rows = payload["rows"]
    assert [(r["user_batch"], r["allocator"]) for r in rows] == [(8, "default"), (32, "default")]
    for r in rows:
        assert r["nodes"] > 0 and r["seconds_per_step"] > 0 and r["steps_growth_mib"] >= 0
        assert r["estimate_live_mib"] == round(step_bytes(r["nodes"], r["user_batch"]) / 2**20, 1)
    text = (tmp_path / "step-memory.md").read_text()
    assert "8,000 events, default allocator:" in text and "bytes per node and user column" in text
    assert "--batches 8,32" in payload["command"] and payload["command"] in text
