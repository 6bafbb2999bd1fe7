"""Recommendations for every user run in batches whose memory is bounded by the batch size, not the user count.

Each batch size is measured in a fresh process (after loading the model, the kernel's high-water mark is reset
through ``/proc/self/clear_refs``), so memory freed earlier in the same process cannot hide the growth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from interestgraph.data import generate_synthetic
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

ROOT = Path(__file__).resolve().parents[2]
RESET = Path("/proc/self/clear_refs")
CHILD = """
import json, re, sys
from pathlib import Path
from interestgraph.model import InterestGraphModel
from interestgraph.recommend import recommend
def mib(key):
    return int(re.search(key + r":\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024
model = InterestGraphModel.load(sys.argv[1])
recommend(model, [model.user_ids[0]], k=20)
before = mib("VmRSS")
Path("/proc/self/clear_refs").write_text("5")
table = recommend(model, None, k=20, batch_size=int(sys.argv[2]))
extra = mib("VmHWM") - before
print(json.dumps({"extra": extra, "users": int(table["user_id"].nunique()), "nodes": model.adjacency.shape[0]}))
"""


@pytest.mark.skipif(not RESET.exists(), reason="needs Linux /proc/self/clear_refs to reset the peak-memory mark")
def test_memory_grows_with_the_batch_not_with_the_users(tmp_path):
    log = generate_synthetic(n_users=1200, n_items=3000, n_interactions=25_000, seed=1).log
    graph = build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(epochs=1, user_batch=256, verbose=False, seed=1)).fit(
        graph
    )
    model_dir = model.save(tmp_path / "m")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INTERESTGRAPH_PROGRESS": "0"}
    runs = {}
    for batch in (32, 2048):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(model_dir), str(batch)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-1000:]
        runs[batch] = json.loads(done.stdout.strip().splitlines()[-1])
    whole = 2048 * runs[32]["nodes"] * 4 / 2**20  # one step's walk vectors for a batch holding every user
    assert runs[32]["users"] == runs[2048]["users"] == model.n_users
    print(
        f"peak above the resident set: batch 32 {runs[32]['extra']:.1f} MiB, batch 2048 {runs[2048]['extra']:.1f} "
        f"MiB; one full batch of walk vectors {whole:.0f} MiB"
    )
    assert runs[32]["extra"] < whole / 2 and runs[32]["extra"] < runs[2048]["extra"] / 2
