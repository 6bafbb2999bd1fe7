"""Spark build vs pandas build: the same events and split, both build paths, seconds per step.

Not a test: it measures. For each dataset it splits the log in pandas under ``rs-4``,
writes the events with their ``part`` column to Parquet, then times

* the pandas path: ``build_interest_graph(split)`` (in-process numpy / scipy), and
* the Spark path: ``build_interest_graph_spark(events.parquet, catalog)`` in local mode
  (``--master``), after a warm-up build on a tiny log so JVM start-up is not counted,

and checks that both graphs have the same edge sets (weights within 1e-6). The lexical
encoder is used by default, so the figures are about reading, weighting and aggregating,
not the language model (both paths encode the same texts the same way).

With ``--item-aggregates`` it also times the item–item path model's log-sized sums (the co-occurrence
``XᵀX``, its user-degree-weighted form ``Xᵀ D_u^-1 X`` and the transition counts at the model's default window
and decay) computed locally (scipy, :func:`~interestgraph.paths.cooccurrence`) and on Spark
(:func:`~interestgraph.spark.item_aggregates_spark`, from the same events), and checks them equal.

    python benchmarks/spark_build.py --datasets ml-latest-small synthetic-1m --master 'local[2]' --item-aggregates \
        --out results/

``--local-only`` skips Spark and times only the local sums with the peak resident memory they add (how far one
machine goes): ``python benchmarks/spark_build.py --datasets synthetic-1m synthetic-10m --local-only``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

ML_SMALL = ROOT.parent / "shared" / "datasets" / "ml-latest-small"


def load(name: str):
    from interestgraph.data import generate_synthetic
    from interestgraph.data.formats import load_source

    if name == "ml-latest-small":
        if not ML_SMALL.exists():
            raise SystemExit(f"ml-latest-small not found at {ML_SMALL}")
        return load_source(ML_SMALL, "movielens").log
    if name.startswith("synthetic-"):
        size = name.split("-", 1)[1].lower()
        n = int(float(size.rstrip("km")) * (1_000_000 if size.endswith("m") else 1_000 if size.endswith("k") else 1))
        return generate_synthetic(n_users=max(n // 50, 100), n_items=max(n // 100, 200), n_interactions=n, seed=0).log
    raise SystemExit(f"unknown dataset {name!r} (ml-latest-small or synthetic-<N>, e.g. synthetic-1m)")


def same_edges(a, b) -> bool:
    for kind in a.edges:
        x = a.edges[kind].sort_values(["src", "dst"])
        y = b.edges[kind].sort_values(["src", "dst"])
        if len(x) != len(y) or not (x[["src", "dst"]].to_numpy() == y[["src", "dst"]].to_numpy()).all():
            return False
        if not np.allclose(x["weight"].to_numpy(), y["weight"].to_numpy(), rtol=1e-6, atol=1e-7):
            return False
    return True


def same_matrix(a, b, rtol: float = 1e-12) -> bool:
    """The same sparsity pattern and every entry within ``rtol`` of the largest (sparse, no dense copies)."""
    a, b = a.tocsr(), b.tocsr()
    if a.shape != b.shape or ((a != 0) != (b != 0)).nnz:
        return False
    return bool(abs(a - b).max() <= rtol * max(abs(b).max(), 1e-300)) if b.nnz else True


def local_sum_table(split) -> tuple[dict, dict]:
    """``({name: () -> matrix}, sizes)``: the item-path model's sums of ``split``'s training positives computed locally
    (scipy), at the model's default transition window and decay; ``sizes`` the items, the training pairs and the
    co-occurrence self-join's rows ``Σ_u d_u²``."""
    from interestgraph.model import ItemPathConfig
    from interestgraph.paths import cooccurrence, split_pair_times, transition_counts

    config = ItemPathConfig()
    train, times = split.positive_matrix("train"), split_pair_times(split)
    table = {
        "cooccurrence": lambda: cooccurrence(train),
        "cooccurrence_by_user_degree": lambda: cooccurrence(train, 1.0),
        "transitions": lambda: transition_counts(times, config.transition_window, config.transition_decay),
    }
    sizes = {
        "items": int(train.shape[1]),
        "training_pairs": int(train.nnz),
        "self_join_rows": int((np.diff(train.indptr).astype(np.int64) ** 2).sum()),
    }
    return table, sizes


def item_aggregates(spark, split, graph, events) -> dict:
    """Local (scipy) and Spark seconds for the item–item sums of ``split``'s training positives, and whether they
    agree (relative 1e-12)."""
    from interestgraph.model import ItemPathConfig
    from interestgraph.spark import item_aggregates_spark

    config = ItemPathConfig()
    window, decay = config.transition_window, config.transition_decay
    makers, sizes = local_sum_table(split)
    t0 = time.perf_counter()
    local = {name: make() for name, make in makers.items()}
    t_local = time.perf_counter() - t0
    t0 = time.perf_counter()
    aggregates = item_aggregates_spark(events, graph, spark=spark)
    t_pairs = time.perf_counter() - t0
    remote, seconds = {}, {}
    for name, compute in (
        ("cooccurrence", lambda: aggregates.cooccurrence(0.0)),
        ("cooccurrence_by_user_degree", lambda: aggregates.cooccurrence(1.0)),
        ("transitions", lambda: aggregates.transition_counts(window, decay)),
    ):
        t0 = time.perf_counter()
        remote[name] = compute()
        seconds[name] = round(time.perf_counter() - t0, 2)
    aggregates.unpersist()
    equal = {name: same_matrix(remote[name], local[name]) for name in local}
    out = {
        "training_pairs": sizes["training_pairs"],
        "self_join_rows": sizes["self_join_rows"],
        "nonzeros": {name: int(matrix.nnz) for name, matrix in local.items()},
        "local_seconds": round(t_local, 2),
        "spark_seconds": round(t_pairs + sum(seconds.values()), 2),
        "spark_steps": {"pairs": round(t_pairs, 2), **seconds},
        "equal": equal,
    }
    print(
        f"  item-item sums: {out['training_pairs']:,} training pairs, {out['self_join_rows']:,} self-join rows, "
        f"co-occurrence nonzeros {out['nonzeros']['cooccurrence']:,}; local {t_local:.1f} s, Spark "
        f"{out['spark_seconds']:.1f} s ({out['spark_steps']}); equal: {equal}",
        flush=True,
    )
    return out


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def local_sums(name: str) -> dict:
    """The item–item sums of one dataset's rs-4 training positives computed locally: seconds, nonzeros, and the
    peak resident memory above the start (sampled every 20 ms)."""
    import threading

    from interestgraph.data import split_log

    makers, sizes = local_sum_table(split_log(load(name), "rs-4"))
    row = {"dataset": name, **sizes}
    for part in ("cooccurrence", "transitions"):
        compute = makers[part]
        start, peak, done = _rss_mib(), [0.0], threading.Event()

        def sample(done: threading.Event = done, peak: list = peak) -> None:
            while not done.wait(0.02):
                peak[0] = max(peak[0], _rss_mib())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        matrix = compute()
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
        row[part] = {
            "seconds": round(seconds, 2),
            "nonzeros": int(matrix.nnz),
            "peak_above_start_mib": round(max(peak[0], _rss_mib()) - start, 1),
        }
        del matrix
    print(f"{name}: {json.dumps(row)}", flush=True)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["ml-latest-small"])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--encoder", choices=("lexical", "lm"), default="lexical")
    parser.add_argument("--item-aggregates", action="store_true", help="also time the item-item sums, local vs Spark")
    parser.add_argument("--local-only", action="store_true", help="no Spark: time the local item-item sums only")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.local_only:
        rows = [local_sums(name) for name in args.datasets]
        protocol = {"protocol": "rs-4 split in pandas; local scipy sums", "cpus": os.cpu_count()}
        print(json.dumps(protocol))
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "item-sums-local.json").write_text(json.dumps({"protocol": protocol, "rows": rows}, indent=2))
        return

    from interestgraph.data import split_log
    from interestgraph.graph.build import build_interest_graph
    from interestgraph.spark import build_interest_graph_spark, spark_session, write_split_events

    if args.encoder == "lexical":
        from interestgraph.encoder.lexical import LexicalEncoder

        encoder = LexicalEncoder()
    else:
        from interestgraph.encoder import TextEncoder

        encoder = TextEncoder()
    spark = spark_session(args.master, conf={"spark.ui.showConsoleProgress": "false", "spark.driver.memory": "8g"})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        warm = split_log(load("synthetic-5k"), "rs-4")  # JVM and Python workers started, code paths compiled
        build_interest_graph_spark(
            write_split_events(warm, Path(tmp) / "warm.parquet"),
            warm.log.items,
            spark=spark,
            encoder=encoder,
            interest_fields=warm.log.interest_fields,
            text_fields=warm.log.text_fields,
        )
        for name in args.datasets:
            log = load(name)
            split = split_log(log, "rs-4")
            events = write_split_events(split, Path(tmp) / f"{name}.parquet")
            t0 = time.perf_counter()
            local = build_interest_graph(split, encoder=encoder)
            t_pandas = time.perf_counter() - t0
            t0 = time.perf_counter()
            distributed = build_interest_graph_spark(
                events,
                split.log.items,
                spark=spark,
                encoder=encoder,
                split_name="rs-4",
                interest_fields=split.log.interest_fields,
                text_fields=split.log.text_fields,
            )
            t_spark = time.perf_counter() - t0
            row = {
                "dataset": name,
                "events": len(split.log.interactions),
                "pairs": int(local.counts()["edges"]["user-item"]),
                "pandas_seconds": round(t_pandas, 2),
                "spark_seconds": round(t_spark, 2),
                "ratio_spark_over_pandas": round(t_spark / t_pandas, 2),
                "pandas_steps": local.build_seconds,
                "spark_steps": distributed.build_seconds,
                "same_edges": same_edges(local, distributed),
            }
            if args.item_aggregates:
                row["item_aggregates"] = item_aggregates(spark, split, distributed, events)
            rows.append(row)
            print(
                f"{name}: {row['events']:,} events; pandas {t_pandas:.1f} s, Spark ({args.master}) {t_spark:.1f} s "
                f"(events {distributed.build_seconds['spark_events']:.1f} s, user-interest "
                f"{distributed.build_seconds['user-interest']:.1f} s); "
                f"same edges: {row['same_edges']}",
                flush=True,
            )
    protocol = {
        "protocol": "rs-4 split in pandas, passed to Spark as the part column; lexical encoder"
        if args.encoder == "lexical"
        else "rs-4; MiniLM encoder",
        "master": args.master,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "spark": spark.version,
    }
    print(json.dumps(protocol))
    spark.stop()
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "spark-build.json").write_text(json.dumps({"protocol": protocol, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
