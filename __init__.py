"""Not the package: the root folder of a clone of the interestgraph repository.

Python runs this file only when the folder *above* a clone named ``interestgraph/`` is the current directory (or on
``sys.path``): ``import interestgraph`` then finds this folder before the installed package. Without this file that
import would succeed as an empty namespace package and fail later with ``cannot import name '__version__' from
'interestgraph' (unknown location)``; with it, it fails at once and says what to do (issue 29).
"""

import os as _os

if __name__ == "interestgraph":  # imported in the package's place (pytest imports it under another name: no error)
    _here = _os.path.dirname(_os.path.abspath(__file__))
    raise ImportError(
        f"'import interestgraph' found {_here}, the root folder of a clone of the repository, not the package inside "
        f"it ({_os.path.join(_here, 'interestgraph')}): Python looks in the current folder first. Run from inside the "
        f"clone (cd {_here}), or install it (pip install -e {_here}) and run from any folder but the one above it."
    )
