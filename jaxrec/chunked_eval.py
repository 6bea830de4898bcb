"""Full-ranking evaluation in item chunks: never forms the B x I score matrix.

``rank_in_chunks`` scans the item table ``chunk`` rows at a time, keeping per user only
the count of candidates ranked above the target, the candidate count and a running top-k,
and returns exactly what ``jaxrec.evaluation.rank_batch`` returns for full ranking (same
tie rule: equal scores rank the lower item id first). Shapes: ``B`` users, ``D`` width,
``I`` catalogue rows (row 0 padding), ``S`` history width, ``C`` chunk.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from data_pipeline.pipeline import EvalData, pad_ragged
from jaxrec import metrics
from jaxrec.types import Array


def _chunk_scores(state: Array, table: Array, c0: Array, chunk: int) -> Array:
    """float[B, chunk] scores of items [c0, c0 + chunk).

    Both passes call this, and the barrier keeps XLA from fusing the matmul into different
    consumers in each, so the target's score is bit-identical in both (ties stay ties).
    """
    rows = jax.lax.dynamic_slice_in_dim(table, c0, chunk, axis=0)
    return jax.lax.optimization_barrier(state @ rows.T)


def _chunk_step(
    carry, c0, *, state, table, targets, target_score, seen, chunk, num_rows, exclude_seen
):
    """Scores items [c0, c0 + chunk) and folds them into (above, count, top scores, top ids).

    ``above`` and ``count`` cover the candidates other than the target; the target enters
    the running top-k only when it is a candidate itself.
    """
    above, count, top_s, top_i = carry
    ids = c0 + jnp.arange(chunk)[None, :]
    scores = _chunk_scores(state, table, c0, chunk)
    cand = jnp.broadcast_to((ids > 0) & (ids < num_rows), scores.shape)
    if exclude_seen:
        local = jnp.where((seen >= c0) & (seen < c0 + chunk), seen - c0, chunk)
        users = jnp.arange(seen.shape[0])[:, None]
        cand = cand & ~jnp.zeros(cand.shape, bool).at[users, local].set(True, mode="drop")
    others = cand & (ids != targets[:, None])
    before = (scores > target_score) | ((scores == target_score) & (ids < targets[:, None]))
    above = above + jnp.sum(before & others, axis=1, dtype=jnp.int32)
    count = count + jnp.sum(others, axis=1, dtype=jnp.int32)
    # Earlier chunks come first in the concatenation, so top_k's lower-index-first tie rule
    # keeps the lower item id, as rank_batch does.
    merged_s = jnp.concatenate([top_s, jnp.where(cand, scores, -jnp.inf)], axis=1)
    merged_i = jnp.concatenate([top_i, jnp.broadcast_to(ids, scores.shape)], axis=1)
    top_s, where = jax.lax.top_k(merged_s, top_s.shape[1])
    return (above, count, top_s, jnp.take_along_axis(merged_i, where, axis=1)), None


@functools.partial(jax.jit, static_argnames=("exclude_seen", "keep_top", "chunk"))
def rank_in_chunks(
    user_state: Array,
    table: Array,
    targets: Array,
    seen: Array,
    *,
    exclude_seen: bool,
    keep_top: int,
    chunk: int,
) -> tuple[Array, Array, Array]:
    """Ranks each target among all items, ``chunk`` items at a time.

    Args:
        user_state: float[B, D] user representations (``model.user_state``).
        table: float[I, D] item table; row 0 is padding (never a candidate).
        targets: int32[B] held-out items.
        seen: int32[B, S] history ids, 0-padded.
        exclude_seen: drop history items from the candidates (a target among them is a
            miss, as in ``rank_batch``).
        keep_top: length of the returned top lists.
        chunk: items scored per scan step (memory B x chunk).

    Returns:
        (ranks int32[B], num_candidates int32[B], top int32[B, keep_top]) as ``rank_batch``.
    """
    num_rows = table.shape[0]
    chunk = min(chunk, num_rows)
    padded = jnp.pad(table, ((0, -num_rows % chunk), (0, 0)))
    starts = jnp.arange(0, padded.shape[0], chunk)

    def target_pass(acc, c0):
        # The target's score from the very matmul that scores the other items: a separately
        # computed dot product can differ in the last bit and flip ties.
        ids = c0 + jnp.arange(chunk)[None, :]
        scores = _chunk_scores(user_state, padded, c0, chunk)
        return acc + jnp.sum(jnp.where(ids == targets[:, None], scores, 0.0), axis=1), None

    target_score = jax.lax.scan(target_pass, jnp.zeros(targets.shape, user_state.dtype), starts)[0]
    target_score = target_score[:, None]
    b = targets.shape[0]
    init = (
        jnp.zeros(b, jnp.int32),
        jnp.zeros(b, jnp.int32),
        jnp.full((b, keep_top), -jnp.inf, user_state.dtype),
        jnp.full((b, keep_top), -1, jnp.int32),
    )
    body = functools.partial(
        _chunk_step,
        state=user_state,
        table=padded,
        targets=targets,
        target_score=target_score,
        seen=seen,
        chunk=chunk,
        num_rows=num_rows,
        exclude_seen=exclude_seen,
    )
    (above, count, top_s, top_i), _ = jax.lax.scan(body, init, starts)
    if exclude_seen:  # a repeated target is excluded: it ranks after every candidate
        above = jnp.where(jnp.any(seen == targets[:, None], axis=1), count, above)
    return above, count + 1, jnp.where(jnp.isneginf(top_s), -1, top_i)


def evaluate_chunked(
    user_state_fn,
    table: Array,
    data: EvalData,
    num_items: int,
    *,
    ks: tuple[int, ...] = (10, 20),
    exclude_seen: bool = True,
    batch_size: int = 256,
    chunk: int = 65536,
) -> dict:
    """Full-ranking metrics with ``rank_in_chunks`` (no B x I scores).

    Args:
        user_state_fn: int32[B, L] histories, int32[B] users -> float[B, D].
        table: float[I, D] item table (``model.item_table()``).
        data: evaluation arrays (``data_pipeline.pipeline.eval_data``).
        num_items: catalogue size (padding excluded).
        ks: cut-offs.
        exclude_seen: as ``EvalOptions.exclude_seen``.
        batch_size: users per batch (the last batch is padded by repetition).
        chunk: items per scan step.

    Returns:
        Metric means (``ndcg@k``, ``hr@k``, ``mrr``, ...), ``num_users``, ``protocol``.
    """
    n = len(data.targets)
    ranks, counts = np.zeros(n, np.int32), np.zeros(n, np.int32)
    for start in range(0, n, batch_size):
        idx = np.arange(start, min(start + batch_size, n))
        idx = np.concatenate([idx, np.full(batch_size - len(idx), idx[-1])])
        state = user_state_fn(jnp.asarray(data.histories[idx]), jnp.asarray(data.users[idx]))
        r, c, _ = rank_in_chunks(
            state,
            table,
            jnp.asarray(data.targets[idx]),
            jnp.asarray(pad_ragged([data.seen[i] for i in idx])),
            exclude_seen=exclude_seen,
            keep_top=max(ks),
            chunk=chunk,
        )
        ranks[idx], counts[idx] = np.asarray(r), np.asarray(c)
    per_user = metrics.metrics_from_ranks(ranks, counts, ks)
    summary = {name: float(values.mean()) for name, values in per_user.items()}
    summary.update(num_users=int(n), num_items=int(num_items), protocol="full")
    return summary
