"""Encoder identities: the string that says which encoder made a set of vectors, and how to compare two of them.

A graph, a model and an embedding cache record the encoder that made their vectors as ``"<name> sha256:<hash>"``
(:func:`describe_encoder`); an encoder fine-tuned with a model adds ``" fine-tuned <mode> sha256:<digest>"``
(:func:`fine_tuned_identity`). Vectors from two encoders can be compared only when the *exact* parts of their
identities match (:func:`identity_digest`): the readable name before the hash may differ (a model directory moved,
an older graph recorded a bare hash) without the vectors differing.

Pure string functions: importing this module imports neither torch nor transformers.
"""

from __future__ import annotations

__all__ = ["describe_encoder", "fine_tuned_identity", "identity_digest", "same_encoder"]


def fine_tuned_identity(base: str, mode: str, digest: str) -> str:
    """``"<base> fine-tuned <mode> sha256:<digest>"``: the identity of an encoder fine-tuned from ``base``.

    Its exact part (after the last ``sha256:``) is the trained state's digest
    (:func:`interestgraph.encoder.text.state_digest`).
    """
    return f"{base} fine-tuned {mode} sha256:{digest}"


def describe_encoder(encoder) -> str:
    """``"<name> sha256:<identity>"``: what encoded the vectors, readable and exact.

    ``encoder`` is anything with the encoder interface (``identity``, optionally ``name``); a
    :class:`~interestgraph.encoder.TextEncoder` whose trainable state was loaded (``tuned_digest`` set) gets its
    :func:`fine_tuned_identity`. An object without ``identity`` is described by its class name.
    """
    identity = str(getattr(encoder, "identity", type(encoder).__name__))
    name = getattr(encoder, "name", None)
    base = f"{name} sha256:{identity}" if name else identity
    tuned = getattr(encoder, "tuned_digest", None)
    if tuned:  # a fine-tuned encoder (TextEncoder.load_trainable_state_dict)
        return fine_tuned_identity(base, encoder.config.mode, tuned)
    return base


def identity_digest(identity: str) -> str:
    """The exact part of an encoder identity: the hash after the last ``sha256:``, or the whole string."""
    return identity.rsplit("sha256:", 1)[-1].strip()


def same_encoder(encoder, identity: str) -> bool:
    """Whether ``encoder`` is the one recorded as ``identity`` (their :func:`identity_digest` parts are equal)."""
    return identity_digest(describe_encoder(encoder)) == identity_digest(identity)
