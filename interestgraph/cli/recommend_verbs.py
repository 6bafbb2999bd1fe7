"""``interestgraph recommend``, ``explain`` and ``add-items``: top-K lists, exact path explanations and new catalog
items for a saved model."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from ..errors import DataError
from .verb import CommandResult, UsageError, add_json_flag, add_verb, expect_artifact, terminal_text


def _load(directory: Path):
    """The model in ``directory``: an interest-graph model or an item-path model (by its manifest)."""
    from ..artifacts import artifact_format
    from ..model import InterestGraphModel, ItemPathModel

    if artifact_format(directory) == "interestgraph-item-path-model":
        return ItemPathModel.load(directory)
    expect_artifact(directory, "interestgraph-model", "MODEL_DIR")
    return InterestGraphModel.load(directory)


def _is_item_path(model) -> bool:
    return hasattr(type(model), "explain_fold_in")


def _no_query(model, args: argparse.Namespace) -> None:
    """--query needs a query route: an item-path model fitted on a graph without text has none."""
    if args.query is not None and _is_item_path(model) and model.query_vectors_ is None:
        raise UsageError(
            f"--query: {args.model} is an item-path model without a query index (its graph had no text encoder); "
            "give what the new user liked with --items, or ask a model trained on a graph with text"
        )


def _items(value: str | None) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()] if value else []


#: what to do for someone the model does not know
NEW_USER_HINT = (
    "for someone the model does not know, recommend from what they liked (--items ID,ID,...) or what they ask for "
    "(--query TEXT)"
)


def unknown_user_reason(protocol: dict | None) -> str:
    """Why a user ID may be missing from a model or graph trained under ``protocol`` (its ``to_dict()``)."""
    params = (protocol or {}).get("params", {})
    least = params.get("min_user_positives") or 1
    why = "the ID is written differently in the log, or the user has no event in the training part"
    if least > 1:
        threshold = params.get("positive_threshold")
        positive = f" (events of weight >= {threshold:g}, e.g. ratings >= {threshold:g})" if threshold else ""
        why = (
            f"protocol {protocol.get('name')} keeps only users with at least {least} positive items{positive}, so a "
            f"user with fewer was dropped by the split; or {why}"
        )
    return why


def unknown_user_message(model, users: list[str], flag: str) -> str:
    """``flag``: the users are not in the model, why, and what to do instead (one line)."""
    shown = ", ".join(map(repr, users[:5])) + (" ..." if len(users) > 5 else "")
    who = f"user {shown} is" if len(users) == 1 else f"{len(users):,} users ({shown}) are"
    reason = unknown_user_reason((getattr(model, "facts", None) or {}).get("protocol"))
    return f"{flag}: {who} not among the model's {model.n_users:,} users: {reason}; {NEW_USER_HINT}"


def _user_keys(model) -> dict[str, object]:
    """``{str(user ID): user ID}``: IDs typed on a command line or in a file arrive as text."""
    return {str(u): u for u in model.user_ids}


def _batch_users(args: argparse.Namespace, model) -> list[str]:
    if args.all_users:
        return [str(u) for u in model.user_ids]
    try:
        text = sys.stdin.read() if str(args.users) == "-" else Path(args.users).read_text(encoding="utf-8")
    except OSError as exc:
        raise OSError(f"--users {args.users}: {exc.strerror or exc}") from None
    users = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not users:
        raise UsageError(f"--users {args.users}: no user ID in it (one ID a line; blank lines and # comments skipped)")
    return users


def _check_one_source(args: argparse.Namespace, *, new_user: bool) -> str:
    """Which of --user / --users / --all-users / (--items, --query) was given: exactly one."""
    given = [
        name
        for name, on in (
            ("--user", args.user is not None),
            ("--users", args.users is not None),
            ("--all-users", args.all_users),
            ("--items/--query", new_user),
        )
        if on
    ]
    if len(given) != 1:
        raise UsageError(
            "give one of --user ID, --users FILE (one ID a line), --all-users, or --items / --query (someone the "
            f"model does not know){'; got ' + ' and '.join(given) if given else ''}"
        )
    return given[0]


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")


def _emit_text(line: str) -> None:
    """A text (not JSON) line of a batch, its control characters escaped (see :func:`.verb.terminal_text`)."""
    _emit(terminal_text(line))


def _rows(table) -> list[dict]:
    return [
        {"item": _plain(r.item_id), "title": r.title, "score": float(r.score)} for r in table.itertuples(index=False)
    ]


def _batch_recommend(args: argparse.Namespace, model) -> CommandResult:
    """Top-k for many users in one process, streamed: one JSON object a line with --json, else tab-separated rows."""
    from ..progress import progress
    from ..recommend import recommend

    started = time.perf_counter()
    keys = _user_keys(model)
    users = _batch_users(args, model)
    not_in = f"not among the model's {model.n_users:,} users (see the note on stderr)"
    if not args.json:
        _emit("user\trank\titem\tscore\ttitle")
    missing, done = [], 0
    chunk = args.batch_size
    with progress(total=len(users), desc="recommend", unit="user") as bar:
        for start in range(0, len(users), chunk):
            part = users[start : start + chunk]
            known = list(dict.fromkeys(keys[u] for u in part if u in keys))
            table = (
                recommend(model, known, k=args.k, exclude_seen=not args.include_seen, batch_size=max(1, len(known)))
                if known
                else None
            )
            groups = {} if table is None else {str(u): g for u, g in table.groupby("user_id", sort=False)}
            for user in part:
                if user not in keys:
                    missing.append(user)
                    if args.json:
                        _emit(json.dumps({"user": user, "error": not_in}, ensure_ascii=False))
                    continue
                rows = _rows(groups[user]) if user in groups else []
                done += 1
                if args.json:
                    _emit(json.dumps({"user": _plain(keys[user]), "items": rows}, ensure_ascii=False, default=str))
                else:
                    for rank, r in enumerate(rows, 1):
                        title = " ".join(str(r["title"]).split())  # a tab or newline in a title would break the row
                        _emit_text(f"{user}\t{rank}\t{r['item']}\t{r['score']:.6g}\t{title}")
            bar.update(len(part))
    seconds = time.perf_counter() - started
    log = logging.getLogger("interestgraph")
    rate = done / seconds if seconds > 0 else 0.0
    log.info(f"top {args.k} for {done:,} users in {seconds:.2f} s ({rate:,.0f} users/s)")
    if missing:
        log.error(unknown_user_message(model, missing, "--users" if args.users else "--all-users"))
    return CommandResult(streamed=True, exit_code=1 if missing else 0)


def run_recommend(args: argparse.Namespace) -> CommandResult:
    from ..recommend import recommend, recommend_for_intent, recommend_for_items

    if args.k < 1:
        raise UsageError(f"-k must be >= 1, got {args.k}")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    source = _check_one_source(args, new_user=args.items is not None or args.query is not None)
    model = _load(args.model)
    _no_query(model, args)
    if source in ("--users", "--all-users"):
        if args.explain:
            raise UsageError("--explain works with --user or --query; for many users: 'interestgraph explain --users'")
        return _batch_recommend(args, model)
    notes = []
    try:
        if args.user is not None:
            if args.user not in _user_keys(model):
                raise DataError(unknown_user_message(model, [args.user], "--user"))
            table = recommend(model, [args.user], k=args.k, exclude_seen=not args.include_seen)
            who = f"user {args.user}"
        elif args.query is not None:
            items = _items(args.items)
            table = recommend_for_intent(
                model, args.query, k=args.k, items=items or None, exclude_given=not args.include_seen
            )
            who = f"a new user asking {args.query!r}" + (f" who liked {len(items)} item(s)" if items else "")
            if "matched" in table.attrs:  # the item-path model steps to the best-matching items
                notes.append(
                    "query → items: "
                    + ", ".join(f"{r['title'] or r['item_id']} ({r['similarity']:.2f})" for r in table.attrs["matched"])
                )
            else:
                notes.append(
                    "query → interests: "
                    + ", ".join(f"{r['label']} ({r['similarity']:.2f})" for r in table.attrs["interests"])
                )
        else:
            items = _items(args.items)
            table = recommend_for_items(model, items, k=args.k, exclude_given=not args.include_seen)
            who = f"a new user who liked {len(items)} item(s)"
    except KeyError as exc:
        raise DataError(f"{'--user' if args.user is not None else '--items'}: {exc.args[0]}") from None
    except DataError:
        raise
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    rows = _rows(table)
    reasons = _explain_first(args, model, rows)
    width = max([len(str(r["item"])) for r in rows] + [4])
    scores = [f"{r['score']:.5g}" for r in rows]
    score_width = max([len(x) for x in scores] + [5])
    lines = [
        f"top {len(rows)} for {who} ({model.describe()})",
        *notes,
        f"{'rank':>4}  {'item':<{width}}  {'score':>{score_width}}  title",
    ]
    lines += [
        f"{k:>4}  {r['item']!s:<{width}}  {x:>{score_width}}  {r['title'] or ''}"
        for k, (r, x) in enumerate(zip(rows, scores), 1)
    ]
    for explanation in reasons:
        lines += ["", str(explanation)]
    protocol = (getattr(model, "facts", None) or {}).get("protocol_line")
    if protocol:
        lines.append(f"trained on: {protocol}")
    return CommandResult(rows, "\n".join(lines))


def _explain_first(args: argparse.Namespace, model, rows: list[dict]) -> list:
    """``--explain N``: the explanations (``--top`` walks each) of the first N recommended items, also added to
    their JSON rows as ``explanation``."""
    from ..recommend import explain, explain_intent, explain_item_path

    if not args.explain:
        return []
    if args.explain < 0 or args.top < 1:
        raise UsageError(f"--explain must be >= 0 and --top >= 1, got {args.explain} and {args.top}")
    if args.user is None and args.query is None and not _is_item_path(model):
        raise UsageError("--explain needs --user or --query (for --items use 'interestgraph explain')")
    out = []
    for row in rows[: args.explain]:
        if args.user is not None:
            explanation = explain(model, args.user, row["item"], top=args.top)
        elif args.query is None:  # an item-path model's new user
            explanation = explain_item_path(model, row["item"], items=_items(args.items), top=args.top)
        else:
            explanation = explain_intent(model, args.query, row["item"], top=args.top, items=_items(args.items) or None)
        row["explanation"] = explanation.to_dict()
        out.append(explanation)
    return out


def _explain_pairs(args: argparse.Namespace, model) -> list[tuple[str, str | None]]:
    """(user, item) pairs of a batch explain: the users with --item, or "USER ITEM" lines of --users."""
    if args.all_users:
        return [(str(u), args.item) for u in model.user_ids]
    pairs = []
    for line in _batch_users(args, model):
        fields = line.replace(",", " ").replace("\t", " ").split()
        if args.item is not None:
            pairs.append((line, args.item))
        elif len(fields) == 2:
            pairs.append((fields[0], fields[1]))
        else:
            raise UsageError(f"--users {args.users}: without --item each line is 'USER ITEM', got {line!r}")
    return pairs


def _batch_explain(args: argparse.Namespace, model) -> CommandResult:
    from ..progress import progress
    from ..recommend import explain

    started = time.perf_counter()
    keys = _user_keys(model)
    pairs = _explain_pairs(args, model)
    not_in = f"not among the model's {model.n_users:,} users (see the note on stderr)"
    missing, done = [], 0
    with progress(total=len(pairs), desc="explain", unit="pair") as bar:
        for k, (user, item) in enumerate(pairs):
            bar.update()
            if user not in keys:
                missing.append(user)
                if args.json:
                    _emit(json.dumps({"user": user, "item": item, "error": not_in}, ensure_ascii=False))
                continue
            try:
                explanation = explain(model, keys[user], item, top=args.top)
            except KeyError as exc:
                raise DataError(f"--item {item!r}: {exc.args[0]}") from None
            done += 1
            if args.json:
                _emit(json.dumps(explanation.to_dict(), ensure_ascii=False, default=str))
            else:
                _emit_text(("\n" if k else "") + str(explanation))
    seconds = time.perf_counter() - started
    log = logging.getLogger("interestgraph")
    log.info(f"{done:,} explanations in {seconds:.2f} s ({done / seconds if seconds > 0 else 0:,.1f} /s)")
    if missing:
        log.error(unknown_user_message(model, missing, "--users"))
    return CommandResult(streamed=True, exit_code=1 if missing else 0)


def run_explain(args: argparse.Namespace) -> CommandResult:
    from ..recommend import explain, explain_intent, explain_item_path

    source = _check_one_source(args, new_user=args.query is not None or args.items is not None)
    if args.item is None and source != "--users":
        raise UsageError("--item is needed (or --users FILE whose lines are 'USER ITEM')")
    model = _load(args.model)
    _no_query(model, args)
    if source in ("--users", "--all-users"):
        return _batch_explain(args, model)
    if args.items is not None and args.query is None and not _is_item_path(model):
        raise UsageError(
            "--items without --query: an interest-graph model explains a new user's items with --query too; "
            "'interestgraph recommend MODEL --items ...' ranks them"
        )
    try:
        if args.user is not None:
            if args.user not in _user_keys(model):
                raise DataError(unknown_user_message(model, [args.user], "--user"))
            explanation = explain(model, args.user, args.item, top=args.top)
        elif args.query is None:  # an item-path model's new user
            explanation = explain_item_path(model, args.item, items=_items(args.items), top=args.top)
        else:
            explanation = explain_intent(model, args.query, args.item, top=args.top, items=_items(args.items) or None)
    except KeyError as exc:
        raise DataError(f"--item: {exc.args[0]}") from None
    except DataError:
        raise
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
    if _is_item_path(model):
        raise UsageError(
            f"{args.model} is an item-path model: it reaches new items through the catalogue it was fitted on (put "
            "them in the catalogue, rebuild the graph and refit); add-items extends an interest-graph model"
        )
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


class _OneUser(argparse.Action):
    """``--user`` given once: a repeated ``--user`` is refused rather than silently keeping the last."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, "_user_given", False):
            parser.error(
                f"--user given more than once ({getattr(namespace, self.dest)!r}, then {values!r}); one user per "
                "--user, or many with --users FILE (one ID a line; - reads stdin)"
            )
        namespace._user_given = True
        setattr(namespace, self.dest, values)


def _add_batch_options(parser: argparse.ArgumentParser, *, what: str) -> None:
    parser.add_argument("--users", metavar="FILE", help=f"a file of {what}, one a line ('-': stdin)")
    parser.add_argument("--all-users", action="store_true", help="every user of the model")


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    rec = add_verb(
        verbs,
        common,
        "recommend",
        help="top-K items for a user, many users, or someone new, from a trained model",
        description="Rank every candidate item for a user by its exact walk score (the user's training items left out) "
        "and print the list, or with --json an array [{item, title, score}, ...]. Many users in one process: --users "
        "FILE (one ID a line; - reads stdin) or --all-users prints, as it goes, tab-separated rows (user, rank, item, "
        "score, title), or with --json one object a line {user, items: [{item, title, score}, ...]}; a user the model "
        "does not know gets {user, error} and the exit code is 1. Someone new: --items and/or --query.",
        example="interestgraph recommend models/ml-small --user 42 -k 20\n  interestgraph recommend models/ml-small "
        "--users users.txt -k 10 --json > recs.jsonl\n  interestgraph recommend models/ml-small "
        "--query 'space adventure with robots' --json",
        run=run_recommend,
    )
    rec.add_argument("model", type=Path, help="model directory written by 'interestgraph train' (either --model-type)")
    rec.add_argument("--user", action=_OneUser, help="user ID as in the log (once; many: --users FILE)")
    _add_batch_options(rec, what="users")
    rec.add_argument(
        "--batch-size", type=int, default=256, help="--users / --all-users: users scored at once (default 256)"
    )
    rec.add_argument("--items", help="comma-separated item IDs a new user liked, oldest first (no retraining)")
    rec.add_argument(
        "--query",
        help='free text of a new user\'s intent ("space adventure with robots"), mapped through the encoder to '
        "interests",
    )
    rec.add_argument("-k", type=int, default=20, help="list length (default 20)")
    rec.add_argument(
        "--explain",
        type=int,
        default=0,
        metavar="N",
        help="also list the walks behind the first N recommendations (with --user or --query, or --items for an "
        "item-path model; as 'explain' does)",
    )
    rec.add_argument("--top", type=int, default=3, help="with --explain: walks listed per recommendation (default 3)")
    rec.add_argument(
        "--include-seen", action="store_true", help="also rank the user's training items (or the given --items)"
    )
    add_json_flag(
        rec,
        help="JSON on stdout: an array [{item, title, score}, ...]; with --users / --all-users one object a line "
        "{user, items} (JSON lines)",
    )
    exp = add_verb(
        verbs,
        common,
        "explain",
        help="the user→item walks that make one recommendation's score",
        description="List the walks joining a user and an item, each with its contribution to the score "
        "(they add up to it exactly; the walks not shown are the remainder), grouped by interest. Many in one process: "
        "--users FILE with --item (one user ID a line) or without it (lines 'USER ITEM'), or --all-users with --item; "
        "with --json one explanation object a line.",
        example="interestgraph explain models/ml-small --user 42 --item 1196 --top 5 --json\n  interestgraph explain "
        "models/ml-small --users pairs.txt --json > why.jsonl",
        run=run_explain,
    )
    exp.add_argument("model", type=Path, help="model directory written by 'interestgraph train' (either --model-type)")
    exp.add_argument("--user", action=_OneUser, help="user ID as in the log (once; many: --users FILE)")
    _add_batch_options(exp, what="users (or 'USER ITEM' pairs without --item)")
    exp.add_argument("--query", help="free text of a new user's intent, instead of --user")
    exp.add_argument(
        "--items",
        help="comma-separated item IDs a new user liked: with --query, or alone for an item-path model (each liked "
        "item's share of the score)",
    )
    exp.add_argument("--item", help="item ID as in the catalog")
    exp.add_argument("--top", type=int, default=5, help="walks to list (default 5)")
    add_json_flag(
        exp, help="JSON on stdout: the explanation object; with --users / --all-users one object a line (JSON lines)"
    )
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
