"""Nothing reaches the network: importing interestgraph switches transformers / huggingface_hub offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_sets_offline_switches_without_overriding_the_user():
    code = (
        "import os, interestgraph; print(os.environ['HF_HUB_OFFLINE'], os.environ['TRANSFORMERS_OFFLINE'], "
        "os.environ['HF_HUB_DISABLE_TELEMETRY'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    assert out == ["1", "1", "1"]
    env["HF_HUB_OFFLINE"] = "0"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    assert out[0] == "0"


def test_data_layer_and_cli_do_not_import_torch():
    """The data layer and `--help` stay light: no torch / transformers import (3-4 s each)."""
    code = (
        "import sys, interestgraph.data, interestgraph.cli.app as a; a.build_parser(); print(sorted(m for m in "
        "('torch', 'transformers', 'torch_geometric') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    ).stdout.strip()
    assert out == "[]"
