"""New items added to a trained model without retraining, under the ``cold-4`` protocol.

Not a test: it measures. For each seed it splits ml-latest-small under ``cold-4``
(10 % of the items with positives held out of training entirely), then compares
two ways a cold item reaches users:

* ``in catalog``: the graph is built with the cold items in the catalog (no events),
  the model trained on it (the protocol's own setting);
* ``added``: the graph is built **without** the cold items (catalog and events), the
  model trained on it, and the cold items added afterwards with
  ``InterestGraphModel.add_items`` from their catalog rows (title, genres): no retraining.

Both are scored by the harness on the same test part: Recall@20 / NDCG@20 of the
cold items' held-out pairs and of the warm items' pairs (ranked among all
candidates), and all pairs. Writes ``new-items.md`` and ``.json`` to ``--out``.

    python benchmarks/new_items.py --seeds 2020,1,2 --out results/

The split seed is the protocol's (2020) unless ``--split-seed`` is given; ``--seeds``
vary training (initialisation, sampling, the items hidden as cold while training).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.accuracy import versions  # noqa: E402

KEYS = ("recall@20", "ndcg@20")


class _InLogOrder:
    """A model whose users and items are in another order than the log's: scores reordered to the log's codes."""

    def __init__(self, model, log):
        self.model = model
        self.items = model.item_ids.get_indexer(log.item_ids)
        if (self.items < 0).any():
            raise ValueError(f"{int((self.items < 0).sum())} catalog items are not in the model")
        self.users = model.user_ids.get_indexer(log.user_ids)

    def score(self, users):
        import torch

        rows = self.users[np.asarray(users)]
        known = rows >= 0
        scores = self.model.score(np.where(known, rows, 0))[:, torch.from_numpy(self.items)]
        scores[torch.from_numpy(~known)] = 0.0  # a user with events on cold items only: nothing to walk from
        return scores


def without_items(split, items):
    """``split`` with ``items`` removed from the catalog and the events (what a model trained before they existed
    sees)."""
    import dataclasses

    from interestgraph.data.splits import Split

    log = split.log
    keep_events = ~log.interactions["item_id"].isin(items).to_numpy()
    keep_items = ~log.items["item_id"].isin(items).to_numpy()
    small = dataclasses.replace(
        log,
        interactions=log.interactions[keep_events].reset_index(drop=True),
        items=log.items[keep_items].reset_index(drop=True),
    )
    return Split(
        log=small,
        protocol=split.protocol,
        candidate_items=split.candidate_items[~split.candidate_items.isin(items)],
        cold_items=split.cold_items[:0],
    )


def run_seed(split, graphs, seed: int, args) -> dict:
    from interestgraph.evaluate import evaluate
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

    out = {}
    train = dict(seed=seed, verbose=False, **({"epochs": args.epochs} if args.epochs else {}))
    t0 = time.perf_counter()
    full = InterestGraphModel(ModelConfig(), TrainConfig(**train)).fit(graphs["in catalog"])
    out["in catalog"] = {
        "train_seconds": round(time.perf_counter() - t0, 1),
        "result": evaluate(full, split, cutoffs=(20,), name="in catalog"),
    }
    t0 = time.perf_counter()
    small = InterestGraphModel(ModelConfig(), TrainConfig(**train)).fit(graphs["added"])
    train_seconds = time.perf_counter() - t0
    cold_rows = split.log.items[split.log.items["item_id"].isin(split.cold_items)]
    t0 = time.perf_counter()
    small.add_items(cold_rows, encoder=graphs["encoder"])
    add_seconds = time.perf_counter() - t0
    summary = small.added_items
    out["added"] = {
        "train_seconds": round(train_seconds, 1),
        "add_seconds": round(add_seconds, 2),
        "items_added": len(summary),
        "items_without_interest": int((summary["interests"].map(len) == 0).sum()),
        "result": evaluate(_InLogOrder(small, split.log), split, cutoffs=(20,), name="added"),
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--path",
        type=Path,
        default=ROOT.parent / "shared" / "datasets" / "ml-latest-small",
        help="ml-latest-small folder",
    )
    parser.add_argument("--seeds", default="2020,1,2", help="training seeds, comma-separated")
    parser.add_argument("--split-seed", type=int, default=2020, help="the cold-4 split's seed")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="training epochs at most (default: TrainConfig's; early stopping on validation NDCG@20)",
    )
    parser.add_argument(
        "--encoder-cache", type=Path, default=None, help="encoder cache directory (speeds up the two graph builds)"
    )
    parser.add_argument("--out", type=Path, default=Path("results"), help="folder for new-items.md / .json")
    args = parser.parse_args()
    if not args.path.is_dir():
        raise SystemExit(
            f"{args.path}: no such folder (MovieLens latest-small is read from ../shared/datasets; pass --path)"
        )

    from interestgraph.data import load_movielens
    from interestgraph.data.protocols import split_log
    from interestgraph.encoder import EncoderConfig, TextEncoder
    from interestgraph.graph import build_interest_graph

    started = time.perf_counter()
    encoder = TextEncoder(EncoderConfig(cache_dir=str(args.encoder_cache) if args.encoder_cache else None))
    split = split_log(load_movielens(args.path), "cold-4", seed=args.split_seed)
    print(split.describe(), file=sys.stderr)
    graphs = {
        "encoder": encoder,
        "in catalog": build_interest_graph(split, encoder=encoder),
        "added": build_interest_graph(without_items(split, split.cold_items), encoder=encoder),
    }
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    runs = {seed: run_seed(split, graphs, seed, args) for seed in seeds}

    rows = {}
    for way in ("in catalog", "added"):
        results = [runs[s][way]["result"] for s in seeds]
        row = {}
        for subset in ("cold", "warm", "all"):
            for key in KEYS:
                values = np.array([(r.metrics if subset == "all" else getattr(r, subset))[key] for r in results])
                row[f"{subset} {key}"] = {
                    "mean": float(values.mean()),
                    "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                    "per_seed": values.tolist(),
                }
        rows[way] = row
    command = "python benchmarks/new_items.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    payload = {
        "protocol": split.protocol.to_dict(),
        "protocol_line": split.describe(),
        "seeds": seeds,
        "command": command,
        "versions": versions(),
        "rows": rows,
        "runs": {str(s): {w: {k: v for k, v in r.items() if k != "result"} for w, r in runs[s].items()} for s in seeds},
        "seconds": round(time.perf_counter() - started, 1),
    }
    columns = [f"{subset} {key}" for subset in ("cold", "warm", "all") for key in KEYS]
    lines = [
        "# New items under cold-4: in the catalog at training time vs added after training",
        "",
        f"Protocol: {split.describe()}",
        f"Seeds: {', '.join(map(str, seeds))} (mean ± std)",
        f"Command: `{command}`",
        "",
        "| cold items | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for way, row in rows.items():
        lines.append(f"| {way} | " + " | ".join(f"{row[c]['mean']:.4f} ± {row[c]['std']:.4f}" for c in columns) + " |")
    added = payload["runs"][str(seeds[0])]["added"]
    lines += [
        "",
        f"Added {added['items_added']} items in {added['add_seconds']} s (seed {seeds[0]}); "
        f"{added['items_without_interest']} matched no interest point.",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "new-items.json").write_text(json.dumps(payload, indent=2))
    (args.out / "new-items.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
