"""Fine-tuning the text encoder inside the path model's optimisation.

With ``TrainConfig.encoder_mode`` ``"top"`` or ``"lora"`` the trainer holds a
:class:`JointEncoder`. The CPU reality (one all-layer MiniLM step on 64 texts
takes ~1 s) sets the shape:

- **Cached vectors for most nodes.** The scorer keeps every item and interest
  vector as a buffer (the graph's encodings at first). After every joint epoch
  :meth:`JointEncoder.refresh` re-encodes all of them with the current weights,
  without gradients (in mode ``"top"`` over the cached lower-layer states, so only
  the trained top layers run).
- **Gradients through a few texts per step.** :meth:`JointEncoder.step_text`
  encodes, with autograd, up to ``encoder_interests`` interests of the step's
  target items and ``encoder_items`` of those items, and puts them in place of
  their cached rows; the loss's gradient then reaches the encoder through those rows
  (the projection, the GCN, the gates and the refined similarity weights all read
  them).
- **Warm start.** The first ``encoder_warmup_epochs`` epochs train with the
  encoder frozen, so the path model is sensible before the encoder moves.

The encoder's trainable parameters get their own AdamW group at ``encoder_lr``
(2e-5 by default, the GNN's ``lr`` is 5e-3) without weight decay. The trained
model keeps the encoder's trainable state (``encoder.safetensors``), and texts
added later (items, queries) are encoded by that fine-tuned encoder.

Shapes: ``I`` items, ``V`` interests, ``t`` the encoder width.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..encoder import EncoderConfig, TextEncoder
from ..encoder.identity import describe_encoder, same_encoder


def encoder_settings(config) -> dict:
    """The :class:`EncoderConfig` fields a :class:`TrainConfig` sets (mode, top layers, LoRA rank and alpha)."""
    return {
        "mode": config.encoder_mode,
        "top_layers": config.encoder_top_layers,
        "lora_r": config.encoder_lora_r,
        "lora_alpha": 2 * config.encoder_lora_r,
    }


class JointEncoder:
    """The trainable encoder of one training run and the texts of the graph's items and interests.

    Args:
        graph: the :class:`~interestgraph.graph.InterestGraph` being trained on (its encoder must be
            the one loaded here: the packaged MiniLM by default).
        config: the :class:`~interestgraph.train.TrainConfig` (``encoder_*`` fields).
        device: where the encoder runs.

    The encoder loaded is the one the graph names (``graph.encoder_identity``): the packaged
    MiniLM, or the model directory / hub id it was built with.

    Raises:
        ValueError: naming ``encoder_mode`` when the graph's vectors were not made by this encoder.
    """

    def __init__(self, graph, config, device: torch.device):
        from ..graph.build import catalog_has_text

        recorded = graph.encoder_identity or ""
        if recorded.startswith("lexical-"):
            raise ValueError(
                f"encoder_mode={config.encoder_mode!r}: the graph was encoded by {recorded!r}, which has nothing to "
                "fine-tune; "
                "build the graph with a transformers encoder (the default) or use encoder_mode='frozen'"
            )
        self.config = config
        settings = encoder_settings(config)
        name = (
            recorded.rsplit(" sha256:", 1)[0] if " sha256:" in recorded else None
        )  # older graphs record the hash only
        encoder_model = None if name is None or name.startswith("all-MiniLM-L6-v2 (package") else name
        self.encoder = TextEncoder(EncoderConfig(model=encoder_model, device=str(device), **settings))
        if not same_encoder(self.encoder, recorded):
            raise ValueError(
                f"encoder_mode={config.encoder_mode!r}: the graph's vectors were made by {recorded!r}, "
                f"not by {describe_encoder(self.encoder)!r}; fine-tune the encoder that built the graph"
            )
        self.settings = settings
        self.interest_texts = [str(x) for x in graph.interests["label"]]
        log = graph.split.log
        texts = log.item_texts()
        ids = log.items["item_id"]
        #: item codes that have text (the others keep a zero vector, as the build left them)
        self._has_text = catalog_has_text(texts, ids)
        self.item_rows = np.flatnonzero(self._has_text).astype(np.int64)
        self.item_texts = [texts[i] for i in self.item_rows]
        links = graph.edges.get("item-interest")
        self.item_interests = (
            None
            if links is None or not len(graph.interests)
            else sp.csr_matrix(
                (np.ones(len(links)), (links["src"].to_numpy(), links["dst"].to_numpy())),
                shape=(len(texts), len(graph.interests)),
            )
        )
        self.encoder.precompute(self.interest_texts + self.item_texts)  # mode "top": lower layers once

    def parameters(self) -> list[torch.nn.Parameter]:
        """The encoder's trainable parameters."""
        return self.encoder.trainable_parameters()

    def step_text(self, scorer, items: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``(item_text (I, t), interest_text (V, t))``: the cached vectors with a few rows re-encoded with gradients.

        Args:
            scorer: the :class:`~interestgraph.paths.PathScorer` (its ``item_text`` / ``interest_text`` buffers).
            items: ``(m,)`` item codes of the step's targets; the interests they carry and a sample of
                them (those with text) are re-encoded.
            rng: the epoch's generator (which rows are drawn).

        Dropout follows the encoder's mode (the trainer calls ``encoder.train()`` for joint epochs).
        """
        item_text, interest_text = scorer.item_text, scorer.interest_text
        items = np.unique(items)
        if self.config.encoder_interests and self.item_interests is not None:
            linked = np.unique(self.item_interests[items].indices)
            if len(linked) > self.config.encoder_interests:
                linked = rng.choice(linked, size=self.config.encoder_interests, replace=False)
            if len(linked):
                fresh = self.encoder([self.interest_texts[i] for i in linked]).to(interest_text.dtype)
                interest_text = interest_text.index_put((torch.from_numpy(linked).to(interest_text.device),), fresh)
        with_text = items[self._has_text[items]]
        if self.config.encoder_items and len(with_text):
            drawn = rng.choice(with_text, size=min(self.config.encoder_items, len(with_text)), replace=False)
            fresh = self.encoder([self.item_texts[k] for k in np.searchsorted(self.item_rows, drawn)]).to(
                item_text.dtype
            )
            item_text = item_text.index_put((torch.from_numpy(drawn).to(item_text.device),), fresh)
        return item_text, interest_text

    @torch.no_grad()
    def refresh(self, scorer) -> None:
        """Re-encode every item and interest text with the current weights into the scorer's buffers."""
        self.encoder.eval()
        device = scorer.interest_text.device
        if self.interest_texts:
            scorer.interest_text.copy_(self.encoder.encode(self.interest_texts).to(device))
        if len(self.item_rows):
            scorer.item_text[torch.from_numpy(self.item_rows).to(device)] = self.encoder.encode(self.item_texts).to(
                device
            )

    def state(self) -> dict[str, torch.Tensor]:
        """The encoder's trainable parameters (detached CPU copies)."""
        return self.encoder.trainable_state_dict()

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        """Put back a state from :meth:`state`."""
        self.encoder.load_trainable_state_dict(state)
