"""Data-layer benchmark: generation, validation, splitting and saving, with peak memory.

Not a test: it measures. Each case runs in a fresh process so that peak
resident memory (ru_maxrss) belongs to that case alone.

    python benchmarks/data_layer.py                       # synthetic 100k and 1M, plus ml-latest-small
    python benchmarks/data_layer.py --sizes 10000000      # a 10M-event synthetic log
    python benchmarks/data_layer.py --json out.json

Prints a Markdown table; ``--json`` also writes the figures with the
machine and package versions.
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
SHARED = ROOT.parent / "shared" / "datasets" / "ml-latest-small"
sys.path.insert(0, str(ROOT))

from _isolated import peak_rss_mib, run_isolated  # noqa: E402  (benchmarks/ is on sys.path when run as a script)


def _case(kind: str, size: int, queue) -> None:
    from interestgraph.data import generate_synthetic, load_dataset, load_movielens, save_dataset, split_log

    timings: dict[str, float] = {}
    start = time.perf_counter()
    if kind == "synthetic":
        log = generate_synthetic(
            n_users=max(1000, size // 50), n_items=max(2000, size // 100), n_interactions=size, seed=0
        ).log
        timings["generate + validate"] = time.perf_counter() - start
    else:
        log = load_movielens(SHARED)
        timings["read + validate"] = time.perf_counter() - start
    for protocol in ("rs-4", "tl-4", "cold-4"):
        t = time.perf_counter()
        split = split_log(log, protocol)
        timings[f"split {protocol}"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        save_dataset(split.log, Path(tmp) / "ds")
        timings["save (atomic, checksummed)"] = time.perf_counter() - t
        t = time.perf_counter()
        load_dataset(Path(tmp) / "ds")
        timings["load (checksums verified)"] = time.perf_counter() - t
    peak_mib = peak_rss_mib()
    queue.put(
        {
            "case": f"{kind} {size:,}" if kind == "synthetic" else "ml-latest-small",
            "events": len(log),
            "users": log.n_users,
            "items": log.n_items,
            "seconds": timings,
            "peak_rss_mib": round(peak_mib),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated synthetic event counts")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = [run_isolated(_case, "synthetic", int(s)) for s in args.sizes.split(",") if s]
    if SHARED.is_dir():
        results.append(run_isolated(_case, "movielens", 0))
    else:
        print(f"skipping ml-latest-small: {SHARED} not present", file=sys.stderr)
    stages = list(dict.fromkeys(k for r in results for k in r["seconds"]))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; split protocols "
        "as in interestgraph.data.protocols (seed 2020)"
    )
    print("| case | events | " + " | ".join(stages) + " | peak RSS |")
    print("|---|---:|" + "---:|" * len(stages) + "---:|")
    for r in results:
        cells = [f"{r['seconds'][s]:.2f} s" if s in r["seconds"] else "" for s in stages]
        print(f"| {r['case']} | {r['events']:,} | " + " | ".join(cells) + f" | {r['peak_rss_mib']:,} MiB |")
    if args.json:
        import numpy
        import pandas

        args.json.write_text(
            json.dumps(
                {
                    "results": results,
                    "python": platform.python_version(),
                    "pandas": pandas.__version__,
                    "numpy": numpy.__version__,
                    "cpus": os.cpu_count(),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
