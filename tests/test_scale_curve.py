"""The scale-curve benchmark runs end to end at tiny sizes, and a child that fails becomes a clean failure row.

Each case is a spawned process (torch import included), so the sizes are the smallest the size
rule allows (8 events per user for its 1,000 users) and the runs share a module-level result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import scale_curve  # noqa: E402

SIZES = (8_000, 20_000)


@pytest.fixture(scope="module")
def curve(tmp_path_factory) -> tuple[int, dict, str]:
    """Exit code, JSON and Markdown of one run at SIZES on one thread, with every loop stopped after 2 batches."""
    out = tmp_path_factory.mktemp("scale")
    code = scale_curve.main(
        ["--sizes", ",".join(map(str, SIZES)), "--threads", "1", "--max-batches", "2", "--out", str(out)]
    )
    return code, json.loads((out / "scale-curve.json").read_text()), (out / "scale-curve.md").read_text()


def test_one_row_per_size_with_the_size_rule_and_positive_figures(curve):
    code, payload, _ = curve
    assert code == 0
    rows = payload["rows"]
    assert [r["size"] for r in rows] == list(SIZES)
    for row in rows:
        assert row["status"] == "ok" and row["failures"] == []
        rule = scale_curve.size_rule(row["size"])
        assert (row["events"], row["users"], row["items"]) == (rule["events"], rule["users"], rule["items"])
        assert (
            0 < row["nodes"]["user"] <= rule["users"]
            and row["nodes"]["item"] == rule["items"]
            and row["nodes"]["interest"] > 0
        )
        assert sum(row["edges"].values()) > row["train_pairs"] > 0
        for phase in scale_curve.PHASES:
            assert row["seconds"][phase] > 0, phase
            memory = row["memory"][phase]
            # sampled /proc statm peak vs the kernel's ru_maxrss: the same pages, read two ways (0.1 MiB rounding)
            assert (
                0
                < memory["start_rss_mib"]
                <= memory["peak_rss_mib"]
                <= memory["maxrss_after_mib"] + 1
                <= row["peak_rss_mib"] + 1
            ), phase
        assert row["peak_rss_mib"] > row["rss_after_imports_mib"] > 0
        assert row["model"]["epoch"] == pytest.approx(
            row["model"]["graph"] + row["model"]["train"] + row["model"]["valid"]
        )
        assert row["lightgcn"]["epoch"] == pytest.approx(
            row["lightgcn"]["setup"] + row["lightgcn"]["train"] + row["lightgcn"]["valid"]
        )
        assert set(row["memory"]["model epoch"]["parts"]) == {"setup", "graph", "train", "valid"}
        assert set(row["memory"]["lightgcn epoch"]["parts"]) == {"setup", "train", "valid"}


def test_the_item_path_phase_fits_once_and_validates_with_its_route_components_and_parts(curve):
    _, payload, text = curve
    for row in payload["rows"]:
        facts = row["item_path"]
        # 2,000 items at these sizes: under max_dense_items, so the dense route with the default DENSE_THETA
        assert facts["route"] == "dense" and 0 < facts["active_items"] <= row["items"] <= facts["max_dense_items"]
        assert facts["components"] == ["ridge", "lowpass", "interest", "text"] and facts["skipped"] == {}
        assert facts["theta"] == {"ridge": 1.0, "lowpass": 0.05, "interest": 0.1, "text": 0.05}
        # the parts are disjoint stretches of the one fit: each component's fit, and their sum within the whole
        parts = facts["fit_parts"]
        assert set(parts) == {"setup", "history", "rescale", "combine", *facts["components"]}
        assert all(v >= 0 for v in parts.values()) and 0 < sum(parts.values()) <= facts["fit"] + 1e-6
        # validation ran whole (one batch of 1,024 users: --max-batches 2 does not stop it) and scored far above
        # chance (20 of ~2,000 candidates)
        assert facts["valid_loop"] == {"batches_total": 1, "batches_run": 1, "extrapolated": False}
        assert 0.02 < facts["ndcg@20"] <= 1 and 0 < facts["recall@20"] <= 1 and facts["valid"] > 0
        assert row["seconds"]["item-path fit"] == pytest.approx(facts["fit"] + facts["valid"])
        # the first validation batch scored component by component, then whole, before evaluate
        batch = facts["score_batch"]
        assert batch["users"] == min(row["valid_users"], 1024) and set(batch["seconds"]) == {
            *facts["components"],
            "score",
        }
        assert all(v >= 0 for v in batch["seconds"].values())
        scoring = {f"score {name}" for name in facts["components"]} | {"score"}
        assert set(row["memory"]["item-path fit"]["parts"]) == set(parts) | scoring | {"valid"}
    assert "| 8,000 | " in text.split("Item-path fit")[1] and "| dense | ridge 1, lowpass 0.05" in text


def test_phases_option_picks_phases_in_their_order_and_names_what_is_missing():
    assert scale_curve.parse_phases(None) == scale_curve.PHASES == scale_curve.parse_phases("all")
    assert scale_curve.parse_phases("item-path-fit, generate,BUILD") == ("generate", "build", "item-path fit")
    assert scale_curve.parse_phases("generate,build,item_path fit") == ("generate", "build", "item-path fit")
    with pytest.raises(ValueError, match="'item-path fit' needs 'build'"):
        scale_curve.parse_phases("generate,item-path-fit")
    with pytest.raises(ValueError, match="unknown phase 'fit'"):
        scale_curve.parse_phases("generate,fit")


def test_only_the_chosen_phases_run(tmp_path):
    ran: list[str] = []

    def phase(name: str):
        def run(state, row, settings):
            ran.append(name)
            row["seconds"][name] = 1.0

        return run

    row = {"size": 1, "seconds": {}, "memory": {}, "status": "ok"}
    sampler = scale_curve.RssSampler().start()
    try:
        chosen = scale_curve.parse_phases("generate,build,item-path-fit")
        settings = {"inject": None, "phases": list(chosen)}
        functions = {name: phase(name) for name in scale_curve.PHASES}
        scale_curve.run_phases({}, row, settings, sampler, tmp_path / "trace.jsonl", functions)
    finally:
        sampler.stop()
    assert ran == ["generate", "build", "item-path fit"] and set(row["memory"]) == set(ran)
    assert row["status"] == "ok" and row["failures"] == []


def test_an_item_path_fit_that_fails_keeps_the_seconds_of_its_parts_and_names_the_part(monkeypatch):
    from interestgraph.data import generate_synthetic, split_log
    from interestgraph.model import item_path
    from interestgraph.paths.components import IdealLowPass

    def fail(self, data):
        raise MemoryError("no room for the low-pass")

    monkeypatch.setattr(IdealLowPass, "_fit", fail)
    split = split_log(generate_synthetic(n_users=200, n_items=300, n_interactions=3_000, seed=0).log, "rs-4")
    original = item_path.make_component
    sampler = scale_curve.RssSampler().start()
    row: dict = {"seconds": {}}
    try:
        with sampler.phase("item-path fit"), pytest.raises(MemoryError, match="low-pass"):
            scale_curve.phase_item_path({"graph": split, "sampler": sampler, "valid_users": 1}, row, {})
    finally:
        sampler.stop()
    # a plain split: the ridge fits, then the low-pass fails (interest and text have no data there)
    parts = row["item_path"]["fit_parts"]
    assert parts["failed in"] == "lowpass" and {"setup", "ridge", "lowpass"} <= set(parts) and parts["ridge"] > 0
    assert item_path.make_component is original  # the timing wrapper is undone
    assert "item-path fit" not in row["seconds"]
    line = scale_curve.item_path_table([{**row, "size": 3000, "status": "out of memory", "memory": sampler.peaks}])[-1]
    assert "failed in lowpass" in line and line.endswith("| out of memory |")


def test_loops_past_max_batches_are_extrapolated_and_labelled(curve):
    _, payload, text = curve
    big = payload["rows"][-1]
    lightgcn = big["lightgcn"]["train_loop"]  # 20,000 events: more than 2 batches of 2,048 training pairs
    assert lightgcn["batches_total"] > 2 and lightgcn["batches_run"] == 2 and lightgcn["extrapolated"]
    assert big["lightgcn"]["train"] == pytest.approx(lightgcn["seconds_per_batch"] * lightgcn["batches_total"])
    assert big["lightgcn"]["extrapolated"] and big["lightgcn"]["fit"] is None
    model = big["model"]["train_loop"]  # about 1,000 users with targets: 4 batches of 256
    assert model["batches_total"] > 2 and model["batches_run"] == 2 and big["model"]["extrapolated"]
    assert big["model"]["train"] == pytest.approx(model["seconds_per_batch"] * model["batches_total"])
    # the stopped epoch's validation still ran, whole (one batch of 1,024 users), and was timed
    assert (
        big["model"]["valid_loop"] == {"batches_total": 1, "batches_run": 1, "extrapolated": False}
        and big["model"]["valid"] > 0
    )
    assert "EXTRAPOLATED from 2 of" in text and "~" in text


def test_report_states_the_settings_and_the_command(curve):
    _, payload, text = curve
    assert "n_users = max(1000, events/50)" in text and "protocol rs-4" in text and "Threads per child: 1" in text
    assert "--max-batches 2" in payload["command"] and payload["command"] in text
    assert payload["settings"]["phases"] == list(scale_curve.PHASES)
    assert "Phases: generate, build, item-path fit" in text
    assert payload["machine"]["cores"] >= 1 and payload["versions"]["torch"]
    # results, item-path and memory tables
    assert text.count("\n| 8,000 |") == 3 and text.count("\n| 20,000 |") == 3


def test_a_child_out_of_memory_becomes_a_failure_row_and_a_nonzero_exit(tmp_path):
    # 0.05 GiB more than the child holds after its imports: the first sizeable allocation fails (RLIMIT_AS)
    code = scale_curve.main(["--sizes", "8000", "--threads", "1", "--memory-limit", "0.05", "--out", str(tmp_path)])
    assert code == 1
    row = json.loads((tmp_path / "scale-curve.json").read_text())["rows"][0]
    assert row["status"] == "out of memory at phase generate"
    assert (
        row["memory_limit"]["gib"] == 0.05
        and row["memory_limit"]["rlimit_as_mib"] > row["memory_limit"]["mapped_not_resident_mib"]
    )
    # the later phases need the log: not run (a native allocation failure aborts the child before it reports memory)
    assert set(row["memory"]) <= {"generate"}
    assert "out of memory at phase generate" in (tmp_path / "scale-curve.md").read_text()


def test_a_killed_child_becomes_a_crashed_row(tmp_path):
    code = scale_curve.main(["--sizes", "8000", "--threads", "1", "--inject", "generate:kill", "--out", str(tmp_path)])
    assert code == 1
    row = json.loads((tmp_path / "scale-curve.json").read_text())["rows"][0]
    assert row["status"] == "crashed at phase generate"
    assert "SIGKILL" in row["failures"][0]["error"]


def _phases_with_failure(tmp_path, failing: str, error: BaseException) -> tuple[dict, list[str]]:
    """Run the phase loop in this process with stand-in phases, ``failing`` raising ``error``; returns the row and
    the phases run."""
    ran: list[str] = []

    def phase(name: str):
        def run(state, row, settings):
            ran.append(name)
            if name == failing:
                raise error
            row["seconds"][name] = 1.0

        return run

    row = {"size": 1, "seconds": {}, "memory": {}, "status": "ok"}
    sampler = scale_curve.RssSampler().start()
    try:
        scale_curve.run_phases(
            {},
            row,
            {"inject": None},
            sampler,
            tmp_path / "trace.jsonl",
            {name: phase(name) for name in scale_curve.PHASES},
        )
    finally:
        sampler.stop()
    return row, ran


def test_a_failed_epoch_does_not_stop_the_other_but_a_failed_build_stops_the_case(tmp_path, capsys):
    row, ran = _phases_with_failure(
        tmp_path,
        "model epoch",
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 bytes"),
    )
    assert ran == list(scale_curve.PHASES) and row["status"] == "out of memory at phase model epoch"
    assert row["failures"][0]["error"].startswith("RuntimeError: DefaultCPUAllocator") and set(row["memory"]) == set(
        scale_curve.PHASES
    )
    row, ran = _phases_with_failure(tmp_path, "build", ValueError("bad graph"))
    assert ran == ["generate", "build"] and row["status"] == "failed at phase build"
    assert [json.loads(line)["phase"] for line in (tmp_path / "trace.jsonl").read_text().splitlines()][-2:] == [
        "generate",
        "build",
    ]


def test_failure_classification():
    assert scale_curve.is_out_of_memory(MemoryError())
    assert scale_curve.is_out_of_memory(
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 bytes")
    )
    wrapped = ValueError("outer")
    wrapped.__cause__ = MemoryError()
    assert scale_curve.is_out_of_memory(wrapped)
    assert not scale_curve.is_out_of_memory(RuntimeError("shapes do not match"))


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--sizes", "5000"], "--sizes"),  # fewer than 8 events per user of the rule's 1,000 users
        (["--sizes", "abc"], "--sizes"),
        (["--inject", "nowhere:memory"], "--inject"),
        (["--threads", "0"], "--threads"),
        (["--memory-limit", "0"], "--memory-limit"),
        (["--user-batch", "0"], "--user-batch"),
        (["--phases", "build,item-path-fit"], "--phases"),  # build needs generate
        (["--phases", "generate,build", "--inject", "model epoch:error"], "--inject"),
    ],
)
def test_bad_arguments_are_errors_naming_the_argument(argv, fragment, capsys):
    with pytest.raises(SystemExit) as stop:
        scale_curve.main(argv)
    assert stop.value.code == 2
    assert fragment in capsys.readouterr().err


def test_cuda_without_a_gpu_is_an_error_naming_the_device(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(SystemExit):
        scale_curve.main(["--device", "cuda"])
    assert "--device cuda" in capsys.readouterr().err


def test_an_abort_under_the_memory_limit_is_out_of_memory_and_elsewhere_a_crash(tmp_path):
    import signal

    trace = tmp_path / "trace.jsonl"
    limit = {"gib": 0.05, "rlimit_as_mib": 1800.0, "mapped_not_resident_mib": 1700.0, "resident_at_limit_mib": 300.0}
    trace.write_text(json.dumps({"memory_limit": limit}) + "\n" + json.dumps({"phase": "build", "rss_mib": 1.0}) + "\n")
    row = scale_curve.crashed_row(8000, -signal.SIGABRT, trace)
    assert row["status"] == "out of memory at phase build" and row["memory_limit"] == limit
    assert "SIGABRT under the 0.05 GiB memory limit" in row["failures"][0]["error"]
    trace.write_text(json.dumps({"memory_limit": None}) + "\n" + json.dumps({"phase": "build", "rss_mib": 1.0}) + "\n")
    assert scale_curve.crashed_row(8000, -signal.SIGABRT, trace)["status"] == "crashed at phase build"
    assert scale_curve.crashed_row(8000, -signal.SIGKILL, tmp_path / "absent")["status"] == "crashed at phase startup"
