"""The ``interestgraph`` command line.

Conventions every verb follows (implemented once, in :mod:`.app`):

* ``interestgraph VERB --help`` describes the verb and shows an example;
* ``--json`` prints the result as one JSON object on stdout where the result is data;
* exit 0 on success, 2 on usage errors (bad flags or values), 1 on data errors
  with one line on stderr that names the problem; a traceback only with ``--debug``;
* progress bars and notes go to stderr, never to stdout.
"""

from .app import main

__all__ = ["main"]
