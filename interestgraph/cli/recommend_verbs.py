"""``interestgraph recommend``, ``explain`` and ``add-items``: top-K lists, exact path explanations and new catalog
items for a saved model."""

from __future__ import annotations

import argparse
from pathlib import Path

from .verb import CommandResult, UsageError, add_json_flag, add_verb


def _load(directory: Path):
    from ..model import InterestGraphModel

    if not directory.is_dir():
        raise UsageError(f"MODEL_DIR {directory}: not a directory (write one with 'interestgraph train')")
    return InterestGraphModel.load(directory)


def _items(value: str | None) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()] if value else []


def run_recommend(args: argparse.Namespace) -> CommandResult:
    from ..recommend import recommend, recommend_for_intent, recommend_for_items

    if args.k < 1:
        raise UsageError(f"-k must be >= 1, got {args.k}")
    if (args.user is None) == (args.items is None and args.query is None):
        raise UsageError(
            "give either --user (a user in the model), or --items and/or --query (a new user's liked items, free text)"
        )
    model = _load(args.model)
    notes = []
    try:
        if args.user is not None:
            table = recommend(model, [args.user], k=args.k, exclude_seen=not args.include_seen)
            who = f"user {args.user}"
        elif args.query is not None:
            items = _items(args.items)
            table = recommend_for_intent(
                model, args.query, k=args.k, items=items or None, exclude_given=not args.include_seen
            )
            who = f"a new user asking {args.query!r}" + (f" who liked {len(items)} item(s)" if items else "")
            notes.append(
                "query → interests: "
                + ", ".join(f"{r['label']} ({r['similarity']:.2f})" for r in table.attrs["interests"])
            )
        else:
            items = _items(args.items)
            table = recommend_for_items(model, items, k=args.k, exclude_given=not args.include_seen)
            who = f"a new user who liked {len(items)} item(s)"
    except KeyError as exc:
        raise UsageError(f"{'--user' if args.user is not None else '--items'}: {exc.args[0]}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    rows = [
        {"item": _plain(r.item_id), "title": r.title, "score": float(r.score)} for r in table.itertuples(index=False)
    ]
    width = max([len(str(r["item"])) for r in rows] + [4])
    lines = [
        f"top {len(rows)} for {who} ({model.describe()})",
        *notes,
        f"{'rank':>4}  {'item':<{width}}  {'score':>10}  title",
    ]
    lines += [f"{k:>4}  {r['item']!s:<{width}}  {r['score']:>10.5g}  {r['title']}" for k, r in enumerate(rows, 1)]
    protocol = (getattr(model, "facts", None) or {}).get("protocol_line")
    if protocol:
        lines.append(f"trained on: {protocol}")
    return CommandResult(rows, "\n".join(lines))


def run_explain(args: argparse.Namespace) -> CommandResult:
    from ..recommend import explain, explain_intent

    if (args.user is None) == (args.query is None):
        raise UsageError("give exactly one of --user (a user in the model) or --query (a new user's free text)")
    model = _load(args.model)
    try:
        if args.user is not None:
            explanation = explain(model, args.user, args.item, top=args.top)
        else:
            explanation = explain_intent(model, args.query, args.item, top=args.top, items=_items(args.items) or None)
    except KeyError as exc:
        raise UsageError(f"--user / --item: {exc.args[0]}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return CommandResult(explanation.to_dict(), str(explanation))


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def run_add_items(args: argparse.Namespace) -> CommandResult:
    from ..data.readers import read_table, split_list_fields
    from .data_verbs import parse_list_fields, parse_mapping

    if args.out.exists() and not args.overwrite:
        raise UsageError(f"--out {args.out} exists; pass --overwrite to replace it")
    model = _load(args.model)
    table, _, _ = read_table(args.items, columns=parse_mapping(args.item_map, "--item-map"))
    table = split_list_fields(table, parse_list_fields(args.list_field), str(args.items))
    model.add_items(table)
    model.save(args.out, overwrite=args.overwrite, inputs=(args.model, args.items))
    summary = model.added_items
    rows = [
        {
            "item_id": _plain(r.item_id),
            "title": r.title,
            "interests": list(r.interests),
            "unknown_labels": list(r.unknown_labels),
            "text_neighbours": int(r.text_neighbours),
        }
        for r in summary.itertuples(index=False)
    ]
    unreachable = [r["item_id"] for r in rows if not r["interests"] and not r["text_neighbours"]]
    lines = [f"added {len(rows)} item(s) to {args.model} as cold items; wrote {args.out} ({model.n_items:,} items)"]
    lines += [
        f"  {r['item_id']}: {', '.join(r['interests']) or '(no known interest)'}"
        + (f"; {r['text_neighbours']} text neighbours" if r["text_neighbours"] else "")
        + (f"; unknown labels: {', '.join(r['unknown_labels'])}" if r["unknown_labels"] else "")
        for r in rows[:20]
    ]
    if len(rows) > 20:
        lines.append(f"  ... and {len(rows) - 20} more (--json lists all)")
    if unreachable:
        lines.append(
            f"note: {len(unreachable)} item(s) matched no interest and no text neighbour, so no walk reaches them: "
            f"{', '.join(map(str, unreachable[:5]))}"
        )
    return CommandResult(
        {"out": str(args.out), "n_items": model.n_items, "items": rows, "unreachable": unreachable}, "\n".join(lines)
    )


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    rec = add_verb(
        verbs,
        common,
        "recommend",
        help="top-K items for one user from a trained model",
        description="Rank every candidate item for a user by its exact walk score (the user's training items left out) "
        "and print the list, or JSON [{item, title, score}, ...] with --json.",
        example="interestgraph recommend models/ml-small --user 42 -k 20\n  interestgraph recommend models/ml-small "
        "--query 'space adventure with robots' --json",
        run=run_recommend,
    )
    rec.add_argument("model", type=Path, help="model directory written by 'interestgraph train'")
    rec.add_argument("--user", help="user ID as in the log")
    rec.add_argument("--items", help="comma-separated item IDs a new user liked, oldest first (no retraining)")
    rec.add_argument(
        "--query",
        help='free text of a new user\'s intent ("space adventure with robots"), mapped through the encoder to '
        "interests",
    )
    rec.add_argument("-k", type=int, default=20, help="list length (default 20)")
    rec.add_argument(
        "--include-seen", action="store_true", help="also rank the user's training items (or the given --items)"
    )
    add_json_flag(rec)
    exp = add_verb(
        verbs,
        common,
        "explain",
        help="the user→item walks that make one recommendation's score",
        description="List the walks joining a user and an item, each with its contribution to the score "
        "(they add up to it exactly; the walks not shown are the remainder), grouped by interest.",
        example="interestgraph explain models/ml-small --user 42 --item 1196 --top 5 --json",
        run=run_explain,
    )
    exp.add_argument("model", type=Path, help="model directory written by 'interestgraph train'")
    exp.add_argument("--user", help="user ID as in the log")
    exp.add_argument("--query", help="free text of a new user's intent, instead of --user")
    exp.add_argument("--items", help="with --query: comma-separated item IDs the new user also liked")
    exp.add_argument("--item", required=True, help="item ID as in the catalog")
    exp.add_argument("--top", type=int, default=5, help="walks to list (default 5)")
    add_json_flag(exp)
    add = add_verb(
        verbs,
        common,
        "add-items",
        help="add new catalog items to a trained model, without retraining",
        description="Read catalog rows (item_id, title and text fields, interest fields as lists) and add them to a "
        "saved model as cold items: their interest labels and text neighbours become edges, W is re-frozen with the "
        "trained parameters, and the model is written to --out. Items are then recommended through their interests.",
        example="interestgraph add-items models/ml-small --items new_movies.csv --list-field genres --out "
        "models/ml-small-new --json",
        run=run_add_items,
    )
    add.add_argument("model", type=Path, help="model directory written by 'interestgraph train'")
    add.add_argument(
        "--items", type=Path, required=True, help="catalog rows of the new items (csv, tsv, parquet or jsonl)"
    )
    add.add_argument(
        "--item-map",
        action="append",
        metavar="CANON=COL",
        help="map a canonical catalog column (item_id, title) to a source column; repeatable",
    )
    add.add_argument(
        "--list-field",
        action="append",
        metavar="NAME[=SEP]",
        help="a column of interest labels separated by SEP (default '|'); repeatable",
    )
    add.add_argument(
        "--out", type=Path, required=True, help="model directory to write (the input model is left as it is)"
    )
    add.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    add_json_flag(add)
