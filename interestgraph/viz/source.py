"""What a view is drawn from: an interest graph, and optionally the model trained on it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class ViewSource:
    """The graph (behaviour, ``w(v|u)``, similarity edges) and the model (recommendations, paths) or None."""

    graph: Any
    model: Any = None

    def user_code(self, user) -> int:
        """The graph's code of ``user`` (the ID itself or its string form, as typed on a command line).

        Raises:
            KeyError: naming the user, when the graph does not hold them.
        """
        users = self.graph.users
        code = users.get_indexer([user])[0]
        if code < 0:
            code = pd.Index([str(x) for x in users]).get_indexer([str(user)])[0]
        if code < 0:
            raise KeyError(
                f"user {user!r} is not in the graph ({len(users):,} users; IDs such as "
                f"{', '.join(map(str, users[:3]))})"
            )
        return int(code)


def view_source(model_or_graph, graph=None) -> ViewSource:
    """Resolve what to draw from.

    Args:
        model_or_graph: an :class:`~interestgraph.graph.InterestGraph`, a fitted or loaded
            :class:`~interestgraph.model.InterestGraphModel`, or a directory holding either.
        graph: the model's training graph (object or directory) when the model does not carry
            it; by default a loaded model's recorded ``graph_path`` (checked by its manifest checksum).

    Raises:
        TypeError: ``model_or_graph`` is none of these.
        ValueError: a directory that holds neither, or a graph the model was not trained on.
    """
    from ..artifacts import artifact_format
    from ..graph import InterestGraph
    from ..model import InterestGraphModel
    from ..model.io import training_graph

    if isinstance(model_or_graph, (str, os.PathLike)):
        directory = Path(model_or_graph)
        kind = artifact_format(directory)
        if kind == "interestgraph-graph":
            model_or_graph = InterestGraph.load(directory)
        elif kind == "interestgraph-model":
            model_or_graph = InterestGraphModel.load(directory)
        else:
            raise ValueError(
                f"model_or_graph: {directory} is not a graph or model directory (no manifest.json of format "
                "interestgraph-graph / interestgraph-model)"
            )
    if isinstance(model_or_graph, InterestGraph):
        if graph is not None:
            raise ValueError("graph: pass it only with a model (model_or_graph is already a graph)")
        return ViewSource(model_or_graph)
    if not isinstance(model_or_graph, InterestGraphModel):
        raise TypeError(
            "model_or_graph must be an InterestGraph, an InterestGraphModel or a directory, got "
            f"{type(model_or_graph).__name__}"
        )
    model = model_or_graph
    model.fitted_state()
    return ViewSource(training_graph(model, graph), model)
