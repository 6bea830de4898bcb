"""Review sentiment with VADER (offline lexicon) and its agreement with star ratings.

VADER's ``compound`` score is in [-1, 1]; the usual thresholds make it a polarity
(>= 0.05 positive, <= -0.05 negative, else neutral). Stars map to polarity as 4-5
positive, 3 neutral, 1-2 negative.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

POSITIVE, NEGATIVE = 0.05, -0.05


def vader_compound(texts: list[str], *, progress: bool = True) -> np.ndarray:
    """float32[N] VADER compound score per text ("" scores 0)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    scores = [
        analyzer.polarity_scores(t)["compound"] if t else 0.0
        for t in tqdm(texts, desc="vader", unit="review", disable=not progress)
    ]
    return np.asarray(scores, np.float32)


def polarity(compound: np.ndarray) -> np.ndarray:
    """int8[N]: +1 / 0 / -1 from VADER compound scores."""
    return np.where(compound >= POSITIVE, 1, np.where(compound <= NEGATIVE, -1, 0)).astype(np.int8)


def star_polarity(stars: np.ndarray) -> np.ndarray:
    """int8[N]: +1 for 4-5 stars, 0 for 3, -1 for 1-2."""
    return np.where(stars >= 4, 1, np.where(stars <= 2, -1, 0)).astype(np.int8)


def _rank(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x), np.float64)
    ranks[order] = np.arange(len(x))
    # average ranks over ties
    _, inverse = np.unique(x, return_inverse=True)
    sums = np.bincount(inverse, ranks)
    counts = np.bincount(inverse)
    return (sums / counts)[inverse]


def agreement(compound: np.ndarray, stars: np.ndarray) -> dict:
    """How well VADER agrees with the stars: correlations, polarity accuracy, confusion."""
    pred, true = polarity(compound), star_polarity(stars)
    decided = (pred != 0) & (true != 0)
    labels = (-1, 0, 1)
    confusion = [[int(np.sum((true == t) & (pred == p))) for p in labels] for t in labels]
    mean_by_star = {
        str(int(s)): float(compound[stars == s].mean()) for s in np.unique(stars) if s > 0
    }
    return {
        "num_reviews": len(stars),
        "pearson": float(np.corrcoef(compound, stars)[0, 1]),
        "spearman": float(np.corrcoef(_rank(compound), _rank(stars))[0, 1]),
        "polarity_accuracy_3class": float(np.mean(pred == true)),
        "polarity_accuracy_binary": float(np.mean(pred[decided] == true[decided])),
        "binary_coverage": float(decided.mean()),
        "negative_recall": float(np.mean(pred[true == -1] == -1)) if (true == -1).any() else None,
        "confusion_rows_stars_cols_vader": {"labels": list(labels), "counts": confusion},
        "mean_compound_by_star": mean_by_star,
    }
