"""Batched, jitted next-item evaluation: full ranking by default, sampled on request.

Protocols:
  * ``full``: the target is ranked against every item in the catalogue, minus the
    user's history when ``exclude_seen``. A target the user has already interacted with
    is then excluded too and counts as a miss: keeping it while hiding the rest of the
    history would tell the ranking which history item is the answer.
  * ``sampled-100`` (``num_sampled_negatives=100``): against 100 items drawn uniformly
    from those the user never interacted with. Labelled as such in every output.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from data_pipeline.pipeline import EvalData, pad_ragged
from jaxrec import metrics
from jaxrec.types import Array

ScoreFn = Callable[[Array], Array]  # int32[B, L] histories -> float[B, I] scores


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvalOptions:
    """How to rank: cut-offs, exclusions, protocol, batch size, top-k to keep."""

    ks: tuple[int, ...] = (10, 20)
    exclude_seen: bool = True
    num_sampled_negatives: int = 0
    batch_size: int = 256
    keep_top: int = 20
    seed: int = 0

    @property
    def protocol(self) -> str:
        """``full`` or ``sampled-N``: printed with every result."""
        return f"sampled-{self.num_sampled_negatives}" if self.num_sampled_negatives else "full"


@functools.partial(jax.jit, static_argnames=("exclude_seen", "keep_top"))
def rank_batch(
    scores: Array,
    targets: Array,
    seen: Array,
    sampled: Array,
    *,
    exclude_seen: bool,
    keep_top: int,
) -> tuple[Array, Array, Array]:
    """Ranks one batch.

    Args:
        scores: float[B, I] model scores; column 0 is padding.
        targets: int32[B] held-out items.
        seen: int32[B, S] history item ids, 0-padded.
        sampled: int32[B, K] sampled candidate ids (K = 0 for full ranking).
        exclude_seen: drop history items from the candidates (a target among them
            then ranks after every candidate: a miss).
        keep_top: length of the returned top lists.

    Returns:
        (ranks int32[B], num_candidates int32[B], top int32[B, keep_top]); entries of
        ``top`` past the user's last candidate are -1.
    """
    rows = jnp.arange(scores.shape[0])[:, None]
    if sampled.shape[1]:
        candidates = jnp.zeros(scores.shape, bool).at[rows, sampled].set(True)
        candidates = candidates.at[rows[:, 0], targets].set(True)
    else:
        candidates = jnp.ones(scores.shape, bool)
        if exclude_seen:  # a repeated target goes with the rest of the history
            candidates = candidates.at[rows, seen].set(False)
    candidates = candidates.at[:, 0].set(False)
    ranks, num_candidates = metrics.target_rank(scores, targets, candidates)
    masked = jnp.where(candidates, scores, -jnp.inf)
    top_scores, top = jax.lax.top_k(masked, keep_top)
    # Fewer candidates than keep_top: mark the non-candidates that fill the list with -1.
    return ranks, num_candidates, jnp.where(jnp.isneginf(top_scores), -1, top)


def sample_negatives(
    seen: list[np.ndarray], targets: np.ndarray, num_items: int, k: int, seed: int
) -> np.ndarray:
    """int32[N, k]: per user, k distinct items outside their history and target."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(seen), k), dtype=np.int32)
    for i, (history, target) in enumerate(zip(seen, targets, strict=True)):
        banned = np.zeros(num_items + 1, dtype=bool)
        banned[history] = True
        banned[[0, target]] = True
        pool = np.flatnonzero(~banned)
        out[i] = rng.choice(pool, size=min(k, len(pool)), replace=False)
    return out


def _padded(array: np.ndarray, size: int) -> np.ndarray:
    pad = size - len(array)
    return np.concatenate([array, np.repeat(array[-1:], pad, axis=0)]) if pad else array


def evaluate(
    score_fn: ScoreFn,
    data: EvalData,
    num_items: int,
    options: EvalOptions,
    *,
    progress: bool = True,
) -> tuple[dict, np.ndarray]:
    """Ranks every user's target and aggregates the metrics.

    Args:
        score_fn: maps int32[B, L] histories and int32[B] user ids (and, when
            ``data.context`` is set, int32[B, L, F] context) to float[B, num_items + 1] scores.
        data: evaluation arrays from ``data_pipeline.pipeline.eval_data``.
        num_items: catalogue size (padding excluded).
        options: protocol settings.
        progress: show a progress bar.

    Returns:
        (summary dict, top int32[N, keep_top] with -1 past the last candidate): metric
        means plus ``coverage@k``, ``num_users``, ``num_items``, ``protocol`` and
        ``exclude_seen``.
    """
    n = len(data.targets)
    if n == 0:
        raise ValueError("no users with a held-out item to evaluate")
    k_neg = options.num_sampled_negatives
    sampled = (
        sample_negatives(data.seen, data.targets, num_items, k_neg, options.seed)
        if k_neg
        else np.zeros((n, 0), np.int32)
    )
    keep_top = min(max(options.keep_top, *options.ks), num_items + 1)
    bs = options.batch_size
    # Batches of users with similar history lengths, each trimmed to a power-of-two width:
    # left padding is masked, so the scores are the same as at full width.
    lengths = np.count_nonzero(data.histories, axis=1)
    order = np.argsort(lengths, kind="stable")
    ranks = np.zeros(n, np.int32)
    counts = np.zeros(n, np.int32)
    top = np.zeros((n, keep_top), np.int32)
    for start in tqdm(range(0, n, bs), desc="evaluate", unit="batch", disable=not progress):
        idx = order[start : start + bs]
        width = min(
            data.histories.shape[1], max(16, 1 << (int(lengths[idx].max()) - 1).bit_length())
        )
        extra = ()
        if data.context is not None:
            extra = (jnp.asarray(_padded(data.context[idx, -width:], bs)),)
        scores = score_fn(
            jnp.asarray(_padded(data.histories[idx, -width:], bs)),
            jnp.asarray(_padded(data.users[idx], bs)),
            *extra,
        )
        r, c, t = rank_batch(
            scores,
            jnp.asarray(_padded(data.targets[idx], bs)),
            jnp.asarray(_padded(pad_ragged([data.seen[i] for i in idx]), bs)),
            jnp.asarray(_padded(sampled[idx], bs)),
            exclude_seen=options.exclude_seen,
            keep_top=keep_top,
        )
        ranks[idx] = np.asarray(r)[: len(idx)]
        counts[idx] = np.asarray(c)[: len(idx)]
        top[idx] = np.asarray(t)[: len(idx)]
    per_user = metrics.metrics_from_ranks(ranks, counts, options.ks)
    summary = {name: float(values.mean()) for name, values in per_user.items()}
    for k in options.ks:
        summary[f"coverage@{k}"] = metrics.coverage(top[:, :k], num_items)
    summary.update(
        num_users=int(n),
        num_items=int(num_items),
        protocol=options.protocol,
        exclude_seen=bool(options.exclude_seen),
    )
    return summary, top


def popularity_score_fn(popularity: np.ndarray) -> ScoreFn:
    """MostPop: every user gets the training-popularity vector float[I] as scores."""
    pop = jnp.asarray(popularity, dtype=jnp.float32)

    def score(histories: Array, users: Array | None = None, context: Array | None = None) -> Array:
        del users, context
        return jnp.broadcast_to(pop, (histories.shape[0], pop.shape[0]))

    return score
