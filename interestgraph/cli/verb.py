"""What every verb module uses: its result type, its usage error, and how it registers itself.

The verb modules (``data_verbs``, ``graph_verbs``, ...) import these from here, and :mod:`.app` imports the verb
modules to build the parser, so the CLI's imports run one way (app → verbs → this module) without a cycle.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .choices import ARTIFACTS

__all__ = [
    "CONFIG_EXTRAS",
    "CommandResult",
    "UsageError",
    "add_json_flag",
    "add_verb",
    "expect_artifact",
    "terminal_text",
]


@dataclass
class CommandResult:
    """What a verb returns: ``data`` for ``--json``, ``text`` for people; ``streamed`` when the verb has already
    printed its output line by line (batch modes), with the ``exit_code`` to end with."""

    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    streamed: bool = False
    exit_code: int = 0


#: control characters (C0 but tab and newline, DEL, C1) that would act on a terminal if printed raw
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_text(text: str) -> str:
    """``text`` with every control character but tab and newline written as its escape (``\\x1b``, ``\\r``), so a
    title or ID read from data cannot move the cursor, recolour or rewrite what the terminal shows. For text output
    only: JSON escapes control characters itself."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class UsageError(Exception):
    """A bad combination of flags that argparse cannot see; exit code 2."""


#: settings a verb accepts from --config besides its flags (the train verb: ModelConfig / TrainConfig fields)
CONFIG_EXTRAS: dict[str, Callable[[], set[str]]] = {}


def add_json_flag(parser: argparse.ArgumentParser, help: str = "print the result as one JSON object on stdout") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_verb(
    verbs: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    name: str,
    *,
    help: str,
    description: str,
    example: str,
    run: Callable[[argparse.Namespace], CommandResult],
) -> argparse.ArgumentParser:
    """Register a verb with its one-line help, description and an example in ``--help``."""
    sub = verbs.add_parser(
        name,
        help=help,
        description=description,
        epilog=f"example:\n  {example}",
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.set_defaults(run=run)
    return sub


#: manifest ``format`` → (what it is, the verb that writes it)
_KINDS = {kind: (f"{'an' if what[0] in 'aeiou' else 'a'} {what}", writer) for kind, (what, writer) in ARTIFACTS.items()}


def expect_artifact(path, kind: str, role: str) -> None:
    """Raise a :class:`UsageError` that says what ``path`` is and what to do when it is not an artifact of ``kind``
    (a manifest ``format``); a path whose manifest says ``kind`` passes (the loader then verifies it)."""
    from pathlib import Path

    from ..artifacts import artifact_format

    found = artifact_format(path)
    if found == kind:
        return
    what, writer = _KINDS[kind]
    if not Path(path).is_dir():
        raise UsageError(f"{role} {path}: not a directory (write {what} with '{writer}')")
    if found in _KINDS:
        is_what, is_writer = _KINDS[found]
        follow = {
            ("interestgraph-model", "interestgraph-graph"): f"train a model on it: interestgraph train {path} --out "
            "MODEL_DIR",
            ("interestgraph-graph", "interestgraph-dataset"): f"build a graph from it: interestgraph build {path} "
            "--out GRAPH_DIR",
            ("interestgraph-graph", "interestgraph-model"): "a model is trained on a graph; its own graph is the "
            "graph_path in its manifest.json",
        }.get((kind, found), f"write {what} with '{writer}'")
        raise UsageError(f"{role} {path} is {is_what} (written by '{is_writer}'), not {what}: {follow}")
    if not (Path(path) / "manifest.json").exists():
        raise UsageError(f"{role} {path}: no manifest.json, so not {what} (write one with '{writer}')")
