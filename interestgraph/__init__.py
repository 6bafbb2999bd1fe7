"""interestgraph: interest-graph recommendation from behaviour logs.

Stages, each a sub-package: ``data`` (canonical logs, readers, validation,
splits, the synthetic default) → interests → encoder → graph → model →
recommend / evaluate → viz, with one CLI (``interestgraph``) over them.

Importing interestgraph switches transformers and huggingface_hub offline
(see :mod:`interestgraph._offline`); nothing here downloads at run time.
"""

from ._offline import apply_offline_switches

apply_offline_switches()

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
