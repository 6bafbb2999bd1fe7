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
from ..paths.operator import PathOperator
from ..paths.state import FittedState, frozen_weights
from ..paths.tables import first_step_matrix, graph_tables, observed_without_positives, user_interest_rows
from .io import node_table, training_graph


def forget_users(model, users, *, graph=None, encoder=None) -> tuple[FittedState, object]:
    """The state of ``model`` without ``users`` and everything derived from them, and the graph without them.

    Args:
        model: a fitted or loaded :class:`~interestgraph.model.InterestGraphModel`.
        users: one user ID or a list of them.
        graph: the model's training graph (object or directory) when it does not carry it.
        encoder: the encoder that built the graph (its recorded one by default).

    Returns:
        ``(state, graph)``: the new :class:`~interestgraph.paths.FittedState` (the estimator installs it: see
        :meth:`~interestgraph.model.InterestGraphModel.forget_users`) and the
        :class:`~interestgraph.graph.InterestGraph` rebuilt without them; save it beside the model (the state
        carries it, so saving the model records it once it is saved).

    Raises:
        KeyError: a user not in the model.
        ValueError: an unsupported model (see the module docstring), or a rebuilt graph whose interest
            points the model has never seen (retrain).
    """
    state = model.fitted_state()
    if state.added_items is not None:
        raise ValueError("model: it has items added after training; retrain on a graph with them to forget users")
    if state.encoder_tuning:
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
            "graph: without them the build made interest points the model never saw "
            f"({', '.join(map(str, new[:3]))}); retrain instead"
        )
    if not after.items.equals(before.items):
        raise ValueError("graph: the catalog changed when rebuilding; retrain instead")

    scorer = (
        state.scorer.cpu()
        .with_nodes(keep_users, keep_interests, after.interest_vectors if state.scorer.uses_text else None)
        .eval()
    )
    tables = graph_tables(after, model.config)
    operator = PathOperator.from_tables(
        tables, len(after.users), len(after.items), len(after.interests), exponent=model.config.exponent
    )
    structure = to_torch_csr(operator.structure())
    train = after.split.positive_matrix("train")
    not_cold = observed_without_positives(after.split, train)
    user_interest = user_interest_rows(after) if model.config.user_interest_mean else None
    scorer.user_interest = to_torch_csr(user_interest) if user_interest is not None else None
    # everything is computed before the model changes, so a failure above leaves it as it was
    new_state = state.replace(
        **frozen_weights(scorer, operator, structure, not_cold),
        scorer=scorer,
        tables=tables,
        operator=operator,
        degrees=operator.degrees,
        layout={"user": len(after.users), "item": len(after.items), "interest": len(after.interests)},
        seen=train,
        start=first_step_matrix(after, model.config),
        user_interest=user_interest,
        not_cold=not_cold,
        user_ids=after.users,
        item_ids=after.items,
        nodes=node_table(after),
        keyword_terms=after.keyword_terms,
        graph=after,
        forgotten_users=state.forgotten_users + int(len(before.users) - len(after.users)),
    )
    return new_state, after
