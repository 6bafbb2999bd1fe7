"""Issue 27: what an output directory may destroy, concurrent writers, artifacts that cannot reach outside
themselves, non-finite or oversized stored values, recovery after killed saves, and damaged files reported as
ArtifactError naming the file. Each test here failed before the fix it names (see docs/reliability.md)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from safetensors.torch import load_file, save_file

from interestgraph import artifacts
from interestgraph.artifacts import (
    MANIFEST_NAME,
    atomic_directory,
    read_manifest,
    recover_replaced,
    sha256_file,
    write_manifest,
)
from interestgraph.cli import main
from interestgraph.errors import ArtifactError, OutputError
from interestgraph.evaluate import evaluate
from interestgraph.graph import InterestGraph
from interestgraph.model import InterestGraphModel
from interestgraph.recommend import recommend

ROOT = Path(__file__).resolve().parents[2]


def _copy(source: Path, parent: Path, name: str) -> Path:
    return Path(shutil.copytree(source, parent / name))


def _reseal(directory: Path) -> None:
    """Recompute every checksum in the manifest (a tamperer who knows the format)."""
    path = directory / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    for rel, entry in manifest["files"].items():
        target = directory / rel
        if target.is_file():
            entry.update(sha256=sha256_file(target), bytes=target.stat().st_size)
    path.write_text(json.dumps(manifest))


def _edit_manifest(directory: Path, change) -> None:
    path = directory / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _write(target: Path, payload: str, **options) -> None:
    with atomic_directory(target, **options) as tmp:
        (tmp / "data.txt").write_text(payload)
        write_manifest(tmp, format="interestgraph-test", format_version=1, metadata={"payload": payload})


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def _csv_source(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rows = ["user_id,item_id,timestamp"] + [
        f"u{u},i{(u * 7 + k) % 30},{1_600_000_000 + k}" for u in range(20) for k in range(8)
    ]
    (directory / "events.csv").write_text("\n".join(rows) + "\n")
    return directory / "events.csv"


# ------------------------------------------------------------------ item 1: --overwrite never destroys what is not ours
def test_overwrite_refuses_a_directory_of_user_files(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match=r"not an interestgraph artifact .*thesis\.tex"):
        _write(mine, "x", overwrite=True)
    assert (mine / "thesis.tex").read_text() == "years of work"
    empty = tmp_path / "empty"
    empty.mkdir()
    _write(empty, "fine", overwrite=True)  # an empty directory holds nothing to lose
    assert read_manifest(empty, format="interestgraph-test", supported_versions=(1,))["payload"] == "fine"


def test_cli_build_refuses_an_out_that_is_or_holds_its_input(tmp_path, capsys):
    data = tmp_path / "data"
    events = _csv_source(data)
    (data / "notes.txt").write_text("keep me")
    base = ["build", "--format", "csv", "--encoder", "lexical", "--overwrite", "-q"]
    code, err = _cli(capsys, *base[:1], str(events), *base[1:], "--out", str(data))
    assert code == 1 and "refusing to write there: it contains the input" in err, err
    src = data / "src"
    src.mkdir()
    shutil.copy(events, src / "events.csv")
    code, err = _cli(capsys, "build", str(src / "events.csv"), *base[1:], "--out", str(data))
    assert code == 1 and "contains the input" in err, err
    link = tmp_path / "link"
    link.symlink_to(data, target_is_directory=True)  # the same folder under another name
    code, err = _cli(capsys, "build", str(events), *base[1:], "--out", str(link))
    assert code == 1 and "contains the input" in err, err
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_text("user file")
    code, err = _cli(capsys, "build", str(events), *base[1:], "--out", str(other))
    assert code == 1 and "not an interestgraph artifact" in err, err
    assert sorted(p.name for p in data.iterdir()) == ["events.csv", "notes.txt", "src"]
    assert (other / "a.txt").read_text() == "user file"
    code, err = _cli(capsys, "build", str(events), *base[1:], "--out", str(data / "graph"))  # inside: allowed
    assert code == 0, err
    assert InterestGraph.load(data / "graph").counts()["nodes"]["user"] == 20


def test_train_refuses_to_write_over_its_graph_and_a_model_never_replaces_a_graph(saved, tmp_path, capsys):
    root, _, model = saved
    graph_dir = _copy(root / "g", tmp_path, "g")
    code, err = _cli(capsys, "train", str(graph_dir), "--out", str(graph_dir), "--overwrite", "--epochs", "1", "-q")
    assert code == 1 and "it is the input" in err, err
    InterestGraph.load(graph_dir)  # intact
    other_graph = _copy(root / "g", tmp_path, "g2")
    with pytest.raises(OutputError, match="holds an interestgraph-graph; refusing to replace it with an interestgraph"):
        model.save(other_graph, overwrite=True)
    InterestGraph.load(other_graph)


@pytest.mark.parametrize("out", ["", "."])
def test_empty_or_dot_out_is_refused(tmp_path, capsys, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(OutputError, match="not ''|not '.'"):
        _write(Path(out), "x", overwrite=True)
    code, err = _cli(capsys, "generate", "--n-users", "5", "--n-items", "5", "--n-events", "100", "--out", out, "-q")
    assert code == 1 and "name a new or existing artifact directory" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


# ------------------------------------------------------------------ item 2: concurrent writers
def test_concurrent_writers_exactly_one_wins(tmp_path):
    target = tmp_path / "out"
    barrier = threading.Barrier(6)
    results: dict[int, str] = {}

    def writer(k: int) -> None:
        try:
            barrier.wait()
            with atomic_directory(target) as tmp:
                (tmp / "data.txt").write_text(f"writer {k}")
                time.sleep(0.05)
                write_manifest(tmp, format="interestgraph-test", format_version=1, metadata={"payload": k})
            results[k] = "ok"
        except (OutputError, FileExistsError) as exc:
            results[k] = f"refused: {exc}"

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [k for k, r in results.items() if r == "ok"]
    assert len(winners) == 1, results
    assert all(
        "another process is writing it" in r or "already exists" in r for k, r in results.items() if k != winners[0]
    )
    assert (target / "data.txt").read_text() == f"writer {winners[0]}"  # what the winner reported is what is there
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_without_the_lock_the_late_writer_fails(tmp_path, monkeypatch):
    """Where advisory locks do not work (some network file systems), the final rename still refuses to replace."""
    monkeypatch.setattr(artifacts, "_writer_lock", lambda target: __import__("contextlib").nullcontext())
    target = tmp_path / "out"
    with pytest.raises(OutputError, match="another writer created it meanwhile"), atomic_directory(target) as first:
        (first / "data.txt").write_text("first")
        _write(target, "second")
        write_manifest(first, format="interestgraph-test", format_version=1)
    assert (target / "data.txt").read_text() == "second"


def test_two_processes_saving_one_output(tmp_path):
    target = tmp_path / "out"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from interestgraph.artifacts import atomic_directory, write_manifest
        from interestgraph.errors import OutputError
        try:
            with atomic_directory(Path({str(target)!r}), overwrite=True) as tmp:
                (tmp / "data.txt").write_text(sys.argv[1])
                time.sleep(0.5)
                write_manifest(tmp, format="interestgraph-test", format_version=1)
        except (OutputError, FileExistsError) as exc:
            print("refused", exc)
        else:
            print("ok")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, name], stdout=subprocess.PIPE, text=True) for name in "ab"]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(o.split()[0] for o in outputs) == ["ok", "refused"], outputs
    winner = "ab"[[o.split()[0] for o in outputs].index("ok")]
    assert (target / "data.txt").read_text() == winner


# ------------------------------------------------------------------ item 3: nothing outside the artifact is read
@pytest.mark.parametrize("where", ["dotdot", "absolute", "symlink"])
def test_manifest_entries_cannot_reach_outside(tmp_path, where):
    outside = tmp_path / "secret.txt"
    outside.write_text("s3cret contents of some length")
    target = tmp_path / "deep" / "art"
    _write(target, "x")
    if where == "dotdot":
        rel = os.path.relpath(outside, target)
    elif where == "absolute":
        rel = str(outside)
    else:
        rel = "inner.txt"
        (target / rel).symlink_to(outside)
    entry = {"sha256": sha256_file(outside), "bytes": 1}  # real checksum, wrong size: must not reveal the real one
    _edit_manifest(target, lambda m: m["files"].update({rel: entry}))
    with pytest.raises(ArtifactError, match="leaves the artifact|not a relative file name") as info:
        read_manifest(target, format="interestgraph-test", supported_versions=(1,))
    assert str(outside.stat().st_size) not in str(info.value)
    entry["bytes"] = outside.stat().st_size
    _edit_manifest(target, lambda m: m["files"].update({rel: entry}))
    with pytest.raises(ArtifactError, match="leaves the artifact|not a relative file name"):
        read_manifest(target, format="interestgraph-test", supported_versions=(1,))


def test_edge_type_names_cannot_leave_the_graph(saved, tmp_path):
    root, graph, _ = saved
    g = _copy(root / "g", tmp_path / "in", "g")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(g / "edges" / "item-item.parquet", outside / "ii.parquet")
    name = "../../../outside/ii"  # from g/edges/ to tmp_path/outside/
    shutil.copy(outside / "ii.parquet", g / "edges" / "x.parquet")

    def swap(manifest):
        manifest["edge_types"] = [name if k == "item-item" else k for k in manifest["edge_types"]]
        manifest["files"][f"edges/{name}.parquet"] = manifest["files"].pop("edges/item-item.parquet")

    _edit_manifest(g, swap)
    with pytest.raises(ArtifactError, match="not usable as a file name|leaves the artifact"):
        InterestGraph.load(g)
    bad = InterestGraph(**{**graph.__dict__, "edges": {**graph.edges, "../../escape/ii": graph.edges["item-item"]}})
    with pytest.raises(ArtifactError, match="edge type '../../escape/ii': not usable as a file name"):
        bad.save(tmp_path / "a" / "b" / "out")
    assert not (tmp_path / "a").exists() and not (tmp_path / "escape").exists()


# ------------------------------------------------------------------ item 4: non-finite values, sizes before allocation
@pytest.mark.parametrize(
    "file, tensor", [("operator.safetensors", "data"), ("weights.safetensors", "user_embedding.weight")]
)
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_tensors_are_refused_by_name(saved, tmp_path, capsys, file, tensor, bad):
    m = _copy(saved[0] / "m", tmp_path, "m")
    tensors = load_file(str(m / file))
    values = tensors[tensor].clone()
    values.view(-1)[: max(1, values.numel() // 50)] = bad  # 2 % of the values
    tensors[tensor] = values
    save_file(tensors, str(m / file))
    _reseal(m)
    with pytest.raises(ArtifactError, match=rf"{file}: tensor '{tensor}' holds \d+ non-finite value"):
        InterestGraphModel.load(m)
    code, err = _cli(capsys, "recommend", str(m), "--user", str(saved[2].user_ids[0]))
    assert code == 1 and "non-finite" in err and "internal error" not in err, err


def test_nan_in_graph_vectors_is_refused(saved, tmp_path):
    g = _copy(saved[0] / "g", tmp_path, "g")
    tensors = load_file(str(g / "vectors.safetensors"))
    tensors["interest_vectors"][0, 0] = float("nan")
    save_file(tensors, str(g / "vectors.safetensors"))
    _reseal(g)
    with pytest.raises(ArtifactError, match=r"vectors.safetensors: tensor 'interest_vectors' holds 1 non-finite"):
        InterestGraph.load(g)


@pytest.mark.parametrize("field, value", [("dim", 10**7), ("gate_rank", 10**6)])
def test_a_huge_configured_size_fails_fast_before_allocating(saved, tmp_path, field, value):
    m = _copy(saved[0] / "m", tmp_path, "m")
    _edit_manifest(m, lambda manifest: manifest["model_config"].update({field: value}))
    _reseal(m)
    started = time.perf_counter()
    with pytest.raises(ArtifactError, match=rf"weights.safetensors: .*{field}"):
        InterestGraphModel.load(m)
    assert time.perf_counter() - started < 2.0


# ------------------------------------------------------------------ item 6: recovery and leftovers
def test_recover_never_picks_a_half_deleted_copy(tmp_path):
    target = tmp_path / "art"
    _write(tmp_path / "one", "complete")
    os.rename(tmp_path / "one", tmp_path / "art.replaced-aaaaaaaaaaaa")  # what a kill between the two renames leaves
    _write(tmp_path / "two", "newer")
    half = tmp_path / "art.replaced-bbbbbbbbbbbb"
    os.rename(tmp_path / "two", half)
    (half / "data.txt").unlink()  # a copy whose deletion was under way: newer mtime, incomplete
    os.utime(half, (time.time() + 60, time.time() + 60))
    with pytest.raises(ArtifactError, match=r"art\.replaced-aaaaaaaaaaaa"):
        read_manifest(target, format="interestgraph-test", supported_versions=(1,))
    assert recover_replaced(target) is True
    assert read_manifest(target, format="interestgraph-test", supported_versions=(1,))["payload"] == "complete"


def test_recover_refuses_when_no_copy_is_complete(tmp_path):
    target = tmp_path / "art"
    _write(target, "x")
    half = tmp_path / "art.replaced-cccccccccccc"
    os.rename(target, half)
    (half / "data.txt").write_text("y")  # same size, other bytes
    with pytest.raises(ArtifactError, match="no surviving copy is complete .*SHA-256"):
        recover_replaced(target)
    assert half.exists() and not target.exists()


def test_killed_saves_leave_nothing_that_loads_and_the_next_write_cleans_up(tmp_path):
    target = tmp_path / "art"
    _write(target, "v1")
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from interestgraph.artifacts import atomic_directory, write_manifest
        with atomic_directory(Path({str(target)!r}), overwrite=True) as tmp:
            (tmp / "data.txt").write_text("v2")
            write_manifest(tmp, format="interestgraph-test", format_version=1)
            os.kill(os.getpid(), 9)  # killed after the whole artifact was staged, before it was published
    """)
    subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    staged = [p for p in tmp_path.iterdir() if p.name.startswith(".art.tmp-")]
    assert len(staged) == 1
    with pytest.raises(ArtifactError, match="unfinished write's staging directory"):
        read_manifest(staged[0], format="interestgraph-test", supported_versions=(1,))
    discarded = tmp_path / "art.replaced-dddddddddddd"  # a replaced copy whose deletion was killed
    discarded.mkdir()
    (discarded / artifacts.DISCARD_MARKER).write_text("")
    (discarded / "big.bin").write_bytes(b"0" * 1000)
    mine = tmp_path / ".art.tmp-eeeeeeeeeeee"  # the same pattern, but not ours (no marker, no manifest)
    mine.mkdir()
    (mine / "user.txt").write_text("not ours")
    _write(target, "v3", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".art.tmp-eeeeeeeeeeee", "art"]
    assert (target / "data.txt").read_text() == "v3"


# ------------------------------------------------------------------ item 7: damaged parts, ids, permissions
@pytest.mark.parametrize(
    "file, damage",
    [
        ("operator.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}"),
        ("weights.safetensors", b"garbage"),
        ("nodes.parquet", b"PAR1 not really parquet PAR1"),
        ("history.parquet", b""),
    ],
)
def test_damaged_files_are_artifact_errors_naming_the_file(saved, tmp_path, capsys, file, damage):
    m = _copy(saved[0] / "m", tmp_path, "m")
    (m / file).write_bytes(damage)
    _reseal(m)
    with pytest.raises(ArtifactError, match=rf"{file}"):
        InterestGraphModel.load(m)
    code, err = _cli(capsys, "recommend", str(m), "--user", str(saved[2].user_ids[0]))
    assert code == 1 and file in err and "internal error" not in err, err


def test_a_node_table_with_wrong_ids_is_not_evaluated(saved, tmp_path):
    root, graph, _ = saved
    m = _copy(root / "m", tmp_path, "m")
    nodes = pd.read_parquet(m / "nodes.parquet")
    users = nodes.index[nodes["type"] == "user"]
    nodes.loc[users, "id"] = nodes.loc[users, "id"].to_numpy()[::-1]  # users served under each other's IDs
    nodes.to_parquet(m / "nodes.parquet", index=False)
    _reseal(m)
    model = InterestGraphModel.load(m)
    with pytest.raises(ValueError, match="user_ids differ from the split's"):
        evaluate(model, graph.split)
    assert recommend(model, [model.user_ids[0]], k=3).shape[0] == 3  # recommend still serves, under its IDs


def test_safetensors_are_written_with_the_usual_permissions(saved):
    root = saved[0]
    modes = {
        p.name: stat.S_IMODE(p.stat().st_mode)
        for p in [*(root / "m").iterdir(), *(root / "g").iterdir()]
        if p.is_file()
    }
    assert modes["weights.safetensors"] == modes["manifest.json"] == modes["vectors.safetensors"], modes
    assert modes["operator.safetensors"] == modes["nodes.parquet"]


def test_build_refuses_an_existing_out_before_building(tmp_path, capsys, monkeypatch):
    events = _csv_source(tmp_path / "d")
    out = tmp_path / "g"
    out.mkdir()
    (out / "x.txt").write_text("x")
    import interestgraph.graph as graph_module

    monkeypatch.setattr(
        graph_module, "build_interest_graph", lambda *a, **k: pytest.fail("built before checking --out")
    )
    code, err = _cli(
        capsys, "build", str(events), "--format", "csv", "--encoder", "lexical", "--out", str(out), "--overwrite"
    )
    assert code == 1 and "not an interestgraph artifact" in err, err


def test_outputs_in_a_fresh_parent_and_through_a_symlinked_target(tmp_path):
    real = tmp_path / "real"
    _write(real, "one")
    link = tmp_path / "latest"
    link.symlink_to(real, target_is_directory=True)
    _write(link, "two", overwrite=True)  # replaces the directory the link names; the link stays
    assert link.is_symlink() and (real / "data.txt").read_text() == "two"
    _write(tmp_path / "new" / "deeper" / "art", "three")
    assert sorted(p.name for p in (tmp_path / "new" / "deeper").iterdir()) == ["art"]


def test_a_checkpoint_dir_of_user_files_is_refused_before_training(saved, tmp_path, capsys):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    code, err = _cli(
        capsys,
        "train",
        str(saved[0] / "g"),
        "--out",
        str(tmp_path / "m"),
        "--checkpoint-dir",
        str(folder),
        "--epochs",
        "1",
        "--dim",
        "8",
        "-q",
    )
    assert code == 1 and "refusing to replace a directory that is not an interestgraph artifact" in err, err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"] and not (tmp_path / "m").exists()
