"""``jaxrec evaluate``: ranks a trained run's held-out items and writes JSON (+ top-k dump)."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable

import jax
import numpy as np

from data_pipeline.dataset import PreparedDataset
from data_pipeline.pipeline import EvalData, eval_data, with_context
from jaxrec import ensemble
from jaxrec.atomic_io import atomic_write, write_json
from jaxrec.config import TrainConfig
from jaxrec.context_features import ContextTables, eval_tables
from jaxrec.evaluation import EvalOptions, evaluate, popularity_score_fn
from jaxrec.training.setup import load_trained
from jaxrec.training.step import score_step

HEADLINE = ("ndcg@10", "hr@10", "recall@10", "precision@10", "f1@10", "mrr", "auc", "coverage@10")


@dataclasses.dataclass(frozen=True)
class Scorer:
    """A trained run or ensemble, ready to score its dataset's held-out users.

    ``score_fn(histories int32[B, L], users int32[B], *context) -> float[B, I]``.
    """

    cfg: TrainConfig
    dataset: PreparedDataset
    score_fn: Callable
    identity: dict
    max_len: int
    tables: ContextTables | None = None

    def eval_data(self, split: str) -> EvalData:
        """The users with a ``split`` target, their histories and (if read) context."""
        return with_context(eval_data(self.dataset, split, self.max_len), self.tables)


def load_scorer(workdir, data_dir=None) -> Scorer:
    """The best checkpoint of ``workdir`` (or its ensemble) as a ``Scorer``."""
    if ensemble.is_ensemble(workdir):
        loaded = ensemble.load_ensemble(workdir, data_dir)
        members = [row["name"] for row in loaded.record["members"]]
        identity = {"model": "ensemble", "members": members, "checkpoint_step": None, "seed": None}
        return Scorer(
            cfg=loaded.members[0].cfg,
            dataset=loaded.dataset,
            score_fn=ensemble.ensemble_score_fn(loaded),
            identity=identity,
            max_len=loaded.max_len,
        )
    trained = load_trained(workdir, data_dir)
    cfg = trained.cfg
    score = jax.jit(functools.partial(score_step, graphdef=trained.graphdef))

    def score_fn(histories, users, *context):
        return score(trained.params, histories, users, *context)

    identity = {
        "model": cfg.model.name,
        "checkpoint_step": trained.meta.get("step"),
        "seed": cfg.seed,
    }
    return Scorer(
        cfg=cfg,
        dataset=trained.dataset,
        score_fn=score_fn,
        identity=identity,
        max_len=cfg.model.max_len,
        tables=eval_tables(cfg, trained.dataset),
    )


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
    scorer = load_scorer(workdir, data_dir)
    cfg, dataset, score_fn, identity = scorer.cfg, scorer.dataset, scorer.score_fn, scorer.identity
    data = scorer.eval_data(split)
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
