"""Speed benchmark: every figure a ratio against a reference run in this script, on the same data and hardware.

Not a test: it measures. ``--sections`` picks what runs (default ``throughput``):

* **throughput**: LightGCN-mode training against PyG's ``LightGCN`` trained the way PyG's
  example trains it. Both sides train LightGCN (64-d, 3 layers, Adam lr 1e-3, L2 1e-4, BPR with
  one uniform negative per positive, mini-batches of 2,048 training pairs, the full graph
  propagated for every mini-batch) on the same training pairs for the same number of epochs:

  - **reference**: :class:`torch_geometric.nn.models.LightGCN` with ``gcn_norm`` message
    passing (``LGConv``) over the bidirectional ``edge_index``, the loop of PyG's
    ``examples/lightgcn.py``: ``model(edge_index, edge_label_index)`` scores positives and
    negatives, ``model.recommendation_loss(..., node_id=edge_label_index.unique())``;
  - **ours**: :class:`interestgraph.baselines.LightGCN` (the same operator as cached sparse CSR
    products, :func:`interestgraph.graph.propagation.propagate`; negatives exclude the user's
    positives; deterministic kernels), trained by its own ``fit``.

  Both run on ``--device``. It reports epochs per second of each (ours: ``train_seconds_``), their
  ratio, and the test Recall@20 / NDCG@20 of each after the same epochs through the evaluation
  harness (same split, seen items masked), with MostPopular's test Recall@20 for context.
* **time-to-accuracy**: both LightGCNs train on the same split, and every ``--eval-every``
  epochs the test Recall@20 / NDCG@20 are printed with the training seconds so far (setup
  included, evaluation excluded and reported apart), until Recall@20 reaches
  ``--target-recall`` or ``--max-minutes`` of training time are spent (per side). Ours is one
  ``LightGCN.fit(split, on_epoch=...)``: the callback evaluates, reads the training seconds from
  the epoch's history record and stops the fit. The ratio is the reference's time to the target
  over ours (``--tta-reference none`` trains ours only).
* **encoder**: texts per second of the project's :class:`interestgraph.encoder.TextEncoder`
  (the packaged all-MiniLM-L6-v2, its default settings: batches of 64 sorted by length,
  bf16 autocast on CUDA; no embedding cache) against plain transformers (``AutoTokenizer`` /
  ``AutoModel`` in float32, batches of 32 in input order, mean pooling) on the same distinct
  item titles, on ``--device``.
* **joint**: the interest-graph model's epoch time split into epoch graph / walks + loss /
  encoder / refinement / validation (``model.report_.epoch_seconds``), fitted with
  ``ModelConfig(similarity_edges="refined")`` and ``TrainConfig(encoder_mode="top")``, against
  the same model with the encoder frozen: what fine-tuning costs per epoch. Graph: the
  synthetic default log (``--joint-scale`` shrinks it) or ``--movielens``, built with MiniLM
  under protocol rs-4.

Data of the LightGCN sections: a synthetic stand-in with the shape of the LightGCN Gowalla
split (29,858 users, 40,981 items, 810,128 training interactions; ``--scale`` shrinks all
three), power-law user degrees and item popularity, each user's pairs split 80:20 into train
and test at random, and per-user structure to learn (:func:`gowalla_like`): the items fall into
latent communities (100 at ``--scale 1``, scaled, at least 10), every user prefers 1 to 3 of
them and draws each item from them with probability 0.8 (by popularity within the community), else by
global popularity. So LightGCN's test Recall@20 climbs well above MostPopular's over tens of
epochs, and equal-accuracy and time-to-accuracy comparisons mean something: at ``--scale 0.1``
MostPopular reaches 0.154, ours (lr 1e-3) 0.155 after 2 epochs, 0.202 after 20 and a plateau of
about 0.239 from epoch 60 on (the default ``--target-recall`` 0.215 is 90 % of it). Or
``--lightgcn DIR`` (a folder with LightGCN's ``train.txt`` / ``test.txt``).
Every section prints the settings that made it and the hardware; ``--out DIR`` writes
``speed.json`` and ``speed.md`` with every figure and the command line.

    python benchmarks/speed.py --scale 0.1 --epochs 3 --out results/
    python benchmarks/speed.py --sections time-to-accuracy --scale 0.1 --eval-every 2 --max-minutes 5
    python benchmarks/speed.py --sections encoder,joint --encoder-texts 2000 --device auto --out results/
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

GOWALLA = {"users": 29_858, "items": 40_981, "train": 810_128}
SECTIONS = ("throughput", "time-to-accuracy", "encoder", "joint")
REFERENCE, OURS = "PyG LightGCN (example loop)", "interestgraph LightGCN"
DIM, LR, L2 = 64, 1e-3, 1e-4
# : parts of ``InterestGraphModel.epoch_seconds_``: epoch graph (holdout + operator), walks + loss, encoder,
# refinement, validation
EPOCH_PARTS = ("graph", "train", "encoder", "refine", "valid")
JOINT_VARIANTS = {"frozen encoder (reference)": "frozen", "fine-tuned encoder, top layer": "top"}
MOVIELENS = ROOT.parent / "shared" / "datasets" / "ml-latest-small"
#: the synthetic stand-in (:func:`gowalla_like`): item communities at ``--scale 1`` (scaled with it, at least
#: MIN_COMMUNITIES), the chance that a user's draw comes from their preferred communities, and the vectorised
#: draw rounds before the users still short of items are drawn one by one
COMMUNITIES, MIN_COMMUNITIES, IN_COMMUNITY, DRAW_ROUNDS = 100, 10, 0.8, 6
#: time-to-accuracy without ``--max-epochs``: the epoch cap of both sides (the time budget stops them first)
UNLIMITED_EPOCHS = 1_000_000


# --------------------------------------------------------------------------- devices and clocks


def resolve_device(name: str) -> torch.device:
    """The torch device of ``--device`` (``cpu``, ``cuda``, or ``auto``: CUDA when available, else the CPU).

    Raises:
        SystemExit: naming ``--device`` when CUDA is asked for and not available.
    """
    from interestgraph.encoder.config import resolve_device as resolve

    try:
        return torch.device(resolve(name))
    except ValueError as exc:
        raise SystemExit(f"--device: {exc}") from exc


def now(device: torch.device) -> float:
    """``time.perf_counter()`` in seconds, after the queued CUDA work on ``device`` has finished."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def hardware(device: torch.device) -> dict[str, Any]:
    """The machine a figure was measured on: platform, processor, CPU count, torch threads, device and GPU name."""
    return {
        "machine": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
    }


def hardware_line(facts: dict[str, Any]) -> str:
    """One line of :func:`hardware`'s facts, printed with every section."""
    gpu = f", GPU {facts['gpu']} (CUDA {facts['cuda']})" if facts["gpu"] else ""
    return (
        f"hardware: {facts['machine']}, {facts['processor']}, {facts['cpus']} CPUs, torch {facts['torch']} "
        f"with {facts['torch_threads']} thread(s), device {facts['device']}{gpu}"
    )


# --------------------------------------------------------------------------- data


def gowalla_like(scale: float, seed: int = 0):
    """A given split shaped like LightGCN's Gowalla split, scaled by ``scale``, with per-user structure.

    Shape: ``max(⌊29,858 · scale⌋, 50)`` users, ``max(⌊40,981 · scale⌋, 80)`` items and about
    ``810,128 · scale`` training interactions (``/ 0.8`` interactions in all); user degrees are
    Pareto(1.5) + 1, rescaled to that total and clipped to ``[10, items // 2]``; item ``i`` has global
    popularity ``∝ (i + 1)^-0.8``; each user's items are split 80:20 into train and test at random
    (``max(1, round(0.2 · degree))`` test items).

    Structure: the items are dealt at random (a shuffled round robin, so every community mixes head
    and tail items) into ``max(round(100 · scale), 10)`` latent communities (:data:`COMMUNITIES`,
    :data:`MIN_COMMUNITIES`; at most ``items // 8``). Every user prefers 1 to 3 distinct communities
    (uniform) and draws their distinct items one at a time: with probability ``0.8``
    (:data:`IN_COMMUNITY`) from one of their communities (uniform among them) in proportion to the
    items' popularity, otherwise from all items by global popularity; repeats are redrawn (sampling
    without replacement). So a model that learns who shares whose communities beats MostPopular,
    and keeps improving for many epochs, while item popularity stays heavy-tailed.

    Vectorised: every round draws ``2 · missing + 2`` candidates per user at once and keeps the first
    new distinct ones in draw order; the few heavy users still short after :data:`DRAW_ROUNDS` rounds
    are redrawn whole with ``Generator.choice(replace=False, p=...)`` on the same distribution.
    About 3 s at ``scale=1`` (one core). The same ``scale`` and ``seed`` give the same split.
    """
    import pandas as pd

    from interestgraph.data import InteractionLog
    from interestgraph.data.splits import given_split

    rng = np.random.default_rng(seed)
    n_users, n_items = max(int(GOWALLA["users"] * scale), 50), max(int(GOWALLA["items"] * scale), 80)
    total = int(GOWALLA["train"] * scale / 0.8)
    degree = rng.pareto(1.5, n_users) + 1.0
    degree = np.clip(np.round(degree / degree.sum() * total), 10, n_items // 2).astype(np.int64)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    popularity /= popularity.sum()

    # communities: a shuffled round robin; `member` lists the items community by community, and
    # `cum` is the running popularity in that order, so community c's items are member[start[c]:end[c]]
    n_communities = min(max(round(COMMUNITIES * scale), MIN_COMMUNITIES), n_items // 8)
    community = rng.permutation(n_items) % n_communities
    member = np.argsort(community, kind="stable")
    cum = np.cumsum(popularity[member])
    end = np.cumsum(np.bincount(community, minlength=n_communities))
    start = end - np.bincount(community, minlength=n_communities)
    low, high = np.where(start > 0, cum[start - 1], 0.0), cum[end - 1]
    global_cum = np.cumsum(popularity)
    n_preferred = rng.integers(1, 4, n_users)
    preferred = np.argsort(rng.random((n_users, n_communities)), axis=1)[:, :3]  # the first n_preferred[u] count

    def draw(users: np.ndarray) -> np.ndarray:
        """One item per entry of ``users``, from that user's mixture (with replacement)."""
        items = np.empty(len(users), dtype=np.int64)
        inside = rng.random(len(users)) < IN_COMMUNITY
        u = users[inside]
        c = preferred[u, (rng.random(len(u)) * n_preferred[u]).astype(np.int64)]
        at = np.searchsorted(cum, low[c] + rng.random(len(u)) * (high[c] - low[c]), side="right")
        items[inside] = member[np.clip(at, start[c], end[c] - 1)]
        at = np.searchsorted(global_cum, rng.random(int((~inside).sum())) * global_cum[-1], side="right")
        items[~inside] = np.minimum(at, n_items - 1)
        return items

    keys = np.empty(0, dtype=np.int64)  # sorted user * n_items + item of the distinct pairs so far
    missing = degree.copy()
    for _ in range(DRAW_ROUNDS):
        if not missing.any():
            break
        candidates = np.repeat(np.arange(n_users), 2 * missing + 2)
        candidates = candidates * n_items + draw(candidates)  # grouped by user, in draw order
        keep = np.zeros(len(candidates), dtype=bool)
        keep[np.unique(candidates, return_index=True)[1]] = True  # first draw of each pair
        if len(keys):
            keep &= keys[np.minimum(np.searchsorted(keys, candidates), len(keys) - 1)] != candidates
        candidates = candidates[keep]
        owner = candidates // n_items
        rank = np.arange(len(candidates)) - np.searchsorted(owner, owner)  # position among the user's new pairs
        keys = np.sort(np.concatenate([keys, candidates[rank < missing[owner]]]))
        missing = degree - np.bincount(keys // n_items, minlength=n_users)
    late = np.flatnonzero(missing)
    if len(late):
        keys = keys[~np.isin(keys // n_items, late)]
        redrawn = []
        for user in late:
            mine = preferred[user, : n_preferred[user]]
            boost = np.zeros(n_communities)
            boost[mine] = IN_COMMUNITY / len(mine) / (high[mine] - low[mine])
            p = popularity * ((1.0 - IN_COMMUNITY) + boost[community])
            redrawn.append(user * n_items + rng.choice(n_items, size=int(degree[user]), replace=False, p=p / p.sum()))
        keys = np.sort(np.concatenate([keys, *redrawn]))

    users, items = keys // n_items, keys % n_items
    shuffled = np.lexsort((rng.random(len(keys)), users))  # users in order, each user's items at random
    users, items = users[shuffled], items[shuffled]
    position = np.arange(len(users)) - np.searchsorted(users, users)
    n_test = np.maximum(1, np.round(0.2 * degree)).astype(np.int64)
    parts = np.where(position < (degree - n_test)[users], "train", "test")
    frame = pd.DataFrame({"user_id": users, "item_id": items})
    log = InteractionLog.from_frames(
        frame,
        pd.DataFrame({"item_id": np.arange(n_items)}),
        source=f"gowalla-shaped synthetic x{scale:g} ({n_communities} item communities)",
    )
    return given_split(log, parts, name=f"gowalla-shaped x{scale:g}")


def lightgcn_files(path: Path):
    """The split of a folder with LightGCN's ``train.txt`` / ``test.txt``."""
    from interestgraph.data.formats import load_source

    if not Path(path).is_dir():
        raise SystemExit(f"--lightgcn {path}: no such folder (it must hold LightGCN's train.txt and test.txt)")
    loaded = load_source(path, "lightgcn")
    return loaded.given_split


def unique_titles(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct item titles (short texts, a few words each) from the synthetic catalog, in catalog order."""
    from interestgraph.data import generate_synthetic

    catalog = generate_synthetic(n_users=10, n_items=2 * n + 10, n_interactions=100, seed=seed).log.items
    titles = list(dict.fromkeys(catalog["title"].astype(str)))
    if len(titles) < n:
        raise SystemExit(
            f"--encoder-texts {n}: the synthetic catalog gave only {len(titles)} distinct titles; ask for fewer"
        )
    return titles[:n]


# --------------------------------------------------------------------------- the two LightGCNs, one epoch at a time


class PygLightGCN:
    """PyG's LightGCN trained as in ``examples/lightgcn.py`` (the reference), with the harness's ``score``.

    ``prepare(split)`` then ``run_epoch()`` per epoch, or ``fit(split)`` for ``epochs`` epochs
    (sets ``train_seconds_``, the epochs' seconds without the setup). Nodes are users
    ``0..U-1`` and items ``U..U+I-1``; everything lives on ``device``.
    """

    def __init__(
        self,
        dim: int,
        layers: int,
        lr: float,
        l2: float,
        batch_size: int,
        epochs: int,
        seed: int,
        device: torch.device | None = None,
    ):
        from torch_geometric.nn.models import LightGCN  # imported here, so no timed setup pays for the import

        self.dim, self.layers, self.lr, self.l2, self.batch_size, self.epochs, self.seed = (
            dim,
            layers,
            lr,
            l2,
            batch_size,
            epochs,
            seed,
        )
        self.device = torch.device(device if device is not None else "cpu")
        self._module = LightGCN

    def prepare(self, split) -> PygLightGCN:
        """Build ``edge_index`` ``(2, 2 × pairs)``, the model, the optimiser and the seeded generators."""
        from interestgraph.evaluate import positive_matrix

        torch.manual_seed(self.seed)
        train = positive_matrix(split, "train").tocoo()
        self.n_users, self.n_items = train.shape
        src = torch.from_numpy(train.row.astype(np.int64))
        dst = torch.from_numpy(train.col.astype(np.int64)) + self.n_users
        self.edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])]).to(self.device)
        self.pairs = torch.stack([src, dst]).to(self.device)
        self.model = self._module(self.n_users + self.n_items, self.dim, self.layers).to(self.device)
        self.optimiser = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        self._order = torch.Generator().manual_seed(self.seed)
        self._negatives = (
            self._order if self.device.type == "cpu" else torch.Generator(device=self.device).manual_seed(self.seed)
        )
        self._embedding = None
        return self

    def run_epoch(self) -> float:
        """One epoch of the example's loop over every training pair; returns the mean loss per pair."""
        self._embedding = None
        total, count = 0.0, 0
        for index in torch.randperm(self.pairs.size(1), generator=self._order).split(self.batch_size):
            positive = self.pairs[:, index.to(self.device)]
            negative = torch.stack(
                [
                    positive[0],
                    torch.randint(
                        self.n_users,
                        self.n_users + self.n_items,
                        (index.numel(),),
                        generator=self._negatives,
                        device=self.device,
                    ),
                ]
            )
            label_index = torch.cat([positive, negative], dim=1)
            self.optimiser.zero_grad()
            pos_rank, neg_rank = self.model(self.edge_index, label_index).chunk(2)
            loss = self.model.recommendation_loss(pos_rank, neg_rank, node_id=label_index.unique(), lambda_reg=self.l2)
            loss.backward()
            self.optimiser.step()
            total += float(loss.detach()) * pos_rank.numel()
            count += pos_rank.numel()
        return total / max(count, 1)

    def fit(self, split) -> PygLightGCN:
        """``prepare`` and ``epochs`` epochs; ``train_seconds_`` is the epochs' time (CUDA synchronised)."""
        from interestgraph.progress import progress

        self.prepare(split)
        started = now(self.device)
        for _ in progress(range(self.epochs), desc=f"train {REFERENCE}", unit="epoch"):
            self.run_epoch()
        self.train_seconds_ = now(self.device) - started
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), n_items)`` dot products of the propagated user and item embeddings (on ``device``)."""
        if self._embedding is None:
            with torch.no_grad():
                self._embedding = self.model.get_embedding(self.edge_index)
        users = torch.as_tensor(np.asarray(users), dtype=torch.long, device=self.device)
        return self._embedding[users] @ self._embedding[self.n_users :].T


def lightgcn_pair(args: argparse.Namespace, device: torch.device, epochs: int):
    """``(reference, ours)``: PyG's LightGCN and our :class:`interestgraph.baselines.LightGCN`, both on ``device``,
    with the same settings and at most ``epochs`` epochs. (The splits here have no validation part, so our
    ``fit`` trains every epoch with no validation and no early stopping.)"""
    from interestgraph.baselines import LightGCN

    reference = PygLightGCN(DIM, args.layers, LR, L2, args.batch_size, epochs, args.seed, device)
    ours = LightGCN(
        dim=DIM,
        layers=args.layers,
        lr=LR,
        l2=L2,
        batch_size=args.batch_size,
        max_epochs=epochs,
        seed=args.seed,
        device=str(device),
    )
    return reference, ours


def lightgcn_protocol(split, args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """The settings shared by the two LightGCN sections (data shape, training settings, devices)."""
    return {
        "data": split.describe(),
        "users": split.log.n_users,
        "items": split.log.n_items,
        "training_pairs": len(split.positive_pairs("train")),
        "test_pairs": len(split.positive_pairs("test")),
        "batch_size": args.batch_size,
        "layers": args.layers,
        "dim": DIM,
        "lr": LR,
        "l2": L2,
        "device": str(device),
        "devices": {REFERENCE: str(device), OURS: str(device)},
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "torch": torch.__version__,
    }


# --------------------------------------------------------------------------- section: throughput


def run_throughput(args: argparse.Namespace, split, device: torch.device) -> dict[str, Any]:
    """Epochs per second of both LightGCNs over ``--epochs`` epochs, and their test metrics after them.

    Returns ``{"protocol", "rows": {name: {"epochs", "train_seconds", "epochs_per_second", "recall@20",
    "ndcg@20", "device"}}, "ratio_epochs_per_second"}`` (ours / the reference's; > 1: ours is faster).
    """
    from interestgraph.evaluate import evaluate

    rows = {}
    for name, model in zip((REFERENCE, OURS), lightgcn_pair(args, device, args.epochs)):
        model.fit(split)
        metrics = evaluate(model, split, part="test", cutoffs=(20,), name=name).metrics
        rows[name] = {
            "epochs": args.epochs,
            "train_seconds": model.train_seconds_,
            "epochs_per_second": args.epochs / model.train_seconds_,
            "recall@20": metrics["recall@20"],
            "ndcg@20": metrics["ndcg@20"],
            "device": str(getattr(model, "device_", model.device)),
        }
        print(
            f"{name} ({rows[name]['device']}): {model.train_seconds_ / args.epochs:.2f} s per epoch; after "
            f"{args.epochs} epochs test "
            f"recall@20 {metrics['recall@20']:.4f}, ndcg@20 {metrics['ndcg@20']:.4f}",
            flush=True,
        )
    ours, ref = rows[OURS], rows[REFERENCE]
    ratio = ours["epochs_per_second"] / ref["epochs_per_second"]
    protocol = {
        **lightgcn_protocol(split, args, device),
        "epochs": args.epochs,
        "popularity_recall@20": popularity_recall(split),
    }
    print(
        f"epochs per second, ours / PyG's: {ratio:.2f}x  (test ndcg@20 {ours['ndcg@20']:.4f} vs {ref['ndcg@20']:.4f}; "
        f"MostPopular's test recall@20 {protocol['popularity_recall@20']:.4f})"
    )
    print(json.dumps(protocol))
    return {"protocol": protocol, "rows": rows, "ratio_epochs_per_second": ratio}


# --------------------------------------------------------------------------- section: time to accuracy


def train_to_target(trainer, name: str, split, args: argparse.Namespace) -> dict[str, Any]:
    """Train the reference ``trainer`` (``prepare`` / ``run_epoch`` / ``score``) until test Recall@20 ≥
    ``--target-recall`` or the budget is spent.

    The clock counts setup and epochs (CUDA synchronised), not evaluation, which is timed per
    row as ``eval_seconds``. Evaluations run every ``--eval-every`` epochs and after the last one.

    Returns:
        ``{"name", "device", "setup_seconds", "log": [{"epoch", "train_seconds", "eval_seconds", "recall@20",
        "ndcg@20"}, ...], "time_to_target_seconds" (None if not reached), "epochs_to_target", "stopped"
        ("target", "time budget" or "max epochs"), "train_seconds", "epochs", "mean_epoch_seconds"}``.
    """
    from interestgraph.evaluate import evaluate
    from interestgraph.progress import progress

    device, budget = trainer.device, args.max_minutes * 60.0
    started = now(device)
    trainer.prepare(split)
    clock = setup = now(device) - started
    log, reached, epoch, out_of_time = [], None, 0, False
    bar = progress(total=args.max_epochs, desc=f"time to accuracy: {name}", unit="epoch")
    while True:
        t0 = now(device)
        trainer.run_epoch()
        clock += now(device) - t0
        epoch += 1
        bar.update(1)
        out_of_time = clock >= budget
        last = out_of_time or epoch == args.max_epochs
        if epoch % args.eval_every == 0 or last:
            t1 = time.perf_counter()
            metrics = evaluate(trainer, split, part="test", cutoffs=(20,), name=name).metrics
            row = {
                "epoch": epoch,
                "train_seconds": clock,
                "eval_seconds": time.perf_counter() - t1,
                "recall@20": metrics["recall@20"],
                "ndcg@20": metrics["ndcg@20"],
            }
            log.append(row)
            bar.set_postfix_str(f"recall@20 {row['recall@20']:.4f}")
            print(
                f"  {name}: epoch {epoch:>4}, {clock:8.1f} s training, test recall@20 {row['recall@20']:.4f}, "
                f"ndcg@20 {row['ndcg@20']:.4f} (evaluation {row['eval_seconds']:.1f} s)",
                flush=True,
            )
            if row["recall@20"] >= args.target_recall:
                reached = row
                break
        if last:
            break
    bar.close()
    stopped = "target" if reached else ("time budget" if out_of_time else "max epochs")
    return {
        "name": name,
        "device": str(device),
        "setup_seconds": setup,
        "log": log,
        "stopped": stopped,
        "train_seconds": clock,
        "epochs": epoch,
        "mean_epoch_seconds": (clock - setup) / epoch,
        "time_to_target_seconds": reached["train_seconds"] if reached else None,
        "epochs_to_target": reached["epoch"] if reached else None,
    }


def fit_to_target(model, name: str, split, args: argparse.Namespace) -> dict[str, Any]:
    """Fit our ``model`` (:class:`interestgraph.baselines.LightGCN`) until test Recall@20 ≥ ``--target-recall`` or
    the budget is spent.

    One ``model.fit(split, on_epoch=...)``: after every epoch the callback reads the epoch's history
    record, whose ``"seconds"`` is the training time so far (setup included; the callback's own time,
    the evaluations, excluded; on CUDA the epoch's loss is read back, so its work has finished). Every
    ``--eval-every`` epochs, and at the last one (``--max-epochs``, or the first epoch that ends past
    ``--max-minutes`` of training), it evaluates the current weights on the test part and stops the fit
    once Recall@20 reaches the target. The model's ``max_epochs`` is set to ``--max-epochs`` (or
    :data:`UNLIMITED_EPOCHS`).

    Returns:
        what :func:`train_to_target` returns, with ``"setup_seconds": None`` (the setup is inside the first
        epoch's seconds) and ``"mean_epoch_seconds"`` the mean of the epochs after the first
        (the first epoch's seconds, setup included, when only one ran).
    """
    from interestgraph.evaluate import evaluate

    budget, log, state = args.max_minutes * 60.0, [], {"reached": None, "out_of_time": False}

    def on_epoch(fitted, record: dict[str, float]) -> bool:
        epoch, clock = int(record["epoch"]), float(record["seconds"])
        state["out_of_time"] = clock >= budget
        if epoch % args.eval_every == 0 or state["out_of_time"] or epoch == args.max_epochs:
            started = time.perf_counter()
            metrics = evaluate(fitted, split, part="test", cutoffs=(20,), name=name).metrics
            row = {
                "epoch": epoch,
                "train_seconds": clock,
                "eval_seconds": time.perf_counter() - started,
                "recall@20": metrics["recall@20"],
                "ndcg@20": metrics["ndcg@20"],
            }
            log.append(row)
            print(
                f"  {name}: epoch {epoch:>4}, {clock:8.1f} s training, test recall@20 {row['recall@20']:.4f}, "
                f"ndcg@20 {row['ndcg@20']:.4f} (evaluation {row['eval_seconds']:.1f} s)",
                flush=True,
            )
            if row["recall@20"] >= args.target_recall:
                state["reached"] = row
                return True
        return state["out_of_time"]

    model.max_epochs = args.max_epochs or UNLIMITED_EPOCHS
    model.fit(split, on_epoch=on_epoch)
    seconds = [h["seconds"] for h in model.history_]
    reached = state["reached"]
    stopped = "target" if reached else ("time budget" if state["out_of_time"] else "max epochs")
    return {
        "name": name,
        "device": str(model.device_),
        "setup_seconds": None,
        "log": log,
        "stopped": stopped,
        "train_seconds": seconds[-1],
        "epochs": len(seconds),
        "mean_epoch_seconds": (seconds[-1] - seconds[0]) / (len(seconds) - 1) if len(seconds) > 1 else seconds[0],
        "time_to_target_seconds": reached["train_seconds"] if reached else None,
        "epochs_to_target": reached["epoch"] if reached else None,
    }


def time_to_target_ratio(ref: dict[str, Any] | None, ours: dict[str, Any]) -> dict[str, Any]:
    """The reference's time to the target over ours (> 1: ours is faster), exact or a lower bound.

    ``{"speedup_time_to_target": ref / ours when both reached it, else None; "speedup_at_least": the
    reference's training seconds without reaching it / ours, when only ours reached it, else None}``.
    """
    ours_t = ours["time_to_target_seconds"]
    if ref is None or ours_t is None:
        return {"speedup_time_to_target": None, "speedup_at_least": None}
    if ref["time_to_target_seconds"] is not None:
        return {"speedup_time_to_target": ref["time_to_target_seconds"] / ours_t, "speedup_at_least": None}
    return {"speedup_time_to_target": None, "speedup_at_least": ref["train_seconds"] / ours_t}


def popularity_recall(split) -> float:
    """Test Recall@20 of :class:`interestgraph.baselines.MostPopular` on ``split``: what no personalisation reaches."""
    from interestgraph.baselines import MostPopular
    from interestgraph.evaluate import evaluate

    return evaluate(MostPopular().fit(split), split, part="test", cutoffs=(20,), name="MostPopular").metrics[
        "recall@20"
    ]


def run_time_to_accuracy(args: argparse.Namespace, split, device: torch.device) -> dict[str, Any]:
    """Time to ``--target-recall`` test Recall@20 of ours and (``--tta-reference pyg``) PyG's LightGCN.

    Returns
    ``{"protocol", "runs": {REFERENCE: train_to_target(...), OURS: fit_to_target(...)}, "speedup_time_to_target",
    "speedup_at_least"}``.
    """
    reference, ours = lightgcn_pair(args, device, args.max_epochs or UNLIMITED_EPOCHS)
    protocol = {
        **lightgcn_protocol(split, args, device),
        "target_recall@20": args.target_recall,
        "eval_every": args.eval_every,
        "max_minutes": args.max_minutes,
        "max_epochs": args.max_epochs,
        "reference": args.tta_reference,
        "clock": "setup + training epochs, CUDA synchronised; evaluation excluded (eval_seconds); ours: the seconds "
        "of LightGCN.fit's history",
        "resolution": f"The time to target is read at evaluations: within {args.eval_every} epoch(s) of the first "
        "epoch that reached it",
    }
    if args.tta_reference == "none":
        protocol["devices"].pop(REFERENCE)
    protocol["popularity_recall@20"] = popularity_recall(split)
    print(json.dumps(protocol), flush=True)
    print(f"context: MostPopular's test recall@20 on this split is {protocol['popularity_recall@20']:.4f}", flush=True)
    runs = {}
    if args.tta_reference == "pyg":
        runs[REFERENCE] = train_to_target(reference, REFERENCE, split, args)
    runs[OURS] = fit_to_target(ours, OURS, split, args)
    for name, run in runs.items():
        reached = (
            f"{run['time_to_target_seconds']:.1f} s training ({run['epochs_to_target']} epochs)"
            if run["stopped"] == "target"
            else f"not reached ({run['stopped']})"
        )
        print(
            f"{name} ({run['device']}): recall@20 >= {args.target_recall}: {reached}; "
            f"{run['mean_epoch_seconds']:.2f} s per epoch",
            flush=True,
        )
    ratio = time_to_target_ratio(runs.get(REFERENCE), runs[OURS])
    if ratio["speedup_time_to_target"] is not None:
        print(f"time to recall@20 {args.target_recall}, PyG's / ours: {ratio['speedup_time_to_target']:.2f}x")
    elif ratio["speedup_at_least"] is not None:
        print(
            f"time to recall@20 {args.target_recall}, PyG's / ours: at least {ratio['speedup_at_least']:.2f}x (PyG's "
            "did not reach it)"
        )
    return {"protocol": protocol, "runs": runs, **ratio}


# --------------------------------------------------------------------------- section: encoder throughput


class PlainTransformers:
    """The reference encoder: ``AutoTokenizer`` + ``AutoModel`` in float32, batches in input order, mean pooling, L2
    norm.

    Args:
        model_dir: the local model directory (the one our encoder loaded).
        device: where the model runs.
        max_length: tokens per text (truncation), as our encoder's.
        batch_size: texts per forward pass.
    """

    def __init__(self, model_dir: str, device: torch.device, max_length: int, batch_size: int = 32):
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModel.from_pretrained(model_dir, use_safetensors=True).float().to(device).eval()
        self.device, self.max_length, self.batch_size = device, max_length, batch_size

    @torch.no_grad()
    def encode(self, texts: list[str]) -> torch.Tensor:
        """``(len(texts), dim)`` float32 unit vectors on the CPU, row ``i`` for ``texts[i]``."""
        from interestgraph.progress import progress

        out = []
        starts = range(0, len(texts), self.batch_size)
        for start in (
            progress(starts, desc="encoding (plain transformers)", unit="batch") if len(starts) > 2 else starts
        ):
            batch = self.tokenizer(
                texts[start : start + self.batch_size],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            batch = {k: v.to(self.device) for k, v in batch.items()}
            states = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=1).cpu())
        return torch.cat(out)


def time_encoders(
    encoders: dict[str, Callable[[list[str]], torch.Tensor]], texts: list[str], device: torch.device, repeats: int
) -> tuple[dict[str, torch.Tensor], dict[str, list[float]]]:
    """Warm each encoder up on one batch, then time ``repeats`` passes over ``texts``, alternating encoders.

    Returns ``({name: (n, dim) vectors}, {name: [seconds per pass]})``.
    """
    for encode in encoders.values():
        encode(texts[:32])
    vectors: dict[str, torch.Tensor] = {}
    seconds: dict[str, list[float]] = {name: [] for name in encoders}
    for _ in range(repeats):
        for name, encode in encoders.items():
            started = now(device)
            vectors[name] = encode(texts)
            seconds[name].append(now(device) - started)
    return vectors, seconds


def run_encoder(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Texts per second of our TextEncoder and of plain transformers on the same distinct titles.

    Returns ``{"protocol", "rows": {name: {"texts", "seconds" (per pass), "texts_per_second" (best pass)}},
    "ratio_texts_per_second" (ours / the reference's), "agreement": {"min_cosine", "max_abs_diff"}}``.
    """
    from interestgraph.encoder import EncoderConfig, TextEncoder

    texts = unique_titles(args.encoder_texts)
    encoder = TextEncoder(EncoderConfig(device=str(device), cache_dir=None))
    if encoder.cache is not None:
        raise RuntimeError("the encoder has a disk cache; the timing would read it instead of encoding")
    reference = PlainTransformers(encoder.model_dir, device, encoder.config.max_length)
    ours_name = f"interestgraph TextEncoder (batch {encoder.config.batch_size}, length-sorted" + (
        ", bf16 autocast)" if device.type == "cuda" and encoder.config.bf16_autocast else ", float32)"
    )
    ref_name = f"plain transformers (batch {reference.batch_size}, input order, float32)"
    lengths = [len(t.split()) for t in texts]
    protocol = {
        "texts": len(texts),
        "distinct": len(set(texts)),
        "source": "synthetic catalog titles",
        "words_per_text": {"mean": float(np.mean(lengths)), "max": max(lengths)},
        "model": encoder.name,
        "model_dir": encoder.model_dir,
        "max_length": encoder.config.max_length,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "repeats": args.encoder_repeats,
        "cache": "none (EncoderConfig.cache_dir=None)",
        "warm_up": "one batch of 32 texts per encoder, untimed",
        "rate": "texts / the fastest pass",
    }
    print(json.dumps(protocol), flush=True)
    vectors, seconds = time_encoders(
        {ref_name: reference.encode, ours_name: lambda batch: encoder.encode(batch)},
        texts,
        device,
        args.encoder_repeats,
    )
    rows = {
        name: {"texts": len(texts), "seconds": seconds[name], "texts_per_second": len(texts) / min(seconds[name])}
        for name in (ref_name, ours_name)
    }
    cosine = (vectors[ours_name] * vectors[ref_name]).sum(dim=1)
    agreement = {
        "min_cosine": float(cosine.min()),
        "max_abs_diff": float((vectors[ours_name] - vectors[ref_name]).abs().max()),
    }
    ratio = rows[ours_name]["texts_per_second"] / rows[ref_name]["texts_per_second"]
    for name, row in rows.items():
        print(
            f"{name}: {row['texts_per_second']:.1f} texts/s ({len(texts)} texts in {min(row['seconds']):.2f} s)",
            flush=True,
        )
    print(
        f"texts per second, ours / plain transformers: {ratio:.2f}x  (vectors agree: min cosine "
        f"{agreement['min_cosine']:.6f})"
    )
    return {
        "protocol": protocol,
        "rows": rows,
        "reference": ref_name,
        "ours": ours_name,
        "ratio_texts_per_second": ratio,
        "agreement": agreement,
    }


# --------------------------------------------------------------------------- section: joint model epoch split


def joint_graph(args: argparse.Namespace, device: torch.device):
    """``(graph, description, build seconds)``: the rs-4 interest graph of the synthetic default log scaled by
    ``--joint-scale`` (or of ``--movielens``), encoded by the packaged MiniLM on ``device``."""
    from interestgraph.data import SyntheticConfig, generate_synthetic, load_movielens
    from interestgraph.encoder import EncoderConfig, TextEncoder
    from interestgraph.graph import build_interest_graph

    if args.movielens:
        if not Path(args.movielens).is_dir():
            raise SystemExit(
                f"--movielens {args.movielens}: no such folder (MovieLens latest-small, with ratings.csv and "
                "movies.csv)"
            )
        log, name = load_movielens(args.movielens), f"ml-latest-small ({args.movielens})"
    else:
        base = SyntheticConfig()
        sizes = {
            key: max(1, round(getattr(base, key) * args.joint_scale))
            for key in ("n_users", "n_items", "n_interactions")
        }
        if (
            sizes["n_users"] < 10
            or sizes["n_items"] < 20
            or sizes["n_interactions"] < base.min_events_per_user * sizes["n_users"]
        ):
            raise SystemExit(
                f"--joint-scale {args.joint_scale}: gives {sizes}, too small a log (at least 10 users, 20 items)"
            )
        log, name = (
            generate_synthetic(**sizes).log,
            f"synthetic default log x{args.joint_scale:g} ({sizes['n_users']:,} users, {sizes['n_items']:,} items, "
            f"{sizes['n_interactions']:,} events)",
        )
    started = time.perf_counter()
    graph = build_interest_graph(log, protocol="rs-4", encoder=TextEncoder(EncoderConfig(device=str(device))))
    return graph, name, time.perf_counter() - started


def epoch_split(model) -> dict[str, Any]:
    """Mean seconds per epoch of the fitted model: ``"epoch"`` (whole epochs), each of :data:`EPOCH_PARTS`
    (``model.report_.epoch_seconds``), ``"other"`` (the epoch less its parts), and ``"per_epoch"`` rows."""
    parts = {part: float(model.report_.epoch_seconds[part]) for part in EPOCH_PARTS}
    epoch = float(np.mean([h["seconds"] for h in model.report_.history]))
    per_epoch = [
        {"epoch": h["epoch"], "seconds": h["seconds"], **{part: h[f"seconds_{part}"] for part in EPOCH_PARTS}}
        for h in model.report_.history
    ]
    return {"epoch": epoch, **parts, "other": epoch - sum(parts.values()), "per_epoch": per_epoch}


def run_joint(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Epoch time by part of the joint model (encoder_mode="top") and of the same model with the encoder frozen.

    Returns ``{"protocol", "rows": {variant: {"encoder_mode", "epochs", "fit_seconds", "best_valid_ndcg@20",
    "seconds": epoch_split(...)}}, "ratio_epoch_seconds" (fine-tuned / frozen), "fine_tuning_seconds_per_epoch"}``.
    """
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

    graph, data, build_seconds = joint_graph(args, device)
    model_config = ModelConfig(similarity_edges="refined")
    protocol = {
        "data": data,
        "split": graph.split.describe(),
        "nodes": {"users": len(graph.users), "items": len(graph.items), "interests": len(graph.interests)},
        "graph_build_seconds": build_seconds,
        "model_config": {"similarity_edges": "refined"},
        "epochs": args.joint_epochs,
        "encoder_warmup_epochs": args.joint_encoder_warmup,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "parts": "graph = epoch graph (holdout, operator); train = walks + loss; encoder = joint encoder steps + "
        "refresh; "
        "refine = similarity refinement; valid = freeze + validation NDCG@20",
    }
    print(json.dumps(protocol), flush=True)
    rows = {}
    for name, mode in JOINT_VARIANTS.items():
        train = TrainConfig(
            epochs=args.joint_epochs,
            encoder_mode=mode,
            encoder_warmup_epochs=args.joint_encoder_warmup,
            seed=args.seed,
            device=str(device),
            verbose=False,
        )
        started = time.perf_counter()
        model = InterestGraphModel(model_config, train).fit(graph)
        rows[name] = {
            "encoder_mode": mode,
            "epochs": model.report_.epochs,
            "fit_seconds": time.perf_counter() - started,
            "best_valid_ndcg@20": model.report_.best_valid_ndcg,
            "seconds": epoch_split(model),
        }
        s = rows[name]["seconds"]
        print(
            f"{name}: {s['epoch']:.2f} s per epoch = graph {s['graph']:.2f} + walks/loss {s['train']:.2f} + encoder "
            f"{s['encoder']:.2f} + "
            f"refine {s['refine']:.2f} + valid {s['valid']:.2f} + other {s['other']:.2f}; {model.report_.epochs} "
            f"epochs, fit {rows[name]['fit_seconds']:.1f} s",
            flush=True,
        )
    frozen, tuned = (rows[name]["seconds"]["epoch"] for name in JOINT_VARIANTS)
    ratio = tuned / frozen
    print(f"epoch time, fine-tuned / frozen encoder: {ratio:.2f}x (+{tuned - frozen:.2f} s per epoch)")
    return {
        "protocol": protocol,
        "rows": rows,
        "ratio_epoch_seconds": ratio,
        "fine_tuning_seconds_per_epoch": tuned - frozen,
    }


# --------------------------------------------------------------------------- report


def markdown(report: dict[str, Any]) -> str:
    """``speed.md``: one table per section that ran, with its protocol, the hardware and the command."""
    lines = ["# Speed benchmark", "", f"Command: `{report['command']}`", "", hardware_line(report["hardware"]), ""]
    if "throughput" in report:
        t = report["throughput"]
        lines += [
            "## LightGCN training throughput",
            "",
            f"{t['protocol']['data']}; {t['protocol']['epochs']} epochs",
            "",
            "| model | device | s per epoch | epochs/s | test recall@20 | test ndcg@20 |",
            "|---|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {n} | {r['device']} | {r['train_seconds'] / r['epochs']:.3f} | {r['epochs_per_second']:.3f} | "
            f"{r['recall@20']:.4f} | {r['ndcg@20']:.4f} |"
            for n, r in t["rows"].items()
        ]
        lines += [
            "",
            f"Epochs per second, ours / PyG's: **{t['ratio_epochs_per_second']:.2f}x**. "
            f"MostPopular's test recall@20: {t['protocol']['popularity_recall@20']:.4f}.",
            "",
        ]
    if "time_to_accuracy" in report:
        t = report["time_to_accuracy"]
        p = t["protocol"]
        lines += [
            "## Time to accuracy",
            "",
            f"{p['data']}; target test recall@20 {p['target_recall@20']}, evaluated every {p['eval_every']} epoch(s), "
            f"budget {p['max_minutes']} min of training per side. {p['resolution']}. MostPopular's test recall@20: "
            f"{p['popularity_recall@20']:.4f}.",
            "",
            "| model | device | epoch | training s | test recall@20 | test ndcg@20 | eval s |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for name, run in t["runs"].items():
            lines += [
                f"| {name} | {run['device']} | {r['epoch']} | {r['train_seconds']:.2f} | {r['recall@20']:.4f} | "
                f"{r['ndcg@20']:.4f} | {r['eval_seconds']:.2f} |"
                for r in run["log"]
            ]
        for name, run in t["runs"].items():
            got = (
                f"{run['time_to_target_seconds']:.1f} s ({run['epochs_to_target']} epochs)"
                if run["time_to_target_seconds"] is not None
                else f"not reached ({run['stopped']})"
            )
            lines.append(f"- {name}: {got}")
        speedup = t["speedup_time_to_target"]
        if speedup is not None:
            lines.append(f"- time to target, PyG's / ours: **{speedup:.2f}x**")
        elif t["speedup_at_least"] is not None:
            lines.append(f"- time to target, PyG's / ours: **at least {t['speedup_at_least']:.2f}x**")
        lines.append("")
    if "encoder" in report:
        e = report["encoder"]
        lines += [
            "## Text encoder throughput",
            "",
            f"{e['protocol']['texts']} distinct titles, {e['protocol']['model']}, device {e['protocol']['device']}",
            "",
            "| encoder | texts/s | s per pass |",
            "|---|---:|---|",
        ]
        lines += [
            f"| {n} | {r['texts_per_second']:.1f} | {', '.join(f'{s:.2f}' for s in r['seconds'])} |"
            for n, r in e["rows"].items()
        ]
        lines += [
            "",
            f"Texts per second, ours / plain transformers: **{e['ratio_texts_per_second']:.2f}x** (min cosine "
            f"{e['agreement']['min_cosine']:.6f})",
            "",
        ]
    if "joint" in report:
        j = report["joint"]
        lines += [
            "## Joint model: epoch time by part",
            "",
            f"{j['protocol']['data']}; {j['protocol']['split']}; device {j['protocol']['device']}",
            "",
            "| variant | epochs | s per epoch | graph | walks + loss | encoder | refine | valid | other |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, row in j["rows"].items():
            s = row["seconds"]
            lines.append(
                f"| {name} | {row['epochs']} | {s['epoch']:.2f} | {s['graph']:.2f} | {s['train']:.2f} | "
                f"{s['encoder']:.2f} | {s['refine']:.2f} | {s['valid']:.2f} | {s['other']:.2f} |"
            )
        lines += [
            "",
            f"Epoch time, fine-tuned / frozen encoder: **{j['ratio_epoch_seconds']:.2f}x** "
            f"(+{j['fine_tuning_seconds_per_epoch']:.2f} s per epoch)",
            "",
        ]
    return "\n".join(lines)


def write_report(out: Path, report: dict[str, Any]) -> None:
    """``out/speed.json`` (every figure; the throughput section's keys also at the top level, as before) and
    ``out/speed.md``."""
    out.mkdir(parents=True, exist_ok=True)
    payload = dict(report)
    if "throughput" in report:
        payload.update(report["throughput"])
    (out / "speed.json").write_text(json.dumps(payload, indent=2, default=str))
    (out / "speed.md").write_text(markdown(report))


# --------------------------------------------------------------------------- command line


def positive(kind: type) -> Callable[[str], Any]:
    """An argparse type: a number of ``kind`` that must be > 0 (argparse names the option in its error)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def sections(text: str) -> list[str]:
    """``--sections``: comma-separated names from :data:`SECTIONS`, in the order given."""
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown section(s) {unknown or [text]}; choose from {', '.join(SECTIONS)}")
    return list(dict.fromkeys(chosen))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--sections",
        type=sections,
        default=["throughput"],
        help=f"comma-separated, from {', '.join(SECTIONS)} (default throughput)",
    )
    p.add_argument(
        "--device",
        choices=("cpu", "cuda", "auto"),
        default="cpu",
        help="where both LightGCNs (and the encoder and joint model) run",
    )
    p.add_argument(
        "--scale",
        type=positive(float),
        default=0.1,
        help="fraction of Gowalla's users, items and interactions (default 0.1)",
    )
    p.add_argument(
        "--lightgcn", type=Path, help="a folder with LightGCN's train.txt / test.txt instead of the synthetic stand-in"
    )
    p.add_argument("--epochs", type=positive(int), default=3, help="throughput: epochs each LightGCN trains")
    p.add_argument("--batch-size", type=positive(int), default=2048)
    p.add_argument("--layers", type=positive(int), default=3)
    p.add_argument("--threads", type=positive(int), default=torch.get_num_threads())
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument(
        "--eval-every", type=positive(int), default=5, help="time-to-accuracy: epochs between test evaluations"
    )
    p.add_argument(
        "--target-recall",
        type=float,
        default=0.215,
        help="time-to-accuracy: the test Recall@20 to reach (default 0.215: 90%% of our LightGCN's plateau on the "
        "--scale 0.1 stand-in)",
    )
    p.add_argument(
        "--max-minutes",
        type=positive(float),
        default=10.0,
        help="time-to-accuracy: training minutes per side before giving up",
    )
    p.add_argument(
        "--max-epochs",
        type=positive(int),
        default=None,
        help="time-to-accuracy: most epochs per side (default: no limit)",
    )
    p.add_argument(
        "--tta-reference",
        choices=("pyg", "none"),
        default="pyg",
        help="time-to-accuracy: also train PyG's LightGCN to the target",
    )
    p.add_argument("--encoder-texts", type=positive(int), default=2000, help="encoder: distinct titles to encode")
    p.add_argument(
        "--encoder-repeats",
        type=positive(int),
        default=1,
        help="encoder: timed passes per encoder (the fastest counts)",
    )
    p.add_argument(
        "--joint-scale",
        type=positive(float),
        default=1.0,
        help="joint: fraction of the synthetic default log (1,000 users, 2,000 items, 50,000 events)",
    )
    p.add_argument(
        "--movielens",
        type=Path,
        nargs="?",
        const=MOVIELENS,
        help=f"joint: ml-latest-small instead (default folder {MOVIELENS})",
    )
    p.add_argument("--joint-epochs", type=positive(int), default=3, help="joint: epochs per variant")
    p.add_argument(
        "--joint-encoder-warmup",
        type=int,
        default=0,
        help="joint: epochs with the encoder frozen before joint steps (library default 2)",
    )
    p.add_argument("--out", type=Path)
    return p


def main(argv: list[str] | None = None) -> int:
    from benchmarks.accuracy import versions

    args = parser().parse_args(argv)
    if args.joint_encoder_warmup < 0:
        raise SystemExit(f"--joint-encoder-warmup must be >= 0, got {args.joint_encoder_warmup}")
    if not 0.0 <= args.target_recall <= 1.0:
        raise SystemExit(f"--target-recall must be in [0, 1], got {args.target_recall}")
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    facts = hardware(device)
    command = "python benchmarks/speed.py " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    report: dict[str, Any] = {"command": command, "sections": args.sections, "hardware": facts, "versions": versions()}
    split = None
    if {"throughput", "time-to-accuracy"} & set(args.sections):
        split = lightgcn_files(args.lightgcn) if args.lightgcn else gowalla_like(args.scale)
    runners = {
        "throughput": lambda: run_throughput(args, split, device),
        "time-to-accuracy": lambda: run_time_to_accuracy(args, split, device),
        "encoder": lambda: run_encoder(args, device),
        "joint": lambda: run_joint(args, device),
    }
    for name in args.sections:
        print(f"== {name} ==\n{hardware_line(facts)}", flush=True)
        report[name.replace("-", "_")] = runners[name]()
    if args.out:
        write_report(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
