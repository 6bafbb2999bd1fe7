"""Trainable modes: "top" (top-N layers over cached lower layers) and "lora" (peft adapters)."""

from __future__ import annotations

import pytest
import torch

from interestgraph.encoder import EncoderConfig, TextEncoder

TEXTS = [
    "science fiction",
    "space opera with robots",
    "",
    "café naïve — Æsir",
    "日本語のアニメ 🎉",
    "romantic comedy set in 1920s Paris, with a jazz soundtrack and a love triangle",
    "HORROR",
    "documentary",
]
# for timing: a batch the size joint training uses, interest-like texts of 5-15 tokens
TIMING_TEXTS = [
    f"interest number {i}: " + " ".join(["film", "noir", "heist", "thriller", "neo"][: 1 + i % 5]) * (1 + i % 3)
    for i in range(32)
]


def _toy_step(encoder: TextEncoder, texts: list[str], lr: float = 1e-3) -> None:
    """One Adam step pulling the first two texts' vectors together."""
    optimiser = torch.optim.Adam(encoder.trainable_parameters(), lr=lr)
    out = encoder(texts)
    loss = -(out[0] * out[1]).sum() + out[2:].sum() * 0.0
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()


@pytest.fixture(scope="module")
def frozen_vectors() -> torch.Tensor:
    return TextEncoder().encode(TEXTS)


@pytest.fixture(scope="module")
def top() -> TextEncoder:
    return TextEncoder(EncoderConfig(mode="top", top_layers=2))


@pytest.fixture(scope="module")
def lora() -> TextEncoder:
    return TextEncoder(EncoderConfig(mode="lora"))


# -- mode "top" ----------------------------------------------------------------------------------------------------


def test_top_trains_exactly_the_top_layers(top):
    layers = top.model.encoder.layer
    assert top.num_layers == 6
    expected = {id(p) for layer in layers[4:] for p in layer.parameters()}
    trainable = top.trainable_parameters()
    assert {id(p) for p in trainable} == expected and len(trainable) == len(expected)
    frozen = [p for p in top.model.parameters() if id(p) not in expected]
    assert frozen and not any(p.requires_grad for p in frozen)


def test_top_forward_with_and_without_precompute_equals_frozen_encode(top, frozen_vectors):
    top.clear_precomputed()
    plain = top(TEXTS)
    assert plain.requires_grad and plain.shape == (len(TEXTS), 384) and plain.device == top.device
    assert (plain.detach() - frozen_vectors).abs().max().item() < 1e-5
    assert (top.encode(TEXTS) - frozen_vectors).abs().max().item() < 1e-5

    top.precompute(TEXTS[:5])  # some precomputed, some not, in one call
    assert top.num_precomputed == 5
    mixed = top(TEXTS)
    top.precompute(TEXTS)
    assert top.num_precomputed == len(TEXTS)
    cached = top(TEXTS)
    for out in (mixed, cached):
        assert (out.detach() - frozen_vectors).abs().max().item() < 1e-5
    assert (top.encode(TEXTS) - frozen_vectors).abs().max().item() < 1e-5

    cached.sum().backward()  # gradients reach the top layers only
    layers = top.model.encoder.layer
    assert all(p.grad is not None for p in layers[5].parameters())
    assert all(p.grad is None for p in layers[0].parameters())
    top.model.zero_grad(set_to_none=True)


def test_top_forward_in_several_batches_keeps_the_order(frozen_vectors):
    small = TextEncoder(EncoderConfig(mode="top", top_layers=2, batch_size=3))
    small.precompute(TEXTS[::2])
    assert (
        small(TEXTS + TEXTS[:2]).detach() - torch.cat([frozen_vectors, frozen_vectors[:2]])
    ).abs().max().item() < 1e-5


def test_top_precomputed_forward_runs_no_frozen_layer(top, monkeypatch):
    """What makes the "top" mode cheap: with the lower layers precomputed, a forward pass runs
    only the trainable top layers. (Speed itself is measured by benchmarks, not asserted here.)"""
    calls = {"lower": 0, "top": 0}
    layers = list(top.model.encoder.layer)
    n_top = top.config.top_layers
    for index, layer in enumerate(layers):
        kind = "top" if index >= len(layers) - n_top else "lower"
        original = layer.forward

        def counted(*args, _original=original, _kind=kind, **kwargs):
            calls[_kind] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(layer, "forward", counted)
    embeddings = top.model.embeddings.forward
    embedded = {"n": 0}

    def counted_embeddings(*args, **kwargs):
        embedded["n"] += 1
        return embeddings(*args, **kwargs)

    monkeypatch.setattr(top.model.embeddings, "forward", counted_embeddings)
    top.clear_precomputed()
    top.precompute(TIMING_TEXTS)
    calls.update(lower=0, top=0)
    embedded["n"] = 0
    top(TIMING_TEXTS).sum().backward()
    top.model.zero_grad(set_to_none=True)
    assert calls["lower"] == 0 and embedded["n"] == 0
    assert calls["top"] >= n_top
    top.clear_precomputed()
    top(TIMING_TEXTS)  # without precompute the lower layers do run
    assert calls["lower"] > 0
    top.clear_precomputed()


def test_top_step_changes_output_and_leaves_lower_layers(top, frozen_vectors):
    start = top.trainable_state_dict()
    lower = {n: p.detach().clone() for n, p in top.model.named_parameters() if not p.requires_grad}
    top.precompute(TEXTS)
    try:
        _toy_step(top, TEXTS)
        after = top(TEXTS).detach()
        assert (after - frozen_vectors).abs().max().item() > 1e-4
        assert all(torch.equal(p, lower[n]) for n, p in top.model.named_parameters() if not p.requires_grad)
        assert (top.encode(TEXTS) - after).abs().max().item() < 1e-5  # encode follows the current weights
        top.clear_precomputed()  # precomputed lower layers stay valid after training
        assert (top(TEXTS).detach() - after).abs().max().item() < 1e-5
    finally:
        top.load_trainable_state_dict(start)
    assert (top.encode(TEXTS) - frozen_vectors).abs().max().item() < 1e-5


def test_train_mode_drops_out_only_in_the_trainable_part(top, frozen_vectors):
    top.train()
    try:
        layers = top.model.encoder.layer
        assert top.training and all(layer.training for layer in layers[4:])
        assert not top.model.embeddings.training and not any(layer.training for layer in layers[:4])
        assert (top.encode(TEXTS) - frozen_vectors).abs().max().item() < 1e-5  # encode runs in eval mode
        assert top.training and layers[5].training  # ... and restores the mode
    finally:
        top.eval()
    assert not any(m.training for m in top.modules())


# -- mode "lora" ---------------------------------------------------------------------------------------------------


def test_lora_adapters_only_and_init_equals_frozen(lora, frozen_vectors):
    import peft

    assert isinstance(lora.model, peft.PeftModel)
    names = [n for n, p in lora.model.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    assert len(names) == 6 * 2 * 2  # 6 layers x (query, value) x (A, B)
    assert sum(p.numel() for p in lora.trainable_parameters()) == 6 * 2 * (384 * 8 + 8 * 384)
    out = lora(TEXTS)
    assert out.requires_grad
    assert (out.detach() - frozen_vectors).abs().max().item() < 1e-5
    assert (lora.encode(TEXTS) - frozen_vectors).abs().max().item() < 1e-5
    lora.precompute(TEXTS)  # no-op outside mode "top"
    assert lora.num_precomputed == 0


def test_lora_step_changes_output_not_base_weights(lora, frozen_vectors):
    base = {n: p.detach().clone() for n, p in lora.model.named_parameters() if not p.requires_grad}
    _toy_step(lora, TEXTS)
    after = lora(TEXTS).detach()
    assert (after - frozen_vectors).abs().max().item() > 1e-4
    assert all(torch.equal(p, base[n]) for n, p in lora.model.named_parameters() if not p.requires_grad)
    assert (lora.encode(TEXTS) - after).abs().max().item() < 1e-5


def test_lora_bad_targets_name_the_field():
    with pytest.raises(ValueError, match="lora_targets"):
        TextEncoder(EncoderConfig(mode="lora", lora_targets=("no_such_module",)))


# -- CUDA (runs only where a GPU is present) -----------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_autocast_matches_cpu(frozen_vectors):
    gpu = TextEncoder(EncoderConfig(device="auto", mode="top", top_layers=1))
    assert gpu.device.type == "cuda"
    vectors = gpu.encode(TEXTS)
    assert vectors.dtype == torch.float32 and vectors.device.type == "cpu"
    assert (vectors * frozen_vectors).sum(dim=1).min().item() > 0.99  # bf16: close, not equal
    gpu.precompute(TEXTS)
    out = gpu(TEXTS)
    assert out.device.type == "cuda" and out.dtype == torch.float32
    out.sum().backward()
    assert all(p.grad is not None for p in gpu.trainable_parameters())
