"""EASE (Steck, WWW 2019) full-ranking baseline: λ chosen on validation, reported on test.

    python bench/ease_baseline.py --data data/ml-1m --out bench/results/ease_ml-1m.json

For the validation split EASE is fitted on every user's ``items[:n_train]``; for the test split
on ``items[:n_train + n_valid]`` (``history_for``), so no held-out target is ever in X. Users
are scored with their whole (untruncated) history; seen items are excluded from the ranking.
"""

from __future__ import annotations

import argparse
import logging
import platform
import time

import jax
import numpy as np

from data_pipeline.dataset import PreparedDataset
from data_pipeline.pipeline import EvalData, eval_data
from data_pipeline.records import history_for
from jaxrec.atomic_io import write_json
from jaxrec.baselines.ease import ease_from_gram, ease_score_fn, gram_matrix
from jaxrec.evaluation import EvalOptions, evaluate

log = logging.getLogger("ease_baseline")
SELECT_BY = "ndcg@10"
TEST_KEYS = (
    "ndcg@10",
    "hr@10",
    "ndcg@20",
    "hr@20",
    "mrr",
    "coverage@10",
    "coverage@20",
    "num_users",
    "num_items",
    "protocol",
    "exclude_seen",
)


def _split_inputs(dataset: PreparedDataset, split: str) -> tuple[np.ndarray, EvalData, int]:
    """(XᵀX, eval arrays, longest history) for ``split``; histories are never truncated."""
    histories = [history_for(rec, split) for rec in dataset.records()]
    longest = max(len(h) for h in histories)
    gram = gram_matrix(histories, dataset.num_items)
    return gram, eval_data(dataset, split, max_len=longest), longest


def _evaluate(
    gram: np.ndarray, data: EvalData, num_items: int, l2: float, options: EvalOptions
) -> dict:
    start = time.perf_counter()
    weights = ease_from_gram(gram, l2)
    fit_s = time.perf_counter() - start
    summary, _ = evaluate(
        ease_score_fn(weights, num_items), data, num_items, options, progress=False
    )
    summary["fit_seconds"] = fit_s
    summary["eval_seconds"] = time.perf_counter() - start - fit_s
    return summary


def run(data_dir: str, grid: list[float], options: EvalOptions) -> dict:
    """Selects λ on validation, evaluates test with it, and returns the result record."""
    start = time.perf_counter()
    dataset = PreparedDataset.open(data_dir)
    num_items = dataset.num_items
    gram, valid, valid_len = _split_inputs(dataset, "valid")
    valid_scores = {}
    for l2 in grid:
        summary = _evaluate(gram, valid, num_items, l2, options)
        valid_scores[l2] = summary[SELECT_BY]
        seconds = summary["fit_seconds"] + summary["eval_seconds"]
        log.info("valid l2=%g %s=%.4f (%.1fs)", l2, SELECT_BY, summary[SELECT_BY], seconds)
    best = max(grid, key=lambda l2: valid_scores[l2])
    gram, test, test_len = _split_inputs(dataset, "test")
    summary = _evaluate(gram, test, num_items, best, options)
    log.info("test l2=%g %s", best, {k: summary[k] for k in TEST_KEYS[:6]})
    if best in (min(grid), max(grid)):
        log.warning("chosen l2=%g is at the edge of the grid %s", best, grid)
    return {
        "model": "EASE",
        "reference": "Steck, Embarrassingly Shallow Autoencoders for Sparse Data, WWW 2019",
        "data": str(data_dir),
        "num_users": dataset.num_users,
        "num_items": num_items,
        "selection": {"split": "valid", "metric": SELECT_BY, "grid": grid},
        "chosen_l2": best,
        "valid_ndcg@10": {f"{l2:g}": valid_scores[l2] for l2 in grid},
        "test": {k: summary[k] for k in TEST_KEYS},
        "history_max_len": {"valid": valid_len, "test": test_len},
        "train_items": {"valid": "items[:n_train]", "test": "items[:n_train + n_valid]"},
        "test_fit_seconds": summary["fit_seconds"],
        "wall_seconds": time.perf_counter() - start,
        "device": str(jax.devices()[0].device_kind),
        "host": platform.node(),
    }


def main() -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="prepared dataset directory")
    parser.add_argument("--out", required=True, help="result JSON path")
    parser.add_argument("--l2", type=float, nargs="+", default=[100.0, 300.0, 1000.0, 3000.0])
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    options = EvalOptions(ks=(10, 20), exclude_seen=True, batch_size=args.batch_size)
    result = run(args.data, sorted(args.l2), options)
    write_json(args.out, result)
    log.info("wrote %s (%.1fs)", args.out, result["wall_seconds"])


if __name__ == "__main__":
    main()
