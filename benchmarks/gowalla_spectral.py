"""How the Gowalla grid's ``spectral`` settings (ε and rank in ``gowalla.ITEM_PATH_BASE``) are chosen: validation only.

Not a test: it measures, and it never scores the test part. On the tuning split of ``benchmarks/gowalla.py`` (the same
carve and the same seeded validation users), for each ε × rank it runs :func:`~interestgraph.model.tune_item_path` with
the ChebyCF backbone at the setting the Gowalla grid chose (``--flatness``, ``--beta``) and one round over the
``spectral`` component alone with the weights ``--theta``, and prints every validation NDCG@20; the best (ε, rank) is
what ``ITEM_PATH_BASE`` should hold. Each (ε, rank) refits the component (one randomised SVD), the backbone is
scored once per (ε, rank) (the sweep's first line).

    OMP_NUM_THREADS=2 python benchmarks/gowalla_spectral.py --data ../shared/datasets/gowalla --valid-users 5000 \\
        --epsilon 0.2,0.25,0.3 --rank 800,1100 --out results/
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gowalla import ITEM_PATH_BASE, tuning_split  # noqa: E402


def floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "gowalla"))
    parser.add_argument("--valid-ratio", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--valid-users", type=int, default=5000)
    parser.add_argument("--epsilon", default="0.2,0.25,0.3")
    parser.add_argument("--rank", default="800,1100")
    parser.add_argument("--theta", default="0.4,0.7,1.0,1.5", help="the spectral component's weights")
    parser.add_argument("--flatness", type=float, default=2.0, help="the ChebyCF backbone's flatness")
    parser.add_argument("--beta", type=float, default=0.4, help="the ChebyCF backbone's β")
    parser.add_argument("--base", default=None, help="JSON ItemPathConfig fields over gowalla.ITEM_PATH_BASE")
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)

    from interestgraph.model import ItemPathConfig, ItemPathGrid, tune_item_path

    command = "python benchmarks/gowalla_spectral.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    data = Path(args.data)
    if not (data / "train.txt").is_file():
        raise SystemExit(f"{data}: no train.txt (pass --data, a LightGCN-format directory)")
    tuning = tuning_split(data, args.valid_ratio, args.seed, args.valid_users)
    print(f"protocol: {tuning.describe()}; validation NDCG@20 only, the test part is not scored", flush=True)
    grid = ItemPathGrid(
        large_backbone="cheby",
        cheby_flatness=(args.flatness,),
        cheby_beta=(args.beta,),
        components=("spectral",),
        theta=tuple(floats(args.theta)),
        rounds=1,
    )
    base = ItemPathConfig.from_dict({**ITEM_PATH_BASE, **(json.loads(args.base) if args.base else {})})
    rows = []
    for epsilon in floats(args.epsilon):
        for rank in [int(v) for v in floats(args.rank)]:
            started = time.perf_counter()
            config = dataclasses.replace(base, spectral_epsilon=epsilon, spectral_rank=rank)
            _, tried = tune_item_path(tuning, grid, config)
            seconds = time.perf_counter() - started
            for record in tried:
                weight = record["theta"].get("spectral", 0.0)
                rows.append({"epsilon": epsilon, "rank": rank, "theta": weight, "ndcg@20": record["ndcg@20"]})
            best = max(tried, key=lambda r: r["ndcg@20"])
            print(
                f"ε {epsilon} rank {rank}: "
                + ", ".join(f"θ {r['theta'].get('spectral', 0.0)} {r['ndcg@20']:.4f}" for r in tried)
                + f"; best θ {best['theta'].get('spectral', 0.0)} ({seconds:.0f} s)",
                flush=True,
            )
    best = max(rows, key=lambda r: r["ndcg@20"])
    print(f"best: ε {best['epsilon']}, rank {best['rank']}, θ {best['theta']}: NDCG@20 {best['ndcg@20']:.4f}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"command": command, "protocol": tuning.protocol.to_dict(), "rows": rows, "best": best}
    (out / "gowalla-spectral.json").write_text(json.dumps(payload, indent=2))
    print(f"wrote {out / 'gowalla-spectral.json'}; command: {command}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
