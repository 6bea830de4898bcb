"""How the handling of history items changes a run's full-ranking NDCG@10 / HR@10.

Scores every valid and test user of a trained run (or ensemble) once and ranks the target
under four rules:
- ``excluded``: history items are not candidates, a target that repeats one is a miss
  (``jaxrec evaluate``'s default since session 19);
- ``target_kept``: the rule before session 19, history hidden but a repeated target kept
  (it tells the ranking which history item is the answer);
- ``no_exclusion``: every item competes (``--include-seen``; RecBole's sequential models,
  UniSRec and Recformer rank this way);
- ``penalty_D``: every item competes after history items lose D from their scores (a
  re-recommendation penalty; D = inf equals ``excluded``).

    python bench/seen_items_protocol.py --workdir runs/best_sci \
        --out bench/results/seen_items_protocol_scientific.json

Not a test: one full scoring pass per split (seconds to minutes on a CPU).
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import platform

import numpy as np

from jaxrec import metrics
from jaxrec.atomic_io import write_json
from jaxrec.evaluate_run import load_scorer

PENALTIES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def ndcg_hr(ranks: np.ndarray) -> dict:
    """Mean NDCG@10 and HR@10 of 0-based ranks (``jaxrec.metrics``' definitions)."""
    per_user = metrics.metrics_from_ranks(ranks, np.ones_like(ranks), (10,))
    return {name: float(per_user[name].mean()) for name in ("ndcg@10", "hr@10")}


def rule_metrics(scores: np.ndarray, targets: np.ndarray, seen: np.ndarray) -> dict:
    """Metrics of every rule for float[N, I] scores (column 0 padding), bool[N, I] history."""
    rows = np.arange(len(targets))
    target_score = scores[rows, targets][:, None]
    above = scores > target_score
    repeated = seen[rows, targets]
    num_others = (~seen).sum(axis=1) - 1  # the candidates under "excluded", padding aside
    history_hidden = (above & ~seen).sum(axis=1)  # a repeated target's rank if kept
    out = {
        "excluded": ndcg_hr(np.where(repeated, num_others, history_hidden)),
        "target_kept": ndcg_hr(history_hidden),
        "no_exclusion": ndcg_hr(above.sum(axis=1)),
    }
    for penalty in PENALTIES:
        penalised = scores - penalty * seen
        ranks = (penalised > penalised[rows, targets][:, None]).sum(axis=1)
        out[f"penalty_{penalty:g}"] = ndcg_hr(ranks)
    out["repeated_targets"] = int(repeated.sum())
    out["repeated_targets_in_top10_under_target_kept"] = int(
        (repeated & (history_hidden < 10)).sum()
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    scorer = load_scorer(args.workdir)
    result = {
        "workdir": args.workdir,
        "machine": f"{platform.machine()}, {platform.node()}",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "penalty_scale": "the run's score units (an ensemble's weighted mean of its members)",
    }
    for split in ("valid", "test"):
        data = scorer.eval_data(split)
        n, bs = len(data.targets), args.batch_size
        batches = []
        for s in range(0, n, bs):
            context = () if data.context is None else (data.context[s : s + bs],)
            batches.append(
                np.asarray(
                    scorer.score_fn(data.histories[s : s + bs], data.users[s : s + bs], *context)
                )
            )
        scores = np.concatenate(batches).astype(np.float64)
        scores[:, 0] = -np.inf
        seen = np.zeros(scores.shape, bool)
        for i, history in enumerate(data.seen):
            seen[i, history] = True
        seen[:, 0] = False
        result[split] = rule_metrics(scores, data.targets, seen) | {"num_users": n}
        print(split, result[split], flush=True)
    write_json(args.out, result)


if __name__ == "__main__":
    main()
