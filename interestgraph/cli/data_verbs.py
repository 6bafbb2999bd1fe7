"""Data verbs: ``generate`` (write the synthetic default) and ``inspect`` (load, validate, split, summarise)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .choices import ARTIFACTS, DEFAULT_SPLIT_SEED, FORMATS, PROTOCOLS, RAW_FORMATS
from .verb import CommandResult, UsageError, add_json_flag, add_verb


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (argparse names the flag in its error)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def add_synthetic_options(
    parser: argparse.ArgumentParser, *, users: int = 1000, items: int = 2000, events: int = 50_000
) -> None:
    group = parser.add_argument_group("synthetic data")
    group.add_argument("--n-users", type=int, default=users, help=f"number of users (default {users})")
    group.add_argument("--n-items", type=int, default=items, help=f"number of items (default {items})")
    group.add_argument("--n-events", type=int, default=events, help=f"number of events (default {events})")
    group.add_argument("--seed", type=non_negative_int, default=0, help="random seed of the generator (default 0)")


def synthetic_config(args: argparse.Namespace) -> dict:
    return {"n_users": args.n_users, "n_items": args.n_items, "n_interactions": args.n_events, "seed": args.seed}


def parse_mapping(pairs: list[str] | None, flag: str) -> dict[str, str]:
    """``--map``-style options (``CANONICAL=SOURCE_COLUMN``, repeatable) as ``{canonical: source}``.

    Shared by the verbs that read a log or a catalog (``data``, ``graph``, ``recommend``).

    Raises:
        UsageError: a pair without ``=`` or with an empty side (``flag`` named).
    """
    mapping = {}
    for pair in pairs or []:
        canon, sep, src = pair.partition("=")
        if not sep or not canon or not src:
            raise UsageError(f"{flag} takes CANONICAL=SOURCE_COLUMN, got {pair!r}")
        mapping[canon.strip()] = src.strip()
    return mapping


def parse_list_fields(specs: list[str] | None) -> dict[str, str | None]:
    """``--list-field`` options (``FIELD`` or ``FIELD=DELIMITER``, repeatable) as ``{field: delimiter}``; the
    delimiter defaults to ``"|"``."""
    fields: dict[str, str | None] = {}
    for spec in specs or []:
        name, sep, delimiter = spec.partition("=")
        fields[name.strip()] = delimiter if sep else "|"
    return fields


def run_generate(args: argparse.Namespace) -> CommandResult:
    from ..data.synthetic import generate_synthetic

    started = time.perf_counter()
    data = generate_synthetic(**synthetic_config(args))
    path = data.save(args.out, overwrite=args.overwrite)
    summary = data.log.summary()
    seconds = round(time.perf_counter() - started, 3)
    text = (
        f"wrote {path}: {summary['users']:,} users, {summary['items']:,} items, {summary['interactions']:,} events "
        f"({', '.join(f'{k} {v:,}' for k, v in summary['events'].items())}) in {seconds:.1f} s\n"
        f"read it back with: interestgraph inspect {path} --protocol rs-4"
    )
    return CommandResult({"out": str(path), "summary": summary, "seconds": seconds}, text)


def add_source_options(
    parser: argparse.ArgumentParser, *, extra_formats: tuple[str, ...] = (), default_format: str | None = None
) -> None:
    """SOURCE, --format and the csv mapping flags, shared by every verb that reads a log.

    ``--format`` is needed for raw data only: an artifact directory (a dataset, or a graph where the verb takes
    ``extra_formats=("graph",)``) says what it is in its ``manifest.json``, and without SOURCE ``default_format``
    applies (see :func:`resolve_format`)."""
    parser.add_argument(
        "source",
        nargs="?",
        type=Path,
        help="file or folder of raw data (with --format), or a directory written by interestgraph (its manifest says "
        "what it is); not needed for --format synthetic",
    )
    parser.add_argument(
        "--format",
        default=None,
        choices=(*FORMATS, *extra_formats),
        help="format of raw data (needed only for raw data: a dataset"
        + (" or graph" if "graph" in extra_formats else "")
        + " directory is recognised by its manifest)"
        + (f"; without SOURCE: {default_format}" if default_format else ""),
    )
    parser.set_defaults(default_format=default_format, artifact_formats=("dataset", *extra_formats))
    parser.add_argument("--items", type=Path, help="catalog file (csv) or metadata file (amazon)")
    parser.add_argument(
        "--map",
        action="append",
        metavar="CANON=COL",
        help="csv: map a canonical interaction column (user_id, item_id, timestamp, event, value, text) to a source "
        "column; repeatable",
    )
    parser.add_argument(
        "--item-map",
        action="append",
        metavar="CANON=COL",
        help="csv: map a canonical catalog column (item_id, title) to a source column; repeatable",
    )
    parser.add_argument(
        "--list-field",
        action="append",
        metavar="NAME[=SEP]",
        help="csv: a catalog column of interest labels separated by SEP (default '|'); repeatable",
    )
    parser.add_argument(
        "--event",
        metavar="NAME",
        help="csv: event type when the table has no event column (default 'interaction'; 'rating' for star ratings)",
    )
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="csv: text encoding of the csv / tsv / jsonl files, e.g. latin-1 or cp1252 (default utf-8, a byte-order "
        "mark skipped)",
    )
    parser.add_argument(
        "--split-seed",
        type=non_negative_int,
        default=DEFAULT_SPLIT_SEED,
        help=f"seed of the protocol's split (default {DEFAULT_SPLIT_SEED})",
    )
    add_synthetic_options(parser)


#: manifest ``format`` → the ``--format`` that reads it
_ARTIFACT_FORMATS = {"interestgraph-dataset": "dataset", "interestgraph-graph": "graph"}


def _raw_hint(source: Path) -> str:
    """A guess at the raw format of ``source``, for the message that asks for ``--format``."""
    if source.is_dir():
        names = {p.name.lower() for p in source.iterdir()}
        if {"ratings.csv", "ratings.dat", "u.data"} & names:
            return f" ({source} looks like MovieLens: --format movielens)"
        if {"train.txt", "test.txt"} <= names:
            return f" ({source} looks like LightGCN's files: --format lightgcn)"
        return ""
    if source.suffix.lower() in (".csv", ".tsv", ".parquet", ".jsonl", ".json", ".txt"):
        return " (a table: --format csv, with --map CANONICAL=COLUMN where its columns have other names)"
    return ""


def resolve_format(args: argparse.Namespace, verb: str) -> str:
    """``args.format``, or the one SOURCE's manifest names, or the verb's default without SOURCE; sets
    ``args.format``.

    Raises:
        UsageError: raw data without ``--format``, or an artifact this verb does not read (what to do is said).
    """
    if args.format is not None:
        return args.format
    source = args.source
    if source is None:
        default = getattr(args, "default_format", None)
        if default is None:
            raise UsageError(
                f"give SOURCE (raw data with --format {{{','.join(RAW_FORMATS)}}}, or a dataset directory), or "
                "--format synthetic for the built-in generator"
            )
        args.format = default
        return default
    from ..artifacts import artifact_format

    kind = artifact_format(source)
    readable = getattr(args, "artifact_formats", ("dataset",))
    if kind in _ARTIFACT_FORMATS and _ARTIFACT_FORMATS[kind] in readable:
        args.format = _ARTIFACT_FORMATS[kind]
        return args.format
    if kind in ARTIFACTS:
        what, writer = ARTIFACTS[kind]
        if kind in ("interestgraph-model", "interestgraph-item-path-model"):
            hint = f"evaluate it with 'interestgraph evaluate {source}', ask it with 'interestgraph recommend {source}'"
        else:
            hint = f"train on it with 'interestgraph train {source} --out MODEL_DIR'"
        article = "an" if what[0] in "aeiou" else "a"
        raise UsageError(f"SOURCE {source} is {article} {what} (written by '{writer}'); '{verb}' reads a log: {hint}")
    if not source.exists():
        raise FileNotFoundError(f"SOURCE {source}: no such file or directory")
    raise UsageError(
        f"SOURCE {source} is raw data (no interestgraph manifest.json), so it needs --format "
        f"{{{','.join(RAW_FORMATS)}}}{_raw_hint(source)}"
    )


def load_from_args(args: argparse.Namespace, verb: str = "inspect"):
    """Load the log named by :func:`add_source_options` flags (a ``LoadedSource``)."""
    from ..data.formats import load_source

    resolve_format(args, verb)
    if args.format != "synthetic" and args.source is None:
        raise UsageError(f"--format {args.format} needs a SOURCE path")
    if args.format == "synthetic" and args.source is not None:
        raise UsageError(
            f"--format synthetic reads no SOURCE (got {args.source}); size it with --n-users, --n-items, --n-events"
        )
    if (args.map or args.item_map or args.list_field or args.event) and args.format != "csv":
        raise UsageError("--map, --item-map, --list-field and --event apply to --format csv only")
    encoding = getattr(args, "encoding", None)
    if encoding is not None:
        import codecs

        if args.format != "csv":
            raise UsageError(f"--encoding applies to --format csv only (--format {args.format} knows its own)")
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UsageError(
                f"--encoding {encoding!r}: not a text encoding Python knows (e.g. latin-1, cp1252, utf-16)"
            ) from None
    from ..errors import DataError

    try:
        return load_source(
            args.source,
            args.format,
            items=args.items,
            columns=parse_mapping(args.map, "--map"),
            item_columns=parse_mapping(args.item_map, "--item-map"),
            list_fields=parse_list_fields(args.list_field),
            default_event=args.event or "interaction",
            synthetic=synthetic_config(args),
            encoding=encoding,
        )
    except DataError as exc:
        hint = _mapping_hint(str(exc), args)
        if hint:
            raise DataError(f"{exc}; {hint}") from None
        raise


def _mapping_hint(message: str, args: argparse.Namespace) -> str | None:
    """For a csv table without the canonical columns: how to name its own columns with --map / --item-map."""
    import re

    found = re.search(r"missing required column\(s\) ((?:'[^']+'(?:, )?)+)", message)
    if args.format != "csv" or not found:
        return None
    missing = re.findall(r"'([^']+)'", found.group(1))
    catalog = args.items is not None and message.startswith(str(args.items))
    flag = "--item-map" if catalog else "--map"
    example = " ".join(f"{flag} {name}=YOUR_{name.upper().removesuffix('_ID')}_COLUMN" for name in missing)
    return f"say which of your columns holds each with {flag} CANONICAL=COLUMN: {example}"


def run_inspect(args: argparse.Namespace) -> CommandResult:
    from ..data.protocols import split_log

    started = time.perf_counter()
    loaded = load_from_args(args)
    data: dict = {"log": loaded.log.summary()}
    lines = [_describe_log(data["log"])]
    split = loaded.given_split
    if args.protocol and split is not None:
        raise UsageError(f"--format {args.format} comes with its own train/test split; omit --protocol")
    if args.protocol:
        split = split_log(loaded.log, args.protocol, seed=args.split_seed)
    if split is not None:
        data["split"] = split.summary()
        lines.append(split.describe())
    data["seconds"] = round(time.perf_counter() - started, 3)
    return CommandResult(data, "\n".join(lines))


def _describe_log(s: dict) -> str:
    events = ", ".join(f"{k} {v:,}" for k, v in s["events"].items())
    span = f", {s['first_time']} to {s['last_time']}" if "first_time" in s else ", no timestamps"
    fields = ", ".join(f"{f} ({s.get('distinct_' + f, 0):,} distinct)" for f in s["interest_fields"]) or "none"
    text = (
        f"{s['source']}: {s['users']:,} users, {s['items']:,} items ({s['items_with_interactions']:,} with events), "
        f"{s['interactions']:,} events ({events}){span}; interest fields: {fields}"
    )
    for note in s.get("notes", []):
        text += f"\n  note: {note}"
    return text


def register(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    gen = add_verb(
        verbs,
        common,
        "generate",
        help="write the synthetic default log (with its planted truth) as a dataset directory",
        description="Generate a synthetic behaviour log with planted interests and write it as a dataset directory "
        "(Parquet tables + checksummed manifest.json; the planted truth as truth_*.parquet).",
        example="interestgraph generate --out data/synthetic --n-users 2000 --n-items 3000 --n-events 200000",
        run=run_generate,
    )
    gen.add_argument("--out", type=Path, required=True, help="dataset directory to write")
    gen.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    add_synthetic_options(gen)
    add_json_flag(gen)

    ins = add_verb(
        verbs,
        common,
        "inspect",
        help="load and validate a log, optionally split it under a protocol, and summarise it",
        description="Load a behaviour log in any supported format, validate it, optionally split it under a named "
        "protocol, and print counts (users, items, events, parts).",
        example="interestgraph inspect ../shared/datasets/ml-latest-small --format movielens --protocol rs-4 --json\n"
        "  interestgraph inspect data/synthetic --protocol tl-4          # a dataset directory: no --format",
        run=run_inspect,
    )
    add_source_options(ins)
    ins.add_argument("--protocol", choices=PROTOCOLS, help="split under this named protocol and summarise the parts")
    add_json_flag(ins)
