"""CLI conventions: parser, verb registry, output, exit codes (see :mod:`interestgraph.cli`)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..errors import InterestGraphError

EXIT_OK, EXIT_DATA_ERROR, EXIT_USAGE = 0, 1, 2


@dataclass
class CommandResult:
    """What a verb returns: ``data`` for ``--json``, ``text`` for people."""

    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""


class UsageError(Exception):
    """A bad combination of flags that argparse cannot see; exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars or notes on stderr")
    return common


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")


def build_parser() -> argparse.ArgumentParser:
    from . import data_verbs, demo, evaluate_verb, graph_verbs, recommend_verbs, show_verb, train_verb

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
    for module in (demo, data_verbs, graph_verbs, train_verb, evaluate_verb, recommend_verbs, show_verb):
        module.register(verbs, common)
    return parser


def add_verb(verbs: argparse._SubParsersAction, common: argparse.ArgumentParser, name: str, *, help: str, description: str, example: str, run: Callable[[argparse.Namespace], CommandResult]) -> argparse.ArgumentParser:
    """Register a verb with its one-line help, description and an example in ``--help``."""
    sub = verbs.add_parser(name, help=help, description=description, epilog=f"example:\n  {example}", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.set_defaults(run=run)
    return sub


def _configure_stderr(quiet: bool) -> None:
    if quiet:
        os.environ["INTERESTGRAPH_PROGRESS"] = "0"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("interestgraph: note: %(message)s"))
    root = logging.getLogger("interestgraph")
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR if quiet else logging.INFO)
    root.propagate = False


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    _configure_stderr(getattr(args, "quiet", False))
    if not getattr(args, "verb", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        result = args.run(args)
    except KeyboardInterrupt:
        print("interestgraph: interrupted", file=sys.stderr)
        return 130
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
        print(f"interestgraph {args.verb}: internal error: {type(exc).__name__}: {_one_line(exc)} (rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_DATA_ERROR
    if getattr(args, "json", False):
        print(json.dumps(result.data, indent=2, ensure_ascii=False, default=str))
    elif result.text:
        print(result.text)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
