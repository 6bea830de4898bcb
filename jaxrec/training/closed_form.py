"""Closed-form models (EASE, item-kNN, text-kNN): fit each setting, keep the best on validation.

Writes the same workdir layout as ``jaxrec.training.loop.run`` (config, best checkpoint,
TensorBoard scalars, ``train_summary.json``), so ``jaxrec evaluate`` works unchanged. The
fit uses each user's training items only; at test time the validation item is part of the
input history but not of the fit, exactly as for the sequence models.
"""

from __future__ import annotations

import json
import logging
import pathlib
import time
from collections.abc import Iterator

import jax
import numpy as np
from tqdm.auto import tqdm

from data_pipeline.dataset import PreparedDataset
from data_pipeline.pipeline import eval_data
from jaxrec import sharding
from jaxrec.atomic_io import write_json
from jaxrec.baselines.ease import ease_from_gram, ease_score_fn, gram_matrix
from jaxrec.baselines.item_knn import (
    cooccurrence,
    item_frequencies,
    item_knn_scores,
    neighbour_tables,
)
from jaxrec.baselines.text_knn import text_neighbour_tables
from jaxrec.checkpoint import Checkpointer
from jaxrec.config import MeshConfig, ModelConfig, TrainConfig
from jaxrec.evaluation import EvalOptions, evaluate
from jaxrec.training import setup
from jaxrec.training.scalars import scalar_writer

log = logging.getLogger(__name__)

CLOSED_FORM_MODELS = ("ease", "item_knn", "text_knn")

# One fitted setting: (its hyper-parameters, its parameter arrays by name, its score_fn).
Candidate = tuple[dict, dict[str, np.ndarray], object]


def _ease_candidates(cfg: ModelConfig, train_items: list, num_items: int) -> Iterator[Candidate]:
    """EASE for every ``cfg.l2_grid`` x ``cfg.ease_recency`` pair.

    One Gram matrix, one inverse per penalty; each recency only re-scores.
    """
    gram = gram_matrix(train_items, num_items)
    for l2 in cfg.l2_grid:
        weights = ease_from_gram(gram, l2)
        for recency in cfg.ease_recency:
            arrays = {"weights": weights, "recency": np.asarray(recency, np.float32)}
            score_fn = ease_score_fn(weights, num_items, recency)
            yield {"l2": l2, "recency": recency}, arrays, score_fn


def _item_knn_candidates(
    cfg: ModelConfig, train_items: list, num_items: int
) -> Iterator[Candidate]:
    """Item-kNN for every window x alpha x recency setting.

    Co-occurrence is counted once per window, neighbour tables are built once per
    (window, alpha), and each recency only re-scores.
    """
    frequencies = item_frequencies(train_items, num_items)
    for window in cfg.knn_windows:
        counts = cooccurrence(train_items, num_items, window, cfg.knn_window_decay)
        for alpha in cfg.knn_alphas:
            tables = neighbour_tables(counts, frequencies, cfg.knn_neighbors, alpha)
            yield from _knn_recencies(cfg, {"window": window, "alpha": alpha}, *tables)


def _text_knn_candidates(
    cfg: ModelConfig, train_items: list, num_items: int
) -> Iterator[Candidate]:
    """Text-kNN for every ``cfg.text_knn_powers`` x ``cfg.knn_recency`` setting.

    The tables come from the item text vectors alone (``train_items`` is not used); they
    are built once per power, and each recency only re-scores.
    """
    del train_items
    from jaxrec.models.sasrec_text import load_item_features

    text, _ = load_item_features(cfg.text_features, num_items)
    for power in cfg.text_knn_powers:
        tables = text_neighbour_tables(text, cfg.knn_neighbors, power)
        yield from _knn_recencies(cfg, {"power": power}, *tables)


def _knn_recencies(
    cfg: ModelConfig, settings: dict, ids: np.ndarray, sims: np.ndarray
) -> Iterator[Candidate]:
    """One candidate per ``cfg.knn_recency`` value, all sharing the tables ``ids`` / ``sims``."""
    on_device = jax.numpy.asarray(ids), jax.numpy.asarray(sims)
    for recency in cfg.knn_recency:
        arrays = {
            "neighbor_ids": ids,
            "neighbor_sims": sims,
            "recency": np.asarray(recency, np.float32),
        }
        score_fn = jax.tree_util.Partial(item_knn_scores, *on_device, arrays["recency"])
        yield {**settings, "recency": recency}, arrays, score_fn


CANDIDATES = {
    "ease": _ease_candidates,
    "item_knn": _item_knn_candidates,
    "text_knn": _text_knn_candidates,
}


def _grid_size(cfg: ModelConfig) -> int:
    if cfg.name == "ease":
        return len(cfg.l2_grid) * len(cfg.ease_recency)
    if cfg.name == "text_knn":
        return len(cfg.text_knn_powers) * len(cfg.knn_recency)
    return len(cfg.knn_windows) * len(cfg.knn_alphas) * len(cfg.knn_recency)


def search_ease(cfg: ModelConfig, dataset: PreparedDataset, options: EvalOptions) -> list[dict]:
    """Validation metrics of EASE for every ``cfg.l2_grid`` x ``cfg.ease_recency`` pair.

    Histories are cut to ``cfg.max_len``. Returns one row per setting: ``l2``, ``recency``,
    ``ndcg@10``, ``hr@10``, ``mrr``.
    """
    train_items = [rec.items[: rec.n_train] for rec in dataset.records()]
    data = eval_data(dataset, "valid", cfg.max_len)
    rows = []
    candidates = _ease_candidates(cfg, train_items, dataset.num_items)
    total = len(cfg.l2_grid) * len(cfg.ease_recency)
    for settings, _, score_fn in tqdm(candidates, total=total, desc="ease search", unit="fit"):
        result, _ = evaluate(score_fn, data, dataset.num_items, options, progress=False)
        rows.append({**settings, **{k: result[k] for k in ("ndcg@10", "hr@10", "mrr")}})
    return rows


def fit(cfg: TrainConfig, data_dir: str | pathlib.Path, workdir: str | pathlib.Path) -> dict:
    """Fits every setting of ``cfg.model``'s grid and keeps the best on validation.

    Returns:
        Summary with the chosen setting, its validation metric, every setting's validation
        NDCG@10 / HR@10 / MRR (``search``) and timing.
    """
    workdir = pathlib.Path(workdir)
    summary_path = workdir / "train_summary.json"
    if summary_path.is_file():  # already fitted: like a finished run, rerunning is a no-op
        log.info("%s: already fitted, nothing to do", workdir)
        return json.loads(summary_path.read_text())
    dataset = PreparedDataset.open(data_dir)
    setup.write_run_files(workdir, cfg, data_dir)
    mesh = sharding.make_mesh(MeshConfig(data=-1, model=1), jax.devices()[:1])
    parts = setup.init_params(cfg, dataset.num_items, mesh, num_users=dataset.num_users)
    start = time.perf_counter()
    train_items = [rec.items[: rec.n_train] for rec in dataset.records()]
    data = eval_data(dataset, "valid", cfg.model.max_len)
    options = EvalOptions(exclude_seen=cfg.eval.exclude_seen, batch_size=cfg.eval.batch_size)
    metric = cfg.eval.early_stopping_metric
    writer = scalar_writer(workdir)
    candidates = CANDIDATES[cfg.model.name](cfg.model, train_items, dataset.num_items)
    history, best = [], None
    for step, (settings, arrays, score_fn) in enumerate(
        tqdm(candidates, total=_grid_size(cfg.model), desc=cfg.model.name, unit="fit")
    ):
        result, _ = evaluate(score_fn, data, dataset.num_items, options, progress=False)
        writer.add_scalar(f"valid/{metric.replace('@', '_at_')}", result[metric], step)
        history.append({**settings, **{k: result[k] for k in ("ndcg@10", "hr@10", "mrr")}})
        log.info("%s valid %s=%.4f", settings, metric, result[metric])
        if best is None or result[metric] > best[0][metric]:
            best = (result, settings, arrays)
    writer.close()
    result, settings, arrays = best
    params = parts.params
    for name, value in arrays.items():
        placed = params[name].get_value().sharding
        params[name].set_value(jax.device_put(np.asarray(value), placed))
    ckpt = Checkpointer(workdir)
    ckpt.save_best(0, params, {"step": 0, "valid": result, **settings})
    ckpt.wait()
    ckpt.close()
    summary = {
        "stop_reason": "closed_form",
        **settings,
        f"best_valid_{metric}": result[metric],
        "search": history,
        "train_seconds": time.perf_counter() - start,
        "seed": cfg.seed,
    }
    write_json(summary_path, summary)
    return summary
