"""CLI conventions: parser, verb registry, output, exit codes (see :mod:`interestgraph.cli`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from .. import __version__
from ..errors import InterestGraphError
from .threads import resolve_threads, thread_limit

# re-exported: verb modules written before .verb existed import these from here
from .verb import CONFIG_EXTRAS as CONFIG_EXTRAS
from .verb import CommandResult as CommandResult
from .verb import UsageError as UsageError
from .verb import add_json_flag as add_json_flag
from .verb import add_verb as add_verb
from .verb import terminal_text

EXIT_OK, EXIT_DATA_ERROR, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors"
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars or notes on stderr"
    )
    common.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="settings from a TOML or JSON file: flag names as keys (top-level keys: every verb that has the flag; a "
        "[VERB] table: that verb only); flags on the command line win",
    )
    common.add_argument(
        "--threads",
        type=_threads,
        metavar="N",
        default=argparse.SUPPRESS,
        help="CPU threads of torch, OpenMP and BLAS (default: $INTERESTGRAPH_THREADS, else $OMP_NUM_THREADS, else "
        "min(physical cores, 8) less the machine's load; see docs/getting-started.md#threads)",
    )
    return common


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The settings in a ``.toml`` or ``.json`` file (a table / object at the top).

    Raises:
        UsageError: unreadable, not TOML / JSON by its suffix, or not a table.
    """
    import tomllib
    from pathlib import Path

    path = Path(path)
    if path.suffix.lower() not in (".toml", ".json"):
        raise UsageError(f"--config {path}: expected a .toml or .json file")
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"--config {path}: not a readable {path.suffix.lower()[1:].upper()} file ({_one_line(exc)})"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"--config {path}: the top level must be a table of settings, got {type(data).__name__}")
    return data


def _peek_config(argv: Sequence[str], verbs: set[str]) -> tuple[str | None, str | None]:
    """``(config path, verb)`` from the raw arguments, before parsing (so a file can supply required flags)."""
    path = verb = None
    for k, token in enumerate(argv):
        if token == "--config" and k + 1 < len(argv):
            path = argv[k + 1]
        elif token.startswith("--config="):
            path = token.split("=", 1)[1]
        elif verb is None and token in verbs and (k == 0 or argv[k - 1] != "--config"):
            verb = token
    return path, verb


def apply_config(parser: argparse.ArgumentParser, argv: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """Turn ``--config FILE``'s settings into the verb's flags; returns ``(argv, extra)``.

    The settings become command-line tokens placed right after the verb, so argparse checks their
    types and choices like any flag, and a flag given on the command line (later) wins; a repeatable
    flag given on the command line replaces the file's values. Top-level keys apply to every verb that
    has such a setting (one file serves a pipeline); a table named after a verb applies to that verb
    only, and its keys (including those inside its tables, such as train's ``model``) beat top-level
    ones. ``extra``: the settings the verb takes from files only (see :data:`CONFIG_EXTRAS`).

    Raises:
        UsageError: a setting no verb (or not this verb) knows, or a value of the wrong shape (named).
    """
    argv = list(argv)
    verbs_action = parser._subparsers._group_actions[0]
    verbs = set(verbs_action.choices)
    path, verb = _peek_config(argv, verbs)
    if path is None or verb is None:
        return argv, {}
    data = read_config(path)
    section = data.get(verb, {})
    if not isinstance(section, dict):
        raise UsageError(f"--config {path}: [{verb}] must be a table of settings")

    def accepted(name: str) -> tuple[dict[str, argparse.Action], set[str]]:
        return {
            a.dest: a for a in verbs_action.choices[name]._actions if a.dest not in ("help", "config", "verb")
        }, CONFIG_EXTRAS.get(name, set)()

    shared = {k: v for k, v in data.items() if k not in verbs}
    anywhere = set().union(*(set(a) | e for a, e in map(accepted, verbs)))
    unknown = [k for k in shared if k.replace("-", "_") not in anywhere]
    if unknown:
        raise UsageError(
            f"--config {path}: unknown setting(s) {', '.join(map(repr, unknown))} (no verb has such a flag)"
        )
    actions, extras = accepted(verb)
    shadowed = {
        k.replace("-", "_")
        for key, table in section.items()
        if key.replace("-", "_") in extras and isinstance(table, dict)
        for k in table
    }
    shared = {
        k: v
        for k, v in shared.items()
        if k.replace("-", "_") in set(actions) | extras and k.replace("-", "_") not in shadowed
    }
    settings = {
        **{k.replace("-", "_"): (k, v) for k, v in shared.items()},
        **{k.replace("-", "_"): (k, v) for k, v in section.items()},
    }
    unknown = [key for dest, (key, _) in settings.items() if dest not in actions and dest not in extras]
    if unknown:
        known = sorted(
            {
                *(a.lstrip("-") for action in actions.values() for a in action.option_strings if a.startswith("--")),
                *extras,
            }
        )
        raise UsageError(
            f"--config {path}: unknown setting(s) {', '.join(map(repr, unknown))} for 'interestgraph {verb}' (known: "
            f"{', '.join(known)})"
        )
    given = {token.split("=", 1)[0] for token in argv if token.startswith("-")}
    tokens, defaults, extra = [], {}, {}
    for dest, (key, value) in settings.items():
        if dest not in actions:
            extra[dest] = value
            continue
        action = actions[dest]
        if not action.option_strings:  # a positional: the file supplies it when the command line does not
            if not isinstance(value, str):
                raise UsageError(f"--config {path}: {key!r} must be a string, got {value!r}")
            defaults[dest] = value
            continue
        if given & set(action.option_strings):
            continue  # the command line wins (and replaces a repeatable flag's values)
        flag = next((o for o in action.option_strings if o.startswith("--")), action.option_strings[0])
        if action.nargs == 0:  # on/off switches
            if not isinstance(value, bool):
                raise UsageError(f"--config {path}: {key!r} is a switch: true or false, got {value!r}")
            tokens += [flag] if value else []
        elif isinstance(action, argparse._AppendAction):
            values = [value] if isinstance(value, (str, int, float)) and not isinstance(value, bool) else value
            if not isinstance(values, list) or not all(
                isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values
            ):
                raise UsageError(f"--config {path}: {key!r} takes a value or a list of values, got {value!r}")
            for v in values:
                tokens += [flag, str(v)]
        elif isinstance(value, list) and all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
        ):
            tokens += [flag, ",".join(map(str, value))]  # list-valued flags are comma-separated
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            tokens += [flag, str(value)]
        else:
            raise UsageError(f"--config {path}: {key!r} takes a value, got {value!r}")
    verbs_action.choices[verb].set_defaults(**defaults)
    at = argv.index(verb)
    return argv[: at + 1] + tokens + argv[at + 1 :], extra


def build_parser() -> argparse.ArgumentParser:
    from . import (
        data_verbs,
        demo,
        encode_verb,
        evaluate_verb,
        forget_verb,
        graph_verbs,
        recommend_verbs,
        show_verb,
        train_verb,
    )

    common = _common_options()
    parser = _Parser(
        prog="interestgraph",
        description="Interest-graph recommendation: build user–interest–item graphs from behaviour logs, "
        "train GCN + language-model models, and explain every recommendation by its paths.",
        epilog="Run 'interestgraph VERB --help' for a verb's options and an example.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"interestgraph {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for module in (
        demo,
        data_verbs,
        encode_verb,
        graph_verbs,
        train_verb,
        evaluate_verb,
        recommend_verbs,
        show_verb,
        forget_verb,
    ):
        module.register(verbs, common)
    return parser


class _NoteFormatter(logging.Formatter):
    """``interestgraph: note: ...`` (info), ``interestgraph: warning: ...``, ``interestgraph: error: ...``."""

    def format(self, record: logging.LogRecord) -> str:
        kind = "note" if record.levelno < logging.WARNING else record.levelname.lower()
        return f"interestgraph: {kind}: {record.getMessage()}"


def _configure_stderr(quiet: bool) -> None:
    if quiet:
        os.environ["INTERESTGRAPH_PROGRESS"] = "0"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_NoteFormatter())
    root = logging.getLogger("interestgraph")
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR if quiet else logging.INFO)
    root.propagate = False


def _line_buffered_stdout() -> None:
    """stdout written line by line even when piped (a log, CI, ``| tee``), so output is seen as it is printed."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and not sys.stdout.isatty():
        with contextlib.suppress(ValueError, OSError):
            reconfigure(line_buffering=True)


def _unrecognised(parser: argparse.ArgumentParser, verb: str | None, unknown: list[str]) -> None:
    """Exit 2 with the verb's own usage line, naming the unknown arguments and the verb's closest flag."""
    import difflib

    target = parser._subparsers._group_actions[0].choices.get(verb, parser) if verb else parser
    flags = [o for action in target._actions for o in action.option_strings if o.startswith("--")]
    hints = []
    for token in unknown:
        if token.startswith("-"):
            close = difflib.get_close_matches(token.split("=", 1)[0], flags, n=1, cutoff=0.6)
            if close:
                hints.append(f"{token.split('=', 1)[0]}: did you mean {close[0]}?")
    target.error(f"unrecognized arguments: {' '.join(unknown)}" + (f" ({'; '.join(hints)})" if hints else ""))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv, config_extra = apply_config(parser, argv)
    except UsageError as exc:
        print(f"interestgraph: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # a mistyped flag: the verb's usage (with a close match), not the top-level one
            _unrecognised(parser, getattr(args, "verb", None), unknown)
    except SystemExit as exc:
        if exc.code == EXIT_USAGE and any(a == "--config" or a.startswith("--config=") for a in argv):
            print(
                "interestgraph: note: the settings of --config were checked as the flags of the same names",
                file=sys.stderr,
            )
        raise
    args.config_extra = config_extra
    debug = getattr(args, "debug", False)
    _configure_stderr(getattr(args, "quiet", False))
    _line_buffered_stdout()
    if not getattr(args, "verb", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        threads, _ = resolve_threads(getattr(args, "threads", None))
    except ValueError as exc:
        print(f"interestgraph: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with thread_limit(threads):
            result = args.run(args)
    except KeyboardInterrupt:
        print("interestgraph: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as a killed writer would
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except UsageError as exc:
        if debug:
            traceback.print_exc()
        print(f"interestgraph {args.verb}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except (InterestGraphError, OSError) as exc:
        if debug:
            traceback.print_exc()
        print(f"interestgraph {args.verb}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_DATA_ERROR
    except (ValueError, TypeError) as exc:
        if debug:
            traceback.print_exc()
        print(f"interestgraph {args.verb}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug: say so plainly, trace only on request
        if debug:
            traceback.print_exc()
        print(
            f"interestgraph {args.verb}: internal error: {type(exc).__name__}: {_one_line(exc)} (rerun with --debug "
            "for the traceback)",
            file=sys.stderr,
        )
        return EXIT_DATA_ERROR
    if result.streamed:  # the verb printed its output as it went (batch recommend / explain)
        return result.exit_code
    if getattr(args, "json", False):
        print(json.dumps(result.data, indent=2, ensure_ascii=False, default=str))
    elif result.text:
        print(terminal_text(result.text))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
