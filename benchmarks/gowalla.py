"""Gowalla benchmark: the training-free filters, EASE and LightGCN under one validation protocol.

Not a test: it measures. The protocol (the dataset's README states the rule):

1. **Tuning split.** A validation part is carved from ``train.txt`` per user
   (``--valid-ratio`` of each user's pairs, at least one when the user keeps a
   training pair; seeded by ``--seed``; :func:`interestgraph.data.formats.lightgcn.load_lightgcn`).
   ``--valid-users N`` scores only a seeded sample of N users' validation pairs
   (the other users keep all their pairs in training) when a full sweep is too slow;
   0 (default) scores every user.
2. **Grid.** Every model's settings are chosen on that validation part by
   NDCG@20 over its stated grid (``interestgraph.baselines.EASE_GRID`` /
   ``GFCF_GRID`` / ``CHEBYCF_GRID``, or ``--grid``), fitted on the tuning
   split's training pairs only; every setting's validation score is printed.
3. **Final fit.** The chosen setting is refitted on all of ``train.txt`` and
   ``test.txt`` is scored once: full ranking over the items with a training
   pair, training items masked, Recall@20 = hits / |test items of the user| and
   NDCG@20 with the ideal DCG of min(|test|, 20) positions (as LightGCN computes them).

Models: ``gfcf``, ``chebycf``, ``ease`` (when ``--max-memory-gb`` allows its
dense item × item matrices; otherwise it is skipped with the estimate),
``lightgcn`` (the published setting, dim 64, 3 layers, lr 1e-3, L2 1e-4,
trained on all of ``train.txt`` for ``--lightgcn-minutes``; it reports that it
did not converge when the budget stopped it), and ``--extra NAME=module:function``
for another model (the path model), where ``function()`` returns
``(make, grid)``: ``make(**setting)`` gives an unfitted recommender
(``fit(split) -> self``, ``score(users)``) and ``grid`` maps its arguments to
values.

Timings: the tuning sweep (all settings: fits plus validation scoring) is
reported apart from the final fit and the test evaluation. Peak memory is the
process's resident peak after each stage (it only grows; run one model per
process for per-model peaks). Writes ``gowalla-benchmark.json`` to ``--out``.

    OMP_NUM_THREADS=1 nice python benchmarks/gowalla.py --models gfcf,chebycf --out results/
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import shlex
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PUBLISHED = {  # Recall@20 / NDCG@20 on this split, settings not chosen on a validation part
    "lightgcn": (0.1830, 0.1554),
    "gfcf": (0.1849, 0.1518),
    "bspm": (0.1920, 0.1597),
    "chebycf": (0.1941, 0.1616),
}
LIGHTGCN_SETTING = {"dim": 64, "layers": 3, "lr": 1e-3, "l2": 1e-4, "batch_size": 2048}


def peak_gib() -> float:
    """Resident peak of this process so far (GiB; Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def tuning_split(directory: Path, valid_ratio: float, seed: int, valid_users: int):
    """The split of step 1: validation carved per user from train.txt; with ``valid_users > 0`` only a seeded
    sample of users keeps its validation pairs (the others' go back to training)."""
    import numpy as np

    from interestgraph.data import InteractionLog, given_split
    from interestgraph.data.formats.lightgcn import load_lightgcn

    split = load_lightgcn(directory, valid_ratio=valid_ratio, seed=seed)
    if valid_users <= 0:
        return split
    inter = split.log.interactions
    users = np.sort(inter["user_id"].unique())
    if valid_users >= len(users):
        return split
    sample = np.random.default_rng(seed + 1).choice(users, size=valid_users, replace=False)
    part = inter["part"].astype(str).to_numpy().copy()
    part[(part == "valid") & ~inter["user_id"].isin(sample).to_numpy()] = "train"
    log = InteractionLog.from_frames(
        inter[["user_id", "item_id"]].reset_index(drop=True),
        None,
        default_event="interaction",
        duplicates="keep",
        source=str(directory),
    )
    params = {"source": str(directory), "valid_ratio": valid_ratio, "seed": seed, "valid_users": int(valid_users)}
    return given_split(log, part, name="lightgcn-given", params=params)


def held_out_popularity(tuning, final) -> dict[str, dict[str, float]]:
    """How popular the items of each part's pairs are, by the training degree of the split they are scored against:
    the mean degree and the share of pairs on the top 1 % of items. A random per-user carve (the validation part)
    mirrors its training pairs; a part that does not is a different target, and settings chosen on one need not carry
    to the other (printed with the protocol; nothing is chosen from it)."""
    import numpy as np

    out = {}
    for split, parts in ((tuning, ("train", "valid")), (final, ("train", "test"))):
        degree = np.asarray(split.positive_matrix("train").sum(axis=0)).ravel()
        head = np.quantile(degree, 0.99)
        for part in parts:
            items = split.positive_matrix(part).indices
            if len(items) == 0:
                continue
            name = f"{part} ({'tuning' if split is tuning else 'final'} split)"
            out[name] = {
                "pairs": int(len(items)),
                "mean_train_degree": round(float(degree[items].mean()), 1),
                "top1pct_share": round(float(np.mean(degree[items] >= head)), 3),
            }
    return out


def model_table(args: argparse.Namespace) -> dict[str, tuple[Any, dict[str, Any], dict[str, Any]]]:
    """``{name: (make, grid, fixed)}`` of the tuned models asked for."""
    from interestgraph.baselines import LINEAR_MODELS

    grids = json.loads(args.grid) if args.grid else {}
    out = {}
    for name in args.models.split(","):
        name = name.strip()
        if name in LINEAR_MODELS:
            make, grid = LINEAR_MODELS[name]
            fixed = {"max_memory_gb": args.max_memory_gb} if name == "ease" else {}
            out[name] = (make, dict(grids.get(name, grid)), fixed)
        elif name in ("lightgcn", "item-path") or not name:
            continue
        else:
            raise SystemExit(f"--models: unknown model {name!r}; choose from {', '.join(LINEAR_MODELS)}, lightgcn")
    for spec in args.extra:
        name, _, target = spec.partition("=")
        module, _, function = target.partition(":")
        if not (name and module and function):
            raise SystemExit(f"--extra takes NAME=module:function, got {spec!r}")
        make, grid = getattr(importlib.import_module(module), function)()
        out[name] = (make, dict(grids.get(name, grid)), {})
    return out


def run_tuned(name, make, grid, fixed, tuning, final, lines: list[str], out: Path) -> dict[str, Any]:
    """Steps 2 and 3 for one model; returns its JSON entry (its per-user test figures written to ``out``)."""
    from interestgraph.baselines import describe_grid, tune_grid
    from interestgraph.evaluate import evaluate

    entry: dict[str, Any] = {"grid": {k: list(v) for k, v in grid.items()}, "fixed": fixed}
    lines.append(f"{name}: grid {describe_grid(grid)}")
    started = time.perf_counter()
    try:
        table = tune_grid(make, tuning, grid, name=name, **fixed)[1]  # the tuned model is not kept: the final fit
        # refits the chosen setting, and a dense model (EASE on Gowalla: 6.7 GB) need not stay beside it
    except MemoryError as exc:
        entry["skipped"] = str(exc)
        lines.append(f"  skipped: {exc}")
        return entry
    entry["tuning_seconds"] = round(time.perf_counter() - started, 1)
    entry["tuning_peak_gib"] = round(peak_gib(), 2)
    entry["sweep"] = json.loads(table.to_json(orient="records"))
    for row in entry["sweep"]:
        setting = ", ".join(f"{k}={row[k]}" for k in grid)
        mark = "  <- chosen" if row["chosen"] else ""
        lines.append(
            f"  valid {setting}: NDCG@20 {row['valid_ndcg@20']:.4f}, Recall@20 {row['valid_recall@20']:.4f} "
            f"[fit {row['fit_seconds']:.1f} s, scoring {row['valid_seconds']:.1f} s]{mark}"
        )
    chosen = next(row for row in entry["sweep"] if row["chosen"])
    setting = {k: chosen[k] for k in grid}
    entry["setting"] = setting
    entry["valid_ndcg@20"] = chosen["valid_ndcg@20"]
    entry["configurations"] = len(table)
    lines.append(f"  tuning sweep: {len(table)} settings in {entry['tuning_seconds']:.0f} s")
    started = time.perf_counter()
    model = make(**fixed, **setting).fit(final)
    entry["final_fit_seconds"] = round(time.perf_counter() - started, 1)
    result = evaluate(model, final, part="test", cutoffs=(20,), name=name)
    entry["test_seconds"] = round(result.seconds, 1)
    entry["final_peak_gib"] = round(peak_gib(), 2)
    entry["test"] = {k: result.metrics[k] for k in ("recall@20", "ndcg@20")}
    entry["test_users"] = len(result.per_user)
    published = PUBLISHED.get(name)
    lines.append(
        f"  test ({setting}, refitted on all of train.txt): Recall@20 {entry['test']['recall@20']:.4f}, "
        f"NDCG@20 {entry['test']['ndcg@20']:.4f} ({entry['test_users']:,} users) "
        f"[final fit {entry['final_fit_seconds']:.0f} s + test {entry['test_seconds']:.0f} s; "
        f"peak {entry['final_peak_gib']:.1f} GiB]"
        + (f"; published {published[0]:.4f} / {published[1]:.4f}" if published else "")
    )
    write_per_user(out, name, result.per_user, entry, lines)
    return entry


#: the item-path model's stated Gowalla grid (no interests or text in this format: co-occurrence components only)
ITEM_PATH_GRID = {
    "large_backbone": "cheby",
    "cheby_flatness": [1.5, 2.0],
    "cheby_beta": [0.3, 0.4],
    "components": ["lowpass", "spectral", "cooc", "cooc2"],
    "theta": [-0.2, -0.1, 0.0, 0.1, 0.2, 0.4, 0.7, 1.0, 1.5],
    "rounds": 2,
}
#: the low-pass as the ChebyCF baseline computes it (rank 512, 7 power iterations), no rescaling: the sweep's first
#: configurations include ChebyCF's own grid. The spectral component's ε and rank were chosen on the same validation
#: sample before this grid was fixed (benchmarks/gowalla_spectral.py; benchmarks/README.md, "Gowalla"): ε 0.25, rank 800
ITEM_PATH_BASE = {
    "lowpass_rank": 512,
    "lowpass_solver": "randomized",
    "lowpass_power_iterations": 7,
    "spectral_rank": 800,
    "spectral_epsilon": 0.25,
    "rescale": False,
}


def run_item_path(
    tuning, final, grid_json: dict | None, base_json: dict | None, lines: list[str], out: Path
) -> dict[str, Any]:
    """The item-path model: :func:`~interestgraph.model.tune_item_path` on the tuning split (its own stated grid),
    the chosen weights refitted on all of train.txt, test scored once; then one-user latency of top-20 and explain."""
    import numpy as np
    import torch

    from interestgraph.evaluate import evaluate
    from interestgraph.model import ItemPathConfig, ItemPathGrid, ItemPathModel, tune_item_path

    grid_spec = {**ITEM_PATH_GRID, **(grid_json or {})}
    grid = ItemPathGrid.from_dict({k: tuple(v) if isinstance(v, list) else v for k, v in grid_spec.items()})
    base = ItemPathConfig.from_dict({**ITEM_PATH_BASE, **(base_json or {})})
    entry: dict[str, Any] = {"grid": grid.to_dict(), "base": base.to_dict()}
    lines.append(f"item-path: base {base_json or ITEM_PATH_BASE}, grid {grid_spec}")
    started = time.perf_counter()
    best, tried = tune_item_path(tuning, grid, base)
    entry["tuning_seconds"] = round(time.perf_counter() - started, 1)
    entry["tuning_peak_gib"] = round(peak_gib(), 2)
    entry["sweep"] = tried
    for record in tried:
        lines.append(f"  valid θ {record['theta']}: NDCG@20 {record['ndcg@20']:.4f}")
    theta = {k: v for k, v in best.theta_.items() if v != 0}
    entry["setting"] = theta
    entry["valid_ndcg@20"] = max(record["ndcg@20"] for record in tried if not record.get("simulation"))
    entry["configurations"] = len(tried)
    lines.append(f"  tuning sweep: {len(tried)} settings in {entry['tuning_seconds']:.0f} s; chosen θ {theta}")
    started = time.perf_counter()
    model = ItemPathModel(best.config).fit(final)
    entry["final_fit_seconds"] = round(time.perf_counter() - started, 1)
    result = evaluate(model, final, part="test", cutoffs=(20,), name="item-path")
    entry["test_seconds"] = round(result.seconds, 1)
    entry["final_peak_gib"] = round(peak_gib(), 2)
    entry["test"] = {k: result.metrics[k] for k in ("recall@20", "ndcg@20")}
    entry["test_users"] = len(result.per_user)
    lines.append(
        f"  test ({theta}, refitted on all of train.txt): Recall@20 {entry['test']['recall@20']:.4f}, "
        f"NDCG@20 {entry['test']['ndcg@20']:.4f} ({entry['test_users']:,} users) "
        f"[final fit {entry['final_fit_seconds']:.0f} s + test {entry['test_seconds']:.0f} s; "
        f"peak {entry['final_peak_gib']:.1f} GiB]"
    )
    write_per_user(out, "item-path", result.per_user, entry, lines)
    rng = np.random.default_rng(0)
    users = rng.choice(model.history_.shape[0], min(200, model.history_.shape[0]), replace=False)
    top_ms, explain_ms = [], []
    seen = model.seen
    for user in users:
        t0 = time.perf_counter()
        scores = model.score(np.array([user]))[0]
        scores[torch.from_numpy(seen[user].indices.astype(np.int64))] = -torch.inf
        top = torch.topk(scores, 20).indices
        top_ms.append(1e3 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        model.explain(int(user), int(top[0]))
        explain_ms.append(1e3 * (time.perf_counter() - t0))
    entry["latency_ms"] = {
        "top20_median": round(float(np.median(top_ms)), 2),
        "top20_p95": round(float(np.percentile(top_ms, 95)), 2),
        "explain_median": round(float(np.median(explain_ms)), 2),
        "explain_p95": round(float(np.percentile(explain_ms, 95)), 2),
    }
    lines.append(f"  one user, {len(users)} users sampled: {entry['latency_ms']} (ms)")
    return entry


def run_lightgcn(final, minutes: float, device: str, lines: list[str]) -> dict[str, Any]:
    """LightGCN at its published setting on all of train.txt for a fixed time budget."""
    from interestgraph.baselines import LightGCN
    from interestgraph.evaluate import evaluate

    budget = 60.0 * minutes
    model = LightGCN(**LIGHTGCN_SETTING, max_epochs=100_000, device=device)
    model.fit(final, on_epoch=lambda _model, record: record["seconds"] >= budget)
    result = evaluate(model, final, part="test", cutoffs=(20,), name="lightgcn")
    stopped_by_budget = model.train_seconds_ >= budget
    entry = {
        "setting": LIGHTGCN_SETTING,
        "budget_minutes": minutes,
        "epochs": model.epochs_,
        "train_seconds": round(model.train_seconds_, 1),
        "losses": [round(r["loss"], 5) for r in model.history_],
        "converged": False if stopped_by_budget else None,
        "test": {k: result.metrics[k] for k in ("recall@20", "ndcg@20")},
        "test_seconds": round(result.seconds, 1),
        "peak_gib": round(peak_gib(), 2),
    }
    note = (
        f"did NOT converge: the {minutes:g}-minute budget stopped it after {model.epochs_} epochs "
        f"(the published figure comes from ~1000 epochs)"
        if stopped_by_budget
        else f"ran {model.epochs_} epochs (no validation part: convergence not checked)"
    )
    lines.append(
        f"lightgcn (published setting {LIGHTGCN_SETTING}, not tuned): Recall@20 {entry['test']['recall@20']:.4f}, "
        f"NDCG@20 {entry['test']['ndcg@20']:.4f}; {note}; published {PUBLISHED['lightgcn'][0]:.4f} / "
        f"{PUBLISHED['lightgcn'][1]:.4f}"
    )
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", default=str(ROOT.parent / "shared" / "datasets" / "gowalla"), help="LightGCN-format directory"
    )
    parser.add_argument("--models", default="gfcf,chebycf,ease,lightgcn")
    parser.add_argument("--valid-ratio", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--valid-users", type=int, default=0, help="score a seeded sample of users (0: all)")
    parser.add_argument("--grid", default=None, help="JSON {model: {setting: [values]}} overriding the grids")
    parser.add_argument("--max-memory-gb", type=float, default=8.0, help="ease: refuse larger dense fits")
    parser.add_argument("--lightgcn-minutes", type=float, default=2.0)
    parser.add_argument("--device", default="cpu", help="lightgcn's device")
    parser.add_argument("--item-path-base", default=None, help="JSON ItemPathConfig fields for item-path")
    parser.add_argument("--extra", action="append", default=[], help="NAME=module:function (see the docstring)")
    parser.add_argument("--out", default="results")
    parser.add_argument(
        "--pair",
        nargs=2,
        metavar="PER_USER",
        default=None,
        help="only compare two models' per-user test tables (test-per-user-NAME.parquet, written by earlier runs): "
        "paired mean difference of NDCG@20 and Recall@20, bootstrap 95 %% CI, Wilcoxon p",
    )
    args = parser.parse_args(argv)
    if args.pair:
        return pair_tables(*(Path(p) for p in args.pair))

    from interestgraph.data.formats.lightgcn import load_lightgcn

    command = "python benchmarks/gowalla.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    data = Path(args.data)
    if not (data / "train.txt").is_file():
        raise SystemExit(f"{data}: no train.txt (pass --data, a LightGCN-format directory)")
    models = model_table(args)
    started = time.perf_counter()
    tuning = tuning_split(data, args.valid_ratio, args.seed, args.valid_users)
    final = load_lightgcn(data)
    load_seconds = time.perf_counter() - started
    protocol = (
        f"tuning: {tuning.describe()}; final: {final.describe()}; full ranking over the items with a training pair, "
        "training items masked; Recall@20 = hits / |test items|, NDCG@20 with the ideal of min(|test|, 20); "
        "settings chosen on validation NDCG@20, test scored once"
    )
    lines = [f"protocol: {protocol}", f"data loaded in {load_seconds:.1f} s"]
    popularity = held_out_popularity(tuning, final)
    lines.append(
        "items of each part's pairs, by training degree (mean; share on the top 1 % of items): "
        + "; ".join(f"{k} {v['mean_train_degree']:.1f}, {v['top1pct_share']:.3f}" for k, v in popularity.items())
    )
    print("\n".join(lines), flush=True)
    results: dict[str, Any] = {}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, (make, grid, fixed) in models.items():
        block: list[str] = []
        results[name] = run_tuned(name, make, grid, fixed, tuning, final, block, out)
        print("\n".join(block), flush=True)
        lines += block
    if "item-path" in [m.strip() for m in args.models.split(",")]:
        block = []
        grids = json.loads(args.grid) if args.grid else {}
        base = json.loads(args.item_path_base) if args.item_path_base else None
        results["item-path"] = run_item_path(tuning, final, grids.get("item-path"), base, block, out)
        print("\n".join(block), flush=True)
        lines += block
    if "lightgcn" in [m.strip() for m in args.models.split(",")]:
        block = []
        results["lightgcn"] = run_lightgcn(final, args.lightgcn_minutes, args.device, block)
        print("\n".join(block), flush=True)
        lines += block
    payload = {
        "command": command,
        "protocol": protocol,
        "tuning_protocol": tuning.protocol.to_dict(),
        "final_protocol": final.protocol.to_dict(),
        "held_out_popularity": popularity,
        "published": PUBLISHED,
        "models": results,
        "seconds": round(time.perf_counter() - started, 1),
        "peak_gib": round(peak_gib(), 2),
    }
    (out / "gowalla-benchmark.json").write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {out / 'gowalla-benchmark.json'}; command: {command}", flush=True)
    return 0


def write_per_user(out: Path, name: str, per_user, entry: dict[str, Any], lines: list[str]) -> None:
    """The model's per-user test figures as ``test-per-user-NAME.parquet`` (for ``--pair`` across processes)."""
    path = out / f"test-per-user-{name}.parquet"
    per_user[["user_id", "recall@20", "ndcg@20"]].to_parquet(path, index=False)
    entry["per_user_file"] = path.name
    lines.append(f"  per-user test figures: {path}")


def pair_tables(a: Path, b: Path) -> int:
    """``--pair``: the paired comparison of two per-user test tables (``interestgraph.evaluate.paired_difference``)."""
    import pandas as pd

    from interestgraph.evaluate import paired_difference

    names = tuple(p.stem.removeprefix("test-per-user-") for p in (a, b))
    frames = []
    for path in (a, b):
        if not path.is_file():
            raise SystemExit(f"--pair: {path} is not a file (test-per-user-NAME.parquet from an earlier run)")
        frames.append(pd.read_parquet(path))
    for metric in ("ndcg@20", "recall@20"):
        try:
            result = paired_difference(*frames, metric, names=names, context="Gowalla test, LightGCN's split")
        except (KeyError, ValueError) as exc:
            raise SystemExit(f"--pair: {a} and {b} cannot be paired: {exc}") from exc
        relative = result["difference"] / result["mean_b"] if result["mean_b"] else float("nan")
        print(f"{result['statement']}; {result['mean_a']:.4f} vs {result['mean_b']:.4f} ({relative:+.1%})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
