"""Script families: near-duplicate transcripts are one family, so families never straddle splits."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from .base import Script

# Punctuation differs between transcripts of one message (Whisper; full-width Chinese marks).
_PUNCT = re.compile(r"[^\w\s]+")


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def near_duplicate_groups(texts: list[str], threshold: float = 0.7) -> list[int]:
    """Connected components of the graph "char 3–5-gram TF cosine >= threshold".

    No IDF: with few documents IDF down-weights exactly the shared n-grams. Character n-grams work for English and Chinese alike and tolerate the Whisper
    transcripts' cut-off starts and ends. Returns a component index per text (n log n memory
    is fine for the few thousand scripts a corpus uses).
    """
    n = len(texts)
    if n == 0:
        return []
    vec = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), lowercase=True, sublinear_tf=True, use_idf=False
    )
    x = vec.fit_transform([_PUNCT.sub(" ", t.lower()).strip() for t in texts])
    sim = (x @ x.T).tocoo()
    parent = list(range(n))
    for i, j, v in zip(sim.row, sim.col, sim.data, strict=True):
        if i < j and v >= threshold:
            a, b = _find(parent, int(i)), _find(parent, int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    roots = [_find(parent, i) for i in range(n)]
    order = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return [order[r] for r in roots]


def assign_families(scripts: list[Script], prefix: str, threshold: float = 0.7) -> list[Script]:
    """Return ``scripts`` with ``family`` = "<prefix>-fam-<k>" shared by near-duplicates (per language)."""
    out = list(scripts)
    for lang in sorted({s.language for s in scripts}):
        idx = [i for i, s in enumerate(scripts) if s.language == lang]
        groups = near_duplicate_groups([scripts[i].text for i in idx], threshold)
        for i, g in zip(idx, groups, strict=True):
            out[i] = replace(scripts[i], family=f"{prefix}-{lang}-fam{g:04d}")
    return out


def family_sizes(scripts: list[Script]) -> np.ndarray:
    """Sizes of the families in ``scripts`` (for reporting), shape (n_families,)."""
    _, counts = np.unique([s.family for s in scripts], return_counts=True)
    return counts
