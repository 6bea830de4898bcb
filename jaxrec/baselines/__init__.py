"""Non-sequential baselines that plug into ``jaxrec.evaluation`` through a ``score_fn``."""

from jaxrec.baselines.ease import ease_from_gram, ease_score_fn, fit_ease, gram_matrix

__all__ = ["ease_from_gram", "ease_score_fn", "fit_ease", "gram_matrix"]
