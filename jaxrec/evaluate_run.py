"""``jaxrec evaluate``: ranks a trained run's held-out items and writes JSON (+ top-k dump)."""

from __future__ import annotations

import functools
import json

import jax
import numpy as np

from data_pipeline.pipeline import eval_data, with_context
from jaxrec import ensemble
from jaxrec.atomic_io import atomic_write, write_json
from jaxrec.context_features import eval_tables
from jaxrec.evaluation import EvalOptions, evaluate, popularity_score_fn
from jaxrec.training.setup import load_trained
from jaxrec.training.step import score_step

HEADLINE = ("ndcg@10", "hr@10", "recall@10", "precision@10", "f1@10", "mrr", "auc", "coverage@10")


def evaluate_workdir(
    workdir,
    *,
    split: str = "test",
    out=None,
    dump_topk=None,
    dump_k: int = 100,
    data_dir=None,
    sampled: int = 0,
    include_seen: bool = False,
) -> dict:
    """Evaluates the best checkpoint of ``workdir`` (or its ensemble) and the MostPop baseline.

    Returns:
        The JSON written to ``out``: headline metrics at the top level, plus ``split``,
        ``exclude_seen``, ``baselines.mostpop`` and ``improvement_over_mostpop``.
    """
    if ensemble.is_ensemble(workdir):
        loaded = ensemble.load_ensemble(workdir, data_dir)
        cfg, dataset = loaded.members[0].cfg, loaded.dataset
        data = eval_data(dataset, split, loaded.max_len)
        score_fn = ensemble.ensemble_score_fn(loaded)
        members = [row["name"] for row in loaded.record["members"]]
        identity = {"model": "ensemble", "members": members, "checkpoint_step": None, "seed": None}
    else:
        trained = load_trained(workdir, data_dir)
        cfg, dataset = trained.cfg, trained.dataset
        tables = eval_tables(cfg, dataset)
        data = with_context(eval_data(dataset, split, cfg.model.max_len), tables)
        score = jax.jit(functools.partial(score_step, graphdef=trained.graphdef))

        def score_fn(histories, users, *context):
            return score(trained.params, histories, users, *context)

        step = trained.meta.get("step")
        identity = {"model": cfg.model.name, "checkpoint_step": step, "seed": cfg.seed}
    options = EvalOptions(
        exclude_seen=not include_seen,
        num_sampled_negatives=sampled,
        batch_size=cfg.eval.batch_size,
        keep_top=dump_k,
        seed=cfg.seed,
    )
    result, top = evaluate(score_fn, data, dataset.num_items, options)
    popularity = dataset.item_popularity(split).astype(np.float32)
    mostpop, _ = evaluate(
        popularity_score_fn(popularity), data, dataset.num_items, options, progress=False
    )
    result.update(
        split=split,
        **identity,
        baselines={"mostpop": {k: mostpop[k] for k in HEADLINE}},
        improvement_over_mostpop={
            k: (result[k] / mostpop[k] - 1.0) if mostpop[k] else None
            for k in ("ndcg@10", "hr@10", "mrr")
        },
    )
    if out is not None:
        write_json(out, result)
    if dump_topk is not None:
        item_ids = dataset.item_raw_ids()
        user_ids = dataset.user_raw_ids()

        def write_dump(handle):
            for user, row in zip(data.users, top[:, :dump_k], strict=True):
                items = [item_ids[i] for i in row if i > 0]
                handle.write(json.dumps({"user": user_ids[user], "items": items}) + "\n")

        atomic_write(dump_topk, write_dump)
    return result
