"""Training checkpoints without pickle: parameters and optimiser tensors in safetensors, the rest in JSON.

A checkpoint directory holds the state after the last finished epoch:

- ``model.safetensors``: the scorer's ``state_dict``;
- ``best.safetensors``: the best epoch's ``state_dict`` (when there is one);
- ``optimiser.safetensors``: every tensor of the optimiser's per-parameter state
  (``{index}.{name}``) plus the torch CPU generator state (``rng.torch``);
- ``state.json``: epoch, best value and epoch, patience counter, history, the
  optimiser's param groups and scheduler state, and the numpy generators'
  bit-generator states (plain integers).

Written atomically (:func:`interestgraph.artifacts.atomic_directory`), so a
run killed during a save resumes from the previous epoch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..artifacts import atomic_directory, load_tensors, save_tensors
from ..errors import ArtifactError

#: the files of a checkpoint directory (what an existing one may hold to be replaced by the next epoch's)
CHECKPOINT_FILES = {"state.json", "model.safetensors", "best.safetensors", "optimiser.safetensors"}


def is_checkpoint(directory: Path) -> bool:
    """Whether ``directory`` holds a checkpoint and nothing else (so a save may replace it)."""
    names = {p.name for p in Path(directory).iterdir()}
    return "state.json" in names and names <= CHECKPOINT_FILES


def _optimiser_tensors(optimiser: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimiser.state_dict()
    tensors, scalars = {}, {}
    for index, entry in state["state"].items():
        for name, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def save_checkpoint(
    directory: Path,
    scorer: torch.nn.Module,
    optimiser,
    scheduler,
    rng: np.random.Generator,
    sampler,
    progress: dict[str, Any],
    best_state: dict[str, torch.Tensor] | None,
) -> None:
    """Write the full training state after an epoch (atomically replaces the previous checkpoint)."""
    tensors, opt_meta = _optimiser_tensors(optimiser)
    tensors["rng.torch"] = torch.get_rng_state()
    with atomic_directory(directory, overwrite=True, replaceable=is_checkpoint) as tmp:
        save_tensors(
            {k: v.detach().cpu().contiguous() for k, v in scorer.state_dict().items()}, tmp / "model.safetensors"
        )
        if best_state is not None:
            save_tensors({k: v.detach().cpu().contiguous() for k, v in best_state.items()}, tmp / "best.safetensors")
        save_tensors(tensors, tmp / "optimiser.safetensors")
        payload = {
            **progress,
            "optimiser": opt_meta,
            "scheduler": scheduler.state_dict(),
            "rng": rng.bit_generator.state,
            "sampler_rng": sampler.rng.bit_generator.state,
            "best": None if not np.isfinite(progress["best"]) else progress["best"],
        }
        (tmp / "state.json").write_text(json.dumps(payload, default=_plain))


def load_checkpoint(
    directory: Path,
    scorer: torch.nn.Module,
    optimiser,
    scheduler,
    rng: np.random.Generator,
    sampler,
    fingerprint: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Restore a state written by :func:`save_checkpoint` into live objects; returns the progress dict.

    Raises:
        ArtifactError: unreadable, or written by a run with other settings or another graph than ``fingerprint``.
    """
    try:
        payload = json.loads((directory / "state.json").read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{directory}: unreadable training checkpoint ({exc})") from exc
    recorded = payload.get("fingerprint")
    if fingerprint is not None and recorded is not None and recorded != fingerprint:
        differs = [part for part in fingerprint if recorded.get(part) != fingerprint[part]]
        detail = []
        for part in differs:
            if isinstance(fingerprint[part], dict) and isinstance(recorded.get(part), dict):
                detail += [
                    f"{part}.{k}: {recorded[part].get(k)!r} then, {v!r} now"
                    for k, v in fingerprint[part].items()
                    if recorded[part].get(k) != v
                ][:3]
            else:
                detail.append(f"{part} differs")
        raise ArtifactError(
            f"{directory}: the checkpoint was written by a run with other settings ({'; '.join(detail)}); "
            "resume with the same settings and graph, or start over in another checkpoint directory"
        )
    try:
        scorer.load_state_dict(load_tensors(directory / "model.safetensors"))
        tensors = load_tensors(directory / "optimiser.safetensors")
    except (OSError, ValueError, RuntimeError) as exc:
        raise ArtifactError(f"{directory}: unreadable training checkpoint ({exc})") from exc
    torch.set_rng_state(tensors.pop("rng.torch"))
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    for key, value in payload["optimiser"]["scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimiser.load_state_dict({"state": state, "param_groups": payload["optimiser"]["param_groups"]})
    scheduler.load_state_dict(payload["scheduler"])
    rng.bit_generator.state = payload["rng"]
    sampler.rng.bit_generator.state = payload["sampler_rng"]
    best_path = directory / "best.safetensors"
    out = {k: payload[k] for k in ("epoch", "best_epoch", "stale", "history")}
    out["best"] = -np.inf if payload["best"] is None else payload["best"]
    if best_path.exists():
        out["best_state"] = load_tensors(best_path)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
