"""Context tables for a run: which runs need them, and the cached review sentiment scores.

A run needs ``data_pipeline.context.ContextTables`` when its model reads context
(``sasrec_context``, ``sasrec_text_context``) or its loss weighs targets by review
sentiment (``loss.sentiment_weight``). The VADER compound score of every review is
computed once and cached in the prepared directory as ``context/vader-<digest>.npy``
(float32[N], interactions in record order; or under ``fallback_dir`` when the dataset is
read-only), like the item text vectors of ``jaxrec/text/features.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pathlib

import numpy as np

from data_pipeline.context import ContextTables, build_context_tables
from data_pipeline.dataset import PreparedDataset
from jaxrec.config import TrainConfig

log = logging.getLogger(__name__)

CONTEXT_MODELS = ("sasrec_context", "sasrec_text_context")
CACHE_DIR = "context"
_TABLES: dict[tuple[str, bool], ContextTables] = {}


def needs_sentiment(cfg: TrainConfig) -> bool:
    """Whether the run reads review sentiment (as a feature or as loss weights)."""
    feature = cfg.model.name in CONTEXT_MODELS and cfg.model.context.sentiment
    return feature or cfg.loss.sentiment_weight > 0


def uses_context(cfg: TrainConfig) -> bool:
    """Whether training and evaluation batches carry context (and loss weights)."""
    return cfg.model.name in CONTEXT_MODELS or cfg.loss.sentiment_weight > 0


def _reviews(dataset: PreparedDataset) -> list[str] | None:
    texts, any_reviews = [], False
    for rec in dataset.records():
        any_reviews |= rec.reviews is not None
        texts.extend(rec.reviews if rec.reviews is not None else [""] * len(rec.items))
    return texts if any_reviews else None


def _cache_dir(dataset: PreparedDataset, fallback_dir) -> pathlib.Path | None:
    for base in (dataset.directory, fallback_dir):
        if base is None:
            continue
        directory = pathlib.Path(base) / CACHE_DIR
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(directory, os.W_OK):
            return directory
    return None


def sentiment_scores(dataset: PreparedDataset, *, fallback_dir=None) -> np.ndarray | None:
    """float32[N] VADER compound per interaction (0 without review), None if no reviews."""
    from jaxrec.atomic_io import save_npy
    from jaxrec.text.sentiment import vader_compound

    texts = _reviews(dataset)
    if texts is None:
        return None
    digest = hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16]
    directory = _cache_dir(dataset, fallback_dir)
    path = None if directory is None else directory / f"vader-{digest}.npy"
    if path is not None and path.is_file():
        return np.load(path)
    log.info("scoring %d reviews with VADER", sum(bool(t) for t in texts))
    scores = vader_compound(texts)
    if path is not None:
        save_npy(path, scores)
    return scores


def eval_tables(cfg: TrainConfig, dataset: PreparedDataset) -> ContextTables | None:
    """The context tables evaluation passes to the model (None unless it reads context)."""
    return context_tables(cfg, dataset) if cfg.model.name in CONTEXT_MODELS else None


def context_tables(
    cfg: TrainConfig, dataset: PreparedDataset, *, fallback_dir=None
) -> ContextTables | None:
    """The run's context tables (built once per dataset), or None if it uses no context.

    Raises:
        ValueError: ``loss.sentiment_weight`` is set but the dataset has no review text.
    """
    if not uses_context(cfg):
        return None
    sentiment = needs_sentiment(cfg)
    key = (str(pathlib.Path(dataset.directory).resolve()), sentiment)
    if key not in _TABLES:
        scores = sentiment_scores(dataset, fallback_dir=fallback_dir) if sentiment else None
        if cfg.loss.sentiment_weight > 0 and scores is None:
            raise ValueError(
                f"loss.sentiment_weight={cfg.loss.sentiment_weight}: {dataset.directory} has "
                "no review text to score (prepare it with --source amazon-reviews)"
            )
        _TABLES[key] = build_context_tables(dataset, scores)
    return _TABLES[key]
