"""Closed-form baselines that plug into ``jaxrec.evaluation`` through a ``score_fn``."""

from jaxrec.baselines.ease import ease_from_gram, ease_score_fn, fit_ease, gram_matrix
from jaxrec.baselines.item_knn import fit_item_knn, item_knn_scores

__all__ = [
    "ease_from_gram",
    "ease_score_fn",
    "fit_ease",
    "fit_item_knn",
    "gram_matrix",
    "item_knn_scores",
]
