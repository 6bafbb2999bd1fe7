"""The :class:`InterestGraph`: nodes, typed weighted edges, vectors, the stored split.

Node types and indices: ``user`` (``graph.users``, the split's users, sorted),
``item`` (``graph.items``, the catalog, sorted by ID) and ``interest``
(``graph.interests`` rows). Edge types, each a table ``src``, ``dst``,
``weight`` (float32) over those indices:

==================  ==================  =============================================
type                ends                weight
==================  ==================  =============================================
user-item           user → item         decayed positive training event weights
item-interest       item → interest     catalog 1 + log2(1 + taggers) + TF-IDF score
user-interest       user → interest     ``w(v|u)``, sums to 1 per user (top-k kept)
interest-interest   interest — interest cosine of the label embeddings (top-k, symmetric)
item-item           item — item         cosine of the item-text embeddings (optional)
==================  ==================  =============================================

Saved as a directory (format ``interestgraph-graph``, version 1; see
``graphs/README.md``): Parquet tables, safetensors vectors, checksummed
manifest; written atomically, loaded without executing anything.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..artifacts import (
    artifact_file,
    atomic_directory,
    check_name,
    load_tensors,
    read_manifest,
    reading,
    save_tensors,
    sha256_file,
    write_manifest,
)
from ..data.schema import ITEM_ID, parse_timestamps
from ..data.splits import Protocol, Split
from ..data.storage import LOG_FILES, read_log_tables, write_log_tables
from ..errors import ArtifactError
from .config import GraphConfig
from .weights import BehaviourEvents, item_interest_matrix, user_interest_edges

GRAPH_FORMAT = "interestgraph-graph"
GRAPH_VERSION = 1
EDGE_TYPES = ("user-item", "item-interest", "user-interest", "interest-interest", "item-item")
EDGE_ENDS = {
    "user-item": ("user", "item"),
    "item-interest": ("item", "interest"),
    "user-interest": ("user", "interest"),
    "interest-interest": ("interest", "interest"),
    "item-item": ("item", "item"),
}
#: relation names in the torch_geometric export
PYG_RELATIONS = {
    "user-item": ("user", "interacted", "item"),
    "item-interest": ("item", "has", "interest"),
    "user-interest": ("user", "likes", "interest"),
    "interest-interest": ("interest", "similar", "interest"),
    "item-item": ("item", "similar", "item"),
}


@dataclass(eq=False)
class InterestGraph:
    """A built interest graph (see the module docstring). Build with
    :func:`~interestgraph.graph.build_interest_graph`; load with :meth:`load`.

    Attributes:
        split: the split the graph was built from (training part → edges).
        interests: interest points: ``label``, ``aliases``, ``sources``,
            ``support_items``, ``support_users``, ``support_taggers``.
        edges: edge type → table ``src``, ``dst``, ``weight``.
        interest_vectors: ``(n_interests, d)`` float32, L2-normalised.
        item_vectors: ``(n_items, d)`` float32 or None.
        user_tags, text_links: the tag and query/review evidence behind ``w(v|u)``.
        config: the :class:`~interestgraph.graph.GraphConfig` (as an object).
        encoder_identity: what encoded the vectors.
        reference_time: the decay reference (last training timestamp, Unix s).
        build_seconds: timings of the build steps.
        source_path, manifest_sha256: the directory a loaded graph came from and its
            manifest's SHA-256 (None for a graph built in memory); a trained model records both.
        keyword_terms: the TF-IDF terms (``term``, ``idf``) the keywords were mined with, so items
            added to a trained model get their keywords the same way (None: not recorded).
    """

    split: Split
    interests: pd.DataFrame
    edges: dict[str, pd.DataFrame]
    interest_vectors: torch.Tensor
    item_vectors: torch.Tensor | None
    user_tags: pd.DataFrame
    text_links: pd.DataFrame
    config: Any
    encoder_identity: str
    reference_time: int
    build_seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    source_path: str | None = None
    manifest_sha256: str | None = None
    keyword_terms: pd.DataFrame | None = None

    # ------------------------------------------------------------------ nodes
    @property
    def users(self) -> pd.Index:
        return self.split.log.user_ids

    @property
    def items(self) -> pd.Index:
        return self.split.log.item_ids

    @property
    def protocol(self) -> Protocol:
        return self.split.protocol

    def counts(self) -> dict[str, dict[str, int]]:
        """Nodes per type and edges per type (undirected similarity edges counted once per direction stored)."""
        return {
            "nodes": {"user": len(self.users), "item": len(self.items), "interest": len(self.interests)},
            "edges": {kind: len(table) for kind, table in self.edges.items()},
        }

    def edge_frame(self, kind: str) -> pd.DataFrame:
        """One edge type with original IDs / labels: ``source``, ``target``, ``weight``."""
        if kind not in self.edges:
            raise ValueError(f"kind must be one of {', '.join(self.edges)}; got {kind!r}")
        table = self.edges[kind]
        src_type, dst_type = EDGE_ENDS[kind]
        return pd.DataFrame(
            {
                "source": self._names(src_type)[table["src"].to_numpy()],
                "target": self._names(dst_type)[table["dst"].to_numpy()],
                "weight": table["weight"].to_numpy(),
            }
        )

    def _names(self, node_type: str) -> np.ndarray:
        if node_type == "user":
            return self.users.to_numpy()
        if node_type == "item":
            return self.items.to_numpy()
        return self.interests["label"].to_numpy()

    def user_code(self, user) -> int:
        code = self.users.get_indexer([user])[0]
        if code < 0:
            raise KeyError(f"user {user!r} is not in the graph")
        return int(code)

    # ---------------------------------------------------------- interest tracking
    def _behaviour(self, users: np.ndarray | None = None) -> BehaviourEvents:
        """The training evidence behind ``w(v|u)``, for some users only when given (keeps per-user queries cheap)."""
        log = self.split.log
        inter = log.interactions
        user_codes = log.user_codes()
        sel = (inter["part"] == "train").to_numpy() & inter["positive"].to_numpy() & (inter["weight"].to_numpy() > 0)
        tags = self.user_tags[["user", "interest", "timestamp"]]
        texts = self.text_links
        if users is not None:
            sel &= np.isin(user_codes, users)
            tags = tags[tags["user"].isin(users)]
            texts = texts[texts["user"].isin(users)]
        return BehaviourEvents(
            user=user_codes[sel],
            item=log.item_codes()[sel],
            timestamp=inter["timestamp"].to_numpy()[sel],
            weight=inter["weight"].to_numpy()[sel],
            tags=tags,
            texts=texts,
            n_users=log.n_users,
            n_items=log.n_items,
            n_interests=len(self.interests),
        )

    @cached_property
    def _item_interest_matrix(self):
        return item_interest_matrix(
            self.edges["item-interest"].rename(columns={"src": "item", "dst": "interest"}),
            len(self.items),
            len(self.interests),
        )

    def user_interests(self, user, *, at: int | str | None = None, top: int | None = 10) -> pd.DataFrame:
        """A user's interests by ``w(v|u)``: ``interest`` (label), ``weight``.

        Args:
            at: as of this time (Unix seconds or ISO date): only training events
                up to then, decayed to then. None: the graph's stored weights.
            top: how many (None: all stored).
        """
        code = self.user_code(user)
        if at is None:
            table = self.edges["user-interest"]
            rows = table[table["src"] == code].sort_values("weight", ascending=False, kind="stable")
        else:
            rows = self._weights_at(np.array([code]), _as_seconds(at))
        rows = rows.head(top) if top is not None else rows
        return pd.DataFrame(
            {
                "interest": self.interests["label"].to_numpy()[rows["dst"].to_numpy()],
                "weight": rows["weight"].to_numpy(),
            }
        ).reset_index(drop=True)

    def _weights_at(self, users: np.ndarray, at: int, behaviour: BehaviourEvents | None = None) -> pd.DataFrame:
        cfg = self.config
        half_life = cfg.half_life_days if self.split.log.has_timestamps else None
        behaviour = behaviour if behaviour is not None else self._behaviour(users)
        table = user_interest_edges(
            behaviour,
            self._item_interest_matrix,
            reference=at,
            half_life_days=half_life,
            tag_weight=cfg.tag_weight,
            text_weight=cfg.text_weight,
            top_k=cfg.user_interest_top_k,
            until=at,
            users=users,
        )
        return table.sort_values(["src", "weight"], ascending=[True, False], kind="stable")

    def interest_timeline(self, user, *, freq: str = "MS", top: int = 5) -> pd.DataFrame:
        """How a user's top interests rose and fell.

        Returns ``period`` (the period's start, UTC), ``interest``, ``weight``:
        the user's ``w(v|u)`` as of the **end** of each period (training events
        up to then, decayed to then), for the ``top`` interests over all periods,
        from the period of the user's first training event to that of their last.
        The vocabulary and item–interest weights are the graph's (built from the
        whole training part); only the behaviour is cut at each period's end.
        """
        from pandas.tseries.frequencies import to_offset

        code = self.user_code(user)
        behaviour = self._behaviour(np.array([code]))
        stamps = np.concatenate(
            [behaviour.timestamp, behaviour.tags["timestamp"].to_numpy(), behaviour.texts["timestamp"].to_numpy()]
        )
        if len(stamps) == 0:
            return pd.DataFrame(
                {
                    "period": pd.Series([], dtype="datetime64[ns, UTC]"),
                    "interest": pd.Series([], dtype="str"),
                    "weight": pd.Series([], dtype="float32"),
                }
            )
        offset = to_offset(freq)
        first = offset.rollback(pd.Timestamp(int(stamps.min()), unit="s", tz="UTC").normalize())
        last = pd.Timestamp(int(stamps.max()), unit="s", tz="UTC")
        starts = pd.date_range(first, last, freq=offset)
        frames = []
        for period_start in starts:
            period_end = period_start + offset
            weights = self._weights_at(np.array([code]), int(period_end.timestamp()) - 1, behaviour)
            frames.append(weights.assign(period=period_start))
        table = pd.concat(frames, ignore_index=True)
        overall = table.groupby("dst")["weight"].sum().sort_values(ascending=False, kind="stable").head(top).index
        grid = pd.MultiIndex.from_product([starts, overall], names=["period", "dst"])
        table = (
            table[table["dst"].isin(overall)]
            .set_index(["period", "dst"])["weight"]
            .reindex(grid, fill_value=0.0)
            .reset_index()
        )
        return pd.DataFrame(
            {
                "period": table["period"],
                "interest": self.interests["label"].to_numpy()[table["dst"].to_numpy()],
                "weight": table["weight"].to_numpy(),
            }
        )

    # ----------------------------------------------------------------- exports
    def to_pyg(self):
        """A ``torch_geometric.data.HeteroData``: node features ``x`` (item and interest
        vectors), every edge type with ``edge_weight`` and its reverse (``rev_<relation>``)."""
        from torch_geometric.data import HeteroData

        data = HeteroData()
        data["user"].num_nodes = len(self.users)
        data["item"].num_nodes = len(self.items)
        data["interest"].num_nodes = len(self.interests)
        data["interest"].x = self.interest_vectors
        if self.item_vectors is not None:
            data["item"].x = self.item_vectors
        for kind, table in self.edges.items():
            src_type, relation, dst_type = PYG_RELATIONS[kind]
            index = torch.tensor(np.stack([table["src"].to_numpy(), table["dst"].to_numpy()]), dtype=torch.long)
            weight = torch.tensor(table["weight"].to_numpy(), dtype=torch.float32)
            data[src_type, relation, dst_type].edge_index = index
            data[src_type, relation, dst_type].edge_weight = weight
            if src_type != dst_type:
                data[dst_type, f"rev_{relation}", src_type].edge_index = index.flip(0)
                data[dst_type, f"rev_{relation}", src_type].edge_weight = weight
        return data

    def to_networkx(self, *, kinds: tuple[str, ...] | None = None):
        """A ``networkx.Graph`` with nodes ``"user:<id>"``, ``"item:<id>"``, ``"interest:<label>"``
        (attributes ``type``, ``label``) and edges with ``kind`` and ``weight``.
        Node names carry their type, so IDs that collide across types stay apart."""
        import networkx as nx

        g = nx.Graph()
        titles = self.split.log.items["title"].to_numpy()
        g.add_nodes_from((f"user:{u}", {"type": "user", "label": str(u)}) for u in self.users)
        g.add_nodes_from((f"item:{i}", {"type": "item", "label": str(t) or str(i)}) for i, t in zip(self.items, titles))
        g.add_nodes_from(
            (f"interest:{label}", {"type": "interest", "label": label}) for label in self.interests["label"]
        )
        for kind in kinds or tuple(self.edges):
            src_type, dst_type = EDGE_ENDS[kind]
            frame = self.edge_frame(kind)
            g.add_edges_from(
                (f"{src_type}:{s}", f"{dst_type}:{t}", {"kind": kind, "weight": float(w)})
                for s, t, w in zip(frame["source"], frame["target"], frame["weight"])
            )
        return g

    # ------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike, *, overwrite: bool = False, inputs=()) -> Path:
        """Write the graph atomically to ``directory`` (see ``graphs/README.md``); afterwards ``source_path`` and
        ``manifest_sha256`` name the saved copy, so a model trained on this graph records where it is.

        ``overwrite`` replaces only an interestgraph artifact, and ``directory`` must not be or contain one of
        ``inputs`` (the files the graph was built from; see :func:`~interestgraph.artifacts.check_target`).

        Raises:
            ArtifactError: an edge type that is not one of ``EDGE_TYPES`` (its name names the file
                ``edges/NAME.parquet``, so a name with a path separator is refused first, as such).
            OutputError: ``directory`` may not be written (named why).
        """
        directory = Path(directory)
        for kind in self.edges:
            check_name(kind, "edge type")
            if kind not in EDGE_ENDS:  # a graph that could not be loaded again
                raise ArtifactError(f"edge type {kind!r}: unknown (known: {', '.join(EDGE_TYPES)})")
        with atomic_directory(directory, overwrite=overwrite, inputs=inputs) as tmp:
            log_entries = write_log_tables(self.split.log, tmp)
            pd.DataFrame(
                {
                    ITEM_ID: self.split.candidate_items.to_numpy(),
                    "cold": self.split.candidate_items.isin(self.split.cold_items),
                }
            ).to_parquet(tmp / "candidates.parquet", index=False)
            pd.DataFrame({ITEM_ID: self.split.cold_items.to_numpy()}).to_parquet(
                tmp / "cold_items.parquet", index=False
            )
            self.interests.to_parquet(tmp / "interests.parquet", index=False)
            (tmp / "edges").mkdir()
            for kind, table in self.edges.items():
                table.to_parquet(tmp / "edges" / f"{kind}.parquet", index=False)
            self.user_tags.to_parquet(tmp / "user_tags.parquet", index=False)
            self.text_links.to_parquet(tmp / "text_links.parquet", index=False)
            if self.keyword_terms is not None:
                self.keyword_terms.to_parquet(tmp / "keywords.parquet", index=False)
            tensors = {"interest_vectors": self.interest_vectors.contiguous()}
            if self.item_vectors is not None:
                tensors["item_vectors"] = self.item_vectors.contiguous()
            save_tensors(tensors, tmp / "vectors.safetensors")
            write_manifest(
                tmp,
                format=GRAPH_FORMAT,
                format_version=GRAPH_VERSION,
                metadata={
                    "log": log_entries,
                    "protocol": self.split.protocol.to_dict(),
                    "config": self.config.to_dict(),
                    "encoder_identity": self.encoder_identity,
                    "reference_time": self.reference_time,
                    "edge_types": list(self.edges),
                    "counts": self.counts(),
                    "build_seconds": self.build_seconds,
                },
            )
        # the graph now lives there: a model fitted on (or forgetting users with) it records where
        self.source_path, self.manifest_sha256 = str(directory.resolve()), sha256_file(directory / "manifest.json")
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> InterestGraph:
        """Read a graph written by :meth:`save`; checksums and format version are verified first.

        Raises:
            ArtifactError: a missing, damaged or inconsistent part, named by its file (a NaN in the vectors, an
                edge type whose name leaves the directory, counts that differ from the manifest's).
        """
        directory = Path(directory)
        required = (
            *LOG_FILES,
            "candidates.parquet",
            "cold_items.parquet",
            "interests.parquet",
            "user_tags.parquet",
            "text_links.parquet",
            "vectors.safetensors",
        )
        manifest = read_manifest(
            directory,
            format=GRAPH_FORMAT,
            supported_versions=(GRAPH_VERSION,),
            required_files=required,
            required_keys=("log", "protocol", "config", "edge_types", "counts", "encoder_identity", "reference_time"),
        )
        kinds = manifest["edge_types"]
        if not isinstance(kinds, list):
            raise ArtifactError(f"{directory}: manifest.json's edge_types must be a list of names")
        for kind in kinds:
            check_name(kind, f"{directory}: manifest.json's edge type")
        missing_edges = [k for k in kinds if f"edges/{k}.parquet" not in manifest["files"]]
        if missing_edges:
            raise ArtifactError(f"{directory}: manifest does not list the edge table(s) {', '.join(missing_edges)}")

        def table(rel: str) -> pd.DataFrame:
            path = artifact_file(directory, rel, manifest)
            with reading(path):
                return pd.read_parquet(path)

        with reading(directory):
            log = read_log_tables(directory, manifest["log"])
        candidates, cold = table("candidates.parquet"), table("cold_items.parquet")
        edges = {kind: table(f"edges/{kind}.parquet") for kind in kinds}
        tensors = load_tensors(artifact_file(directory, "vectors.safetensors", manifest))
        interests = table("interests.parquet")
        with reading(directory / "interests.parquet"):
            for column in ("aliases", "sources"):
                interests[column] = [list(v) for v in interests[column]]
        user_tags, text_links = table("user_tags.parquet"), table("text_links.parquet")
        keywords = table("keywords.parquet") if "keywords.parquet" in manifest["files"] else None
        with reading(directory):
            split = Split(
                log=log,
                protocol=Protocol.from_dict(manifest["protocol"]),
                candidate_items=pd.Index(candidates[ITEM_ID].to_numpy(), name=ITEM_ID),
                cold_items=pd.Index(cold[ITEM_ID].to_numpy(), name=ITEM_ID),
            )
            graph = cls(
                split=split,
                interests=interests,
                edges=edges,
                interest_vectors=tensors["interest_vectors"],
                item_vectors=tensors.get("item_vectors"),
                user_tags=user_tags,
                text_links=text_links,
                config=GraphConfig.from_dict(manifest["config"]),
                encoder_identity=manifest["encoder_identity"],
                reference_time=int(manifest["reference_time"]),
                build_seconds=manifest.get("build_seconds", {}),
                source_path=str(directory.resolve()),
                manifest_sha256=sha256_file(directory / "manifest.json"),
                keyword_terms=keywords,
            )
            counts = graph.counts()
        if counts != manifest["counts"]:
            raise ArtifactError(
                f"{directory}: node/edge counts differ from the manifest ({counts} vs {_short(manifest['counts'])})"
            )
        _check_parts(graph, directory)
        return graph


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _check_parts(graph: InterestGraph, directory: Path) -> None:
    """Refuse a loaded graph whose vectors or edge ends do not fit its node counts (ArtifactError naming the file)."""
    n = {"user": len(graph.users), "item": len(graph.items), "interest": len(graph.interests)}
    vectors = directory / "vectors.safetensors"
    if graph.interest_vectors.ndim != 2 or graph.interest_vectors.shape[0] != n["interest"]:
        raise ArtifactError(
            f"{vectors}: interest_vectors has shape {tuple(graph.interest_vectors.shape)}, the graph has "
            f"{n['interest']} interests"
        )
    if graph.item_vectors is not None and (graph.item_vectors.ndim != 2 or graph.item_vectors.shape[0] != n["item"]):
        raise ArtifactError(
            f"{vectors}: item_vectors has shape {tuple(graph.item_vectors.shape)}, the graph has {n['item']} items"
        )
    for kind, table in graph.edges.items():
        path = directory / "edges" / f"{kind}.parquet"
        if kind not in EDGE_ENDS:
            raise ArtifactError(f"{path}: unknown edge type {kind!r} (known: {', '.join(EDGE_TYPES)})")
        if not {"src", "dst", "weight"} <= set(table.columns):
            raise ArtifactError(f"{path}: an edge table needs columns src, dst, weight; it has {list(table.columns)}")
        with reading(path):
            src, dst = table["src"].to_numpy(), table["dst"].to_numpy()
            weight = table["weight"].to_numpy(dtype=np.float64)
        ends = EDGE_ENDS[kind]
        for column, values, end in (("src", src, ends[0]), ("dst", dst, ends[1])):
            if len(values) and (
                not np.issubdtype(values.dtype, np.integer) or values.min() < 0 or values.max() >= n[end]
            ):
                raise ArtifactError(f"{path}: column {column!r} must hold {end} indices 0..{n[end] - 1}")
        if not np.isfinite(weight).all():
            raise ArtifactError(f"{path}: column 'weight' holds non-finite values (NaN or infinity)")


def _as_seconds(value: int | str) -> int:
    """Unix seconds from seconds or an ISO date (the data layer's parser, no future check)."""
    return int(parse_timestamps(pd.Series([value]), column="at", source="at", now=float("inf"))[0])
