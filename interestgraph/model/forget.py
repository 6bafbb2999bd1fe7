"""Forgetting users in a trained model, without retraining.

What a trained model holds of a user: their ID vector, their first-step weights
``r(u, j)``, their training items (``seen_``), their ``w(v|u)`` row, their node in
``W`` and the node table. What it holds *derived* from them: every weight their
edges took part in normalising (item degrees), the GCN vectors and gates of their
items and interests, and whatever their tags and queries added to the graph
(:mod:`interestgraph.graph.forget`). So :func:`forget_users` takes the graph rebuilt
without them, drops their ID vectors (and those of interest points that existed only
because of them), and recomputes everything downstream with the trained parameters,
as :meth:`~interestgraph.model.InterestGraphModel.add_items` does: the per-type
normalisation, the GCN vectors and gates, and the frozen ``W``. Nothing of theirs
remains; the other users' scores move only as much as the removed walks and the
renormalisation move them. The model keeps only how many users were forgotten, not who.

Not supported (retrain instead): models with items added after training, with a
fine-tuned encoder, or with refined similarity edges.
"""

from __future__ import annotations

import pandas as pd

from ..graph.forget import forget_users as forget_graph_users
from ..graph.forget import resolve_graph_users
from ..graph.propagation import to_torch_csr
from .io import node_table, training_graph
from .operator import PathOperator


def forget_users(model, users, *, graph=None, encoder=None):
    """Remove ``users`` and everything derived from them from ``model`` (in place); returns the graph without them.

    Args:
        model: a fitted or loaded :class:`~interestgraph.model.InterestGraphModel`.
        users: one user ID or a list of them.
        graph: the model's training graph (object or directory) when it does not carry it.
        encoder: the encoder that built the graph (its recorded one by default).

    Returns:
        The :class:`~interestgraph.graph.InterestGraph` rebuilt without them; save it beside the model
        (the model's ``graph_`` is set to it, so saving the model records it once it is saved).

    Raises:
        KeyError: a user not in the model.
        ValueError: an unsupported model (see the module docstring), or a rebuilt graph whose interest
            points the model has never seen (retrain).
    """
    from ..evaluate import positive_matrix
    from ..train.trainer import observed_without_positives, user_interest_rows
    from .model import first_step_matrix, graph_tables

    model._check_fitted()
    if getattr(model, "added_items_", None) is not None:
        raise ValueError("model: it has items added after training; retrain on a graph with them to forget users")
    if getattr(model, "encoder_tuning_", None):
        raise ValueError("model: its encoder was fine-tuned with it; retrain without the users instead")
    if model.config.similarity_edges == "refined":
        raise ValueError("model: it has refined similarity edges; retrain without the users instead")
    before = training_graph(model, graph)
    resolve_graph_users(before, users)  # unknown users are named before anything is rebuilt
    after = forget_graph_users(before, users, encoder=encoder)

    keep_users = before.users.get_indexer(after.users)
    keep_interests = pd.Index(before.interests["label"]).get_indexer(after.interests["label"])
    if (keep_interests < 0).any():
        new = after.interests["label"].to_numpy()[keep_interests < 0]
        raise ValueError(
            f"graph: without them the build made interest points the model never saw ({', '.join(map(str, new[:3]))}); retrain instead"
        )
    if not after.items.equals(before.items):
        raise ValueError("graph: the catalog changed when rebuilding; retrain instead")

    scorer = (
        model.scorer_.cpu()
        .with_nodes(keep_users, keep_interests, after.interest_vectors if model.scorer_.uses_text else None)
        .eval()
    )
    tables = graph_tables(after, model.config)
    operator = PathOperator.from_tables(
        tables, len(after.users), len(after.items), len(after.interests), exponent=model.config.exponent
    )
    structure = to_torch_csr(operator.structure())
    train = positive_matrix(after.split, "train")
    not_cold = observed_without_positives(after.split, train)
    user_interest = user_interest_rows(after) if model.config.user_interest_mean else None
    scorer.user_interest = to_torch_csr(user_interest) if user_interest is not None else None
    # everything is computed before the model changes, so a failure above leaves it as it was
    model._freeze(scorer, operator, structure, not_cold)
    model.scorer_ = scorer
    model.tables_ = tables
    model.operator_ = operator
    model.degrees_ = operator.degrees
    model.layout_ = {"user": len(after.users), "item": len(after.items), "interest": len(after.interests)}
    model.seen_ = train
    model.start_ = first_step_matrix(after, model.config)
    model.user_interest_ = user_interest
    model.not_cold_ = not_cold
    model.user_ids_, model.item_ids_ = after.users, after.items
    model.node_ids_ = node_table(after)
    model.keyword_terms_ = after.keyword_terms
    model.graph_ = after
    model.forgotten_users_ = int(getattr(model, "forgotten_users_", 0)) + int(len(before.users) - len(after.users))
    return after
