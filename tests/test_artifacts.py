"""Atomic artifact directories and checksummed manifests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from interestgraph.artifacts import MANIFEST_NAME, atomic_directory, read_manifest, recover_replaced, write_manifest
from interestgraph.errors import ArtifactError

ROOT = Path(__file__).resolve().parents[1]


def _write(target: Path, payload: str, *, overwrite: bool = False) -> None:
    with atomic_directory(target, overwrite=overwrite) as tmp:
        (tmp / "sub").mkdir()
        (tmp / "data.txt").write_text(payload)
        (tmp / "sub" / "more.txt").write_text(payload * 2)
        write_manifest(tmp, format="interestgraph-test", format_version=1, metadata={"payload": payload})


def test_round_trip_and_manifest_contents(tmp_path):
    target = tmp_path / "art"
    _write(target, "hello")
    manifest = read_manifest(target, format="interestgraph-test", supported_versions=(1,))
    assert manifest["payload"] == "hello"
    assert set(manifest["files"]) == {"data.txt", "sub/more.txt"}
    assert manifest["files"]["data.txt"]["bytes"] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["art"]  # no temporary directory left behind


def test_existing_target_needs_overwrite(tmp_path):
    target = tmp_path / "art"
    _write(target, "one")
    with pytest.raises(FileExistsError, match="overwrite"):
        _write(target, "two")
    _write(target, "two", overwrite=True)
    assert (target / "data.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_exception_inside_leaves_previous_artifact(tmp_path):
    target = tmp_path / "art"
    _write(target, "keep")
    with pytest.raises(RuntimeError), atomic_directory(target, overwrite=True) as tmp:
        (tmp / "data.txt").write_text("half")
        raise RuntimeError("disk on fire")
    assert (target / "data.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_sigkill_midway_leaves_previous_artifact_intact(tmp_path):
    target = tmp_path / "art"
    _write(target, "original")
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from interestgraph.artifacts import atomic_directory
        with atomic_directory(Path({str(target)!r}), overwrite=True) as tmp:
            (tmp / "data.txt").write_text("partial")
            print("writing", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    manifest = read_manifest(target, format="interestgraph-test", supported_versions=(1,))
    assert manifest["payload"] == "original"
    assert (target / "data.txt").read_text() == "original"


def test_replace_killed_between_renames_is_reported_and_recovered_explicitly(tmp_path):
    target = tmp_path / "art"
    _write(target, "previous")
    aside = tmp_path / "art.replaced-abc123"
    os.rename(target, aside)  # what a kill between the two renames leaves
    with pytest.raises(ArtifactError, match=r"previous copy survives at .*art\.replaced-abc123.*recover_replaced"):
        read_manifest(target, format="interestgraph-test", supported_versions=(1,))
    assert aside.exists()  # reading never moves files
    assert recover_replaced(target) is True
    assert read_manifest(target, format="interestgraph-test", supported_versions=(1,))["payload"] == "previous"
    assert recover_replaced(target) is False


@pytest.mark.parametrize("damage", ["edit", "truncate", "delete", "manifest-json", "no-manifest"])
def test_tampered_or_truncated_artifact_is_refused(tmp_path, damage):
    target = tmp_path / "art"
    _write(target, "payload-bytes")
    data = target / "data.txt"
    if damage == "edit":
        data.write_text("payload-BYTES")  # same size, other content
        expected = "SHA-256"
    elif damage == "truncate":
        data.write_text("pay")
        expected = "truncated or modified"
    elif damage == "delete":
        data.unlink()
        expected = "missing"
    elif damage == "manifest-json":
        (target / MANIFEST_NAME).write_text("{not json")
        expected = "not valid JSON"
    else:
        (target / MANIFEST_NAME).unlink()
        expected = "no manifest.json"
    with pytest.raises(ArtifactError, match=expected):
        read_manifest(target, format="interestgraph-test", supported_versions=(1,))


def test_unknown_format_or_newer_version_is_refused(tmp_path):
    target = tmp_path / "art"
    _write(target, "x")
    with pytest.raises(ArtifactError, match="expected a 'interestgraph-graph' artifact"):
        read_manifest(target, format="interestgraph-graph", supported_versions=(1,))
    manifest = json.loads((target / MANIFEST_NAME).read_text())
    manifest["format_version"] = 7
    (target / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="newer interestgraph"):
        read_manifest(target, format="interestgraph-test", supported_versions=(1,))


def test_manifest_shape_and_required_files(tmp_path):
    target = tmp_path / "art"
    _write(target, "x")
    with pytest.raises(ArtifactError, match="does not list required file"):
        read_manifest(
            target, format="interestgraph-test", supported_versions=(1,), required_files=("data.txt", "other.parquet")
        )
    with pytest.raises(ArtifactError, match="lacks required key"):
        read_manifest(target, format="interestgraph-test", supported_versions=(1,), required_keys=("payload", "config"))
    manifest = json.loads((target / MANIFEST_NAME).read_text())
    manifest["files"]["data.txt"] = "not an entry"
    (target / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="no valid 'files' table"):
        read_manifest(target, format="interestgraph-test", supported_versions=(1,))


def test_missing_directory(tmp_path):
    with pytest.raises(ArtifactError, match="no such artifact directory"):
        read_manifest(tmp_path / "nothing", format="x", supported_versions=(1,))
