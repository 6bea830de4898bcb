"""Sequential item-kNN: items that sit close together in training sequences vote for each other.

A closed-form neighbourhood model in the family of session-based kNN and sequential rules
(Ludewig & Jannach, UMUAI 2018). Two items co-occur when they are at most ``window`` steps
apart in a user's training sequence, with weight ``window_decay ** (distance - 1)``, in both
directions. Item ``j``'s similarity to item ``i`` is that count divided by ``count(j) **
alpha`` (damps the votes of very frequent history items; the candidate's own popularity is
kept). Each item keeps its ``K`` strongest neighbours, so memory is O(I K) and any catalogue
fits (EASE needs a dense I x I inverse). A history votes with recency weights: the item
``d`` positions before the most recent one counts ``recency ** d``.

Shapes use the letters of ``jaxrec.types``: ``B`` batch, ``L`` history length, ``I``
catalogue size, ``K`` neighbours per item, with id 0 reserved for padding.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse

from jaxrec.baselines.row_scatter import scatter_rows
from jaxrec.types import Array


def cooccurrence(
    sequences: Sequence[np.ndarray], num_items: int, window: int, window_decay: float
) -> scipy.sparse.csr_array:
    """Distance-weighted, symmetric co-occurrence counts within ``window`` steps.

    Args:
        sequences: per user, int[n_u] item ids in 1..num_items in time order (0 = padding,
            dropped first).
        num_items: catalogue size I (padding excluded).
        window: largest distance (>= 1) at which two positions co-occur.
        window_decay: weight factor per extra step of distance, in (0, 1].

    Returns:
        float64[I + 1, I + 1] CSR matrix C with C[j, i] = sum over position pairs (p, q),
        0 < |p - q| <= window, s_p = j, s_q = i, of window_decay ** (|p - q| - 1); row and
        column 0 are zero. Repeated pairs (also j == i) add up.

    Raises:
        ValueError: an id lies outside 0..num_items, or window / window_decay is out of range.
    """
    if window < 1 or not 0.0 < window_decay <= 1.0:
        raise ValueError(f"window={window} (>= 1), window_decay={window_decay} (in (0, 1])")
    rows, cols, vals = [], [], []
    for seq in sequences:
        seq = np.asarray(seq, np.int64)
        seq = seq[seq != 0]
        if seq.size and (seq.min() < 0 or seq.max() > num_items):
            raise ValueError(f"item ids must lie in 0..{num_items}, got {seq.min()}..{seq.max()}")
        for distance in range(1, min(window, len(seq) - 1) + 1):
            weight = np.full(len(seq) - distance, window_decay ** (distance - 1))
            rows += [seq[:-distance], seq[distance:]]
            cols += [seq[distance:], seq[:-distance]]
            vals += [weight, weight]
    if not rows:
        return scipy.sparse.csr_array((num_items + 1, num_items + 1))
    counts = scipy.sparse.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(num_items + 1, num_items + 1),
    ).tocsr()
    counts.sum_duplicates()
    return counts


def neighbour_tables(
    counts: scipy.sparse.csr_array, item_counts: np.ndarray, num_neighbors: int, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's ``K`` strongest neighbours and their similarities.

    Args:
        counts: float[I + 1, I + 1] co-occurrence counts from ``cooccurrence``.
        item_counts: float[I + 1] how often each item occurs in training (the row's norm).
        num_neighbors: K >= 1.
        alpha: similarity = counts[j, i] / max(item_counts[j], 1) ** alpha.

    Returns:
        (ids int32[I + 1, K], sims float32[I + 1, K]): row j lists j's neighbours, strongest
        first; unused slots (fewer than K neighbours, and the padding row 0) hold id 0 with
        similarity 0.
    """
    if num_neighbors < 1:
        raise ValueError(f"num_neighbors={num_neighbors}: expected >= 1")
    size = counts.shape[0]
    ids = np.zeros((size, num_neighbors), np.int32)
    sims = np.zeros((size, num_neighbors), np.float32)
    scale = 1.0 / np.maximum(np.asarray(item_counts, np.float64), 1.0) ** alpha
    for j in range(1, size):
        start, end = counts.indptr[j], counts.indptr[j + 1]
        cols, vals = counts.indices[start:end], counts.data[start:end]
        if len(cols) > num_neighbors:
            top = np.argpartition(-vals, num_neighbors - 1)[:num_neighbors]
            cols, vals = cols[top], vals[top]
        order = np.argsort(-vals, kind="stable")
        ids[j, : len(order)] = cols[order]
        sims[j, : len(order)] = vals[order] * scale[j]
    return ids, sims


def fit_item_knn(
    sequences: Sequence[np.ndarray],
    num_items: int,
    *,
    window: int,
    window_decay: float,
    num_neighbors: int,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour tables from training sequences (see the module docstring).

    Args:
        sequences: per user, the training item ids in time order (``items[:n_train]``).
        num_items: catalogue size I.
        window: largest co-occurrence distance (``cooccurrence``).
        window_decay: weight factor per extra step of distance (``cooccurrence``).
        num_neighbors: K, neighbours kept per item (``neighbour_tables``).
        alpha: vote damping count(j) ** alpha (``neighbour_tables``).

    Returns:
        (ids int32[I + 1, K], sims float32[I + 1, K]).
    """
    counts = cooccurrence(sequences, num_items, window, window_decay)
    return neighbour_tables(counts, item_frequencies(sequences, num_items), num_neighbors, alpha)


def item_frequencies(sequences: Sequence[np.ndarray], num_items: int) -> np.ndarray:
    """int64[I + 1]: how often each item occurs in ``sequences`` (padding 0 not counted)."""
    flat = [np.asarray(s, np.int64) for s in sequences]
    all_items = np.concatenate(flat) if flat else np.zeros(0, np.int64)
    return np.bincount(all_items[all_items != 0], minlength=num_items + 1)


@jax.jit
def item_knn_scores(
    ids: Array, sims: Array, recency: Array, histories: Array, users: Array | None = None
) -> Array:
    """Scores every item for a batch of left-padded histories.

    Args:
        ids: int32[I + 1, K] neighbour ids.
        sims: float32[I + 1, K] their similarities.
        recency: float32[] vote decay per step back from the most recent position.
        histories: int32[B, L] item ids, left-padded with 0 (the last column is the most
            recent item; padding votes nothing since row 0 of ``sims`` is zero).
        users: ignored (item-kNN scores from the history alone).

    Returns:
        float32[B, I + 1]: sum over positions l of recency ** (L - 1 - l) x the similarity
        of the item at l to each candidate; column 0 (padding) is -inf.
    """
    del users
    length = histories.shape[1]
    size = ids.shape[0]
    position_weight = recency ** jnp.arange(length - 1, -1, -1, dtype=sims.dtype)  # [L]
    votes = jnp.take(sims, histories, axis=0) * position_weight[None, :, None]  # [B, L, K]
    voted = jnp.take(ids, histories, axis=0)  # [B, L, K]
    scores = scatter_rows(jax.lax.scatter_add, size, voted, votes)
    padding = jnp.arange(size) == 0
    return jnp.where(padding[None, :], -jnp.inf, scores)
