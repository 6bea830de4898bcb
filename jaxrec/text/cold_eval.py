"""The ``cold_items`` block of ``jaxrec evaluate`` for datasets prepared with ``--cold-items``.

Restricted to the users whose held-out item is cold (never in training), ranked over the full
catalogue with the same protocol as the headline metrics: the model's HR@10 / NDCG@10, the
expected values of a uniformly random ranking, and MostPop (training popularity, so every
cold item scores 0 and only ties among them decide).
"""

from __future__ import annotations

import functools
import json
import logging
import pathlib

import jax
import numpy as np

from data_pipeline.cold_items import read_cold_items
from data_pipeline.pipeline import EvalData, eval_data, with_context
from jaxrec.atomic_io import write_json
from jaxrec.context_features import eval_tables
from jaxrec.ensemble import is_ensemble
from jaxrec.evaluation import EvalOptions, evaluate, popularity_score_fn
from jaxrec.training.setup import RUN_FILE, load_trained
from jaxrec.training.step import score_step

log = logging.getLogger(__name__)

K = 10


def random_expectation(num_candidates: np.ndarray, k: int = K) -> dict:
    """Expected HR@k and NDCG@k of a uniformly random ranking of ``num_candidates`` items."""
    n = num_candidates.astype(np.float64)
    discounts = 1.0 / np.log2(np.arange(k) + 2.0)
    ndcg = np.array([discounts[: min(k, int(c))].sum() / c for c in n])
    return {f"hr@{k}": float(np.mean(np.minimum(k, n) / n)), f"ndcg@{k}": float(ndcg.mean())}


def subset(data: EvalData, rows: np.ndarray) -> EvalData:
    """The users at ``rows`` of ``data`` (with their context, if ``data`` has it)."""
    return EvalData(
        users=data.users[rows],
        histories=data.histories[rows],
        targets=data.targets[rows],
        seen=[data.seen[i] for i in rows],
        context=None if data.context is None else data.context[rows],
    )


def _data_dir(workdir: pathlib.Path, data_dir) -> pathlib.Path:
    if data_dir is not None:
        return pathlib.Path(data_dir)
    return pathlib.Path(json.loads((workdir / RUN_FILE).read_text())["data"])


def cold_items_block(workdir, *, split: str = "test", data_dir=None, include_seen=False):
    """``{"hr@10", "ndcg@10", "num_events", "random", "mostpop"}``, or None without cold items."""
    workdir = pathlib.Path(workdir)
    cold = read_cold_items(_data_dir(workdir, data_dir))
    if cold is None:
        return None
    if is_ensemble(workdir):
        log.warning("%s: no cold-item block for ensembles; evaluate a member for it", workdir)
        return None
    trained = load_trained(workdir, data_dir)
    cfg, dataset = trained.cfg, trained.dataset
    data = with_context(eval_data(dataset, split, cfg.model.max_len), eval_tables(cfg, dataset))
    rows = np.flatnonzero(np.isin(data.targets, cold))
    block = {"hr@10": None, "ndcg@10": None, "num_events": len(rows), "num_cold_items": len(cold)}
    if not len(rows):
        return block
    data = subset(data, rows)
    options = EvalOptions(exclude_seen=not include_seen, batch_size=cfg.eval.batch_size)
    score = jax.jit(functools.partial(score_step, graphdef=trained.graphdef))
    model, _ = evaluate(
        lambda h, u, *c: score(trained.params, h, u, *c), data, dataset.num_items, options
    )
    popularity = dataset.item_popularity(split).astype(np.float32)
    mostpop, _ = evaluate(
        popularity_score_fn(popularity), data, dataset.num_items, options, progress=False
    )
    pairs = zip(data.seen, data.targets, strict=True)
    seen = [len(set(s.tolist()) - {0, int(t)}) for s, t in pairs]
    candidates = dataset.num_items - (0 if include_seen else np.asarray(seen))
    block.update({f"{m}@{K}": model[f"{m}@{K}"] for m in ("hr", "ndcg")})
    block["random"] = random_expectation(np.asarray(candidates))
    block["mostpop"] = {f"{m}@{K}": mostpop[f"{m}@{K}"] for m in ("hr", "ndcg")}
    block["hr@10_over_random"] = block["hr@10"] / block["random"]["hr@10"]
    return block


def add_cold_items(result: dict, args) -> dict:
    """``jaxrec evaluate``: adds the block to ``result`` and rewrites ``args.out`` (if any)."""
    block = cold_items_block(
        args.workdir, split=args.split, data_dir=args.data, include_seen=args.include_seen
    )
    if block is None:
        return result
    result = {**result, "cold_items": block}
    if args.out is not None:
        write_json(args.out, result)
    return result
