"""EASE's precision matrix for the EASE-residual model, fitted once per dataset and cached.

The residual model (``jaxrec/models/ease_residual.py``) keeps P = (XᵀX + λI)⁻¹ of the fit on
every user's training items. Evaluation reads EASE's weights B = -P / diag(P) from it, and
training removes each batch user from P by a rank-one update (leave one user out), so the
model never trains on EASE scores that saw the user's own sequence.

Shapes: ``I`` = items + 1 (row/column 0 = padding).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import pathlib
from collections.abc import Sequence

import numpy as np

from jaxrec.atomic_io import save_npz, writable_dir, write_json
from jaxrec.baselines.ease import MAX_ITEMS, ease_precision, gram_matrix

log = logging.getLogger(__name__)

CACHE_DIR = "ease_precision"
RESIDUAL_MODELS = ("sasrec_text_ease",)


def fit_precision(user_items: Sequence[np.ndarray], num_items: int, l2: float) -> np.ndarray:
    """float32[I, I] P of EASE fitted on ``user_items`` (``ease.ease_precision``).

    Raises:
        ValueError: the catalogue is too large for a dense I x I inverse.
    """
    if num_items > MAX_ITEMS:
        raise ValueError(
            f"the EASE residual needs a dense {num_items} x {num_items} inverse; catalogues "
            f"above {MAX_ITEMS} items cannot use model.name='sasrec_text_ease'"
        )
    return ease_precision(gram_matrix(user_items, num_items), l2).astype(np.float32)


def load_precision(path: str, num_items: int) -> np.ndarray:
    """float32[I, I] P from a ``cached_precision`` .npz; checks the shape."""
    if not pathlib.Path(path).is_file():
        raise FileNotFoundError(f"model.residual_ease={path}: no such file")
    with np.load(path) as data:
        precision = data["precision"].astype(np.float32)
    size = num_items + 1
    if precision.shape != (size, size):
        raise ValueError(
            f"{path}: precision {precision.shape} does not fit {num_items} items "
            f"(expected ({size}, {size}))"
        )
    return precision


def _cache_path(dataset, name: str, settings: dict, fallback_dir, suffix: str) -> pathlib.Path:
    """``DATA_DIR/ease_precision/NAME-<digest>SUFFIX`` (``fallback_dir`` when read-only).

    ``dataset`` is the ``PreparedDataset``; the digest covers its manifest and ``settings``,
    so a changed dataset or setting never reuses a stale file.
    """
    digest = hashlib.sha256(
        json.dumps([dataset.manifest, settings], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    directory = pathlib.Path(dataset.directory) / CACHE_DIR
    if not writable_dir(directory) and fallback_dir is not None:
        directory = pathlib.Path(fallback_dir) / CACHE_DIR
    return directory / f"{name}-{digest}{suffix}"


def cached_precision(
    data_dir: str | pathlib.Path, *, l2: float, fallback_dir: str | pathlib.Path | None = None
) -> pathlib.Path:
    """Fits P on the training split of a prepared dataset, once; returns the .npz.

    Cached in ``DATA_DIR/ease_precision/`` (``fallback_dir/ease_precision/`` when the dataset
    folder is read-only). Only each user's training items are fitted: the validation and
    test items never reach the fit.
    """
    from data_pipeline.dataset import PreparedDataset

    dataset = PreparedDataset.open(data_dir)
    path = _cache_path(dataset, f"ease-l2{l2:g}", {"l2": l2}, fallback_dir, ".npz")
    if path.is_file():
        return path
    train_items = [rec.items[: rec.n_train] for rec in dataset.records()]
    log.info("fitting EASE (L2 %g) on %d users' training items", l2, len(train_items))
    save_npz(path, precision=fit_precision(train_items, dataset.num_items, l2))
    return path


def searched_settings(cfg, data_dir, fallback_dir=None) -> dict:
    """EASE's best (l2, recency) of ``model.l2_grid`` x ``model.ease_recency`` on validation.

    EASE alone is scored on the validation split with histories cut to ``model.max_len``;
    the search is cached next to the precision files. Returns the best row (``l2``,
    ``recency``, ``ndcg@10``, ``hr@10``, ``mrr``) plus ``search``, every row.
    """
    from data_pipeline.dataset import PreparedDataset
    from jaxrec.evaluation import EvalOptions
    from jaxrec.training.closed_form import search_ease

    model = cfg.model
    options = EvalOptions(exclude_seen=cfg.eval.exclude_seen, batch_size=cfg.eval.batch_size)
    settings = {
        "l2_grid": model.l2_grid,
        "recency": model.ease_recency,
        "max_len": model.max_len,
        "exclude_seen": options.exclude_seen,
    }
    dataset = PreparedDataset.open(data_dir)
    path = _cache_path(dataset, "search", settings, fallback_dir, ".json")
    if path.is_file():
        return json.loads(path.read_text())
    rows = search_ease(model, dataset, options)
    best = max(rows, key=lambda row: row["ndcg@10"])
    result = {**best, "search": rows}
    log.info(
        "EASE for the residual: L2 %g, recency %g (valid NDCG@10 %.4f)",
        best["l2"],
        best["recency"],
        best["ndcg@10"],
    )
    write_json(path, result)
    return result


def resolve_residual_config(cfg, data_dir, workdir=None):
    """``cfg`` with ``model.residual_ease`` filled from the dataset's cache (else as is).

    ``model.residual_l2`` = 0 first picks L2 and recency by EASE's validation search
    (``searched_settings``) and writes them into the config.
    """
    model = cfg.model
    if model.name not in RESIDUAL_MODELS or model.residual_ease:
        return cfg
    if model.residual_l2 == 0.0:
        best = searched_settings(cfg, data_dir, fallback_dir=workdir)
        model = dataclasses.replace(
            model, residual_l2=float(best["l2"]), residual_recency=float(best["recency"])
        )
    path = cached_precision(data_dir, l2=model.residual_l2, fallback_dir=workdir)
    model = dataclasses.replace(model, residual_ease=str(path.resolve()))
    return dataclasses.replace(cfg, model=model)
