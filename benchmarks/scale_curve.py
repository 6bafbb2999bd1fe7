"""Scale curve (issues 10, 25): graph build, one training epoch, the closed-form item-path fit at 100k, 1M, 10M events.

Not a test: it measures. For each size in ``--sizes`` one fresh process (spawned, so its peak
memory is its own, as in ``benchmarks/_isolated.py``) runs the phases of ``--phases`` (default
all five, always in this order) on the synthetic log:

1. **generate**: ``generate_synthetic(n_users=max(1000, events // 50), n_items=max(2000,
   events // 100), n_interactions=events, seed=0)`` (the size rule of ``graph_build.py``);
2. **build**: ``build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())`` with the
   default ``GraphConfig`` (hashed character n-grams: no language model, so 10M fits the run);
3. **item-path fit**: ``ItemPathModel(ItemPathConfig()).fit(graph)``, the closed-form item–item
   path model with its default θ (a dense ridge backbone when the split has at most
   ``max_dense_items`` = 20,000 candidate items, else GF-CF-style sparse components: cooc, lowpass,
   interest, text). It has no epochs: one fit is the fit to convergence. Then
   ``evaluate(model, split, part="valid", cutoffs=(20,))``. The row records the route (``dense``:
   ``model.combined_`` is a matrix; ``sparse``: None), the components and θ fitted, the fit's
   seconds by part (setup, each component's ``fit``, first steps, rescaling, the dense combination:
   timed by wrapping the model's steps, not by editing it), the seconds to score the validation's
   first 1,024 users by component and in all, the validation's seconds, NDCG@20 and Recall@20, and
   the phase's peak RSS with the peak of each part;
4. **model epoch**: ``InterestGraphModel(ModelConfig(), TrainConfig(epochs=1, patience=1,
   cold_draws=0, device=--device))``: one epoch = hold-out graph, the BPR loop over user batches,
   validation NDCG@20 (``model.report_.epoch_seconds`` gives the three parts); the cold-item calibration
   that ``fit`` runs after the last epoch is switched off (``cold_draws=0``: it is not an epoch);
5. **lightgcn epoch**: the ``LightGCN`` baseline (64-d, 3 layers, pairs of 2,048) with
   ``max_epochs=1, eval_every=1`` on the same split: one pass over the training pairs, then
   validation, on ``--device`` too.

``--phases`` takes a comma list of those names (``-`` or ``_`` may stand for a space, so
``generate,build,item-path-fit`` needs no quoting); a phase needs the ones it reads (build needs
generate; the other three need build), and a run without them is an argument error.

A loop (the model's training batches, any validation, LightGCN's training batches) whose
projected time passes ``--budget`` seconds after ``--min-batches`` batches, or that reaches
``--max-batches``, is stopped there and its time **extrapolated**: measured seconds per batch
× the loop's batches; the row says so (``extrapolated``); a stopped item-path validation has no
NDCG (it needs every user). Everything else is measured.

Memory: a thread samples the resident set (``/proc/self/statm``) every 50 ms and keeps the peak
of each phase and of each part of an epoch (setup, hold-out graph, training batches,
validation); ``ru_maxrss`` (the kernel's exact high-water mark, which catches spikes between
samples) is read after every phase. ``--memory-limit GIB`` caps the child's address space
(``RLIMIT_AS``, set after its imports to GIB plus the address space then mapped but not
resident: torch's libraries and pyarrow's 1 GiB mimalloc arena, ~1.7 GiB for ~0.3 GiB
resident), so an allocation that would take the process past about GIB fails as it would on a
smaller machine. The phase that failed becomes a row (``out of memory at phase model epoch``)
with the error and the library function it came from; the other epoch still runs (both need
only the graph, as does the item-path fit), and the curve goes on with the next size. A child killed outright (the
kernel's OOM killer: SIGKILL) becomes a ``crashed`` row naming the last phase it started. The
exit code is 1 when any row did not finish. ``--user-batch`` sets the model's users per step,
the setting its training memory scales with (``--inject`` fails a phase on purpose, for tests).

    python benchmarks/scale_curve.py --sizes 100000,1000000,10000000 --threads 2 --out results/scale
    python benchmarks/scale_curve.py --sizes 1000000 --memory-limit 2 --max-batches 5        # 1M on a 2 GiB budget
    python benchmarks/scale_curve.py --sizes 10000000 --memory-limit 8 --user-batch 64 --max-batches 3
    python benchmarks/scale_curve.py --sizes 100000,1000000 --threads 1 --phases generate,build,item-path-fit
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import shlex
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._isolated import peak_rss_mib  # noqa: E402

PHASES = ("generate", "build", "item-path fit", "model epoch", "lightgcn epoch")
#: the phases each phase needs the results of (a phase left out of ``--phases`` may not be needed by one kept)
NEEDS = {"build": ("generate",), "item-path fit": ("build",), "model epoch": ("build",), "lightgcn epoch": ("build",)}
PROTOCOL = "rs-4"
SPLIT_SEED = 2020
DATA_SEED = 0
MIN_EVENTS_PER_USER = 8  # SyntheticConfig.min_events_per_user: the generator needs events >= 8 x users
INJECT_KINDS = ("memory", "error", "kill")
LIGHTGCN = {
    "dim": 64,
    "layers": 3,
    "lr": 1e-3,
    "l2": 1e-4,
    "batch_size": 2048,
    "max_epochs": 1,
    "patience": 1,
    "eval_every": 1,
    "seed": SPLIT_SEED,
}
VALID_BATCH = 1024  # users per scoring batch of the evaluation harness (evaluate's default)
MIB = 2**20


# ----------------------------------------------------------------------------- settings


def size_rule(events: int) -> dict[str, int]:
    """Users and items of the synthetic log with ``events`` events (``graph_build.py``'s rule)."""
    return {"events": events, "users": max(1000, events // 50), "items": max(2000, events // 100)}


def parse_sizes(text: str) -> list[int]:
    """``"100000,1e6"`` -> ``[100000, 1000000]``; ValueError naming ``--sizes`` for a bad or too small size."""
    sizes = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        try:
            value = float(item)
        except ValueError:
            raise ValueError(f"--sizes: {item!r} is not a number of events") from None
        if value != int(value) or value < 1:
            raise ValueError(f"--sizes: {item!r} is not a positive whole number of events")
        rule = size_rule(int(value))
        if rule["events"] < MIN_EVENTS_PER_USER * rule["users"]:
            raise ValueError(
                f"--sizes: {item} events are fewer than {MIN_EVENTS_PER_USER} per user for the rule's "
                f"{rule['users']:,} users; "
                f"use at least {MIN_EVENTS_PER_USER * rule['users']:,}"
            )
        sizes.append(int(value))
    if not sizes:
        raise ValueError(f"--sizes: no sizes in {text!r}")
    return sizes


def parse_inject(text: str | None) -> tuple[str, str] | None:
    """``"build:memory"`` -> ``("build", "memory")``: fail on purpose at the start of a phase (tests the failure
    rows)."""
    if text is None:
        return None
    phase, _, kind = text.rpartition(":")
    if phase not in PHASES or kind not in INJECT_KINDS:
        raise ValueError(
            f"--inject: expected PHASE:KIND with PHASE in {', '.join(PHASES)} and KIND in {', '.join(INJECT_KINDS)}, "
            f"got {text!r}"
        )
    return phase, kind


def _phase_key(name: str) -> str:
    """A phase name as ``--phases`` matches it: lower case, ``-`` and ``_`` read as spaces."""
    return " ".join(name.lower().replace("-", " ").replace("_", " ").split())


def parse_phases(text: str | None) -> tuple[str, ...]:
    """``"generate,build,item-path-fit"`` -> those :data:`PHASES` in their run order (None or ``"all"``: every
    phase); ValueError naming ``--phases`` for an unknown phase or one whose input phase is left out."""
    if text is None or text.strip().lower() == "all":
        return PHASES
    by_key = {_phase_key(name): name for name in PHASES}
    chosen = set()
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        if _phase_key(item) not in by_key:
            raise ValueError(f"--phases: unknown phase {item!r}; choose from {', '.join(PHASES)} (or all)")
        chosen.add(by_key[_phase_key(item)])
    if not chosen:
        raise ValueError(f"--phases: no phases in {text!r}")
    for name in chosen:
        missing = [need for need in NEEDS.get(name, ()) if need not in chosen]
        if missing:
            raise ValueError(f"--phases: {name!r} needs {', '.join(repr(m) for m in missing)}; add it")
    return tuple(name for name in PHASES if name in chosen)


def build_parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "--sizes",
        default="100000,1000000,10000000",
        help="comma-separated event counts (default 100000,1000000,10000000)",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda", "auto"),
        default="cpu",
        help="device of the interest-graph model (TrainConfig.device) and of LightGCN",
    )
    parser.add_argument(
        "--user-batch",
        type=int,
        default=256,
        help="TrainConfig.user_batch of the model: users per step (default 256, the library's)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="torch / BLAS threads in each child (default: all cores)",
    )
    parser.add_argument(
        "--memory-limit",
        type=float,
        default=None,
        metavar="GIB",
        help="let each child's phases use about GIB GiB: RLIMIT_AS = GIB + address space mapped but not resident "
        "after the imports",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=900.0,
        metavar="S",
        help="stop a loop whose projected time passes S seconds and extrapolate it (0: never; default 900)",
    )
    parser.add_argument(
        "--min-batches", type=int, default=10, help="batches a loop runs before --budget may stop it (default 10)"
    )
    parser.add_argument(
        "--max-batches",
        type=int,
        default=0,
        help="stop every loop after this many batches and extrapolate (0: no limit)",
    )
    parser.add_argument(
        "--inject",
        default=None,
        metavar="PHASE:KIND",
        help="fail on purpose at the start of PHASE: KIND memory (MemoryError), error (RuntimeError) or kill (SIGKILL)",
    )
    parser.add_argument(
        "--phases",
        default=None,
        metavar="LIST",
        help="comma-separated phases to run, in their fixed order (default all): "
        + ", ".join(PHASES)
        + "; '-' or '_' may stand for a space (item-path-fit); a phase needs the ones it reads (build needs generate, "
        "the rest need build)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write scale-curve.json and scale-curve.md here")
    return parser


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[int]]:
    """Parsed arguments and sizes; every bad value is a parser error naming its argument."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        sizes = parse_sizes(args.sizes)
        args.inject_at = parse_inject(args.inject)
        args.phase_list = parse_phases(args.phases)
    except ValueError as exc:
        parser.error(str(exc))
    if args.inject_at is not None and args.inject_at[0] not in args.phase_list:
        parser.error(f"--inject: phase {args.inject_at[0]!r} is not among --phases ({', '.join(args.phase_list)})")
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.user_batch < 1:
        parser.error(f"--user-batch must be >= 1, got {args.user_batch}")
    if args.memory_limit is not None and not args.memory_limit > 0:
        parser.error(f"--memory-limit must be a positive number of GiB, got {args.memory_limit}")
    if args.budget < 0 or args.min_batches < 1 or args.max_batches < 0:
        parser.error(
            f"--budget must be >= 0, --min-batches >= 1 and --max-batches >= 0; got {args.budget}, "
            f"{args.min_batches}, {args.max_batches}"
        )
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            parser.error("--device cuda: no CUDA device is available on this machine (use cpu or auto)")
    return args, sizes


# ----------------------------------------------------------------------------- memory


def _statm_mib() -> tuple[float, float]:
    """``(address space, resident)`` of this process in MiB, from ``/proc/self/statm`` (zeros where it is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            size, resident = statm.read().split()[:2]
    except OSError:
        return 0.0, 0.0
    page = os.sysconf("SC_PAGE_SIZE")
    return int(size) * page / MIB, int(resident) * page / MIB


class RssSampler:
    """Samples resident memory (and address space) every ``interval`` seconds on a daemon thread; keeps the peak (MiB)
    of each phase and of each part of a phase (:meth:`mark`: setup, train, valid ...)."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.current: str | None = None
        self.part: str | None = None
        self.peaks: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)

    def _note(self) -> None:
        vm, rss = _statm_mib()
        with self._lock:
            if self.current is None:
                return
            peak = self.peaks[self.current]
            peak["peak_rss_mib"] = max(peak["peak_rss_mib"], rss)
            peak["peak_vm_mib"] = max(peak["peak_vm_mib"], vm)
            if self.part is not None:
                part = peak["parts"][self.part]
                part["peak_rss_mib"] = max(part["peak_rss_mib"], rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._note()

    def mark(self, part: str) -> None:
        """From now on the current phase is in ``part`` (its start RSS and peak are kept apart; a part marked again
        goes on)."""
        self._note()
        rss = _statm_mib()[1]
        with self._lock:
            if self.current is not None:
                self.part = part
                self.peaks[self.current]["parts"].setdefault(part, {"start_rss_mib": rss, "peak_rss_mib": rss})

    @contextmanager
    def phase(self, name: str) -> Iterator[dict[str, Any]]:
        """Record ``name``'s resident memory at start, sampled peak, at end, and ``ru_maxrss`` after it (MiB)."""
        vm, rss = _statm_mib()
        with self._lock:
            self.current, self.part = name, None
            self.peaks[name] = {"start_rss_mib": rss, "peak_rss_mib": rss, "peak_vm_mib": vm, "parts": {}}
        try:
            yield self.peaks[name]
        finally:
            self._note()
            with self._lock:
                self.current = self.part = None
                self.peaks[name]["end_rss_mib"] = _statm_mib()[1]
                self.peaks[name]["maxrss_after_mib"] = peak_rss_mib()


def rounded(value: Any) -> Any:
    """Floats rounded to 0.1 through nested dicts."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return round(value, 1) if isinstance(value, float) else value


def reserve_lazy_pools() -> None:
    """Make pyarrow's mimalloc pool map its arena now (1 GiB of address space, almost none of it resident), so
    the memory limit, set after this, is not spent by a reservation that the first string column would make."""
    try:
        import pyarrow
    except ImportError:
        return
    pyarrow.array([""])


def set_memory_limit(gib: float | None) -> dict[str, float] | None:
    """Cap the soft ``RLIMIT_AS`` so this process can grow by about ``gib`` GiB of resident memory from here.

    The cap is ``gib`` GiB plus the address space mapped but not resident now (torch's libraries, pyarrow's arena,
    thread stacks: ~1.7 GiB for ~0.3 GiB resident), so the phases may use about ``gib`` GiB in all (resident memory
    at the start included). The hard limit stays, so :func:`lift_memory_limit` can undo it. Returns the facts (MiB),
    None without a limit.
    """
    if gib is None:
        return None
    vm, rss = _statm_mib()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = int(gib * 2**30 + max(vm - rss, 0.0) * MIB)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return {
        "gib": gib,
        "rlimit_as_mib": round(limit / MIB, 1),
        "mapped_not_resident_mib": round(vm - rss, 1),
        "resident_at_limit_mib": round(rss, 1),
    }


def lift_memory_limit() -> None:
    """Raise the soft ``RLIMIT_AS`` back to the hard limit (to report a failure with memory to spare)."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


# ----------------------------------------------------------------------------- loops measured and stopped early


class Capped(Exception):
    """Raised by :class:`LoopMeter` at the start of a batch to stop a loop whose time it will extrapolate."""


class LoopMeter:
    """Times a loop by a function called once per batch; stops it early (:class:`Capped`) past a budget.

    Args:
        name: what the loop is ("model train", ...).
        total: batches of the full loop (set later when only the loop knows it).
        budget: seconds; after ``min_batches`` batches, stop when the projected loop time passes it (0: never).
        min_batches: batches measured before ``budget`` may stop the loop.
        max_batches: stop after this many batches whatever the budget (0: no limit).
    """

    def __init__(self, name: str, total: int | None, budget: float, min_batches: int, max_batches: int):
        self.name, self.total = name, total
        self.budget, self.min_batches, self.max_batches = budget, min_batches, max_batches
        self.stamps: list[float] = []  # perf_counter at the start of each batch
        self.stopped_at: float | None = None
        self.report_every = 60.0  # seconds between progress lines
        self.on_first: Callable[[], None] | None = None  # called before the first batch
        self._reported = time.perf_counter()

    def _progress(self, now: float) -> None:
        """A progress line every ``report_every`` seconds: batches done, seconds per batch, projected loop."""
        if now - self._reported < self.report_every or len(self.stamps) < 2:
            return
        self._reported = now
        done = len(self.stamps) - 1
        per = (now - self.stamps[0]) / done
        total = f"{self.total:,}" if self.total else "?"
        projected = f", loop ~{per * self.total:,.0f} s" if self.total else ""
        print(f"    {self.name}: {done:,} of {total} batches, {per:.2f} s per batch{projected}", flush=True)

    def _should_stop(self, now: float) -> bool:
        done = len(self.stamps)
        if self.total is None or done == 0 or done >= self.total:
            return False
        if self.max_batches and done >= self.max_batches:
            return True
        projected = (now - self.stamps[0]) / done * self.total
        return bool(self.budget) and done >= self.min_batches and projected > self.budget

    def wrap(self, function: Callable) -> Callable:
        """``function`` with a stamp (and maybe a stop) before each call."""

        def metered(*args: Any, **kwargs: Any) -> Any:
            now = time.perf_counter()
            if self._should_stop(now):
                self.stopped_at = now
                raise Capped(self.name)
            if not self.stamps and self.on_first is not None:
                self.on_first()
            self.stamps.append(now)
            self._progress(now)
            return function(*args, **kwargs)

        return metered

    @property
    def capped(self) -> bool:
        return self.stopped_at is not None

    def seconds_per_batch(self) -> float:
        """Mean seconds of the batches that finished before the stop (NaN when the loop was not stopped)."""
        if not self.capped:
            return math.nan
        return (self.stopped_at - self.stamps[0]) / len(self.stamps)

    def extrapolated(self) -> float:
        """Seconds of the whole loop: measured seconds per batch × its batches."""
        return self.seconds_per_batch() * self.total

    def describe(self) -> dict[str, Any]:
        """JSON facts: batches run of total, and when stopped, seconds per batch and the extrapolated loop."""
        out: dict[str, Any] = {
            "batches_total": self.total,
            "batches_run": len(self.stamps),
            "extrapolated": self.capped,
        }
        if self.capped:
            out.update(
                {
                    "seconds_per_batch": self.seconds_per_batch(),
                    "seconds_extrapolated": self.extrapolated(),
                    "seconds_measured": self.stopped_at - self.stamps[0],
                }
            )
        return out


def n_batches(count: int, size: int) -> int:
    """Batches of ``size`` that cover ``count`` rows (0 for none)."""
    return math.ceil(count / size) if count else 0


# ----------------------------------------------------------------------------- phases (run in the child)


def phase_generate(state: dict, row: dict, settings: dict) -> None:
    """Synthetic log by the size rule: sets ``state["log"]``; row: events, users, items, generate seconds."""
    from interestgraph.data import generate_synthetic

    rule = size_rule(row["size"])
    started = time.perf_counter()
    state["log"] = generate_synthetic(
        n_users=rule["users"], n_items=rule["items"], n_interactions=rule["events"], seed=DATA_SEED
    ).log
    row["seconds"]["generate"] = time.perf_counter() - started
    row.update(events=len(state["log"]), users=int(state["log"].n_users), items=int(state["log"].n_items))


def phase_build(state: dict, row: dict, settings: dict) -> None:
    """Interest graph of the log (rs-4, lexical encoder, default GraphConfig): sets ``state["graph"]``; row: counts,
    build seconds and steps."""
    from interestgraph.encoder import LexicalEncoder
    from interestgraph.evaluate import positive_matrix
    from interestgraph.graph.build import build_interest_graph

    started = time.perf_counter()
    graph = build_interest_graph(state.pop("log"), protocol=PROTOCOL, seed=SPLIT_SEED, encoder=LexicalEncoder())
    row["seconds"]["build"] = time.perf_counter() - started
    row["build_steps"] = {k: round(v, 3) for k, v in graph.build_seconds.items()}
    counts = graph.counts()
    row["nodes"], row["edges"] = counts["nodes"], counts["edges"]
    state["graph"] = graph
    state["train_pairs"] = int(positive_matrix(graph.split, "train").nnz)
    valid = positive_matrix(graph.split, "valid")
    state["valid_users"] = int((valid.getnnz(axis=1) > 0).sum())
    row["train_pairs"], row["valid_users"] = state["train_pairs"], state["valid_users"]


def _meter(name: str, total: int | None, settings: dict, on_first: Callable[[], None] | None = None) -> LoopMeter:
    meter = LoopMeter(name, total, settings["budget"], settings["min_batches"], settings["max_batches"])
    meter.on_first = on_first
    return meter


def _batch_timer(train_meter: LoopMeter, tick: Callable[[], None], stamps: dict[str, float], sampler):
    """The callback class both timed fits start from: after each batch but the epoch's last, ``tick`` starts the
    next one on ``train_meter`` (whose stop, :class:`Capped`, stops the epoch); the validation's start and end are
    stamped in ``stamps``."""
    from interestgraph.train import Callback

    class BatchTimer(Callback):
        def on_batch_end(self, epoch: int, batch: int, loss) -> bool:
            if batch + 1 >= (train_meter.total or 0):
                return False
            try:
                tick()  # the next batch starts, unless the meter stops the loop here
            except Capped:
                return True
            return False

        def on_validation_begin(self, epoch: int) -> None:
            stamps.setdefault("valid_start", time.perf_counter())
            sampler.mark("valid")

        def on_epoch_end(self, epoch: int, record: dict) -> None:
            stamps.setdefault("valid_end", time.perf_counter())

    return BatchTimer


def _train_config(settings: dict):
    from interestgraph.model import TrainConfig

    return TrainConfig(
        epochs=1,
        patience=1,
        cold_draws=0,
        user_batch=settings["user_batch"],
        device=settings["device"],
        verbose=False,
        seed=SPLIT_SEED,
    )


def loop_seconds(meter: LoopMeter, start: float, end: float | None) -> float:
    """Seconds of a loop and what precedes it from ``start``: measured to ``end``, or, when the meter stopped it,
    the time to its first batch plus the extrapolated batches."""
    if meter.capped:
        return (meter.stamps[0] - start) + meter.extrapolated()
    return end - start


def phase_model(state: dict, row: dict, settings: dict) -> None:
    """One epoch of the interest-graph model; row["model"]: seconds by part (measured or extrapolated), batches.

    Timed through the trainer's callbacks: the epoch's start, its walk graph, every batch (the train meter, which
    may stop the epoch early: the trainer then validates it and stops) and the validation's start; ``model.score``
    is metered for the validation loop, which may stop it early (:class:`Capped` ends the fit)."""
    from interestgraph.model import InterestGraphModel, ModelConfig

    graph, cfg, sampler = state["graph"], _train_config(settings), state["sampler"]
    train_meter = _meter("model train", None, settings, on_first=lambda: sampler.mark("train"))
    valid_meter = _meter("model valid", n_batches(state["valid_users"], VALID_BATCH), settings)
    stamps: dict[str, float] = {}
    tick = train_meter.wrap(lambda: None)

    class Timer(_batch_timer(train_meter, tick, stamps, sampler)):
        """Stamps the epoch's parts and meters its batches (a stop of the meter stops the epoch)."""

        def on_epoch_begin(self, epoch: int) -> None:
            stamps.setdefault("epoch_start", time.perf_counter())
            sampler.mark("graph")

        def on_epoch_graph(self, epoch: int, n_batches: int) -> None:
            stamps.setdefault("graph_end", time.perf_counter())
            train_meter.total = n_batches
            if n_batches:
                tick()  # the first batch starts

    model = InterestGraphModel(ModelConfig(), cfg)
    model.score = valid_meter.wrap(model.score)
    sampler.mark("setup")
    started = time.perf_counter()
    with contextlib.suppress(Capped):  # the validation loop was stopped
        model.fit(graph, callbacks=[Timer()])
    stamps.setdefault("valid_end", time.perf_counter())
    stamps["fit_end"] = time.perf_counter()
    row["model"] = model_seconds(model, stamps, train_meter, valid_meter, started, settings)
    row["seconds"]["model epoch"] = row["model"]["epoch"]


def model_seconds(
    model, stamps: dict, train_meter: LoopMeter, valid_meter: LoopMeter, started: float, settings: dict
) -> dict:
    """The model phase's seconds: ``setup`` (fit before the epoch), ``graph`` / ``train`` / ``valid`` (the epoch's
    parts;
    the trainer's own ``model.report_.epoch_seconds`` when the epoch ran whole), ``epoch`` (their sum), ``fit`` (the
    whole call)."""
    out: dict[str, Any] = {
        "device": str(settings["device"]),
        "user_batch": settings["user_batch"],
        "setup": stamps["epoch_start"] - started,
        "graph": stamps["graph_end"] - stamps["epoch_start"],
        "train_loop": train_meter.describe(),
        "valid_loop": valid_meter.describe(),
    }
    whole = not (train_meter.capped or valid_meter.capped)
    if whole:
        parts = model.report_.epoch_seconds
        out.update(graph=parts["graph"], train=parts["train"], valid=parts["valid"], fit=stamps["fit_end"] - started)
    else:
        out["train"] = loop_seconds(train_meter, train_meter.stamps[0], stamps["valid_start"])
        out["valid"] = loop_seconds(valid_meter, stamps["valid_start"], stamps["valid_end"])
        out["fit"] = None  # not run whole
    out["extrapolated"] = not whole
    out["epoch"] = out["graph"] + out["train"] + out["valid"]
    return out


def phase_lightgcn(state: dict, row: dict, settings: dict) -> None:
    """One epoch of the LightGCN baseline on the graph's split; row["lightgcn"]: seconds by part, batches.

    Timed through the baseline's callbacks, as :func:`phase_model` times the path model."""
    from interestgraph.baselines import LightGCN

    split, sampler = state["graph"].split, state["sampler"]
    train_meter = _meter(
        "lightgcn train",
        n_batches(state["train_pairs"], LIGHTGCN["batch_size"]),
        settings,
        on_first=lambda: sampler.mark("train"),
    )
    valid_meter = _meter("lightgcn valid", n_batches(state["valid_users"], VALID_BATCH), settings)
    tick = train_meter.wrap(lambda: None)
    stamps: dict[str, float] = {}

    class Timer(_batch_timer(train_meter, tick, stamps, sampler)):
        """Meters the batches (a stop of the meter stops the epoch) and stamps the validation's start."""

        def on_epoch_begin(self, epoch: int) -> None:
            if train_meter.total:
                tick()  # the first batch starts

    model = LightGCN(**LIGHTGCN, device=settings["device"])
    model.score = valid_meter.wrap(model.score)
    sampler.mark("setup")
    started = time.perf_counter()
    with contextlib.suppress(Capped):  # the validation loop was stopped
        model.fit(split, callbacks=[Timer()])
    stamps.setdefault("valid_end", time.perf_counter())
    whole = not (train_meter.capped or valid_meter.capped)
    out: dict[str, Any] = {
        "device": str(settings["device"]),
        "setup": train_meter.stamps[0] - started,
        "train_loop": train_meter.describe(),
        "valid_loop": valid_meter.describe(),
        "train": loop_seconds(train_meter, train_meter.stamps[0], stamps["valid_start"]),
        "valid": loop_seconds(valid_meter, stamps["valid_start"], stamps["valid_end"]),
        "extrapolated": not whole,
        "fit": stamps["valid_end"] - started if whole else None,
    }
    out["epoch"] = out["setup"] + out["train"] + out["valid"]
    row["lightgcn"] = out
    row["seconds"]["lightgcn epoch"] = out["epoch"]


@contextmanager
def timed_item_path_parts(model, sampler: RssSampler, seconds: dict[str, float]) -> Iterator[None]:
    """Time the parts of ``model.fit`` into ``seconds`` and mark them on ``sampler``: ``setup`` (positives, item
    data), one entry per component (``<name>``: its ``fit``; the first component that needs ``R̃`` also
    normalises the log), ``history`` (the users' first steps ``r(u, j)``), ``rescale`` (the product norms on the
    user sample), ``combine`` (the dense ``Σ θ_c F_c``, dense route only); when the fit fails,
    ``seconds["failed in"]`` names the part it failed in. Done by wrapping, not by editing the model: the module's
    ``make_component`` (restored after) and the instance's ``_fit_components`` / ``_combine``."""
    from interestgraph.model import item_path

    original = item_path.make_component
    clock = {"last": time.perf_counter()}

    def stamp(part: str) -> None:
        """Close the running part (its seconds added) and start ``part``."""
        now = time.perf_counter()
        running = clock.get("part")
        if running is not None:
            seconds[running] = seconds.get(running, 0.0) + now - clock["last"]
        clock["part"], clock["last"] = part, now
        if part is not None:
            sampler.mark(part)

    def make_component(name, config, **kwargs):
        component = original(name, config, **kwargs)
        fit = component.fit

        def timed_fit(data):
            stamp(name)
            fitted = fit(data)  # a failure leaves ``name`` running: the part the fit failed in
            stamp("history")  # until the next component or the rescaling: the users' first steps
            return fitted

        component.fit = timed_fit
        return component

    def wrap(method, part: str):
        def timed(*args, **kwargs):
            stamp(part)
            result = method(*args, **kwargs)
            stamp(None)
            return result

        return timed

    model._fit_components = wrap(model._fit_components, "rescale")
    model._combine = wrap(model._combine, "combine")
    item_path.make_component = make_component
    stamp("setup")
    try:
        yield
    except BaseException:
        seconds["failed in"] = clock.get("part") or "?"  # the part the fit failed in (its seconds are kept)
        raise
    finally:
        stamp(None)
        item_path.make_component = original
        for name in ("_fit_components", "_combine"):
            model.__dict__.pop(name, None)


def score_batch_seconds(model, split, sampler: RssSampler) -> dict[str, Any]:
    """Seconds to score the validation's first batch (:data:`VALID_BATCH` users, the batch ``evaluate`` scores
    first): each fitted component's ``apply`` (θ not applied) and the whole ``model.score``; the sampler marks each
    (``score <name>``, ``score``) so the phase's memory shows each one's peak. On the sparse route ``score`` is the
    components' sum; on the dense route one product with ``model.combined_``."""
    import numpy as np

    from interestgraph.evaluate import positive_matrix

    users = np.flatnonzero(positive_matrix(split, "valid").getnnz(axis=1) > 0)[:VALID_BATCH]
    history = model.history_[users]
    seconds: dict[str, float] = {}
    for name, component in model.components_.items():
        sampler.mark(f"score {name}")
        started = time.perf_counter()
        component.apply(history)
        seconds[name] = time.perf_counter() - started
    sampler.mark("score")
    started = time.perf_counter()
    model.score(users)
    seconds["score"] = time.perf_counter() - started
    return {"users": len(users), "seconds": seconds}


def phase_item_path(state: dict, row: dict, settings: dict) -> None:
    """The closed-form item-path model (``ItemPathModel(ItemPathConfig())``: default θ, so the dense ridge route up to
    ``max_dense_items`` candidate items and the sparse components above) fitted once on the graph (closed form: no
    epochs, so this is the fit to convergence), then evaluated on the validation part (``evaluate(model, split,
    part="valid", cutoffs=(20,))``); row["item_path"]: route, components, seconds by part, the first validation
    batch's scoring by component (:func:`score_batch_seconds`, before ``evaluate``), NDCG@20 / Recall@20.

    The validation loop is metered like the epochs' (``--budget``, ``--max-batches``): when it is stopped, its
    time is extrapolated and the metrics are None (they need every user)."""
    from interestgraph.evaluate import evaluate
    from interestgraph.model import ItemPathConfig, ItemPathModel

    graph, sampler = state["graph"], state["sampler"]
    config = ItemPathConfig()
    model = ItemPathModel(config)
    parts: dict[str, float] = {}
    row["item_path"] = {"fit_parts": parts}  # a fit that fails leaves its parts' seconds and the part it failed in
    started = time.perf_counter()
    with timed_item_path_parts(model, sampler, parts):
        model.fit(graph)
    fit_seconds = time.perf_counter() - started
    route = "dense" if model.combined_ is not None else "sparse"
    out: dict[str, Any] = {
        "route": route,
        "active_items": len(model.active_items_),
        "max_dense_items": config.max_dense_items,
        "components": list(model.components_),
        "theta": dict(model.theta_),
        "skipped": dict(model.skipped_),
        "first_step": model.first_step_,
        "fit": fit_seconds,
        "fit_parts": parts,
    }
    row["item_path"] = out
    out["score_batch"] = score_batch_seconds(model, graph.split, sampler)
    valid_meter = _meter("item-path valid", n_batches(state["valid_users"], VALID_BATCH), settings)
    model.score = valid_meter.wrap(model.score)
    sampler.mark("valid")
    started = time.perf_counter()
    result = None
    with contextlib.suppress(Capped):
        result = evaluate(model, graph.split, part="valid", cutoffs=(20,), batch_size=VALID_BATCH)
    ended = time.perf_counter()
    out["valid_loop"] = valid_meter.describe()
    out["valid"] = loop_seconds(valid_meter, started, ended)
    out["extrapolated"] = valid_meter.capped
    out["ndcg@20"] = None if result is None else result.metrics["ndcg@20"]
    out["recall@20"] = None if result is None else result.metrics["recall@20"]
    out["valid_users"] = state["valid_users"]
    row["item_path"] = out
    row["seconds"]["item-path fit"] = out["fit"] + out["valid"]


PHASE_FUNCTIONS = {
    "generate": phase_generate,
    "build": phase_build,
    "item-path fit": phase_item_path,
    "model epoch": phase_model,
    "lightgcn epoch": phase_lightgcn,
}
NEEDED_BY_LATER = ("generate", "build")  # a failure here ends the case; the later phases are independent of each other


# ----------------------------------------------------------------------------- failures


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is an allocation failure: MemoryError, torch's
    OutOfMemoryError, or torch's CPU allocator RuntimeError ("can't allocate memory")."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc).lower()
        if (
            isinstance(exc, MemoryError)
            or type(exc).__name__ == "OutOfMemoryError"
            or "can't allocate memory" in text
            or "out of memory" in text
            or "cannot allocate memory" in text
            or "bad_alloc" in text
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def describe_failure(phase: str, exc: BaseException) -> dict[str, str]:
    """JSON facts of a failed phase: status, the error's type and first line, and the innermost interestgraph frame
    it came from."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}interestgraph{os.sep}" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno} in {ours[-1].name}()" if ours else "?"
    message = (str(exc).strip().splitlines() or [""])[0][:400]
    status = "out of memory" if is_out_of_memory(exc) else "failed"
    return {"status": status, "phase": phase, "error": f"{type(exc).__name__}: {message}", "where": where}


def inject(phase: str, settings: dict) -> None:
    """The ``--inject`` failure, when it is for ``phase``."""
    if settings.get("inject") is None or settings["inject"][0] != phase:
        return
    kind = settings["inject"][1]
    if kind == "memory":
        raise MemoryError(f"injected at phase {phase} (--inject)")
    if kind == "error":
        raise RuntimeError(f"injected at phase {phase} (--inject)")
    os.kill(os.getpid(), signal.SIGKILL)


def run_phase(
    name: str, state: dict, row: dict, settings: dict, sampler: RssSampler, trace: Path, function: Callable
) -> dict | None:
    """Run phase ``name`` (``function(state, row, settings)``) under the sampler; returns its failure facts (None
    when it finished)."""
    with trace.open("a") as f:
        f.write(json.dumps({"phase": name, "rss_mib": _statm_mib()[1]}) + "\n")
    print(f"  [{row['size']:,}] {name} ...", flush=True)
    started = time.perf_counter()
    failure = None
    with sampler.phase(name) as memory:
        try:
            inject(name, settings)
            function(state, row, settings)
        except Exception as exc:
            lift_memory_limit()
            failure = describe_failure(name, exc)
            del exc
    gc.collect()
    row["memory"][name] = rounded(memory)
    note = f"{failure['status']}: {failure['error']}" if failure else "done"
    print(
        f"  [{row['size']:,}] {name}: {note} ({time.perf_counter() - started:.1f} s, phase peak RSS "
        f"{memory['peak_rss_mib']:,.0f} MiB)",
        flush=True,
    )
    return failure


def run_phases(
    state: dict,
    row: dict,
    settings: dict,
    sampler: RssSampler,
    trace: Path,
    functions: dict[str, Callable] | None = None,
) -> None:
    """Run ``settings["phases"]`` (default :data:`PHASES`) in order (``functions``: :data:`PHASE_FUNCTIONS` by
    default); a failure of a phase that later ones need (:data:`NEEDED_BY_LATER`) ends the case. Sets
    ``row["failures"]`` and, after a failure, ``row["status"]``."""
    failures = []
    for name in settings.get("phases") or PHASES:
        failure = run_phase(name, state, row, settings, sampler, trace, (functions or PHASE_FUNCTIONS)[name])
        if failure:
            failures.append(failure)
            if name in NEEDED_BY_LATER:
                break
    row["failures"] = failures
    if failures:
        row["status"] = f"{failures[0]['status']} at phase {failures[0]['phase']}"


def _child(size: int, settings: dict, result_path: str, trace_path: str) -> None:
    """One size in a fresh process: imports, limits, phases; writes the row as JSON to ``result_path``."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(settings["threads"])
    import torch

    import interestgraph.baselines
    import interestgraph.graph
    import interestgraph.model
    import interestgraph.train  # noqa: F401

    torch.set_num_threads(settings["threads"])
    row: dict[str, Any] = {
        "size": size,
        "rule": size_rule(size),
        "seconds": {},
        "memory": {},
        "status": "ok",
        "threads": torch.get_num_threads(),
        "rss_after_imports_mib": round(_statm_mib()[1], 1),
    }
    sampler = RssSampler().start()
    state: dict[str, Any] = {"sampler": sampler}
    reserve_lazy_pools()
    row["memory_limit"] = set_memory_limit(settings["memory_limit"])
    with Path(trace_path).open("a") as f:  # a child that aborts leaves its limit for the parent's row
        f.write(json.dumps({"memory_limit": row["memory_limit"]}) + "\n")
    run_phases(state, row, settings, sampler, Path(trace_path))
    lift_memory_limit()
    sampler.stop()
    state.clear()
    row["peak_rss_mib"] = round(peak_rss_mib(), 1)
    Path(result_path).write_text(json.dumps(row, indent=1, default=float))


# ----------------------------------------------------------------------------- the parent


def crashed_row(size: int, exitcode: int | None, trace: Path) -> dict:
    """The row of a child that died without writing its result (killed by a signal, or aborted).

    Under ``--memory-limit`` a SIGABRT is reported as out of memory: a native allocation that fails under
    ``RLIMIT_AS`` throws ``std::bad_alloc``, which aborts the process before Python sees a MemoryError.
    """
    records = [json.loads(line) for line in trace.read_text().splitlines()] if trace.exists() else []
    phases = [r for r in records if "phase" in r]
    limit = next((r["memory_limit"] for r in records if "memory_limit" in r), None)
    last = phases[-1]["phase"] if phases else "startup"
    how = (
        f"signal {signal.Signals(-exitcode).name}" if exitcode is not None and exitcode < 0 else f"exit code {exitcode}"
    )
    status, hint = "crashed", ""
    if exitcode == -signal.SIGKILL:
        hint = " (SIGKILL: most likely the kernel's OOM killer)"
    elif exitcode == -signal.SIGABRT and limit is not None:
        status = "out of memory"
        hint = f" under the {limit['gib']} GiB memory limit (most likely a native allocation failed: std::bad_alloc)"
    row = {
        "size": size,
        "rule": size_rule(size),
        "status": f"{status} at phase {last}",
        "seconds": {},
        "memory": {},
        "failures": [{"status": status, "phase": last, "error": f"the child process died: {how}{hint}", "where": "?"}],
    }
    if limit is not None:
        row["memory_limit"] = limit
    return row


def run_case(size: int, settings: dict, work: Path) -> dict:
    """Run ``size`` in a spawned child (a JSON file carries the result, so a child that dies leaves a row too)."""
    result, trace = work / f"result-{size}.json", work / f"trace-{size}.jsonl"
    process = mp.get_context("spawn").Process(target=_child, args=(size, settings, str(result), str(trace)))
    started = time.perf_counter()
    process.start()
    process.join()
    row = json.loads(result.read_text()) if result.exists() else crashed_row(size, process.exitcode, trace)
    row["wall_seconds"] = time.perf_counter() - started
    return row


def hardware() -> dict[str, Any]:
    """CPU model, cores, memory and load of this machine (and the GPU when torch sees one)."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor() or "?",
    )
    mem = next(
        (int(line.split()[1]) / 2**20 for line in _read_lines("/proc/meminfo") if line.startswith("MemTotal")), math.nan
    )
    out = {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1), "machine": platform.platform()}
    import torch

    out["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return out


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def settings_line(args: argparse.Namespace, machine: dict) -> str:
    """What was run, on what: one paragraph for the report."""
    gpu = f", GPU {machine['gpu']}" if machine["gpu"] else ", no GPU"
    limit = (
        f"memory limit {args.memory_limit:g} GiB per child (RLIMIT_AS = that + its mapped-but-not-resident address "
        "space after the imports)"
        if args.memory_limit
        else "no memory limit"
    )
    stop = (
        f"loops projected past {args.budget:g} s are stopped after >= {args.min_batches} batches and extrapolated"
        if args.budget
        else "no time budget"
    )
    if args.max_batches:
        stop += f"; every loop stops after {args.max_batches} batches"
    return (
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB{gpu}. Threads per child: "
        f"{args.threads}. "
        f"Device (interest-graph model and LightGCN): {args.device}. Sizes: synthetic log (seed {DATA_SEED}), "
        "n_users = max(1000, events/50), "
        f"n_items = max(2000, events/100); graph: protocol {PROTOCOL} (seed {SPLIT_SEED}), default GraphConfig, "
        "LexicalEncoder. "
        f"Model: default ModelConfig, TrainConfig(epochs=1, patience=1, cold_draws=0, user_batch={args.user_batch}, "
        "negatives=8); "
        f"LightGCN: 64-d, 3 layers, 2,048 pairs per step, max_epochs=1, eval_every=1. Item-path model: "
        "ItemPathConfig() (default θ: dense ridge route up to max_dense_items candidate items, sparse components "
        "above), one closed-form fit, then evaluate(part='valid', cutoffs=(20,)). "
        f"Phases: {', '.join(args.phase_list)}. One process per size; {limit}; {stop}."
    )


def _s(value: float | None, extrapolated: bool = False) -> str:
    """Seconds for the tables (hours added past one), ``~…*`` when extrapolated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:,.1f} s" if value < 100 else f"{value:,.0f} s"
    text = f"~{text}*" if extrapolated else text
    return f"{text} ({value / 3600:.1f} h)" if value >= 3600 else text


def _n(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _parts(block: dict | None) -> str:
    if not block:
        return "–"
    flag = block["extrapolated"]
    inner = f"graph {_s(block['graph'])}, " if "graph" in block else f"setup {_s(block['setup'])}, "
    train = _s(block["train"], block["train_loop"]["extrapolated"])
    valid = _s(block["valid"], block["valid_loop"]["extrapolated"])
    return f"{_s(block['epoch'], flag)} ({inner}train {train}, valid {valid})"


def results_table(rows: list[dict]) -> list[str]:
    """Markdown: one row per size."""
    lines = [
        "| events | users | items | interests | edges | generate | build | model epoch (parts) | LightGCN epoch "
        "(parts) | peak RSS | status |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for r in rows:
        nodes = r.get("nodes", {})
        edges = sum(r["edges"].values()) if r.get("edges") else None
        lines.append(
            f"| {r.get('events', r['size']):,} | {_n(nodes.get('user'))} | {_n(nodes.get('item'))} | "
            f"{_n(nodes.get('interest'))} | {_n(edges)} | "
            f"{_s(r['seconds'].get('generate'))} | {_s(r['seconds'].get('build'))} | {_parts(r.get('model'))} | "
            f"{_parts(r.get('lightgcn'))} | "
            f"{'–' if 'peak_rss_mib' not in r else format(r['peak_rss_mib'], ',.0f') + ' MiB'} | {r['status']} |"
        )
    return lines


def memory_table(rows: list[dict], phases: tuple[str, ...] = PHASES) -> list[str]:
    """Markdown: per phase, RSS at start → sampled peak, and the process high-water mark after it (MiB)."""
    lines = ["| events | " + " | ".join(phases) + " |", "|---:|" + "---|" * len(phases)]
    for r in rows:
        cells = []
        for phase in phases:
            m = r["memory"].get(phase)
            if m is None:
                cells.append("–")
                continue
            parts = ", ".join(f"{part} {v['peak_rss_mib']:,.0f}" for part, v in m.get("parts", {}).items())
            cells.append(
                f"{m['start_rss_mib']:,.0f} → {m['peak_rss_mib']:,.0f} (max {m['maxrss_after_mib']:,.0f}; VM "
                f"{m['peak_vm_mib']:,.0f})" + (f"; peaks: {parts}" if parts else "")
            )
        lines.append(f"| {r['size']:,} | " + " | ".join(cells) + " |")
    return lines


def _fit_parts(parts: dict[str, float]) -> str:
    return ", ".join(f"{name} {_s(value)}" for name, value in parts.items())


def item_path_table(rows: list[dict]) -> list[str]:
    """Markdown: one row per size with the item-path phase (route, components, fit seconds by part, validation)."""
    lines = [
        "| events | candidate items | route | components (θ) | fit (parts) | score one batch (by component) | "
        "validation | NDCG@20 | Recall@20 | phase peak RSS | status |",
        "|---:|---:|---|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if "item-path fit" not in r.get("memory", {}):
            continue
        facts = r.get("item_path") or {}
        memory = r["memory"].get("item-path fit") or {}
        theta = ", ".join(f"{name} {value:g}" for name, value in facts.get("theta", {}).items()) or "–"
        skipped = "; skipped: " + ", ".join(facts["skipped"]) if facts.get("skipped") else ""
        metric = {k: "–" if facts.get(k) is None else f"{facts[k]:.4f}" for k in ("ndcg@20", "recall@20")}
        parts = {k: v for k, v in facts.get("fit_parts", {}).items() if k != "failed in"}
        failed = facts.get("fit_parts", {}).get("failed in")
        fit = f"{_s(facts.get('fit'))} ({_fit_parts(parts)}{'; failed in ' + failed if failed else ''})"
        peak = f"{memory['peak_rss_mib']:,.0f} MiB" if memory else "–"
        batch = facts.get("score_batch")
        if batch:
            each = ", ".join(f"{k} {_s(v)}" for k, v in batch["seconds"].items() if k != "score")
            batch = f"{_s(batch['seconds']['score'])} for {batch['users']:,} users ({each})"
        lines.append(
            f"| {r.get('events', r['size']):,} | {_n(facts.get('active_items'))} | {facts.get('route', '–')} | "
            f"{theta}{skipped} | {fit} | {batch or '–'} | {_s(facts.get('valid'), bool(facts.get('extrapolated')))} | "
            f"{metric['ndcg@20']} | {metric['recall@20']} | {peak} | {r['status']} |"
        )
    return lines


def notes(rows: list[dict]) -> list[str]:
    """Lines on the extrapolated loops and the failures."""
    out = []
    for r in rows:
        for key, label in (("model", "model"), ("lightgcn", "LightGCN"), ("item_path", "item-path")):
            for loop in ("train_loop", "valid_loop"):
                facts = (r.get(key) or {}).get(loop)  # item-path: only its validation is a metered loop
                if facts and facts["extrapolated"]:
                    out.append(
                        f"- {r['size']:,} events, {label} {loop.replace('_loop', '')}: EXTRAPOLATED from "
                        f"{facts['batches_run']} of "
                        f"{facts['batches_total']:,} batches ({facts['seconds_per_batch']:.2f} s per batch → "
                        f"{facts['seconds_extrapolated']:,.0f} s)"
                    )
        for f in r.get("failures", []):
            out.append(f"- {r['size']:,} events: {f['status']} at phase {f['phase']}: {f['error']} (from {f['where']})")
    return out


def report(rows: list[dict], args: argparse.Namespace, machine: dict, command: str, load: tuple[float, float]) -> str:
    """The Markdown report: settings, results, the item-path fit, memory per phase, notes, command."""
    phases = tuple(args.phase_list)
    text = [
        "# Scale curve: graph build, one training epoch, the closed-form item-path fit",
        "",
        settings_line(args, machine),
        f"1-minute load average {load[0]:.2f} before, {load[1]:.2f} after (other jobs may share the cores).",
        "",
        *results_table(rows),
        "",
        "`*` / `~`: extrapolated (see notes). Epoch parts: model = hold-out graph + training batches + validation "
        "(`model.report_.epoch_seconds`); LightGCN = setup (adjacency, sampler) + training batches + validation.",
        "",
    ]
    if "item-path fit" in phases:
        text += [
            "Item-path fit (`ItemPathModel(ItemPathConfig()).fit(graph)`, closed form: one fit is the fit to "
            "convergence), then validation (`evaluate(model, split, part='valid', cutoffs=(20,))`). Route: dense = "
            "the ridge backbone and one combined item × item matrix (`model.combined_`), sparse = the components "
            "applied one by one (`combined_` None). Fit parts: setup (positives, item data), each component's `fit` "
            "(the first that needs R̃ also normalises the log), history (first steps), rescale (norms on a user "
            "sample), combine (dense route):",
            "",
            *item_path_table(rows),
            "",
        ]
    text += [
        "Memory per phase, MiB: resident at start → sampled peak (max = the process's ru_maxrss after the phase; VM "
        "= peak address space; "
        "peaks: sampled peak of each part of an epoch):",
        "",
        *memory_table(rows, phases),
        "",
    ]
    extra = notes(rows)
    if extra:
        text += ["Notes:", "", *extra, ""]
    text += [f"Command: `{command}`"]
    return "\n".join(text) + "\n"


def main(argv: list[str] | None = None) -> int:
    args, sizes = parse_args(argv)
    command = "python benchmarks/scale_curve.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    from benchmarks.accuracy import versions

    machine = hardware()
    settings = {
        "threads": args.threads,
        "device": args.device,
        "user_batch": args.user_batch,
        "memory_limit": args.memory_limit,
        "budget": args.budget,
        "min_batches": args.min_batches,
        "max_batches": args.max_batches,
        "inject": args.inject_at,
        "phases": list(args.phase_list),
    }
    print(settings_line(args, machine), flush=True)
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ig-scale-") as tmp:
        for k, size in enumerate(sizes, 1):
            print(f"[{k}/{len(sizes)}] {size:,} events", flush=True)
            rows.append(run_case(size, settings, Path(tmp)))
            print(
                f"[{k}/{len(sizes)}] {size:,} events: {rows[-1]['status']} in {rows[-1]['wall_seconds']:.0f} s",
                flush=True,
            )
    text = report(rows, args, machine, command, (load_before, os.getloadavg()[0]))
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        payload = {
            "command": command,
            "settings": settings,
            "settings_line": settings_line(args, machine),
            "machine": machine,
            "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
            "versions": versions(),
            "rows": rows,
        }
        (args.out / "scale-curve.json").write_text(json.dumps(payload, indent=2, default=float))
        (args.out / "scale-curve.md").write_text(text)
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
