"""Forgetting users: the graph as if they had never been in the log.

Removing a user's own rows is not enough: their tags and queries may have created
interest points, raised item–interest weights (and so other users' ``w(v|u)``) and
added similarity edges. So :func:`forget_users` rebuilds the graph from the log
without any of their events, on the same split (every other user keeps the part
each event was in), with the same settings and the same encoder. The result is
exactly the graph that would have been built had they never been there; with the
embedding cache, nothing already encoded is encoded again. The catalog, the
candidate items and the cold items are facts about items, and are kept.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..data.splits import Split


def _user_list(users) -> list:
    if isinstance(users, (str, bytes)) or not isinstance(users, Iterable):
        return [users]
    return list(users)


def resolve_graph_users(graph, users) -> pd.Index:
    """The graph's own IDs of ``users`` (an ID or a list; IDs or their string form).

    Raises:
        KeyError: a user the graph does not hold (named).
        ValueError: no user given, or every user of the graph.
    """
    wanted = _user_list(users)
    if not wanted:
        raise ValueError("users: give at least one user to forget")
    ids = graph.users
    codes = ids.get_indexer(wanted)
    as_text = pd.Index([str(x) for x in ids])
    codes = [c if c >= 0 else as_text.get_indexer([str(w)])[0] for c, w in zip(codes, wanted)]
    missing = [w for w, c in zip(wanted, codes) if c < 0]
    if missing:
        raise KeyError(f"users: {', '.join(map(repr, missing[:5]))} not in the graph")
    found = pd.Index(ids[sorted(set(codes))])
    if len(found) == len(ids):
        raise ValueError("users: that is every user of the graph; nothing would remain")
    return found


def split_without(split: Split, users: pd.Index) -> Split:
    """``split`` without any event of ``users`` (the other events keep their parts)."""
    inter = split.log.interactions
    kept = inter[~inter["user_id"].isin(users)]
    log = split.log.with_interactions(kept, note=f"{len(users)} user(s) forgotten")
    return Split(log=log, protocol=split.protocol, candidate_items=split.candidate_items, cold_items=split.cold_items)


def forget_users(graph, users, *, encoder=None):
    """A new :class:`~interestgraph.graph.InterestGraph` built as if ``users`` had never been in the log.

    Args:
        graph: the graph to forget them from (left unchanged).
        users: one user ID or a list of them.
        encoder: the encoder that built ``graph`` (by default the one its ``encoder_identity`` names:
            the packaged MiniLM or the lexical encoder); another one is refused.

    Raises:
        KeyError: a user not in the graph.
        ValueError: another encoder, or forgetting every user.
    """
    from ..encoder.identity import describe_encoder, same_encoder
    from .build import build_interest_graph

    forgotten = resolve_graph_users(graph, users)
    if encoder is None:
        if graph.encoder_identity.startswith("lexical-"):
            from ..encoder.lexical import LexicalEncoder

            encoder = LexicalEncoder(int(graph.encoder_identity.rsplit("-", 1)[-1]))
        else:
            from ..encoder import TextEncoder

            encoder = TextEncoder()
    if not same_encoder(encoder, graph.encoder_identity):
        raise ValueError(
            f"encoder: the graph was built by {graph.encoder_identity!r}, not by {describe_encoder(encoder)!r}"
        )
    return build_interest_graph(split_without(graph.split, forgotten), graph.config, encoder=encoder)
