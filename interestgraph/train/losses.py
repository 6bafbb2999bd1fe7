"""Ranking losses as objects, shared by the path model's training step, its cold-item calibration and the BPR
baselines (:mod:`interestgraph.baselines`).

- :class:`SoftmaxLoss`: each target's cross-entropy against a set of candidate items,
  ``log Σ_{j ∈ C_u} exp(f(u, j)/τ) − f(u, i)/τ``.
- :class:`BPRLoss`: ``−log σ(f(u, i) − f(u, j))`` for a sampled negative ``j``.

:class:`StepLoss` is one training step of a :class:`~interestgraph.paths.PathScorer` as a module (GCN vectors,
gates, walk scores, one of the losses above, L2 on the ID vectors used), so that
:class:`~torch.nn.parallel.DistributedDataParallel` can wrap it.
"""

from __future__ import annotations

import torch
from torch import nn


class SoftmaxLoss:
    """Softmax cross-entropy of targets against candidates, scores divided by ``temperature`` (``τ``).

    Args:
        temperature: ``τ`` (> 0).
    """

    kind = "softmax"

    def __init__(self, temperature: float = 1.0):
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.temperature = float(temperature)

    def logits(self, scores: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """``scores / τ``, with the entries outside ``allowed`` (``(B, n)`` bool) at ``-inf``."""
        logits = scores / self.temperature
        return logits if allowed is None else logits.masked_fill(~allowed, float("-inf"))

    @staticmethod
    def terms_of_logits(logits: torch.Tensor, rows: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``(m,)`` ``logsumexp(logits[row]) − logits[row, target]`` per target (``logits`` ``(B, n)``, masked)."""
        return torch.logsumexp(logits, dim=1)[rows] - logits[rows, targets]

    def terms(
        self,
        scores: torch.Tensor,
        rows: torch.Tensor,
        targets: torch.Tensor,
        negatives: torch.Tensor | None = None,
        allowed: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``(m,)`` per-target losses.

        Args:
            scores: ``(B, n)`` the batch users' scores.
            rows: ``(m,)`` row in ``scores`` of each target's user.
            targets: ``(m,)`` target item codes.
            negatives: unused (every allowed candidate is a negative).
            allowed: ``(B, n)`` bool, the candidates each user's targets are normalised over.
        """
        return self.terms_of_logits(self.logits(scores, allowed), rows, targets)

    def over_catalogue(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of ``(B,)`` targets against every column of ``(B, n)`` ``scores`` (the baselines')."""
        return nn.functional.cross_entropy(scores / self.temperature, targets)


class BPRLoss:
    """Bayesian personalised ranking: ``−log σ(f(u, i) − f(u, j))`` per (target, negative) pair."""

    kind = "bpr"

    @staticmethod
    def pair_terms(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        """``(m,)`` ``−log σ(positive − negative)``."""
        return -nn.functional.logsigmoid(positive - negative)

    def terms(
        self,
        scores: torch.Tensor,
        rows: torch.Tensor,
        targets: torch.Tensor,
        negatives: torch.Tensor | None = None,
        allowed: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``(m,)`` per-pair losses (``scores``, ``rows``, ``targets`` as :meth:`SoftmaxLoss.terms`; ``negatives``
        ``(m,)`` the pairs' negative item codes; ``allowed`` unused)."""
        return self.pair_terms(scores[rows, targets], scores[rows, negatives])


def make_loss(kind: str, temperature: float = 1.0) -> SoftmaxLoss | BPRLoss:
    """The loss object of ``TrainConfig.loss`` (``"softmax"`` or ``"bpr"``)."""
    if kind == "softmax":
        return SoftmaxLoss(temperature)
    if kind == "bpr":
        return BPRLoss()
    raise ValueError(f"loss must be 'bpr' or 'softmax', got {kind!r}")


class StepLoss(nn.Module):
    """The loss of one training step of a path scorer, as a module (so that DDP can wrap it).

    DDP synchronises gradients only for what its own ``forward`` computed; this module's ``forward`` runs the whole
    step (GCN vectors, gates, walk scores, the ranking loss, L2) on the wrapped
    :class:`~interestgraph.paths.PathScorer`. In one process it is called directly.

    Args:
        scorer: the scorer being trained (its parameters are this module's).
        l2: the ``l2`` weight on the ID vectors used.
        autocast: the context the GCN's dense part runs under (bf16 autocast on CUDA, else a null context).
        loss: ``"softmax"`` or ``"bpr"``, or a loss object.
        temperature: ``τ`` of the softmax loss.
    """

    def __init__(
        self,
        scorer: nn.Module,
        l2: float,
        autocast,
        loss: str | SoftmaxLoss | BPRLoss = "bpr",
        temperature: float = 1.0,
    ):
        super().__init__()
        self.scorer = scorer
        self.l2 = float(l2)
        self.autocast = autocast
        self.loss = make_loss(loss, temperature) if isinstance(loss, str) else loss

    def forward(
        self,
        structure: torch.Tensor,
        cold: torch.Tensor,
        blocks: list,
        users: torch.Tensor,
        start: torch.Tensor | None,
        rows: torch.Tensor,
        pos_users: torch.Tensor,
        pos_items: torch.Tensor,
        neg_items: torch.Tensor,
        text: tuple[torch.Tensor, torch.Tensor] | None = None,
        normaliser: int | None = None,
        allowed: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss, ranking)``, both scalars: ``ranking`` the softmax or BPR part, ``loss`` with the L2 term added.

        Args:
            structure: ``(N, N)`` normalised GCN structure of the epoch's hold-out.
            cold: ``(n_items,)`` bool cold mask.
            blocks: the walk blocks, one per edge type.
            users: ``(B,)`` user codes scored (one column each).
            start: ``(n_items, B)`` first-step factors, or None.
            rows: ``(m,)`` column in ``users`` of each pair's user.
            pos_users, pos_items, neg_items: ``(m,)`` the pairs' user, target and negative codes (softmax: one pair
                per target, its negative only in the L2 term).
            text: fresh encoder rows for joint training (see :meth:`PathScorer.base_vectors`).
            normaliser: None: ``ranking`` is the mean over the ``m`` pairs and the L2 term is divided by ``2m``
                (one process); else the pair count of the whole global batch, which divides the sums instead
                (this process's share of the global mean).
            allowed: ``(B, n_items)`` bool, softmax only: the items each user's target is normalised over.
        """
        scorer = self.scorer
        with self.autocast:
            z = scorer.node_vectors(structure, cold, text)
        z = z.float()
        s, p = scorer.gates(z, cold)
        scores = scorer.walk_scores(scorer.step_blocks(blocks, z), s, p, users, start=start)
        terms = self.loss.terms(scores, rows, pos_items, neg_items, allowed)
        ranking = terms.mean() if normaliser is None else terms.sum() / normaliser
        loss = ranking
        if self.l2 > 0:
            reg = scorer.user_embedding.weight[pos_users].pow(2).sum()
            if hasattr(scorer, "item_embedding"):
                reg = (
                    reg
                    + scorer.item_embedding.weight[pos_items].pow(2).sum()
                    + scorer.item_embedding.weight[neg_items].pow(2).sum()
                )
            loss = loss + self.l2 * reg / (2 * (len(pos_users) if normaliser is None else normaliser))
        return loss, ranking


__all__ = ["BPRLoss", "SoftmaxLoss", "StepLoss", "make_loss"]
