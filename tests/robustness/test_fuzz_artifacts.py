"""Issue 27 item 8: random edits of saved graphs and models (manifest values, outside paths, file bytes with the
checksums recomputed, edge type names) never raise anything but our errors, never read or write outside the
artifact, and a load that succeeds gives well-formed results (finite scores, k known items per user).

Python-level file opens are watched with an audit hook; the native readers (Arrow, safetensors) open only paths
that :func:`interestgraph.artifacts.artifact_file` or ``read_manifest`` checked, and a manifest entry that points
outside at a valid file with its true checksum must never load."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interestgraph.artifacts import MANIFEST_NAME, sha256_file
from interestgraph.errors import InterestGraphError
from interestgraph.graph import InterestGraph
from interestgraph.graph.interest_graph import EDGE_TYPES
from interestgraph.model import InterestGraphModel
from interestgraph.recommend import recommend

#: a longer hunt: INTERESTGRAPH_FUZZ_EXAMPLES=500 pytest tests/robustness/test_fuzz_artifacts.py (random seeds then)
_EXAMPLES = int(os.environ.get("INTERESTGRAPH_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=_EXAMPLES or 25,
    deadline=None,
    derandomize=not _EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_WATCH: dict[str, Path | None] = {"sandbox": None, "artifact": None}
_OUTSIDE: list[str] = []


def _audit(event: str, args) -> None:
    sandbox, artifact = _WATCH["sandbox"], _WATCH["artifact"]
    if sandbox is None or event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = Path(os.path.realpath(os.fsdecode(args[0])))
    if sandbox in path.parents and not (path == artifact or artifact in path.parents):
        _OUTSIDE.append(str(path))


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one is idle unless a sandbox is set

SPECIAL = st.sampled_from(
    ["../secret/payload.bin", "/etc/passwd", "", ".", "..", "a/../../x", "edges/../../../secret/payload.bin", "\x00"]
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.sampled_from([0, -1, 10**7, 2**63])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | SPECIAL,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _paths(value, prefix=()) -> list[tuple]:
    """Every key path into a JSON object (depth <= 3)."""
    out = []
    if isinstance(value, dict) and len(prefix) < 3:
        for key, inner in value.items():
            out.append((*prefix, key))
            out += _paths(inner, (*prefix, key))
    return out


def _apply(manifest: dict, path: tuple, value, delete: bool) -> None:
    node = manifest
    for key in path[:-1]:
        node = node[key]
    if delete:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def _sandbox(saved, kind: str):
    """A temporary sandbox holding ``secret/payload.bin`` (a copy of a real artifact file) and a copy of the
    artifact at ``a/b/art`` (so ``../..`` from it stays in the sandbox)."""
    root = Path(tempfile.mkdtemp(prefix="fuzz-")).resolve()
    art = Path(shutil.copytree(saved[0] / kind, root / "a" / "b" / "art"))
    (root / "secret").mkdir()
    shutil.copy(
        art / ("edges/item-item.parquet" if kind == "g" else "history.parquet"), root / "secret" / "payload.bin"
    )
    return root, art


def _load_and_check(root: Path, art: Path, kind: str) -> str:
    """Load under the audit hook; our error or a well-formed result. Returns ``"error"`` or ``"loaded"``."""
    _WATCH.update(sandbox=root, artifact=art)
    _OUTSIDE.clear()
    try:
        loaded = InterestGraph.load(art) if kind == "g" else InterestGraphModel.load(art)
    except InterestGraphError as exc:
        assert 0 < len(str(exc)) < 3000, "a clear, bounded message"
        return "error"
    finally:
        _WATCH.update(sandbox=None, artifact=None)
        assert not _OUTSIDE, f"opened outside the artifact: {_OUTSIDE}"
    manifest = json.loads((art / MANIFEST_NAME).read_text())
    for rel in manifest["files"]:  # a load that succeeded listed nothing outside
        assert os.path.realpath(art / rel).startswith(str(art) + os.sep), rel
    if kind == "g":
        assert loaded.counts() == manifest["counts"]
        assert np.isfinite(loaded.interest_vectors.numpy()).all()
    else:
        users = list(loaded.user_ids[:3])
        table = recommend(loaded, users, k=5)
        assert len(table) == 5 * len(users)
        assert np.isfinite(table["score"].to_numpy()).all()
        assert table["item_id"].isin(loaded.item_ids).all()
    return "loaded"


@FUZZ
@given(kind=st.sampled_from(["g", "m"]), data=st.data())
def test_random_manifest_edits_give_our_errors_or_well_formed_results(saved, kind, data):
    root, art = _sandbox(saved, kind)
    try:
        manifest = json.loads((art / MANIFEST_NAME).read_text())
        paths = _paths(manifest)
        for _ in range(data.draw(st.integers(1, 3), label="edits")):
            path = data.draw(st.sampled_from(paths), label="path")
            delete = data.draw(st.booleans(), label="delete")
            _apply(manifest, path, data.draw(JSON, label="value"), delete)
            paths = _paths(manifest)
        if data.draw(st.booleans(), label="outside entry"):  # the real checksum of a real file elsewhere
            payload = root / "secret" / "payload.bin"
            entry = {"sha256": sha256_file(payload), "bytes": payload.stat().st_size}
            name = data.draw(st.sampled_from([str(payload), "../../../secret/payload.bin"]), label="name")
            if isinstance(manifest.get("files"), dict):
                manifest["files"][name] = entry
        text = json.dumps(manifest, allow_nan=True)
        (art / MANIFEST_NAME).write_text(text)
        _load_and_check(root, art, kind)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@FUZZ
@given(kind=st.sampled_from(["g", "m"]), data=st.data())
def test_random_bytes_in_resealed_files_give_our_errors_or_well_formed_results(saved, kind, data):
    root, art = _sandbox(saved, kind)
    try:
        manifest = json.loads((art / MANIFEST_NAME).read_text())
        rel = data.draw(st.sampled_from(sorted(manifest["files"])), label="file")
        raw = bytearray((art / rel).read_bytes())
        how = data.draw(st.sampled_from(["truncate", "overwrite", "append", "zero"]), label="how")
        at = data.draw(st.integers(0, max(0, len(raw) - 1)), label="at")
        chunk = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        if how == "truncate":
            raw = raw[:at]
        elif how == "overwrite":
            raw[at : at + len(chunk)] = chunk
        elif how == "append":
            raw += chunk
        else:
            raw[at : at + 64] = bytes(len(raw[at : at + 64]))
        (art / rel).write_bytes(bytes(raw))
        manifest["files"][rel] = {"sha256": sha256_file(art / rel), "bytes": len(raw)}
        (art / MANIFEST_NAME).write_text(json.dumps(manifest))
        _load_and_check(root, art, kind)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@FUZZ
@given(name=st.text(alphabet="./\\~-_ab\x00:", min_size=1, max_size=12) | SPECIAL)
def test_edge_type_names_never_write_outside_the_output(saved, name):
    _, graph, _ = saved
    root = Path(tempfile.mkdtemp(prefix="fuzz-")).resolve()
    try:
        edges = {**graph.edges, name: graph.edges["item-item"]}
        weird = InterestGraph(**{**graph.__dict__, "edges": edges})
        out = root / "x" / "y" / "out"
        try:
            weird.save(out)
        except (InterestGraphError, OSError):
            pass
        else:
            assert name in EDGE_TYPES, name  # only a known type may be saved
        written = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
        assert all(p in ("x", "x/y") or p.startswith("x/y/out") for p in written), written
    finally:
        shutil.rmtree(root, ignore_errors=True)
