"""Contrastive fine-tuning of the text encoder on (text, document) pairs: pull a tag or query toward the documents of
the items people attached it to.

    encoder = TextEncoder(EncoderConfig(mode="top", top_layers=2))
    report = fine_tune_contrastive(encoder, pairs)     # pairs: [(text, document), ...]

The loss is the symmetric in-batch InfoNCE of dual encoders: for a batch of ``B`` pairs, ``softmax(q · dᵀ / τ)``
should put each text on its own document and each document on its own text; a pair whose document (or text) repeats
in the batch is not counted as a negative. Only the encoder's trainable part moves (mode ``"top"`` or ``"lora"``);
afterwards the encoder carries a fine-tuned identity (:func:`~interestgraph.encoder.identity.describe_encoder`), so
vectors made before and after are never mixed.

The defaults (one epoch, AdamW lr 1e-4, batch 64, τ 0.05) are the setting the intent benchmark's validation queries
chose over the three tried (lr 5e-5 for one and for two epochs, lr 1e-4 for one; ``benchmarks/README.md``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..ops import check_positive_int
from ..progress import progress


def fine_tune_contrastive(
    encoder,
    pairs: Sequence[tuple[str, str]],
    *,
    epochs: int = 1,
    batch_size: int = 64,
    lr: float = 1e-4,
    temperature: float = 0.05,
    seed: int = 0,
) -> dict:
    """Train ``encoder``'s trainable part on ``pairs`` (``(text, document)``); returns ``{"pairs", "steps",
    "loss_per_epoch", "seconds"}``.

    Raises:
        ValueError: a frozen encoder, no pairs, an empty text, or a bad setting.
    """
    if not encoder.trainable_parameters():
        raise ValueError("encoder: it has no trainable parameters (mode 'frozen'); use mode 'top' or 'lora'")
    pairs = [(str(a), str(b)) for a, b in pairs]
    if not pairs:
        raise ValueError("pairs: give at least one (text, document) pair")
    if any(not a.strip() or not b.strip() for a, b in pairs):
        raise ValueError("pairs: every text and document must be non-empty")
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size, minimum=2)
    if not lr > 0 or not temperature > 0:
        raise ValueError(f"lr and temperature must be > 0, got {lr!r} and {temperature!r}")
    started = time.perf_counter()
    encoder.precompute(list(dict.fromkeys(t for pair in pairs for t in pair)), show_progress=False)
    optimizer = torch.optim.AdamW(encoder.trainable_parameters(), lr=lr, weight_decay=0.01)
    order = list(range(len(pairs)))
    rng = random.Random(seed)
    losses, steps = [], 0
    encoder.train()
    try:
        for epoch in range(epochs):
            rng.shuffle(order)
            total, count = 0.0, 0
            batches = range(0, len(order), batch_size)
            for start in progress(batches, desc=f"contrastive epoch {epoch + 1}/{epochs}", unit="batch"):
                batch = [pairs[k] for k in order[start : start + batch_size]]
                if len(batch) < 2:
                    continue
                loss = _info_nce(encoder, batch, temperature)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total, count, steps = total + float(loss.detach()), count + 1, steps + 1
            losses.append(round(total / max(count, 1), 4))
    finally:
        encoder.eval()
    encoder.load_trainable_state_dict(encoder.trainable_state_dict())  # records the fine-tuned identity
    return {"pairs": len(pairs), "steps": steps, "loss_per_epoch": losses, "seconds": time.perf_counter() - started}


def _info_nce(encoder, batch: list[tuple[str, str]], temperature: float) -> torch.Tensor:
    """The symmetric in-batch InfoNCE of one batch; repeated documents / texts are not negatives of each other."""
    texts, documents = [a for a, _ in batch], [b for _, b in batch]
    logits = encoder(texts) @ encoder(documents).T / temperature
    same_document = torch.tensor([[x == y for y in documents] for x in documents], device=logits.device)
    same_text = torch.tensor([[x == y for y in texts] for x in texts], device=logits.device)
    eye = torch.eye(len(batch), dtype=torch.bool, device=logits.device)
    logits = logits.masked_fill((same_document | same_text) & ~eye, float("-inf"))
    target = torch.arange(len(batch), device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
