"""Spark build vs pandas build: the same events and split, both build paths, seconds per step.

Not a test: it measures. For each dataset it splits the log in pandas under ``rs-4``,
writes the events with their ``part`` column to Parquet, then times

* the pandas path: ``build_interest_graph(split)`` (in-process numpy / scipy), and
* the Spark path: ``build_interest_graph_spark(events.parquet, catalog)`` in local mode
  (``--master``), after a warm-up build on a tiny log so JVM start-up is not counted,

and checks that both graphs have the same edge sets (weights within 1e-6). The lexical
encoder is used by default, so the figures are about reading, weighting and aggregating,
not the language model (both paths encode the same texts the same way).

    python benchmarks/spark_build.py --datasets ml-latest-small synthetic-1m --master 'local[2]' --out results/
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["ml-latest-small"])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--encoder", choices=("lexical", "lm"), default="lexical")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

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
