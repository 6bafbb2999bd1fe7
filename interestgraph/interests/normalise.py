"""Normalising interest labels: one spelling per interest point.

``normalise_label`` applies, in order: Unicode NFKC (full-width and
compatibility forms fold to plain ones), case folding, HTML-entity decoding,
separator unification (``_``, ``/`` and runs of whitespace become one space),
removal of punctuation other than the characters that carry meaning inside a
label (``-``, ``'``, ``&``, ``+``, ``#`` and ``.`` between word characters:
"sci-fi", "rock & roll", "c++", "c#", "node.js"), and trimming. A label that is
empty afterwards is dropped by the callers.

Near-duplicates that normalisation cannot see ("sci-fi" / "science fiction")
are merged later by embedding similarity (:mod:`.vocabulary`).
"""

from __future__ import annotations

import html
import re
import unicodedata

_SEPARATORS = re.compile(r"[\s_/|]+")
# keep word characters and the meaningful inner punctuation; everything else becomes a space
_DROP = re.compile(r"[^\w\s\-'&+#.]")
_DOT_NOT_INNER = re.compile(r"(?<!\w)\.|\.(?!\w)")
_HYPHEN_EDGES = re.compile(r"(?:^|\s)[-']+|[-']+(?:\s|$)")


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def normalise_label(text: object) -> str:
    """The canonical spelling of an interest label ('' when nothing is left)."""
    if text is None or (isinstance(text, float) and text != text):  # None or NaN
        return ""
    value = unicodedata.normalize("NFKC", html.unescape(str(text)))
    value = _INVISIBLE.sub("", value.translate(_APOSTROPHES))
    value = unicodedata.normalize("NFKC", value.casefold()).replace(
        "i\u0307", "i"
    )  # 'İ' casefolds to i + combining dot
    value = _DROP.sub(" ", value)
    value = _DOT_NOT_INNER.sub(" ", value)
    value = _SEPARATORS.sub(" ", value)
    value = _HYPHEN_EDGES.sub(" ", f" {value} ")
    return _SEPARATORS.sub(" ", value).strip()
