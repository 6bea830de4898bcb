"""Training for closed-form models (EASE): fit per L2 penalty, keep the best on validation.

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

import jax
import numpy as np
from tqdm.auto import tqdm

from data_pipeline.dataset import PreparedDataset
from data_pipeline.pipeline import eval_data
from jaxrec import sharding
from jaxrec.atomic_io import write_json
from jaxrec.baselines.ease import ease_from_gram, ease_score_fn, gram_matrix
from jaxrec.checkpoint import Checkpointer
from jaxrec.config import MeshConfig, TrainConfig
from jaxrec.evaluation import EvalOptions, evaluate
from jaxrec.training import setup
from jaxrec.training.scalars import scalar_writer

log = logging.getLogger(__name__)

CLOSED_FORM_MODELS = ("ease",)


def fit(cfg: TrainConfig, data_dir: str | pathlib.Path, workdir: str | pathlib.Path) -> dict:
    """Fits EASE for every ``cfg.model.l2_grid`` value and keeps the best on validation.

    Returns:
        Summary with the chosen L2 penalty, its validation metric and timing.
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
    gram = gram_matrix(train_items, dataset.num_items)
    data = eval_data(dataset, "valid", cfg.model.max_len)
    options = EvalOptions(exclude_seen=cfg.eval.exclude_seen, batch_size=cfg.eval.batch_size)
    metric = cfg.eval.early_stopping_metric
    writer = scalar_writer(workdir)
    history, best = [], None
    for l2 in tqdm(cfg.model.l2_grid, desc="ease l2", unit="fit"):
        weights = ease_from_gram(gram, l2)
        score_fn = ease_score_fn(weights, dataset.num_items)
        result, _ = evaluate(score_fn, data, dataset.num_items, options, progress=False)
        writer.add_scalar(f"valid/{metric.replace('@', '_at_')}", result[metric], int(l2))
        history.append({"l2": l2, **{k: result[k] for k in ("ndcg@10", "hr@10", "mrr")}})
        log.info("l2=%g valid %s=%.4f", l2, metric, result[metric])
        if best is None or result[metric] > best[0][metric]:
            best = (result, l2, weights)
    writer.close()
    result, l2, weights = best
    params = parts.params
    placed = params["weights"].get_value().sharding
    params["weights"].set_value(jax.device_put(np.asarray(weights), placed))
    ckpt = Checkpointer(workdir)
    ckpt.save_best(0, params, {"step": 0, "valid": result, "l2": l2})
    ckpt.wait()
    ckpt.close()
    summary = {
        "stop_reason": "closed_form",
        "l2": l2,
        f"best_valid_{metric}": result[metric],
        "l2_search": history,
        "train_seconds": time.perf_counter() - start,
        "seed": cfg.seed,
    }
    write_json(summary_path, summary)
    return summary
