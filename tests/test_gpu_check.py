"""benchmarks/gpu_check.py: the smoke run writes every stage, and a failing or overlong stage does not stop the rest."""

from __future__ import annotations

import json
import time

import pytest
import torch

from benchmarks import gpu_check
from interestgraph.data import generate_synthetic, split_log
from interestgraph.data.formats.lightgcn import load_lightgcn


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-check")
    assert gpu_check.main(["--device", "cpu", "--smoke", "--out", str(out)]) == 0
    return out, json.loads((out / "gpu_check.json").read_text())


def test_the_smoke_run_records_every_stage_with_its_figures(smoke):
    out, report = smoke
    assert list(report["stages"]) == list(gpu_check.STAGES)
    failed = {name: entry.get("traceback") for name, entry in report["stages"].items() if entry["status"] != "ok"}
    assert not failed, failed
    stages = {name: entry["result"] for name, entry in report["stages"].items()}
    assert stages["environment"]["torch"] == torch.__version__ and stages["environment"]["device"] == "cpu"
    assert stages["environment"]["minilm"]["dtypes"]  # the packaged weights were found and read
    assert stages["pytest"]["returncode"] == 0 and stages["pytest"]["counts"].get("failed", 0) == 0
    assert (out / "pytest.log").is_file()
    gowalla = stages["gowalla"]
    assert gowalla["graph"]["counts"]["nodes"]["user"] == 50
    assert gowalla["fit"]["fits"][-1]["epochs"] >= 1 and gowalla["fit"]["method"]
    assert 0 < gowalla["test"]["recall@20"] <= 1 and 0 < gowalla["test"]["ndcg@20"] <= 1
    assert stages["latency"]["all_users"]["rows"] == 20 * 50
    assert stages["latency"]["one_user"]["recommend"]["median_ms"] > 0
    lightgcn = stages["lightgcn"]
    assert lightgcn["checkpoints"] and lightgcn["epochs"] >= lightgcn["checkpoints"][-1]["epoch"]
    assert [r["train_seconds"] for r in lightgcn["checkpoints"]] == sorted(
        r["train_seconds"] for r in lightgcn["checkpoints"]
    )
    assert set(stages["encoder"]["rows"]) == {
        "TextEncoder, bf16 autocast",
        "TextEncoder, float32",
        "TextEncoder, bf16 autocast, batch 512",
        "TextEncoder, float32, batch 512",
    }
    assert stages["encoder"]["min_cosine_bf16_vs_fp32"] > 0.9999  # on a CPU autocast is off: the same vectors
    assert set(stages["joint"]["rows"]) == {"frozen encoder (reference)", "fine-tuned encoder, top layer"}
    assert stages["joint"]["rows"]["fine-tuned encoder, top layer"]["seconds"]["encoder"] > 0
    markdown = (out / "gpu_check.md").read_text()
    assert "## Default model on Gowalla" in markdown and "## Encoder throughput" in markdown
    log = (out / "gpu_check.log").read_text()
    assert all(f"== {name}" in log for name in gpu_check.STAGES) and report["total_seconds"] > 0


def test_a_failing_and_an_overlong_stage_are_recorded_and_the_run_goes_on(tmp_path):
    args = gpu_check.parser().parse_args(["--out", str(tmp_path), "--device", "cpu"])
    report = gpu_check.Report(tmp_path, "test", args)
    cpu = torch.device("cpu")

    def fails():
        raise ValueError("planted failure")

    def overlong():
        while True:
            time.sleep(0.01)

    gpu_check.run_stage(report, "fails", fails, 5.0, cpu)
    gpu_check.run_stage(report, "overlong", overlong, 0.3, cpu)
    gpu_check.run_stage(report, "fine", lambda: {"x": 1}, 5.0, cpu)
    stages = json.loads((tmp_path / "gpu_check.json").read_text())["stages"]
    assert stages["fails"]["status"] == "error" and "planted failure" in stages["fails"]["traceback"]
    assert stages["overlong"]["status"] == "timeout" and stages["overlong"]["seconds"] < 3
    assert stages["fine"] == {"status": "ok", "limit_s": 5.0, "result": {"x": 1}, "seconds": stages["fine"]["seconds"]}


def test_pytest_counts_read_the_closing_line():
    text = "....\nFAILED tests/x.py::t - boom\n1 failed, 3 passed, 2 skipped, 9 deselected in 4.2s\n"
    assert gpu_check.pytest_counts(text) == {"failed": 1, "passed": 3, "skipped": 2, "deselected": 9}
    assert gpu_check.pytest_counts("no summary") == {}


def test_written_lightgcn_files_load_back_as_the_same_pairs(tmp_path):
    split = split_log(generate_synthetic(n_users=40, n_items=60, n_interactions=900, seed=2).log, "rs-4")
    loaded = load_lightgcn(gpu_check.write_lightgcn(split, tmp_path / "lg"))
    for part in ("train", "test"):
        written = split.positive_matrix(part).tocoo()  # the files hold the split's user and item codes
        read = loaded.positive_matrix(part).tocoo()
        ids = loaded.log.user_ids.to_numpy()[read.row], loaded.log.item_ids.to_numpy()[read.col]
        assert written.nnz == read.nnz > 0
        assert set(zip(written.row.tolist(), written.col.tolist())) == set(zip(*(x.tolist() for x in ids)))


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--stages", "environment,bogus"], "--stages"),
        (["--budget-s", "0"], "--budget-s"),
        (["--encoder-texts", "0"], "--encoder-texts"),
    ],
)
def test_bad_settings_are_refused_naming_the_option(tmp_path, argv, fragment):
    with pytest.raises(SystemExit, match=fragment):
        gpu_check.main(["--device", "cpu", "--out", str(tmp_path), *argv])
