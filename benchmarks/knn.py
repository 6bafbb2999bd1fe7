"""kNN benchmark: top-k cosine neighbours of 50,000 embedding-like vectors on CPU.

Not a test: it measures. The vectors imitate sentence embeddings: ``--clusters``
random centres, each point a centre plus Gaussian noise, L2-normalised (d=384,
as all-MiniLM-L6-v2). Each mode runs in a fresh process so that peak resident
memory (ru_maxrss) belongs to that mode alone; the data is regenerated from the
same seed in each.

    python benchmarks/knn.py                      # 50,000 x 384, k=20, 2 threads
    python benchmarks/knn.py --n 20000 --json out.json

Modes: exact float32 block products, and bfloat16 candidates re-ranked in
float32 (the default of ``cosine_topk``). Agreement is measured against the
exact result: identical neighbour lists (same indices, same order), lists
identical as sets, and lists that differ only by near-ties (every neighbour
that one side has and the other lacks scores within ``--tie-tol`` of the exact
k-th score).

Prints a Markdown table and the command that produced it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_vectors(n: int, d: int, clusters: int, noise: float, seed: int):
    import torch

    gen = torch.Generator().manual_seed(seed)
    centres = torch.nn.functional.normalize(torch.randn(clusters, d, generator=gen), dim=1)
    labels = torch.randint(0, clusters, (n,), generator=gen)
    points = torch.randn(n, d, generator=gen).mul_(noise / d**0.5).add_(centres[labels])
    return points.div_(torch.linalg.vector_norm(points, dim=1, keepdim=True))


def _busy_seconds() -> float:
    """CPU seconds all processes have spent busy since boot (/proc/stat), or NaN off Linux."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class _RssSampler:
    """Highest resident set size seen while active (/proc/self/statm every 5 ms), in MiB."""

    def __init__(self) -> None:
        import threading

        self.peak = self.start = _rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_mib())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mib())


def _rss_mib() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _case(mode: str, args: dict, out_path: str, queue) -> None:
    import torch

    from interestgraph.ops.knn import cosine_topk

    torch.set_num_threads(args["threads"])
    x = make_vectors(args["n"], args["d"], args["clusters"], args["noise"], args["seed"])
    candidate_dtype = None if mode == "float32" else torch.bfloat16
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # warm-up on a small slice (thread pool, oneDNN kernels), not timed
    cosine_topk(x[:512], args["k"], candidate_dtype=candidate_dtype, show_progress=False)
    times, others, extra = [], [], []
    for _ in range(args["repeat"]):
        busy, own = _busy_seconds(), sum(os.times()[:2])
        with _RssSampler() as rss:
            start = time.perf_counter()
            index, score = cosine_topk(
                x,
                args["k"],
                candidate_dtype=candidate_dtype,
                block_size=args["block_size"],
                margin=args["margin"],
                show_progress=False,
            )
            times.append(time.perf_counter() - start)
        extra.append(rss.peak - rss.start)
        # cores kept busy by *other* processes meanwhile: a shared machine skews timings
        others.append(max(0.0, (_busy_seconds() - busy) - (sum(os.times()[:2]) - own)) / times[-1])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    torch.save({"index": index, "score": score}, out_path)
    queue.put(
        {
            "mode": mode,
            "seconds": times,
            "peak_rss_mib": round(peak),
            "rss_before_mib": round(before),
            "knn_extra_mib": max(extra),
            "other_cores_busy": others,
        }
    )


def run(mode: str, args: dict, out_path: str) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_case, args=(mode, args, out_path, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def compare(exact: dict, approx: dict, x, tie_tol: float) -> dict:
    """Agreement of the bf16 result with the exact one, row by row."""
    import torch

    ei, es = exact["index"], exact["score"]
    ai, as_ = approx["index"], approx["score"]
    _n, _k = ei.shape
    same_order = (ei == ai).all(dim=1)
    same_set = (ei.sort(dim=1).values == ai.sort(dim=1).values).all(dim=1)
    kth = es[:, -1]
    near_tie_only = same_set.clone()
    worst_loss = 0.0
    for row in (~same_set).nonzero().squeeze(1).tolist():
        e, a = set(ei[row].tolist()), set(ai[row].tolist())
        differing = torch.tensor(sorted(e ^ a))
        true = (x[row].double() @ x[differing].double().T).float()
        near_tie_only[row] = bool(((true - kth[row]).abs() <= tie_tol).all())
        worst_loss = max(worst_loss, float(kth[row] - as_[row, -1]))
    return {
        "identical_lists": float(same_order.float().mean()),
        "identical_sets": float(same_set.float().mean()),
        "differ_only_in_near_ties": float((near_tie_only & ~same_set).float().mean()),
        "identical_or_near_ties": float(near_tie_only.float().mean()),
        "rows_differing": int((~same_set).sum()),
        "max_kth_score_loss": worst_loss,
        "max_score_abs_diff_same_set": float((es - as_)[same_set].abs().max()) if bool(same_set.any()) else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--d", type=int, default=384)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--clusters", type=int, default=500)
    parser.add_argument("--noise", type=float, default=1.0, help="noise norm relative to the unit centres")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--block-size", type=int, default=None)
    parser.add_argument("--margin", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tie-tol", type=float, default=1e-3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    ns = parser.parse_args()
    args = {
        k: getattr(ns, k)
        for k in ("n", "d", "k", "clusters", "noise", "threads", "block_size", "margin", "repeat", "seed")
    }

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        results, outputs = [], {}
        for mode in ("float32", "bf16 + fp32 re-rank"):
            path = str(Path(tmp) / f"{len(results)}.pt")
            results.append(run(mode, args, path))
            outputs[mode] = torch.load(path)
    x = make_vectors(ns.n, ns.d, ns.clusters, ns.noise, ns.seed)
    agreement = compare(outputs["float32"], outputs["bf16 + fp32 re-rank"], x, ns.tie_tol)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {ns.threads} threads; "
        f"{ns.n:,} x {ns.d} vectors ({ns.clusters} clusters, noise {ns.noise}), k={ns.k}, "
        f"block_size={ns.block_size or 'auto'}, margin={ns.margin if ns.margin is not None else 'auto'}"
    )
    print()
    print(
        f"| mode | seconds (best of {ns.repeat}) | peak RSS (process) | peak RSS added by the call | identical lists "
        f"| identical sets | differ only in near-ties (±{ns.tie_tol:g}) | other processes' CPU during the best run |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        best = min(range(len(r["seconds"])), key=r["seconds"].__getitem__)
        secs = r["seconds"][best]
        if r["mode"] == "float32":
            agree = "(reference) | | "
        else:
            agree = " | ".join(
                f"{agreement[key]:.4%}" for key in ("identical_lists", "identical_sets", "differ_only_in_near_ties")
            )
        print(
            f"| {r['mode']} | {secs:.2f} | {r['peak_rss_mib']} MiB | {r['knn_extra_mib']:.0f} MiB | {agree} "
            f"| {r['other_cores_busy'][best]:.2f} cores |"
        )
    print()
    print(
        f"rows whose neighbour sets differ: {agreement['rows_differing']} of {ns.n:,}; "
        f"identical or near-tie-only: {agreement['identical_or_near_ties']:.4%}; "
        f"largest drop of the k-th score: {agreement['max_kth_score_loss']:.2e}; "
        f"largest score difference where sets agree: {agreement['max_score_abs_diff_same_set']:.1e}"
    )
    print()
    print("command: python " + " ".join([os.path.relpath(__file__, Path.cwd())] + sys.argv[1:]))
    if ns.json:
        machine = {
            "arch": platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        }
        ns.json.write_text(
            json.dumps({"args": args, "results": results, "agreement": agreement, "machine": machine}, indent=2)
        )


if __name__ == "__main__":
    main()
