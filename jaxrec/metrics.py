"""Ranking metrics for one held-out target per user (leave-one-out).

Everything derives from the target's 0-based rank among the candidate items: the number
of candidates scored strictly higher than the target. Ties are broken by item id, lower
first, which is the order ``jax.lax.top_k`` uses, so the metrics agree with the dumped
top-k lists. With one relevant item, Recall@K = HR@K.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jaxrec.types import Array


def target_rank(scores: Array, targets: Array, candidates: Array) -> tuple[Array, Array]:
    """Rank of each target among the candidate items.

    A target that is not itself a candidate (``exclude_seen`` with a target the user has
    already interacted with) cannot be recommended: it ranks after every candidate, so it
    is a miss at every cut-off and its AUC is 0.

    Args:
        scores: float[B, I] scores for every item.
        targets: int32[B] the held-out item.
        candidates: bool[B, I] which items compete.

    Returns:
        (rank int32[B], num_candidates int32[B]): rank 0 means the target is first;
        ``num_candidates`` counts the other candidates plus the target.
    """
    rows = jnp.arange(targets.shape[0])
    target_score = jnp.take_along_axis(scores, targets[:, None], axis=1)
    target_competes = candidates[rows, targets]
    others = candidates.at[rows, targets].set(False)
    item_ids = jnp.arange(scores.shape[1])[None, :]
    before = (scores > target_score) | ((scores == target_score) & (item_ids < targets[:, None]))
    num_others = jnp.sum(others, axis=1, dtype=jnp.int32)
    above = jnp.sum(before & others, axis=1, dtype=jnp.int32)
    return jnp.where(target_competes, above, num_others), num_others + 1


def metrics_from_ranks(
    ranks: np.ndarray, num_candidates: np.ndarray, ks: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Per-user metric values from ranks.

    Args:
        ranks: int[N] 0-based target ranks.
        num_candidates: int[N] candidates per user, target included.
        ks: cut-offs.

    Returns:
        ``{name: float64[N]}`` with ndcg@k, hr@k, recall@k, precision@k, f1@k for each k,
        plus mrr and auc (share of the other candidates ranked below the target).
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    out: dict[str, np.ndarray] = {}
    for k in ks:
        hit = (ranks < k).astype(np.float64)
        out[f"ndcg@{k}"] = hit / np.log2(ranks + 2.0)
        out[f"hr@{k}"] = hit
        out[f"recall@{k}"] = hit
        out[f"precision@{k}"] = hit / k
        # F1 of precision hit/k and recall hit: 2 * (hit/k) * hit / (hit/k + hit).
        out[f"f1@{k}"] = 2.0 * hit / (k + 1.0)
    out["mrr"] = 1.0 / (ranks + 1.0)
    others = np.maximum(np.asarray(num_candidates, dtype=np.float64) - 1.0, 1.0)
    out["auc"] = (others - ranks) / others
    return out


def coverage(top_items: np.ndarray, num_items: int) -> float:
    """Share of the catalogue (ids 1..num_items) that appears in any user's list.

    Args:
        top_items: int[N, K] recommended item ids.
        num_items: catalogue size, padding excluded.
    """
    seen = np.unique(top_items)
    return float(np.count_nonzero((seen >= 1) & (seen <= num_items)) / num_items)
