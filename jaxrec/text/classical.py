"""Classical item-text featurizers to swap in for the MiniLM vectors: TF-IDF and Word2Vec.

Preprocessing for both: lower-case, split on non-alphanumerics, drop scikit-learn's English
stop words and 1-character tokens, Snowball (Porter2) stemming. TF-IDF (stemmed unigrams
seen in >= 2 texts, sublinear tf) is reduced to ``dim`` dimensions by truncated SVD (LSA);
Word2Vec (gensim, skip-gram, trained on the item texts themselves) averages the word
vectors of an item.
Rows are L2-normalised, like the MiniLM ones, so the same model consumes either.
"""

from __future__ import annotations

import re

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed tokens of ``text``."""
    import snowballstemmer
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    stemmer = snowballstemmer.stemmer("english")
    words = [w for w in _TOKEN.findall(text.lower()) if len(w) > 1 and w not in ENGLISH_STOP_WORDS]
    return stemmer.stemWords(words)


def _normalise(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32)


def tfidf_vectors(texts: list[str], dim: int = 256, seed: int = 0) -> np.ndarray:
    """float32[N, dim'] unit rows: TF-IDF over stemmed tokens, then truncated SVD."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=tokenize, sublinear_tf=True, min_df=2)
    matrix = vectorizer.fit_transform(texts)
    dim = min(dim, matrix.shape[1] - 1, len(texts) - 1)
    return _normalise(TruncatedSVD(dim, random_state=seed).fit_transform(matrix))


def word2vec_vectors(texts: list[str], dim: int = 128, seed: int = 0, epochs: int = 20):
    """float32[N, dim] unit rows: mean skip-gram vector of each text's tokens (0 if none)."""
    from gensim.models import Word2Vec

    tokens = [tokenize(t) for t in texts]
    model = Word2Vec(
        [t for t in tokens if t],
        vector_size=dim,
        window=5,
        min_count=2,
        sg=1,
        seed=seed,
        workers=1,
        epochs=epochs,
    )
    out = np.zeros((len(texts), dim), np.float32)
    for i, words in enumerate(tokens):
        known = [model.wv[w] for w in words if w in model.wv]
        if known:
            out[i] = np.mean(known, axis=0)
    return _normalise(out)


FEATURIZERS = {"tfidf": tfidf_vectors, "word2vec": word2vec_vectors}
