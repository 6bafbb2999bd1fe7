"""Speed benchmark: LightGCN-mode training against PyG's ``LightGCN`` trained the way PyG's example trains it.

Not a test: it measures. Both sides train LightGCN (64-d, 3 layers, Adam lr 1e-3, L2 1e-4,
BPR with one uniform negative per positive, mini-batches of 2,048 training pairs, the full
graph propagated for every mini-batch) on the same training pairs for the same number of
epochs, on the same hardware, in this one process:

* **reference**: :class:`torch_geometric.nn.models.LightGCN` with ``gcn_norm`` message
  passing (``LGConv``) over the bidirectional ``edge_index``, the loop of PyG's
  ``examples/lightgcn.py``: ``model(edge_index, edge_label_index)`` scores positives and
  negatives, ``model.recommendation_loss(..., node_id=edge_label_index.unique())``;
* **ours**: :class:`interestgraph.baselines.LightGCN` (the same operator as cached sparse CSR
  products, :func:`interestgraph.graph.propagation.propagate`; negatives exclude the user's
  positives; deterministic kernels).

It reports epochs per second of each, their ratio, and the test Recall@20 / NDCG@20 of each
after the same epochs through the evaluation harness (same split, seen items masked), so the
speed-up is read at equal training, and accuracy is checked to be equal. Data: a synthetic
stand-in with the shape of the LightGCN Gowalla split (29,858 users, 40,981 items, 810,128
training interactions; ``--scale`` shrinks all three), power-law user degrees and item
popularity, each user's pairs split 80:20 into train and test; or ``--lightgcn DIR`` (a
folder with LightGCN's ``train.txt`` / ``test.txt``).

    python benchmarks/speed.py --scale 0.1 --epochs 3 --out results/
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

GOWALLA = {"users": 29_858, "items": 40_981, "train": 810_128}


def gowalla_like(scale: float, seed: int = 0):
    """A given split (train 80 % / test 20 % of each user's items) shaped like Gowalla, scaled by ``scale``."""
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
    users, items, parts = [], [], []
    for user, k in enumerate(degree):
        chosen = rng.choice(n_items, size=int(k), replace=False, p=popularity)
        n_test = max(1, int(round(0.2 * k)))
        users.append(np.full(len(chosen), user))
        items.append(chosen)
        parts.append(np.where(np.arange(len(chosen)) < len(chosen) - n_test, "train", "test"))
    frame = pd.DataFrame({"user_id": np.concatenate(users), "item_id": np.concatenate(items)})
    log = InteractionLog.from_frames(frame, pd.DataFrame({"item_id": np.arange(n_items)}), source=f"gowalla-shaped synthetic x{scale:g}")
    return given_split(log, np.concatenate(parts), name=f"gowalla-shaped x{scale:g}")


def lightgcn_files(path: Path):
    from interestgraph.data.formats import load_source

    loaded = load_source(path, "lightgcn")
    return loaded.given_split


class PygLightGCN:
    """PyG's LightGCN trained as in ``examples/lightgcn.py`` (the reference), with the harness's ``score``."""

    def __init__(self, dim: int, layers: int, lr: float, l2: float, batch_size: int, epochs: int, seed: int):
        self.dim, self.layers, self.lr, self.l2, self.batch_size, self.epochs, self.seed = dim, layers, lr, l2, batch_size, epochs, seed

    def fit(self, split):
        from torch_geometric.nn.models import LightGCN

        from interestgraph.evaluate import positive_matrix

        torch.manual_seed(self.seed)
        train = positive_matrix(split, "train").tocoo()
        self.n_users, self.n_items = train.shape
        src = torch.from_numpy(train.row.astype(np.int64))
        dst = torch.from_numpy(train.col.astype(np.int64)) + self.n_users
        self.edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
        pairs = torch.stack([src, dst])
        self.model = LightGCN(self.n_users + self.n_items, self.dim, self.layers)
        optimiser = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        generator = torch.Generator().manual_seed(self.seed)
        started = time.perf_counter()
        for _ in range(self.epochs):
            for index in torch.randperm(pairs.size(1), generator=generator).split(self.batch_size):
                positive = pairs[:, index]
                negative = torch.stack([positive[0], torch.randint(self.n_users, self.n_users + self.n_items, (index.numel(),), generator=generator)])
                label_index = torch.cat([positive, negative], dim=1)
                optimiser.zero_grad()
                pos_rank, neg_rank = self.model(self.edge_index, label_index).chunk(2)
                loss = self.model.recommendation_loss(pos_rank, neg_rank, node_id=label_index.unique(), lambda_reg=self.l2)
                loss.backward()
                optimiser.step()
        self.train_seconds_ = time.perf_counter() - started
        with torch.no_grad():
            self._embedding = self.model.get_embedding(self.edge_index)
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        users = torch.as_tensor(np.asarray(users), dtype=torch.long)
        return self._embedding[users] @ self._embedding[self.n_users:].T


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of Gowalla's users, items and interactions (default 0.1)")
    parser.add_argument("--lightgcn", type=Path, help="a folder with LightGCN's train.txt / test.txt instead of the synthetic stand-in")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    from interestgraph.baselines import LightGCN
    from interestgraph.evaluate import evaluate

    torch.set_num_threads(args.threads)
    split = lightgcn_files(args.lightgcn) if args.lightgcn else gowalla_like(args.scale)
    n_train = len(split.positive_pairs("train"))
    rows = {}
    for name, model in (("PyG LightGCN (example loop)", PygLightGCN(64, args.layers, 1e-3, 1e-4, args.batch_size, args.epochs, args.seed)),
                        ("interestgraph LightGCN", LightGCN(dim=64, layers=args.layers, lr=1e-3, l2=1e-4, batch_size=args.batch_size, max_epochs=args.epochs, seed=args.seed))):
        model.fit(split)
        metrics = evaluate(model, split, part="test", cutoffs=(20,), name=name).metrics
        rows[name] = {"epochs": args.epochs, "train_seconds": model.train_seconds_, "epochs_per_second": args.epochs / model.train_seconds_,
                      "recall@20": metrics["recall@20"], "ndcg@20": metrics["ndcg@20"]}
        print(f"{name}: {model.train_seconds_ / args.epochs:.2f} s per epoch; after {args.epochs} epochs test recall@20 {metrics['recall@20']:.4f}, "
              f"ndcg@20 {metrics['ndcg@20']:.4f}", flush=True)
    ours, ref = rows["interestgraph LightGCN"], rows["PyG LightGCN (example loop)"]
    ratio = ours["epochs_per_second"] / ref["epochs_per_second"]
    protocol = {"data": split.describe(), "training_pairs": n_train, "epochs": args.epochs, "batch_size": args.batch_size, "layers": args.layers, "dim": 64,
                "device": "cpu", "threads": args.threads, "cpus": os.cpu_count(), "machine": platform.platform(), "torch": torch.__version__}
    print(f"epochs per second, ours / PyG's: {ratio:.2f}x  (test ndcg@20 {ours['ndcg@20']:.4f} vs {ref['ndcg@20']:.4f})")
    print(json.dumps(protocol))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "speed.json").write_text(json.dumps({"protocol": protocol, "rows": rows, "ratio_epochs_per_second": ratio}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
