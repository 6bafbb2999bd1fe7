"""Cold-item calibration: after training, set the gate bias of items without user edges by the training loss.

A cold item (no user edge, and no event in training: a new item) is reached only through its text and interests;
:func:`calibrate_cold` sets the learned ``cold_bias`` on its gate so such items rank as often as they should
(see :mod:`interestgraph.paths.scorer`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from ..paths.scorer import GATE_BOUND
from ..paths.tables import items_with_positives
from ..progress import progress
from .epoch import NoBar, epoch_graph
from .losses import BPRLoss, SoftmaxLoss, make_loss
from .sampling import NegativeSampler, allowed_items, batch_pairs, cold_training_share, hold_out, start_columns


@torch.no_grad()
def calibrate_cold(
    config,
    graph,
    scorer,
    tables: dict[str, sp.csr_matrix],
    not_cold: np.ndarray,
    train: sp.csr_matrix,
    rng: np.random.Generator,
    times: sp.csr_matrix | None,
    device: torch.device,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Set ``cold_bias`` so that items without user edges rank as often as they should (the training loss on
    simulated cold items).

    Each of ``cold_draws`` draws hides items as cold (:func:`~interestgraph.train.sampling.hold_out` with
    ``cold_share``) and a
    share ``holdout`` of the other pairs, scores every target user once with the trained
    parameters, and samples negatives (``loss="bpr"``) or keeps each user's logits over the candidates
    (``"softmax"``); the bias ``b`` then minimises that loss over all
    draws, where a cold item's scores scale by ``s_c(b) / s_c(0)`` (its gate; exact while a cold
    item ends its walks and is never walked through, as with the default edge types; with typed gates
    its item–interest gate, over which such walks arrive unless item–item edges are on), found
    on a grid of step 0.05 in ``[-3, 6]`` (softmax, whose loss costs a pass over every logit: step 0.25,
    then 0.05 around the best point). Shares mirror the split's protocol when it is a
    cold-item protocol (its ``cold_fraction`` and test share), else ``TrainConfig.cold_items``
    and ``holdout``.
    """
    cfg = config
    protocol = graph.split.protocol
    if protocol.method == "cold-item":
        share = float(protocol.params.get("cold_fraction", cfg.cold_items))
        ratios = protocol.params.get("ratios", [0.8, 0.1, 0.1])
        holdout = float(ratios[-1]) / float(sum(ratios))
    else:
        share, holdout = cold_training_share(cfg, protocol) or 0.1, cfg.holdout
    if cfg.cold_draws == 0 or share == 0 or "user-item" not in scorer.config.edge_types:
        with torch.no_grad():
            scorer.cold_bias.zero_()
        return {"bias": 0.0, "draws": 0}
    # negatives among the items with positives, the ranked candidates (simulated cold items among them)
    sampler = NegativeSampler(train, seed=cfg.seed + 2, items=items_with_positives(train))
    softmax = cfg.loss == "softmax"
    loss_object = make_loss(cfg.loss, cfg.softmax_temperature)
    per_target = 1 if softmax else cfg.negatives
    candidates = items_with_positives(train)
    candidates_on_device = torch.from_numpy(candidates).to(device)
    column = np.full(train.shape[1], -1, dtype=np.int64)  # item code -> its column among the candidates
    column[candidates] = np.arange(len(candidates))
    pos_f, neg_f, pos_h, neg_h, pos_cold, neg_cold = [], [], [], [], [], []
    batches: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []  # softmax
    sample_rng = np.random.default_rng(cfg.seed + 3)  # apart from ``rng``, so logs under the cap draw as before
    bar = progress(total=cfg.cold_draws, desc="calibrate cold items", unit="draw") if show_progress else NoBar()
    for _ in range(cfg.cold_draws):
        kept, target_users, target_items = hold_out(train, holdout, rng, times, share)
        operator, start_weights, blocks, structure, cold = epoch_graph(
            graph, scorer.config, tables, not_cold, kept, device
        )
        z = scorer.node_vectors(structure, cold).float()
        scorer.cold_bias.zero_()
        s, p = scorer.gates(z, cold)
        h = scorer.gate_input(z)[operator.n_users : operator.n_users + operator.n_items]
        if h.dim() == 2:  # typed gates: walks into an item without user edges arrive over its item–interest edges
            h = h[:, scorer.types.index("item-interest")]
        h = h.cpu().numpy()
        cold_np = cold.cpu().numpy()
        h_c, cold_c = (
            torch.from_numpy(h[candidates]).double().to(device),
            torch.from_numpy(cold_np[candidates]).to(device),
        )  # shared by the draw's batches
        users = np.unique(target_users)
        if len(users) > cfg.calibration_users:  # one scalar is fitted: a seeded sample of users is plenty
            users = np.sort(sample_rng.choice(users, cfg.calibration_users, replace=False))
        for begin in range(0, len(users), cfg.user_batch):
            batch = users[begin : begin + cfg.user_batch]
            rows, _, t_items, negs = batch_pairs(batch, target_users, target_items, per_target, sampler)
            scores = scorer.walk_scores(
                blocks, s, p, torch.from_numpy(batch).to(device), start=start_columns(start_weights, batch, device)
            )
            if softmax:  # the batch's logits over the candidates, the user's kept items at -inf
                allowed = allowed_items(kept, batch, candidates_on_device, device)[:, candidates]
                logits = loss_object.logits(scores[:, candidates]).double().masked_fill(~allowed, float("-inf"))
                batches.append(
                    (
                        logits,  # kept on the device: the grid below passes over every logit about 50 times
                        torch.from_numpy(rows).to(device),
                        torch.from_numpy(column[t_items]).to(device),
                        h_c,
                        cold_c,
                    )
                )
                pos_cold.append(cold_np[t_items])
                continue
            scores = scores.cpu().numpy()
            pos_f.append(scores[rows, t_items])
            neg_f.append(scores[rows, negs])
            pos_h.append(h[t_items])
            neg_h.append(h[negs])
            pos_cold.append(cold_np[t_items])
            neg_cold.append(cold_np[negs])
        bar.update(1)
    bar.close()
    log_gate = lambda x: GATE_BOUND * np.tanh(x / GATE_BOUND)
    torch_log_gate = lambda x: GATE_BOUND * torch.tanh(x / GATE_BOUND)
    pos_cold = np.concatenate(pos_cold)
    if softmax:

        def loss(b: float) -> float:
            """Mean softmax cross-entropy of the targets, cold candidates' logits scaled by their gate ratio."""
            total, count = 0.0, 0
            for logits, rows, targets, h_c, cold_c in batches:
                ratio = torch.where(
                    cold_c,
                    torch.exp(torch_log_gate(h_c + b) - torch_log_gate(h_c)),
                    torch.ones_like(h_c),
                )
                adjusted = logits * ratio  # -inf stays -inf (ratio > 0)
                terms = SoftmaxLoss.terms_of_logits(adjusted, rows, targets)
                total += float(terms.sum())
                count += len(rows)
            return total / max(count, 1)
    else:
        pos_f, neg_f, pos_h, neg_h = (np.concatenate(x).astype(np.float64) for x in (pos_f, neg_f, pos_h, neg_h))
        neg_cold = np.concatenate(neg_cold)

        def loss(b: float) -> float:
            fp = pos_f * np.where(pos_cold, np.exp(log_gate(pos_h + b) - log_gate(pos_h)), 1.0)
            fn = neg_f * np.where(neg_cold, np.exp(log_gate(neg_h + b) - log_gate(neg_h)), 1.0)
            return float(BPRLoss.pair_terms(torch.from_numpy(fp), torch.from_numpy(fn)).mean())

    grid = np.round(np.arange(-3.0, 6.0 + 1e-9, 0.25 if softmax else 0.05), 2)
    losses = np.array([loss(b) for b in grid])
    if softmax:  # refine around the coarse minimum
        centre = float(grid[int(np.argmin(losses))])
        grid = np.round(np.arange(max(-3.0, centre - 0.25), min(6.0, centre + 0.25) + 1e-9, 0.05), 2)
        losses = np.array([loss(b) for b in grid])
    bias = float(grid[int(np.argmin(losses))])
    scorer.cold_bias.fill_(bias)
    return {
        "bias": bias,
        "draws": cfg.cold_draws,
        "cold_share": share,
        "holdout": holdout,
        "loss_kind": cfg.loss,
        "cold_targets": int(pos_cold.sum()) // per_target,
        "targets": len(pos_cold) // per_target,
        "loss_at_0": loss(0.0),
        "loss": float(losses.min()),
    }


__all__ = ["calibrate_cold"]
