"""Accuracy benchmark: every baseline on one dataset and protocol, in the evaluation harness.

Not a test: it measures. Each model is fitted on the split's training part
and scored on its test part with full ranking (``evaluate(..., part="test",
cutoffs=(10, 20))``); BPR and LightGCN are early-stopped on validation
NDCG@20 and tested with the weights of their best validation epoch. Writes a
Markdown table (``accuracy-<dataset>-<protocol>.md``) and a JSON file (metrics,
best epoch, epochs, training seconds, seed, package versions, the protocol
line, the command) to ``--out``, and prints the table and the protocol.

    python benchmarks/accuracy.py --dataset movielens --path ../shared/datasets/ml-latest-small \\
        --protocol rs-4 --models pop,itemknn,bpr,lightgcn,text --out results/
    python benchmarks/accuracy.py --dataset synthetic --protocol rs-4 --models pop,itemknn,bpr,lightgcn
    python benchmarks/accuracy.py --dataset lightgcn --path data/gowalla --models pop,lightgcn --tune

``--dataset lightgcn`` reads the LightGCN text format (``train.txt`` /
``test.txt``) with 10 % of each user's training pairs carved out as a
validation part (``--valid-ratio``), so early stopping has something to look
at; ``--protocol`` is ignored there (the split is given). ``--tune`` also fits
:func:`interestgraph.baselines.tune_lightgcn` (lr × L2 × layers, picked on
validation NDCG@20), prints the grid and reports the chosen model as
``lightgcn-tuned``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = ("pop", "itemknn", "bpr", "lightgcn", "text")
COLUMNS = ("recall@10", "ndcg@10", "recall@20", "ndcg@20", "coverage@20")


def load_split(args: argparse.Namespace):
    from interestgraph.data import generate_synthetic, load_movielens, split_log
    from interestgraph.data.formats.lightgcn import load_lightgcn

    if args.dataset == "lightgcn":
        if not args.path:
            raise SystemExit("--dataset lightgcn needs --path (a folder with train.txt and test.txt)")
        return load_lightgcn(args.path, valid_ratio=args.valid_ratio, seed=args.seed)
    if args.dataset == "movielens":
        path = Path(args.path or ROOT.parent / "shared" / "datasets" / "ml-latest-small")
        if not path.is_dir():
            raise SystemExit(
                f"{path}: no such folder (MovieLens latest-small is read from ../shared/datasets; pass --path)"
            )
        log = load_movielens(path)
    else:
        log = generate_synthetic(seed=args.seed).log
    return split_log(log, args.protocol)


def make_model(name: str, args: argparse.Namespace):
    from interestgraph import baselines as b

    common = dict(
        batch_size=args.batch_size,
        max_epochs=args.max_epochs,
        patience=args.patience,
        eval_every=args.eval_every,
        seed=args.seed,
        l2=args.l2,
    )
    if name == "pop":
        return b.MostPopular()
    if name == "itemknn":
        return b.ItemKNN(k=args.knn_k, shrink=args.knn_shrink)
    if name == "bpr":
        return b.BPRMF(dim=args.dim, lr=args.lr, **common)
    if name == "lightgcn":
        return b.LightGCN(dim=args.dim, layers=args.layers, lr=args.lr, **common)
    if name == "text":
        encoder = None
        if args.encoder == "lexical":
            from interestgraph.encoder import LexicalEncoder

            encoder = LexicalEncoder()
        return b.TextContent(encoder=encoder)
    raise SystemExit(f"--models: unknown model {name!r}; choose from {', '.join(MODELS)}")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in (
        "interestgraph",
        "torch",
        "torch_geometric",
        "numpy",
        "scipy",
        "pandas",
        "scikit-learn",
        "transformers",
    ):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            try:
                out[package] = __import__(package).__version__
            except Exception:
                out[package] = "n/a"
    return out


def training_facts(model) -> dict:
    """What the fit recorded: the interest-graph model's ``report_`` fields, or a trained baseline's own ``history_``,
    ``best_epoch_``, ``epochs_`` and ``best_valid_ndcg_`` (none for the models without epochs)."""
    report = getattr(model, "report_", None)
    names = ("history", "best_epoch", "epochs", "best_valid_ndcg")
    if report is not None:
        return {name: getattr(report, name) for name in names}
    return {name: getattr(model, name + "_") for name in names if hasattr(model, name + "_")}


def fitted_facts(model) -> dict:
    facts = {}
    trained = training_facts(model)
    for name, key in (("best_epoch", "best_epoch"), ("epochs", "epochs"), ("best_valid_ndcg", "best_valid_ndcg@20")):
        if name in trained:
            facts[key] = trained[name]
    for attr in ("lr", "l2", "layers", "dim", "batch_size", "k", "shrink"):
        if hasattr(model, attr):
            facts[attr] = getattr(model, attr)
    return facts


def markdown(rows: list[dict]) -> str:
    head = "| model | " + " | ".join(COLUMNS) + " | best epoch | epochs | train s |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 4)]
    for row in rows:
        metrics = " | ".join(f"{row['metrics'][c]:.4f}" for c in COLUMNS)
        lines.append(
            f"| {row['model']} | {metrics} | {row.get('best_epoch', '')} | {row.get('epochs', '')} | "
            f"{row['train_seconds']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", choices=("movielens", "synthetic", "lightgcn"), default="synthetic")
    parser.add_argument(
        "--path", default=None, help="dataset folder (movielens: ml-latest-small; lightgcn: train.txt/test.txt)"
    )
    parser.add_argument("--protocol", default="rs-4", help="split protocol name (rs-4, tl-4, cold-4, ...)")
    parser.add_argument(
        "--models", default="pop,itemknn,bpr,lightgcn", help=f"comma-separated, from {','.join(MODELS)}"
    )
    parser.add_argument("--tune", action="store_true", help="also run tune_lightgcn and print its grid")
    parser.add_argument("--out", default="results", help="folder for the Markdown and JSON files")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--valid-ratio", type=float, default=0.1, help="--dataset lightgcn: share of training pairs used for validation"
    )
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--max-epochs", type=int, default=1000)
    parser.add_argument(
        "--patience", type=int, default=10, help="validation evaluations without improvement before stopping"
    )
    parser.add_argument("--eval-every", type=int, default=10, help="epochs between validation evaluations")
    parser.add_argument("--knn-k", type=int, default=100)
    parser.add_argument("--knn-shrink", type=float, default=0.0)
    parser.add_argument("--encoder", choices=("minilm", "lexical"), default="minilm", help="text model's encoder")
    args = parser.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    for name in names:
        if name not in MODELS:
            parser.error(f"--models: unknown model {name!r}; choose from {', '.join(MODELS)}")

    from interestgraph.evaluate import evaluate

    command = "python benchmarks/accuracy.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    started = time.perf_counter()
    split = load_split(args)
    protocol = split.describe()
    print(protocol, flush=True)
    rows = []

    def run(name: str, model, fit_seconds: float | None = None) -> None:
        t0 = time.perf_counter()
        if fit_seconds is None:
            model.fit(split)
            fit_seconds = time.perf_counter() - t0
        result = evaluate(model, split, part="test", cutoffs=(10, 20), name=name)
        row = {
            "model": name,
            "metrics": result.metrics,
            "train_seconds": round(fit_seconds, 2),
            "eval_seconds": round(result.seconds, 2),
            **fitted_facts(model),
            "notes": result.notes,
        }
        if result.cold:
            row["cold"], row["warm"] = result.cold, result.warm
        trained = training_facts(model)
        if "history" in trained:
            row["history"] = trained["history"]
        rows.append(row)
        print(
            f"{result.describe()} [fit {fit_seconds:.1f}s"
            + (f", best epoch {trained['best_epoch']}/{trained['epochs']}" if "best_epoch" in trained else "")
            + "]",
            flush=True,
        )

    for name in names:
        run(name, make_model(name, args))
    grid_md = None
    if args.tune:
        from interestgraph.baselines import tune_lightgcn

        t0 = time.perf_counter()
        fixed = dict(
            dim=args.dim,
            batch_size=args.batch_size,
            max_epochs=args.max_epochs,
            patience=args.patience,
            eval_every=args.eval_every,
            seed=args.seed,
        )
        best, grid = tune_lightgcn(split, **fixed)
        grid_md = grid.to_markdown(index=False) if _has_tabulate() else grid.to_string(index=False)
        print("LightGCN grid (picked on validation NDCG@20):\n" + grid_md, flush=True)
        run("lightgcn-tuned", best, fit_seconds=time.perf_counter() - t0)

    table = markdown(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"accuracy-{args.dataset}-{split.protocol.name}"
    text = f"# Accuracy: {args.dataset}\n\n{protocol}\n\n{table}\n"
    if grid_md:
        text += f"\nLightGCN grid (picked on validation NDCG@20):\n\n{grid_md}\n"
    text += f"\nCommand: `{command}`\n"
    (out / f"{stem}.md").write_text(text)
    payload = {
        "dataset": args.dataset,
        "path": args.path,
        "protocol": split.protocol.to_dict(),
        "protocol_line": protocol,
        "seed": args.seed,
        "command": command,
        "versions": versions(),
        "platform": platform.platform(),
        "seconds": round(time.perf_counter() - started, 1),
        "models": {row["model"]: row for row in rows},
        **({"tuning_grid": grid.to_dict(orient="records")} if args.tune else {}),
    }
    (out / f"{stem}.json").write_text(json.dumps(payload, indent=2, default=_json_default))
    print()
    print(table)
    print(protocol)
    print(f"wrote {out / (stem + '.md')} and {out / (stem + '.json')}")
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    raise SystemExit(main())
