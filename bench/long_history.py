"""Test NDCG@10 / HR@10 by history length: does Transformer-XL memory help long users?

Evaluates each trained run (full ranking, seen items excluded, test split) and splits
the users at ``--threshold`` interactions of history (SASRec's window is 200):

    python bench/long_history.py --workdir sasrec=runs/ml1m_sasrec --workdir txl=runs/ml1m_txl \
        --out bench/results/long_history_ml-1m.json
"""

from __future__ import annotations

import argparse
import functools
import platform
import time

import jax
import numpy as np

from data_pipeline.pipeline import eval_data
from jaxrec.atomic_io import write_json
from jaxrec.evaluation import EvalOptions, evaluate
from jaxrec.training.setup import load_trained
from jaxrec.training.step import score_step


def per_user_hits(top: np.ndarray, targets: np.ndarray, k: int = 10) -> tuple[np.ndarray, ...]:
    """(hit float[N], ndcg float[N]) from top int32[N, >=k] and targets int32[N]."""
    match = top[:, :k] == targets[:, None]
    hit = match.any(axis=1).astype(np.float64)
    position = match.argmax(axis=1)
    return hit, np.where(hit > 0, 1.0 / np.log2(position + 2.0), 0.0)


def evaluate_by_length(workdir: str, threshold: int) -> dict:
    """Metrics for all users and for users with <= / > ``threshold`` history items."""
    trained = load_trained(workdir)
    data = eval_data(trained.dataset, "test", trained.cfg.model.max_len)
    score = jax.jit(functools.partial(score_step, graphdef=trained.graphdef))
    options = EvalOptions(exclude_seen=True, batch_size=trained.cfg.eval.batch_size, keep_top=10)
    summary, top = evaluate(
        lambda h, u: score(trained.params, h, u), data, trained.dataset.num_items, options
    )
    hit, ndcg = per_user_hits(top, data.targets)
    lengths = np.array([len(s) for s in data.seen])
    groups = {"all": lengths >= 0, f"<={threshold}": lengths <= threshold}
    groups[f">{threshold}"] = lengths > threshold
    out = {
        name: {
            "ndcg@10": float(ndcg[m].mean()),
            "hr@10": float(hit[m].mean()),
            "num_users": int(m.sum()),
        }
        for name, m in groups.items()
    }
    assert abs(out["all"]["ndcg@10"] - summary["ndcg@10"]) < 1e-6, "per-user split disagrees"
    return {
        "model": trained.cfg.model.name,
        "max_len": trained.cfg.model.max_len,
        "step": trained.meta.get("step"),
        **out,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", action="append", required=True, help="NAME=RUN_DIR")
    parser.add_argument("--threshold", type=int, default=200)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    results = {}
    for spec in args.workdir:
        name, _, path = spec.partition("=")
        results[name] = evaluate_by_length(path, args.threshold)
        print(name, results[name])
    write_json(
        args.out,
        {
            "protocol": "full ranking, test split, seen items excluded",
            "threshold": args.threshold,
            "runs": results,
            "machine": f"{platform.processor() or platform.machine()}, {jax.devices()[0]}",
            "date": time.strftime("%Y-%m-%d"),
        },
    )


if __name__ == "__main__":
    main()
