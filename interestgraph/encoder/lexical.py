"""A lexical text encoder: hashed character n-grams, no model weights.

Same interface as :class:`~interestgraph.encoder.TextEncoder` (``encode``,
``identity``, ``dim``) so every stage can run without a language model: for
tests, for quick looks at a new log, and as a baseline that shows what the
language model adds. Texts that share spelling get similar vectors; synonyms
with different spelling ("sci-fi" / "science fiction") mostly do not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


class LexicalEncoder:
    """Character 3–5-gram counts (within word boundaries) hashed into ``dim`` buckets, L2-normalised.

    Args:
        dim: vector width (hash buckets).
    """

    def __init__(self, dim: int = 512):
        if dim < 8:
            raise ValueError(f"dim must be >= 8, got {dim!r}")
        from sklearn.feature_extraction.text import HashingVectorizer

        self.dim = int(dim)
        self.identity = f"lexical-char-3-5-hash-{self.dim}"
        self._vectorizer = HashingVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), n_features=self.dim, alternate_sign=False, norm="l2", lowercase=True
        )

    def encode(self, texts: Sequence[str], **_: object) -> torch.Tensor:
        """``(n, dim)`` float32, L2-normalised rows (an empty text gives a zero row)."""
        matrix = self._vectorizer.transform([str(t) for t in texts])
        return torch.from_numpy(matrix.toarray().astype(np.float32))
