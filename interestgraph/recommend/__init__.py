"""Recommendations from a trained path model: top-K lists and exact path explanations.

    from interestgraph.recommend import recommend, explain
    recommend(model, ["42"], k=20)              # DataFrame: user_id, rank, item_id, title, score
    explain(model, "42", 1196, top=5)           # the walks that make the score, and the remainder
                                                # (item-path model: the score's share per liked item)
    recommend_for_items(model, [1, 260, 1196])  # a new user, from items they liked (no retraining)
    recommend_for_intent(model, "space adventure with robots")  # a new user, from free text

Both read the frozen walk weights of the model (fitted or loaded from disk), so an
explanation's contributions add up to the score that ranked the item.
"""

from .explain import Explanation, PathStep, explain
from .fold_in import fold_in_scores, fold_in_walks, recommend_for_items
from .intent import Intent, explain_intent, intent_scores, map_intent, recommend_for_intent
from .reasons import Because, ItemPathExplanation, explain_item_path
from .topk import recommend, resolve_items, resolve_users

__all__ = [
    "Because",
    "Explanation",
    "Intent",
    "ItemPathExplanation",
    "PathStep",
    "explain",
    "explain_intent",
    "explain_item_path",
    "fold_in_scores",
    "fold_in_walks",
    "intent_scores",
    "map_intent",
    "recommend",
    "recommend_for_intent",
    "recommend_for_items",
    "resolve_items",
    "resolve_users",
]
