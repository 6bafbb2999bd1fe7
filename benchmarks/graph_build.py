"""Interest-graph build benchmark: time and peak memory, encoding separated from the rest.

Not a test: it measures. Each case runs in a fresh process (peak RSS is that case's).

    python benchmarks/graph_build.py                          # ml-latest-small (MiniLM) + synthetic 1M (lexical)
    python benchmarks/graph_build.py --sizes 1000000,10000000 --skip-movielens

Synthetic cases use the LexicalEncoder (hashed character n-grams), so the
figures are the build *without* language-model encoding, which the issue's
targets are about (1M events <= 20 s, 10M <= 4 min under 8 GiB on 2 cores);
the "encode" column is then the lexical encoder's time. ml-latest-small uses
the real all-MiniLM-L6-v2 encoder, first with an empty embedding cache and
then again from the cache. Protocol rs-4, seed 2020, default GraphConfig.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets" / "ml-latest-small"
sys.path.insert(0, str(ROOT))

from _isolated import peak_rss_mib, run_isolated  # noqa: E402  (benchmarks/ is on sys.path when run as a script)


def _case(kind: str, size: int, cache_dir: str | None, queue) -> None:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    from interestgraph.data import generate_synthetic, load_movielens
    from interestgraph.graph.build import build_interest_graph

    started = time.perf_counter()
    if kind == "synthetic":
        from interestgraph.encoder import LexicalEncoder

        log = generate_synthetic(
            n_users=max(1000, size // 50), n_items=max(2000, size // 100), n_interactions=size, seed=0
        ).log
        encoder = LexicalEncoder()
        name = f"synthetic {size:,} (lexical)"
    else:
        from interestgraph.encoder import EncoderConfig, TextEncoder

        log = load_movielens(SHARED)
        encoder = TextEncoder(EncoderConfig(cache_dir=cache_dir))
        name = "ml-latest-small (MiniLM, " + ("warm cache)" if kind == "movielens-warm" else "empty cache)")
    load_seconds = time.perf_counter() - started
    graph = build_interest_graph(log, protocol="rs-4", encoder=encoder)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        graph.save(Path(tmp) / "g")
        save_seconds = time.perf_counter() - t
    steps = graph.build_seconds
    queue.put(
        {
            "case": name,
            "events": len(log),
            "load": load_seconds,
            "encode": steps.get("encode", 0.0),
            "build without encoding": steps["total"] - steps.get("encode", 0.0),
            "save": save_seconds,
            "steps": steps,
            "counts": graph.counts(),
            "peak_rss_mib": peak_rss_mib(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000", help="comma-separated synthetic event counts")
    parser.add_argument("--skip-movielens", action="store_true")
    args = parser.parse_args()
    results = []
    if not args.skip_movielens:
        if SHARED.is_dir():
            with tempfile.TemporaryDirectory() as cache:
                results.append(run_isolated(_case, "movielens-cold", 0, cache))
                results.append(run_isolated(_case, "movielens-warm", 0, cache))
        else:
            print(f"skipping ml-latest-small: {SHARED} not present", file=sys.stderr)
    results += [run_isolated(_case, "synthetic", int(s), None) for s in args.sizes.split(",") if s]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; protocol rs-4 (seed 2020), default GraphConfig")
    print(
        "| case | events | load | encode | build without encoding | save | peak RSS | nodes (user/item/interest) | "
        "edges |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for r in results:
        n = r["counts"]["nodes"]
        e = sum(r["counts"]["edges"].values())
        print(
            f"| {r['case']} | {r['events']:,} | {r['load']:.1f} s | {r['encode']:.1f} s | "
            f"{r['build without encoding']:.1f} s | {r['save']:.1f} s | {r['peak_rss_mib']:,.0f} MiB | "
            f"{n['user']:,}/{n['item']:,}/{n['interest']:,} | {e:,} |"
        )
    for r in results:
        print(f"{r['case']} steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in r["steps"].items()))


if __name__ == "__main__":
    main()
