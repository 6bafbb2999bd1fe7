"""The interest-graph path model: scores are exact sums over user→item walks.

Choice (the original design record, kept outside the repository: "Faithful path scores", shape 2,
generalised): an item's score for a user is a weighted sum over the walks that join them in the
interest graph, with edge weights that a GCN over the encoder's vectors sets.
No dot product of free embeddings ranks anything, so an explanation that lists
the walks adds up to the score with **no remainder**. Shape 1 (decomposing a
propagated embedding model) was rejected: its ``k = l = 0`` term is matrix
factorisation and its affinity links ``⟨e_a, e_b⟩`` join nodes that share no
edge, so most of a score would sit outside any real path.

Algebra. Nodes ``0..N-1`` (users, items, interests; :mod:`.operator`).
For each edge type ``t`` in use, ``Â_t`` is the symmetric block of that type,
degree-normalised on its own (``D_t^{-a} A_t D_t^{-a}``). The GCN gives every
node a vector ``z = Σ_k (1/(K+1)) Â^k x⁰`` (``Â`` the normalised sum of the
blocks; ``x⁰``: users a learned ID vector, items their projected text vector
plus an ID vector, interests their projected label vector). From ``z``:

    s_a   = exp(3 · tanh((w · z_a + b_type(a) + b_cold · [a cold]) / 3))   node gate, in (e^-3, e^3)
    p_a   = M z_a                                          (r,)  pair-gate factors
    W[a,b] = γ_t(a,b) · s_a · s_b · Â_t[a, b] · (1 + ⟨p_a, p_b⟩)      the effective edge weight

With ``ModelConfig.typed_gates`` every node has one gate per edge type,
``s_a^(t) = exp(3 tanh((w_t · z_a + b_type(a) + b_cold [a cold]) / 3))``, and an edge of type
``t`` uses ``s_a^(t) s_b^(t)``: still a product of per-edge weights, so everything below holds.
    f(u, i) = Σ_{k=1..L} c_k · (W^k)[u, i]
            = Σ_{k=1..L} c_k · Σ_{walks u = x_0 → x_1 → … → x_k = i} Π_{j=1..k} W[x_{j-1}, x_j]

with ``γ_t > 0`` (softplus) per edge type and ``c_k`` per walk length learned.
Optionally (``ModelConfig.first_step_weights``) the first step of a walk, from the
scored user ``u`` to one of its items ``x_1``, carries a fixed extra factor
``r(u, x_1)`` (recency of that item in the user's history; 1 for steps to
interests), so ``f(u, i) = Σ_k c_k Σ_walks r(u, x_1) Π_j W[x_{j-1}, x_j]``: only the
scored user's own start is weighted, the rest of the walk (other users' items)
is not.
A *cold* item (no user edge, and no event at all in training: a new item) has no ID
vector in ``x⁰`` and adds the learned ``b_cold`` to its gate, so it is reached only
through its text and interests, with a gate set so that such items rank as often as
they should (:func:`~interestgraph.train.calibrate.calibrate_cold`); every walk into it
still carries its gate once, so its scores stay walk sums.
``W`` is symmetric, so every edge has one weight whichever way it is walked.
With ``L = 3`` the walks include co-occurrence ``u→j→u'→i`` (ItemKNN's and
LightGCN's signal), ``u→j→v→i`` (an item of the user shares interest ``v``),
``u→j→v'`` … and, where the edge types are on, ``u→v→i``, ``u→v→v'→i``,
``u→j→j'→i``. The seed formula ``Σ_v w(v|u)·sim(v, c)`` is the ``u→v→i``
family. Walks may revisit nodes (they are walks, not simple paths); that is what
the powers of ``W`` count, and what the enumeration in :func:`walk_contributions`
lists. Length-1 walks only reach the user's own training items, which the
evaluation masks.

Faithfulness. Given the effective weights ``W`` (frozen: no renormalisation),
``f`` is a polynomial in the edge weights: the walk contributions sum to the
score exactly; zeroing an edge removes exactly the walks through it; and
``w_e · ∂f/∂w_e`` is the sum over walks of (uses of e) × contribution. Tests
check all three in float64.

Cost. Training never materialises ``W``: ``W Y`` for a dense ``(N, B)``
block is ``s ⊙ Σ_t γ_t (Â_t (s⊙Y) + Σ_r p_r ⊙ Â_t (p_r ⊙ s ⊙ Y))``, one sparse
CSR product per type with ``B (r+1)`` columns, so gradients reach ``s``, ``p``,
``γ`` through dense element-wise products (gradients through the values of a
sparse COO ``W`` instead took 6.9 s for three products with 512 columns on one
CPU core: too slow to train on). Inference materialises ``W`` once (:meth:`PathScorer.effective_adjacency`)
and scores a batch of ``B`` users with ``L`` CSR products.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..graph.propagation import propagate
from .config import ModelConfig
from .operator import PathOperator
from .refine import SimilarityRefiner

if TYPE_CHECKING:
    from ..graph.interest_graph import InterestGraph

GATE_BOUND = 3.0


def without_init(module_cls: type[nn.Module], *args, **kwargs) -> nn.Module:
    """``module_cls(*args, **kwargs)`` with uninitialised parameters (``torch.empty``): its ``reset_parameters`` is
    not run and no random number is drawn, like ``torch.nn.utils.skip_init``, which builds on the meta device and so
    imports ``torch._dynamo`` (slow, and not needed to load a model)."""

    class Uninitialised(module_cls):
        def reset_parameters(self) -> None:
            pass

    module = Uninitialised(*args, **kwargs)
    module.__class__ = module_cls
    return module


class PathScorer(nn.Module):
    """Parameters of the path model and its two score computations (training and frozen).

    Args:
        config: the model configuration.
        n_users, n_items, n_interests: node counts.
        item_text: ``(n_items, t)`` encoder vectors of the items (or None).
        interest_text: ``(n_interests, t)`` encoder vectors of the interests (or None).
        types: edge types in block order (``len(types)`` coefficients ``γ_t``).
    """

    def __init__(
        self,
        config: ModelConfig,
        n_users: int,
        n_items: int,
        n_interests: int,
        item_text: torch.Tensor | None,
        interest_text: torch.Tensor | None,
        types: tuple[str, ...],
    ):
        super().__init__()
        self.config = config
        self.n_users, self.n_items, self.n_interests = n_users, n_items, n_interests
        self.types = tuple(types)
        d = config.dim
        use_text = config.text_features and item_text is not None and interest_text is not None
        self.uses_text = bool(use_text)
        # built without their default initialisation: reset_parameters() draws every value, in the order
        # earlier versions drew them, so a seed gives the same parameters as before
        self.user_embedding = without_init(nn.Embedding, n_users, d)
        if use_text:
            if (
                item_text.shape[0] != n_items
                or interest_text.shape[0] != n_interests
                or item_text.shape[1] != interest_text.shape[1]
            ):
                raise ValueError(
                    f"text vectors: items {tuple(item_text.shape)}, interests {tuple(interest_text.shape)} "
                    f"do not fit {n_items} items, {n_interests} interests"
                )
            self.register_buffer("item_text", item_text.float().contiguous())
            self.register_buffer("interest_text", interest_text.float().contiguous())
            self.projection = without_init(nn.Linear, item_text.shape[1], d, bias=False)
        else:
            self.interest_embedding = without_init(nn.Embedding, n_interests, d)
        if config.item_id_embedding or not use_text:
            self.item_embedding = without_init(nn.Embedding, n_items, d)
        #: one output per edge type with ``typed_gates`` (column ``t``: the gates of type ``types[t]``), else one
        self.node_gate = without_init(nn.Linear, d, len(self.types) if config.typed_gates else 1)
        self.type_bias = nn.Parameter(torch.zeros(3))  # user, item, interest
        #: extra gate bias of items without user edges (cold items); learned from items hidden as cold in training
        self.cold_bias = nn.Parameter(torch.zeros(1))
        self.pair_gate = without_init(nn.Linear, d, config.gate_rank, bias=False) if config.gate_rank > 0 else None
        self.type_raw = nn.Parameter(torch.empty(len(self.types)))
        self.length_coef = nn.Parameter(torch.empty(config.max_length))
        #: similarity types whose weights are recomputed from ``z`` while training
        #: (``config.similarity_edges="refined"``); their edge sets are set by the trainer
        #: (:meth:`SimilarityRefiner.set_pattern`)
        self.refiners = nn.ModuleDict()
        if config.similarity_edges == "refined":
            offsets = {"interest-interest": (n_users + n_items, n_interests), "item-item": (n_users, n_items)}
            for kind in self.types:
                if kind in offsets:
                    self.refiners[kind] = SimilarityRefiner(kind, *offsets[kind], temperature=config.refine_temperature)
        self.reset_parameters()
        #: ``(U, V)`` sparse ``w(v|u)`` rows when ``config.user_interest_mean`` (set by the trainer; not saved:
        #: scoring reads the frozen ``W``)
        self.user_interest: torch.Tensor | None = None

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Draw every parameter afresh: ID vectors ``N(0, 0.1²)``, the text projection ``N(0, 1/t)``, the pair gates
        ``N(0, 0.01/d)``, node gates and biases 0, ``γ_t = 1`` and ``c_k = 1``. Each module's own default reset runs
        first (and is overwritten), so the random stream, and with it a seeded model, is the one of earlier versions.
        """
        self.user_embedding.reset_parameters()
        nn.init.normal_(self.user_embedding.weight, std=0.1)
        if self.uses_text:
            self.projection.reset_parameters()
            nn.init.normal_(self.projection.weight, std=1.0 / math.sqrt(self.projection.in_features))
        else:
            self.interest_embedding.reset_parameters()
            nn.init.normal_(self.interest_embedding.weight, std=0.1)
        if hasattr(self, "item_embedding"):
            self.item_embedding.reset_parameters()
            nn.init.normal_(self.item_embedding.weight, std=0.1)
        self.node_gate.reset_parameters()
        nn.init.zeros_(self.node_gate.weight)
        nn.init.zeros_(self.node_gate.bias)
        self.type_bias.zero_()
        self.cold_bias.zero_()
        if self.pair_gate is not None:
            self.pair_gate.reset_parameters()
            nn.init.normal_(self.pair_gate.weight, std=0.1 / math.sqrt(self.config.dim))
        self.type_raw.fill_(math.log(math.e - 1.0))  # softplus⁻¹(1)
        self.length_coef.fill_(1.0)
        for refiner in self.refiners.values():
            refiner.threshold.zero_()

    @classmethod
    def from_graph(cls, config: ModelConfig, graph: InterestGraph, types: tuple[str, ...]) -> PathScorer:
        """A fresh scorer for ``graph``'s nodes and text vectors, walking edge types ``types`` (block order).

        Raises:
            ValueError: ``config.text_features`` without item vectors in the graph.
        """
        item_text = graph.item_vectors
        if config.text_features and item_text is None:
            raise ValueError(
                "config.text_features needs item vectors: build the graph with item_k > 0, or set text_features=False"
            )
        return cls(
            config,
            len(graph.users),
            len(graph.items),
            len(graph.interests),
            item_text,
            graph.interest_vectors,
            types,
        )

    def with_items(self, n_new: int, item_text: torch.Tensor | None = None) -> PathScorer:
        """A copy of this scorer with ``n_new`` more items appended (parameters shared by value, not by reference).

        Args:
            n_new: items to append.
            item_text: ``(n_new, t)`` their encoder vectors; required when the scorer uses text features.

        The new items' ID vectors are zero: they have no interactions, so as cold items their ID
        vector is left out of ``x⁰`` anyway (:meth:`base_vectors`).
        """
        if self.uses_text:
            if item_text is None or tuple(item_text.shape) != (n_new, self.item_text.shape[1]):
                got = None if item_text is None else tuple(item_text.shape)
                raise ValueError(
                    f"item_text: expected ({n_new}, {self.item_text.shape[1]}) vectors for the new items, got {got}"
                )
            text = torch.cat([self.item_text, item_text.to(self.item_text)])
            interest_text = self.interest_text
        else:
            text = interest_text = None
        state = {k: v.detach().clone() for k, v in self.state_dict().items()}
        if text is not None:
            state["item_text"] = text
        if "item_embedding.weight" in state:
            ids = state["item_embedding.weight"]
            state["item_embedding.weight"] = torch.cat([ids, ids.new_zeros(n_new, ids.shape[1])])
        grown = PathScorer(
            self.config, self.n_users, self.n_items + n_new, self.n_interests, text, interest_text, self.types
        )
        grown.load_state_dict(state)
        for kind, refiner in self.refiners.items():  # edge sets are not in the state dict
            grown.refiners[kind].rows, grown.refiners[kind].cols = refiner.rows.clone(), refiner.cols.clone()
        grown.user_interest = self.user_interest
        return grown.to(self.type_raw.device).train(self.training)

    def with_nodes(
        self, users: np.ndarray, interests: np.ndarray, interest_text: torch.Tensor | None = None
    ) -> PathScorer:
        """A copy keeping only ``users`` and ``interests`` (old codes, in their new order); items are unchanged.

        Args:
            users: ``(U',)`` old user codes to keep.
            interests: ``(V',)`` old interest codes to keep.
            interest_text: ``(V', t)`` the kept interests' encoder vectors (default: the old rows).

        Raises:
            ValueError: refined similarity edges (their edge sets are indexed by the old nodes).
        """
        if len(self.refiners):
            raise ValueError(
                "a scorer with refined similarity edges cannot drop nodes (its edge sets are indexed by them)"
            )
        users_t, interests_t = (
            torch.as_tensor(np.asarray(users), dtype=torch.long),
            torch.as_tensor(np.asarray(interests), dtype=torch.long),
        )
        state = {k: v.detach().clone() for k, v in self.state_dict().items()}
        state["user_embedding.weight"] = state["user_embedding.weight"][users_t]
        if "interest_embedding.weight" in state:
            state["interest_embedding.weight"] = state["interest_embedding.weight"][interests_t]
        text = interest_vectors = None
        if self.uses_text:
            interest_vectors = (
                self.interest_text[interests_t] if interest_text is None else interest_text.to(self.interest_text)
            )
            state["interest_text"] = interest_vectors
            text = self.item_text
        kept = PathScorer(self.config, len(users_t), self.n_items, len(interests_t), text, interest_vectors, self.types)
        kept.load_state_dict(state)
        return kept.to(self.type_raw.device).train(self.training)

    # ------------------------------------------------------------------ node side
    def base_vectors(
        self, cold: torch.Tensor | None = None, text: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """``(N, d)`` layer-0 node vectors ``x⁰`` (users, items, interests).

        Args:
            cold: optional ``(n_items,)`` bool, items without user edges: their ID vectors are left
                out (a cold item has only its text), so hiding an item in training mimics a new one.
            text: optional ``(item_text (n_items, t), interest_text (n_interests, t))`` used instead of the
                stored vectors (joint training passes rows fresh from the encoder, with gradients).
        """
        if self.uses_text:
            item_text, interest_text = (self.item_text, self.interest_text) if text is None else text
            items = self.projection(item_text)
            interests = self.projection(interest_text)
        else:
            items = torch.zeros(self.n_items, self.config.dim, device=self.type_raw.device)
            interests = self.interest_embedding.weight
        if hasattr(self, "item_embedding"):
            ids = self.item_embedding.weight
            if cold is not None:
                ids = ids * (~cold).to(ids.dtype)[:, None]
            items = items + ids
        users = self.user_embedding.weight
        if self.user_interest is not None:  # + Σ_v w(v|u) x⁰_v
            users = users + self.user_interest @ interests
        return torch.cat([users, items, interests])

    def node_vectors(
        self,
        structure: torch.Tensor,
        cold: torch.Tensor | None = None,
        text: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``(N, d)`` GCN vectors ``z`` over the normalised structure ``(N, N)`` (``cold``, ``text``: see
        :meth:`base_vectors`)."""
        return propagate(structure, self.base_vectors(cold, text), self.config.gcn_layers)

    def step_blocks(self, blocks: list[torch.Tensor], z: torch.Tensor) -> list:
        """``blocks`` (one per type, :attr:`types` order) with every refined similarity type recomputed from ``z``
        (differentiable)."""
        if not len(self.refiners):
            return blocks
        return [
            self.refiners[kind].block(z, self.config.exponent) if kind in self.refiners else block
            for kind, block in zip(self.types, blocks)
        ]

    @torch.no_grad()
    def refined_tables(self, structure: torch.Tensor, cold: torch.Tensor | None = None) -> dict[str, sp.csr_matrix]:
        """``{type: (n, n) float64 CSR}`` raw weights of the refined similarity types under the current parameters."""
        if not len(self.refiners):
            return {}
        z = self.node_vectors(structure, cold).float()
        return {kind: refiner.table(z) for kind, refiner in self.refiners.items()}

    def gate_input(self, z: torch.Tensor) -> torch.Tensor:
        """``(N,)`` ``w · z_a + b_type(a)``: a node's gate before the cold bias and the bound (``(N, T)`` with
        ``typed_gates``)."""
        node_type = torch.cat(
            [
                torch.zeros(self.n_users, dtype=torch.long),
                torch.ones(self.n_items, dtype=torch.long),
                torch.full((self.n_interests,), 2, dtype=torch.long),
            ]
        ).to(z.device)
        h = self.node_gate(z)
        if not self.config.typed_gates:
            return h.squeeze(-1) + self.type_bias[node_type]
        return h + self.type_bias[node_type][:, None]

    def gates(self, z: torch.Tensor, cold: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Node gates ``s`` ``(N,)`` (``(N, T)`` with ``typed_gates``: column ``t`` for edge type ``types[t]``) and
        pair-gate factors ``p`` ``(N, r)`` (None when ``r = 0``).

        Args:
            z: ``(N, d)`` node vectors.
            cold: optional ``(n_items,)`` bool, items without user edges: their gate input adds ``cold_bias``.
        """
        h = self.gate_input(z)
        if cold is not None:
            extra = torch.cat(
                [
                    torch.zeros(self.n_users, device=z.device),
                    cold.to(device=z.device, dtype=h.dtype) * self.cold_bias,
                    torch.zeros(self.n_interests, device=z.device),
                ]
            )
            h = h + (extra if h.dim() == 1 else extra[:, None])
        s = torch.exp(GATE_BOUND * torch.tanh(h / GATE_BOUND))
        p = self.pair_gate(z) if self.pair_gate is not None else None
        return s, p

    def type_weights(self) -> torch.Tensor:
        """``γ_t`` ``(T,)``, positive."""
        return nn.functional.softplus(self.type_raw)

    # ------------------------------------------------------------------ training product
    def apply_weights(
        self, blocks: list[torch.Tensor], s: torch.Tensor, p: torch.Tensor | None, y: torch.Tensor
    ) -> torch.Tensor:
        """``W y`` for dense ``y`` ``(N, B)`` without materialising ``W`` (autograd reaches ``s``, ``p``, ``γ``).

        ``s``: ``(N,)`` node gates, or ``(N, T)`` per edge type (``typed_gates``).
        """
        width = y.shape[1]
        gamma = self.type_weights()
        typed = s.dim() == 2
        stacked = None
        out = None
        for t, block in enumerate(blocks):
            st = s[:, t : t + 1] if typed else s[:, None]
            if stacked is None or typed:  # shared by all types unless the gates differ per type
                ys = st * y
                stacked = (
                    ys if p is None else torch.cat([ys] + [p[:, r : r + 1] * ys for r in range(p.shape[1])], dim=1)
                )
            prod = block @ stacked
            part = prod[:, :width]
            if p is not None:
                for r in range(p.shape[1]):
                    part = part + p[:, r : r + 1] * prod[:, (r + 1) * width : (r + 2) * width]
            part = gamma[t] * (st * part if typed else part)
            out = part if out is None else out + part
        return out if typed else s[:, None] * out

    def walk_scores(
        self,
        blocks: list[torch.Tensor],
        s: torch.Tensor,
        p: torch.Tensor | None,
        users: torch.Tensor,
        start: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``(B, n_items)`` ``f(u, i) = Σ_k c_k (W^k)[u, i]`` for user codes ``users`` (training path).

        Args:
            start: optional ``(n_items, B)`` first-step factors ``r(u, j)`` (column per user).
        """
        n = self.n_users + self.n_items + self.n_interests
        y = torch.zeros(n, len(users), device=s.device, dtype=s.dtype)
        y[users, torch.arange(len(users), device=s.device)] = 1.0
        lo, hi = self.n_users, self.n_users + self.n_items
        total = None
        for k in range(self.config.max_length):
            y = self.apply_weights(blocks, s, p, y)
            if k == 0 and start is not None:
                y = torch.cat([y[:lo], y[lo:hi] * start, y[hi:]])
            term = self.length_coef[k] * y[lo:hi]
            total = term if total is None else total + term
        return total.T

    # ------------------------------------------------------------------ frozen weights
    @torch.no_grad()
    def frozen_gates(
        self, structure: torch.Tensor, cold: torch.Tensor | None = None
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Node gates ``s`` ``(N,)`` (``(N, T)`` with ``typed_gates``), pair factors ``p`` ``(N, r)`` (or None) and
        ``γ`` ``(T,)``,
        float64, from the current parameters."""
        s, p = self.gates(self.node_vectors(structure, cold), cold)
        s = s.double().cpu().numpy()
        p = None if p is None else p.double().cpu().numpy()
        return s, p, self.type_weights().double().cpu().numpy()

    @torch.no_grad()
    def effective_adjacency(
        self, operator: PathOperator, structure: torch.Tensor, cold: torch.Tensor | None = None
    ) -> sp.csr_matrix:
        """``W`` as a ``(N, N)`` float64 scipy CSR (symmetric), from the current parameters (``cold``: ``(n_items,)``
        bool, items with no ID vector and ``cold_bias`` on their gate; see :func:`cold_mask`)."""
        s, p, gamma = self.frozen_gates(structure, cold)
        total = None
        for t, kind in enumerate(operator.types):
            coo = operator.blocks[kind].tocoo()
            st = s if s.ndim == 1 else s[:, self.types.index(kind)]
            w = gamma[t] * st[coo.row] * st[coo.col] * coo.data
            if p is not None:
                w = w * (1.0 + np.einsum("er,er->e", p[coo.row], p[coo.col]))
            part = sp.csr_matrix((w, (coo.row, coo.col)), shape=coo.shape)
            total = part if total is None else total + part
        total.sort_indices()
        return total

    def length_coefficients(self) -> np.ndarray:
        """``c_1..c_L`` as float64."""
        return self.length_coef.detach().double().cpu().numpy()


def cold_mask(
    operator: PathOperator, device: torch.device | str | None = None, not_cold: np.ndarray | None = None
) -> torch.Tensor:
    """``(n_items,)`` bool tensor of the cold items: without user edges in ``operator``, except those in ``not_cold``
    (``(n_items,)`` bool: items known from events that made no positive, which are not new)."""
    cold = operator.items_without_users()
    if not_cold is not None:
        cold = cold & ~np.asarray(not_cold, dtype=bool)
    return torch.from_numpy(cold).to(device)
