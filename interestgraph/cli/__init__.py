"""The ``interestgraph`` command line.

Conventions every verb follows (implemented once, in :mod:`.app`):

* ``interestgraph VERB --help`` describes the verb and shows an example;
* ``--format`` only for raw data: a directory written by interestgraph is recognised by its manifest;
* ``--json`` prints the result as JSON on stdout where the result is data: one object (``recommend`` for one user:
  an array of rows; the batch forms of ``recommend`` / ``explain``: one object a line, streamed);
* exit 0 on success, 2 on usage errors (bad flags or values; a mistyped flag shows the verb's usage), 1 on data
  errors (a user the model does not hold included) with one line on stderr that names the problem; a traceback only
  with ``--debug``;
* progress and notes go to stderr, never to stdout (bars on a terminal, timestamped lines elsewhere); stdout is
  line-buffered;
* ``--threads N`` (or ``INTERESTGRAPH_THREADS``) sets the CPU threads; see :mod:`.threads` for the default.
"""

from .app import main

__all__ = ["main"]
