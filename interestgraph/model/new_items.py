"""Adding catalog items to a trained model, without retraining.

A new item comes with its text and interest fields and no interactions. It joins
the model as if it had been in the catalog, without events, when the model was
trained; in other words, as a cold item under the ``cold-4`` protocol:

* **item–interest edges** from its interest fields: each label (normalised, aliases
  included) that names one of the model's interest points, weight 1 per label, as
  the graph build gives catalog labels; and from its text, the keywords the build
  would mine (scored with the training catalog's TF-IDF terms, stored with the graph
  and the model), weighted by their TF-IDF score. Labels the model does not know are
  reported, not invented: a new interest point would have no trained gate or neighbours.
* **item–item text edges**, when the model walks on them: its ``item_k`` nearest items
  by cosine of the encoder's vectors, at least ``item_threshold``, both directions (the
  build's settings). Existing items' neighbour lists are kept; an old item may gain a
  new item as one more neighbour.
* it is **cold**: no ID vector, its gate adds the calibrated ``b_cold``
  (:mod:`interestgraph.paths.scorer`).

Then everything downstream is recomputed with the trained parameters, as the
trainer does at the end of ``fit``: the per-type normalisation (a new item raises
its interests' degrees, so every item–interest weight is renormalised), the GCN
vectors and gates, and the frozen ``W``. Recommendations, explanations and saving
read the new ``W``, so scores stay exact walk sums and new items reach users
through ``user → item → interest → new item`` and the other walks.

Not derived for a new item: user tags (nobody has tagged it yet). Under ``cold-4`` on
ml-latest-small the keywords matter: with genres alone the cold items' Recall@20 fell
from 0.107 to 0.047 (seed 2020).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..data.schema import ITEM_ID, TITLE, canonical_catalog, catalog_texts
from ..errors import DataError
from ..graph.propagation import to_torch_csr
from ..interests.extract import InterestConfig, keywords_of_texts
from ..interests.normalise import normalise_label
from ..paths.operator import PathOperator
from ..paths.state import FittedState, frozen_weights
from .io import catalog_facts, graph_facts, keyword_terms


def catalog_settings(model) -> dict:
    """How the model's graph read its catalog (``interest_fields``, ``text_fields``, ``item_k``,
    ``item_threshold``, ``knn_dtype``), from the graph it was fitted on or the saved facts."""
    if model.graph is not None:
        return catalog_facts(model.graph)
    settings = model.facts.get("catalog")
    if settings is None:
        raise ValueError("model: it was saved without its catalog settings (an older version); retrain it to add items")
    return settings


def interest_lookup(model) -> dict[str, int]:
    """Normalised label or alias → interest index ``0..V-1``."""
    nodes = model.nodes
    interests = nodes[nodes["type"] == "interest"]
    offset = model.n_users + model.n_items
    lookup: dict[str, int] = {}
    aliases = interests["aliases"] if "aliases" in interests.columns else [[]] * len(interests)
    for node, label, others in zip(interests["node"].to_numpy(), interests["label"], aliases):
        for name in [label, *list(others)]:
            lookup.setdefault(normalise_label(str(name)), int(node) - offset)
    return lookup


def new_item_ids(model, catalog: pd.DataFrame) -> pd.Index:
    """The new items' IDs in the kind of the model's IDs (int64 or str).

    Raises:
        DataError: an ID the model already has, or string IDs for a model with integer IDs.
    """
    ids = catalog[ITEM_ID]
    known = model.item_ids
    if pd.api.types.is_integer_dtype(known.dtype) and not pd.api.types.is_integer_dtype(ids.dtype):
        bad = ids.astype(str).head(3).tolist()
        raise DataError(f"items: column 'item_id' must hold integers like the model's item IDs, got e.g. {bad}")
    if not pd.api.types.is_integer_dtype(known.dtype):
        ids = ids.astype(str)
    ids = pd.Index(ids.to_numpy(), name=ITEM_ID)
    clash = ids[known.get_indexer(ids) >= 0] if len(known) else ids[:0]
    if len(clash):
        raise DataError(
            f"items: {len(clash)} item IDs are already in the model (e.g. {', '.join(map(str, clash[:3]))}); "
            "add only new items (an existing item keeps its learned vector and edges)"
        )
    return ids


def interest_edges(
    model, catalog: pd.DataFrame, fields: list[str], keywords: pd.DataFrame | None = None
) -> tuple[sp.csr_matrix, list[list[str]], list[list[str]]]:
    """``(n_new, V)`` CSR item–interest weights of the new items, with the labels each matched and did not.

    As the build weighs them: a catalog label counts 1 once per item (whatever field holds it), a
    keyword its TF-IDF score (``keywords``: ``item``, ``label``, ``weight`` from
    :func:`~interestgraph.interests.extract.keywords_of_texts`); labels of one interest point
    (aliases, or a keyword that is also a catalog label) add up on it. Unmatched keywords are not
    reported (most title words are no interest).
    """
    lookup = interest_lookup(model)
    rows, cols, weights = [], [], []
    matched: list[list[str]] = []
    unmatched: list[list[str]] = []
    for row in range(len(catalog)):
        labels = []
        for field in fields:
            labels.extend(normalise_label(v) for v in catalog[field].iloc[row])
        labels = list(dict.fromkeys(v for v in labels if v))
        hits = [v for v in labels if v in lookup]
        rows.extend([row] * len(hits))
        cols.extend(lookup[v] for v in hits)
        weights.extend([1.0] * len(hits))
        matched.append(hits)
        unmatched.append([v for v in labels if v not in lookup])
    if keywords is not None and len(keywords):
        known = keywords[keywords["label"].isin(list(lookup))]
        for item, label, weight in zip(known["item"].to_numpy(), known["label"], known["weight"].to_numpy()):
            rows.append(int(item))
            cols.append(lookup[label])
            weights.append(float(weight))
            if label not in matched[item]:
                matched[item].append(label)
    n_interests = model.layout["interest"]
    table = sp.csr_matrix(
        (np.asarray(weights, dtype=np.float64), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
        shape=(len(catalog), n_interests),
    )
    table.sum_duplicates()
    return table, matched, unmatched


def text_neighbour_edges(
    new_vectors: torch.Tensor, old_vectors: torch.Tensor, k: int, threshold: float, knn_dtype: str
) -> sp.csr_matrix:
    """``(n_new, I + n_new)`` CSR cosine weights from each new item to its ``k`` nearest items (old and new, never
    itself), keeping cosines ``>= threshold``; zero rows (no text) get none."""
    from ..ops import cosine_topk

    n_new, n_old = new_vectors.shape[0], old_vectors.shape[0]
    total = n_old + n_new
    if k == 0 or total < 2:
        return sp.csr_matrix((n_new, total))
    everything = torch.cat([old_vectors, new_vectors]).float()
    index, score = cosine_topk(
        new_vectors.float(),
        min(k + 1, total),
        y=everything,
        threshold=threshold,
        candidate_dtype=torch.bfloat16 if knn_dtype == "bfloat16" else None,
    )
    rows = np.repeat(np.arange(n_new), index.shape[1]).reshape(index.shape)
    index, score = index.numpy(), score.numpy()
    keep = (index >= 0) & np.isfinite(score) & (index != n_old + rows)
    # at most k per row, best first (the self match, when listed, was dropped)
    rank = np.cumsum(keep, axis=1)
    keep &= rank <= k
    return sp.csr_matrix((score[keep].astype(np.float64), (rows[keep], index[keep])), shape=(n_new, total))


def grow(matrix: sp.spmatrix | None, shape: tuple[int, int]) -> sp.csr_matrix | None:
    """``matrix`` zero-padded at the bottom / right to ``shape``."""
    if matrix is None:
        return None
    coo = sp.coo_matrix(matrix)
    return sp.csr_matrix((coo.data, (coo.row, coo.col)), shape=shape)


def grown_tables(
    tables: dict[str, sp.csr_matrix], n_items: int, item_interest: sp.csr_matrix, item_item: sp.csr_matrix | None
) -> dict[str, sp.csr_matrix]:
    """The raw edge tables with ``n_new`` items appended: their item–interest rows and item–item edges (``(n_new, I +
    n_new)``)."""
    n_new = item_interest.shape[0]
    total = n_items + n_new
    grown: dict[str, sp.csr_matrix] = {}
    for kind, table in tables.items():
        if kind == "user-item":
            grown[kind] = grow(table, (table.shape[0], total))
        elif kind == "item-interest":
            grown[kind] = sp.csr_matrix(sp.vstack([table, item_interest]))
        elif kind == "item-item":
            block = grow(table, (total, total))
            if item_item is not None and item_item.nnz:
                block = block + grow(sp.vstack([sp.csr_matrix((n_items, total)), item_item]), (total, total))
            grown[kind] = sp.csr_matrix(block)
        else:
            grown[kind] = sp.csr_matrix(table)
    return grown


def add_items(model, items: pd.DataFrame, *, encoder=None) -> FittedState:
    """The state of a fitted or loaded model with catalog items added (see the module docstring); the estimator
    installs it (:meth:`~interestgraph.model.InterestGraphModel.add_items`).

    Args:
        model: a fitted :class:`~interestgraph.model.InterestGraphModel`, or one loaded from disk.
        items: ``(n_new, ...)`` catalog rows: ``item_id`` (new IDs, of the model's ID kind), ``title`` and
            the other text fields, and the interest fields as lists of labels (the fields and text
            fields the model's graph was built with; others are ignored).
        encoder: embeds the new items' texts; the model's own encoder by default (another one is refused).

    Returns:
        The new :class:`~interestgraph.paths.FittedState`; its ``added_items`` gains ``(n_new, 5)`` rows
        ``item_id``, ``title``, ``interests`` (labels matched), ``unknown_labels`` (labels the model has no
        interest point for), ``text_neighbours`` (item–item edges added).

    Raises:
        TypeError: ``items`` is not a DataFrame.
        DataError: no rows, missing / duplicate / already known IDs, interest cells that are not lists.
        ValueError: a model saved by an older version (no edge tables or catalog settings), or another encoder.
    """
    from .encoding import checked_encoder

    state = model.fitted_state()
    if not isinstance(items, pd.DataFrame):
        raise TypeError(f"items must be a pandas DataFrame of catalog rows, got {type(items).__name__}")
    if len(items) == 0:
        raise DataError("items: no rows to add")
    tables = state.tables
    if tables is None:
        raise ValueError("model: it was saved without its raw edge tables (an older version); retrain it to add items")
    settings = catalog_settings(model)
    fields = list(settings["interest_fields"])
    catalog = canonical_catalog(items, interest_fields=fields, text_fields=settings["text_fields"], source="items")
    ids = new_item_ids(model, catalog)
    n_new, n_items = len(catalog), model.n_items
    present = [f for f in fields if f in catalog.columns]
    texts = catalog_texts(catalog, settings["text_fields"])
    keywords = None
    terms = keyword_terms(model)
    if terms is not None and settings.get("keywords_per_item"):
        config = InterestConfig(
            keywords_per_item=int(settings["keywords_per_item"]), keyword_min_score=float(settings["keyword_min_score"])
        )
        keywords = keywords_of_texts(texts, terms, config)
    item_interest, matched, unmatched = interest_edges(model, catalog, present, keywords)
    if "item-interest" not in model.config.edge_types:  # the model does not walk item–interest edges: none is added
        item_interest = sp.csr_matrix(item_interest.shape)
        matched = [[] for _ in matched]

    scorer = state.scorer
    walks_item_item = "item-item" in model.config.edge_types
    vectors = None
    if scorer.uses_text or walks_item_item:
        if walks_item_item and not scorer.uses_text:
            raise ValueError(
                "model: it walks item-item text edges but keeps no item vectors (text_features=False), so new items "
                "cannot be placed among them"
            )
        from ..graph.build import item_text_vectors

        vectors = item_text_vectors(texts, catalog[ITEM_ID], checked_encoder(model, encoder))
    item_item = None
    if walks_item_item:
        item_item = text_neighbour_edges(
            vectors,
            scorer.item_text.detach().cpu(),
            int(settings["item_k"]),
            float(settings["item_threshold"]),
            settings["knn_dtype"],
        )

    # everything new is computed before the model changes, so a failure leaves it as it was
    new_tables = grown_tables(tables, n_items, item_interest, item_item)
    layout = dict(state.layout, item=n_items + n_new)
    operator = PathOperator.from_tables(
        new_tables, layout["user"], layout["item"], layout["interest"], exponent=model.config.exponent
    )
    grown_scorer = scorer.with_items(n_new, vectors if scorer.uses_text else None).cpu().eval()
    # w(v|u) is a plain attribute (not moved by .cpu()): take it from the CPU copy (a GPU-trained scorer holds it on
    # the GPU)
    user_interest = state.user_interest
    grown_scorer.user_interest = to_torch_csr(user_interest) if user_interest is not None else None
    not_cold = state.not_cold
    not_cold = np.concatenate(
        [
            np.asarray(not_cold, dtype=bool) if not_cold is not None else np.zeros(n_items, dtype=bool),
            np.zeros(n_new, dtype=bool),
        ]
    )
    structure = to_torch_csr(operator.structure())
    nodes = grown_nodes(model, ids, catalog)
    summary = pd.DataFrame(
        {
            ITEM_ID: ids,
            "title": nodes["label"].to_numpy()[model.n_users + n_items : model.n_users + n_items + n_new],
            "interests": matched,
            "unknown_labels": unmatched,
            "text_neighbours": np.diff(item_item.indptr) if item_item is not None else np.zeros(n_new, dtype=np.int64),
        }
    )

    facts = state.facts
    if state.graph is not None:  # the model no longer matches the graph it was fitted on: keep its facts instead
        facts = {**(facts or {}), **graph_facts(state.graph)}
    previous = state.added_items
    return state.replace(
        **frozen_weights(grown_scorer, operator, structure, not_cold),
        not_cold=not_cold,
        scorer=grown_scorer,
        tables=new_tables,
        operator=operator,
        degrees=operator.degrees,
        layout=layout,
        seen=grow(state.seen, (layout["user"], layout["item"])),
        start=grow(state.start, (layout["user"], layout["item"])),
        item_ids=state.item_ids.append(ids),
        nodes=nodes,
        keyword_terms=terms,
        facts=facts,
        graph=None,
        added_items=summary if previous is None else pd.concat([previous, summary], ignore_index=True),
    )


def grown_nodes(model, ids: pd.Index, catalog: pd.DataFrame) -> pd.DataFrame:
    """The node table with the new items after the old ones (interests renumbered after them)."""
    nodes = model.nodes.copy()
    if "aliases" not in nodes.columns:
        nodes["aliases"] = [[] for _ in range(len(nodes))]
    if "added" not in nodes.columns:
        nodes["added"] = False
    n_new = len(ids)
    titles = catalog[TITLE].astype(str).to_numpy() if TITLE in catalog.columns else np.array([""] * n_new)
    new = pd.DataFrame(
        {
            "node": np.zeros(n_new, dtype=np.int64),
            "type": "item",
            "id": [str(x) for x in ids],
            "label": [t if t else str(i) for t, i in zip(titles, ids)],
            "aliases": [[] for _ in range(n_new)],
            "added": True,
        }
    )
    cut = model.n_users + model.n_items
    grown = pd.concat([nodes.iloc[:cut], new, nodes.iloc[cut:]], ignore_index=True)
    grown["node"] = np.arange(len(grown), dtype=np.int64)
    return grown
