"""One-user latency of the item–item path model: top-20 and ``explain``, as ``benchmarks/gowalla.py`` times them.

Not a test: it measures. Fits :class:`~interestgraph.model.ItemPathModel` on a LightGCN-format directory (all of
``train.txt``) with ``--setting`` (default: the setting the last Gowalla run chose, ``benchmarks/README.md``) and saves
it to ``--model``, or loads ``--model`` when it holds a saved model already (the fit takes minutes on Gowalla; the
timings do not). Then, for ``--users`` users drawn as ``gowalla.py`` draws them (seed 0): ``score`` of one user, the
training items masked, ``torch.topk`` of 20 (ms), and ``explain`` of the top item (ms); median and 95th percentile.
A breakdown times each component's product for one user in the order ``score`` runs them, and each component's
``entries`` for ``explain``. Thread count and the 1-minute load average are recorded (on a shared machine the load
decides much of the figure: compare runs made at the same load). Writes ``item-path-latency.json`` to ``--out``.

    OMP_NUM_THREADS=1 python benchmarks/item_path_latency.py --data ../shared/datasets/gowalla \\
        --model results/item-path-gowalla --out results/
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.gowalla import ITEM_PATH_BASE  # noqa: E402

#: the Gowalla run's choice (benchmarks/README.md): ChebyCF backbone at flatness 2, β 0.4, plus three weights (the
#: ideal low-pass's weight came out 0, so it is not fitted)
GOWALLA_SETTING = {
    **ITEM_PATH_BASE,
    "theta": {"cheby": 1.0, "spectral": 0.7, "cooc": -0.2, "cooc2": -0.2},
    "cheby_flatness": 2.0,
    "cheby_beta": 0.4,
    "lowpass_beta": 0.4,
}


def summary(values: list[float]) -> dict[str, float]:
    import numpy as np

    return {"median": round(float(np.median(values)), 2), "p95": round(float(np.percentile(values, 95)), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "gowalla"))
    parser.add_argument("--model", required=True, help="a saved item-path model, or where to save the one fitted")
    parser.add_argument("--setting", default=None, help="JSON ItemPathConfig fields (default: GOWALLA_SETTING)")
    parser.add_argument("--users", type=int, default=200, help="users timed (gowalla.py times 200)")
    parser.add_argument("--breakdown-users", type=int, default=50)
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from interestgraph.model import ItemPathConfig, ItemPathModel

    command = "python benchmarks/item_path_latency.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    model_dir = Path(args.model)
    entry: dict[str, Any] = {"command": command}
    if (model_dir / "manifest.json").is_file():
        model = ItemPathModel.load(model_dir)
        entry["model"] = f"loaded from {model_dir}"
    else:
        from interestgraph.data.formats.lightgcn import load_lightgcn

        setting = json.loads(args.setting) if args.setting else GOWALLA_SETTING
        started = time.perf_counter()
        model = ItemPathModel(ItemPathConfig.from_dict(setting)).fit(load_lightgcn(Path(args.data)))
        entry["fit_seconds"] = round(time.perf_counter() - started, 1)
        model.save(model_dir)
        entry["model"] = f"fitted on {args.data} (all of train.txt), saved to {model_dir}"
    entry["theta"] = {k: v for k, v in model.theta_.items() if v != 0}
    entry["items"] = len(model.item_ids)
    entry["threads"] = torch.get_num_threads()
    entry["load_before"] = round(os.getloadavg()[0], 2)

    rng = np.random.default_rng(0)  # as benchmarks/gowalla.py draws them
    n_users = model.history_.shape[0]
    users = rng.choice(n_users, min(200, n_users), replace=False)[: args.users]
    seen = model.seen
    for user in users[:3]:  # warm-up: first-use conversions (torch operators, float64 copies)
        model.explain(int(user), int(model.score(np.array([user]))[0].argmax()))
    top_ms, explain_ms = [], []
    for user in users:
        t0 = time.perf_counter()
        scores = model.score(np.array([user]))[0]
        scores[torch.from_numpy(seen[user].indices.astype(np.int64))] = -torch.inf
        top = torch.topk(scores, min(20, len(scores))).indices
        top_ms.append(1e3 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        model.explain(int(user), int(top[0]))
        explain_ms.append(1e3 * (time.perf_counter() - t0))
    entry["top20_ms"] = summary(top_ms)
    entry["explain_ms"] = summary(explain_ms)

    parts: dict[str, list[float]] = {name: [] for name in model.components_}
    parts.update({f"explain {name}": [] for name in model.components_})
    for user in users[: args.breakdown_users]:
        history = model.history_[np.array([user])]
        shared: dict = {}
        for name, component in model.components_.items():
            t0 = time.perf_counter()
            component.apply(history, shared)
            parts[name].append(1e3 * (time.perf_counter() - t0))
        row = model.history_[int(user)]
        column = int(rng.integers(len(model.active_items_)))
        for name, component in model.components_.items():
            t0 = time.perf_counter()
            component.entries(row.indices, column)
            parts[f"explain {name}"].append(1e3 * (time.perf_counter() - t0))
    entry["breakdown_ms"] = {name: summary(values) for name, values in parts.items()}
    entry["load_after"] = round(os.getloadavg()[0], 2)
    lines = [
        f"item-path one-user latency ({entry['model']}; θ {entry['theta']}; {entry['items']:,} items; "
        f"{entry['threads']} threads; load {entry['load_before']} → {entry['load_after']})",
        f"  top-20 of one user, {len(users)} users: median {entry['top20_ms']['median']} ms, "
        f"p95 {entry['top20_ms']['p95']} ms",
        f"  explain of its top item: median {entry['explain_ms']['median']} ms, p95 {entry['explain_ms']['p95']} ms",
        "  breakdown (median / p95 ms): "
        + "; ".join(f"{k} {v['median']} / {v['p95']}" for k, v in entry["breakdown_ms"].items()),
    ]
    print("\n".join(lines), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "item-path-latency.json").write_text(json.dumps(entry, indent=2))
    print(f"wrote {out / 'item-path-latency.json'}; command: {command}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
