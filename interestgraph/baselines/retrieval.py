"""Query → item retrieval baselines over item text: TF-IDF, BM25, dense (encoder) and popularity.

Each is fitted on one document per catalogue item (e.g.
:func:`interestgraph.evaluate.intents.item_documents`: title, genres, earlier tags) and scores free-text
queries against every item: ``score(texts) -> (n_queries, n_items)`` float32, higher is better. They do not
know users; the intent benchmark masks history and mixes in a user's history itself.

* :class:`TfidfRetrieval` — scikit-learn ``TfidfVectorizer`` (word unigrams and bigrams, sublinear tf, l2), cosine.
* :class:`BM25Retrieval` — Okapi BM25 over word unigrams (``k1``, ``b``; idf ``log(1 + (N - n + .5) / (n + .5))``).
* :class:`DenseRetrieval` — cosine between encoder vectors of the query and of the document.
* :class:`PopularityRetrieval` — the same item counts for every query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp


def _texts(texts: Sequence[str], what: str) -> list[str]:
    if isinstance(texts, str):
        raise ValueError(f"{what}: give a list of texts, not one string")
    return [str(t) for t in texts]


class TfidfRetrieval:
    """TF-IDF cosine between query and document (word 1–2-grams, sublinear tf, English stop words kept).

    Fitted attributes: ``vectorizer_``, ``documents_`` ``(n_items, n_terms)`` CSR, l2 rows.
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), min_df: int = 1):
        self.ngram_range = ngram_range
        self.min_df = min_df

    def fit(self, documents: Sequence[str]) -> TfidfRetrieval:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer_ = TfidfVectorizer(ngram_range=self.ngram_range, min_df=self.min_df, sublinear_tf=True)
        self.documents_ = self.vectorizer_.fit_transform(_texts(documents, "documents")).tocsr()
        return self

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """``(n_queries, n_items)`` float32 cosine (0 where no word is shared)."""
        queries = self.vectorizer_.transform(_texts(texts, "texts"))
        return np.asarray((queries @ self.documents_.T).toarray(), dtype=np.float32)


class BM25Retrieval:
    """Okapi BM25 of the query words in each document.

    Fitted attributes: ``vocabulary_`` (word → column), ``weights_`` ``(n_terms, n_items)`` CSR of
    ``idf · tf (k1 + 1) / (tf + k1 (1 - b + b · len / avg_len))``.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1 = k1
        self.b = b

    def fit(self, documents: Sequence[str]) -> BM25Retrieval:
        from sklearn.feature_extraction.text import CountVectorizer

        self.counter_ = CountVectorizer()
        tf = self.counter_.fit_transform(_texts(documents, "documents")).tocsr().astype(np.float64)
        n_docs = tf.shape[0]
        lengths = np.asarray(tf.sum(axis=1)).ravel()
        df = np.bincount(tf.indices, minlength=tf.shape[1])
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        norm = self.k1 * (1 - self.b + self.b * lengths / max(lengths.mean(), 1e-12))
        coo = tf.tocoo()
        values = idf[coo.col] * coo.data * (self.k1 + 1) / (coo.data + norm[coo.row])
        self.weights_ = sp.csr_matrix((values, (coo.col, coo.row)), shape=(tf.shape[1], n_docs))
        return self

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """``(n_queries, n_items)`` float32 BM25 (each query word counted once)."""
        queries = self.counter_.transform(_texts(texts, "texts")).tocsr()
        queries.data[:] = 1.0
        return np.asarray((queries @ self.weights_).toarray(), dtype=np.float32)


class DenseRetrieval:
    """Cosine between encoder vectors of the query and of each document.

    Args:
        encoder: ``encode(texts) -> (n, d)`` with unit rows (the graph's encoder, for a fair comparison).

    Fitted attributes: ``documents_`` ``(n_items, d)`` float32.
    """

    def __init__(self, encoder: Any):
        self.encoder = encoder

    def fit(self, documents: Sequence[str]) -> DenseRetrieval:
        if not callable(getattr(self.encoder, "encode", None)):
            raise ValueError(f"encoder must have an encode(texts) method, got {type(self.encoder).__name__}")
        self.documents_ = _unit(self.encoder.encode(_texts(documents, "documents")))
        return self

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """``(n_queries, n_items)`` float32 cosine."""
        return _unit(self.encoder.encode(_texts(texts, "texts"))) @ self.documents_.T


class PopularityRetrieval:
    """Every query gets the same scores: ``counts`` (e.g. training positives per item)."""

    def __init__(self, counts: np.ndarray):
        self.counts = counts

    def fit(self, documents: Sequence[str] | None = None) -> PopularityRetrieval:
        self.counts_ = np.asarray(self.counts, dtype=np.float32).ravel()
        return self

    def score(self, texts: Sequence[str]) -> np.ndarray:
        return np.tile(self.counts_, (len(_texts(texts, "texts")), 1))


def _unit(vectors) -> np.ndarray:
    array = np.asarray(vectors.detach().cpu().numpy() if hasattr(vectors, "detach") else vectors, dtype=np.float32)
    return array / np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)
