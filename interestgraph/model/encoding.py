"""Which encoder embeds new texts for a trained model (queries, items added later).

A model's interest and item vectors were made by one encoder, recorded as
``"<name> sha256:<hash>"`` with the graph and the model. A new text must be
embedded by that same encoder, or its cosines with the stored vectors mean
nothing: :func:`checked_encoder` returns the model's own encoder by default and
refuses another one.
"""

from __future__ import annotations

from ..encoder.identity import describe_encoder, fine_tuned_identity, same_encoder


def model_encoder_identity(model) -> str | None:
    """What encoded the model's vectors (``"<name> sha256:<hash>"``, plus ``" fine-tuned <mode> sha256:<digest>"``
    when the encoder was trained with the model), or None when not recorded."""
    graph = model.graph
    base = graph.encoder_identity if graph is not None else model.facts.get("encoder_identity")
    tuning = model.encoder_tuning
    if base is not None and tuning:
        return fine_tuned_identity(base, tuning["mode"], tuning["digest"])
    return base


def encoder_for_identity(identity: str | None):
    """The encoder an identity names when it is not fine-tuned: the lexical encoder of its width, else the packaged
    MiniLM (:func:`checked_encoder`-style callers then verify the identity)."""
    identity = identity or ""
    if identity.startswith("lexical-"):
        from ..encoder.lexical import LexicalEncoder

        return LexicalEncoder(int(identity.split(" ", 1)[0].rsplit("-", 1)[-1]))
    from ..encoder import TextEncoder

    return TextEncoder()


def default_encoder(model):
    """The encoder that made the model's vectors: the packaged MiniLM, or the lexical encoder of the same width."""
    return rebuild_encoder(model_encoder_identity(model) or "", model.encoder_tuning, model.encoder_state)


def rebuild_encoder(identity: str, tuning: dict | None = None, state=None):
    """The encoder ``identity`` names: :func:`encoder_for_identity`, or with ``tuning`` (``mode``, ``top_layers``,
    ``lora_r``, ``lora_alpha``) and its trainable ``state`` the fine-tuned encoder (callers verify the identity)."""
    if identity.startswith("lexical-") or not tuning:
        return encoder_for_identity(identity)
    from ..encoder import EncoderConfig, TextEncoder

    name = (
        identity.split(" sha256:", 1)[0] if identity.count(" sha256:") > 1 else None
    )  # base identities of older graphs are a bare hash
    settings = {k: tuning[k] for k in ("mode", "top_layers", "lora_r", "lora_alpha")}
    encoder = TextEncoder(
        EncoderConfig(model=None if name is None or name.startswith("all-MiniLM-L6-v2 (package") else name, **settings)
    )
    encoder.load_trainable_state_dict(state)
    return encoder


def checked_encoder(model, encoder=None):
    """``encoder`` (the model's own by default), checked to be the one that made the model's vectors.

    Raises:
        ValueError: ``encoder`` has another identity than the one recorded with the model.
    """
    encoder = default_encoder(model) if encoder is None else encoder
    recorded = model_encoder_identity(model)
    if recorded is not None and not same_encoder(encoder, recorded):
        raise ValueError(
            f"encoder: the model's vectors were made by {recorded!r}, not by {describe_encoder(encoder)!r}"
        )
    return encoder
