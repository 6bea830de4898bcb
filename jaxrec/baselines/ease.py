"""EASE: the closed-form item-item linear autoencoder of Steck (WWW 2019).

"Embarrassingly Shallow Autoencoders for Sparse Data" learns B = argmin ||X - XB||² + λ||B||²
subject to diag(B) = 0, where X is the binary user-item matrix. The solution is

    G = XᵀX + λI,   P = G⁻¹,   B = -P / diag(P) (column-wise),   diag(B) = 0,

and a user with indicator row x gets the scores x B. The fit runs on the host in float64
(one I x I inverse); scoring is a jitted float32 matmul. With ``recency`` < 1 the profile
x weights each history item by recency ** (steps before the most recent item), an
order-aware reading of the same B (as item-kNN weights its votes); 1 is Steck's binary x.

Shapes use the letters of ``jaxrec.types``: ``B`` batch, ``L`` history length, ``I`` catalogue
size, with row/column 0 of every item axis reserved for the padding id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.sparse

from jaxrec.baselines.row_scatter import scatter_rows
from jaxrec.types import Array

# EASE keeps an I x I float32 matrix; 20,000 items is 1.6 GB, beyond that use a sequence model.
MAX_ITEMS = 20_000

ScoreFn = Callable[[Array], Array]  # int32[B, L] histories -> float32[B, I + 1] scores


def interaction_matrix(user_items: Sequence[np.ndarray], num_items: int) -> scipy.sparse.csr_array:
    """The binary user-item matrix X.

    Args:
        user_items: per user, int[n_u] item ids in 1..num_items (0 = padding is ignored;
            repeats count once).
        num_items: catalogue size I (padding excluded).

    Returns:
        float64[U, I + 1] CSR matrix with X[u, i] = 1 iff user u interacted with item i;
        column 0 is all zero.

    Raises:
        ValueError: an item id lies outside 0..num_items.
    """
    lengths = np.fromiter((len(items) for items in user_items), np.int64, len(user_items))
    cols = (
        np.concatenate([np.asarray(items, np.int64) for items in user_items])
        if len(user_items)
        else np.zeros(0, np.int64)
    )
    if cols.size and (cols.min() < 0 or cols.max() > num_items):
        raise ValueError(f"item ids must lie in 0..{num_items}, got {cols.min()}..{cols.max()}")
    rows = np.repeat(np.arange(len(user_items)), lengths)
    keep = cols != 0
    x = scipy.sparse.coo_array(
        (np.ones(int(keep.sum())), (rows[keep], cols[keep])),
        shape=(len(user_items), num_items + 1),
    ).tocsr()
    x.sum_duplicates()
    x.data[:] = 1.0  # binary: a re-watched item counts once
    return x


def gram_matrix(user_items: Sequence[np.ndarray], num_items: int) -> np.ndarray:
    """Item co-occurrence counts XᵀX, computed once and reused across λ.

    Args:
        user_items: per user, int[n_u] item ids in 1..num_items (see ``interaction_matrix``).
        num_items: catalogue size I.

    Returns:
        float64[I + 1, I + 1] dense XᵀX; row and column 0 are zero.
    """
    x = interaction_matrix(user_items, num_items)
    return np.asarray((x.T @ x).toarray(), dtype=np.float64)


def ease_precision(gram: np.ndarray, l2: float) -> np.ndarray:
    """P = (XᵀX + λI)⁻¹ over the real items, the matrix EASE's weights are read from.

    Args:
        gram: float[I + 1, I + 1] XᵀX from ``gram_matrix``; row/column 0 (padding) is ignored.
        l2: the L2 penalty λ; must be > 0 unless XᵀX itself is invertible.

    Returns:
        float64[I + 1, I + 1] P with row/column 0 zero except P[0, 0] = 1 (so the padding
        column of ``ease_from_precision`` is 0, not 0 / 0).

    Raises:
        ValueError: ``l2`` is negative or ``gram`` is not square.
    """
    if l2 < 0:
        raise ValueError(f"l2={l2}: expected >= 0")
    if gram.ndim != 2 or gram.shape[0] != gram.shape[1]:
        raise ValueError(f"gram of shape {gram.shape}: expected square")
    g = np.array(gram[1:, 1:], dtype=np.float64)
    g[np.diag_indices_from(g)] += l2
    precision = np.zeros(gram.shape, dtype=np.float64)
    # float64: P's entries span orders of magnitude and B divides by diag(P).
    precision[1:, 1:] = scipy.linalg.inv(g, overwrite_a=True, check_finite=False)
    precision[0, 0] = 1.0
    return precision


def ease_from_precision(precision: np.ndarray) -> np.ndarray:
    """float32[I + 1, I + 1] EASE weights B = -P / diag(P) (column-wise), diag(B) = 0."""
    weights = -precision / np.diag(precision)[None, :]
    weights[np.diag_indices_from(weights)] = 0.0
    return weights.astype(np.float32)


def ease_from_gram(gram: np.ndarray, l2: float) -> np.ndarray:
    """EASE weights from a Gram matrix.

    Args:
        gram: float[I + 1, I + 1] XᵀX from ``gram_matrix``; row/column 0 (padding) is ignored.
        l2: the L2 penalty λ; must be > 0 unless XᵀX itself is invertible.

    Returns:
        float32[I + 1, I + 1] item-item weights B (B[i, j]: how much item i in the history
        votes for item j) with diag(B) = 0 and row/column 0 zero.

    Raises:
        ValueError: ``l2`` is negative or ``gram`` is not square.
    """
    return ease_from_precision(ease_precision(gram, l2))


def fit_ease(user_items: Sequence[np.ndarray], num_items: int, l2: float) -> np.ndarray:
    """Fits EASE in closed form.

    Args:
        user_items: per user, int[n_u] training item ids in 1..num_items (0 = padding).
            For the test split pass ``items[:n_train + n_valid]``, for validation
            ``items[:n_train]`` (``data_pipeline.records.history_for``).
        num_items: catalogue size I (padding excluded).
        l2: the L2 penalty λ.

    Returns:
        float32[I + 1, I + 1] weights B; diag(B) = 0, row/column 0 (padding) zero.
    """
    return ease_from_gram(gram_matrix(user_items, num_items), l2)


def recency_profile(
    histories: Array, size: int, recency: Array | float, scatter: Callable = jax.lax.scatter_max
) -> Array:
    """float[B, size]: the profile x of each left-padded history, column 0 (padding) zero.

    Args:
        histories: int32[B, L] item ids, left-padded with 0 (the last column is the most
            recent item).
        size: catalogue size I + 1.
        recency: profile decay per step back from the most recent position.
        scatter: how repeats of an item combine: ``jax.lax.scatter_max`` keeps the most
            recent weight (EASE), ``jax.lax.scatter_add`` sums them.
    """
    length = histories.shape[1]
    position_weight = jnp.asarray(recency, jnp.float32) ** jnp.arange(
        length - 1, -1, -1, dtype=jnp.float32
    )  # [L]
    profile = scatter_rows(
        scatter, size, histories, jnp.broadcast_to(position_weight, histories.shape)
    )
    padding = jnp.arange(size) == 0
    return jnp.where(padding[None, :], 0.0, profile)


@jax.jit
def ease_scores(
    weights: Array, recency: Array, histories: Array, users: Array | None = None
) -> Array:
    """Scores every item for a batch of left-padded histories.

    Args:
        weights: float32[I + 1, I + 1] EASE weights B.
        recency: float32[] profile decay per step back from the most recent position; 1
            gives Steck's binary indicator.
        histories: int32[B, L] item ids, left-padded with 0 (the last column is the most
            recent item).
        users: ignored (EASE scores from the history alone).

    Returns:
        float32[B, I + 1] scores x B, where x[i] = recency ** d for the most recent
        occurrence of item i, d steps before the last position (0 for items not in the
        history); column 0 (padding) is -inf.
    """
    del users
    profile = recency_profile(histories, weights.shape[0], recency).astype(weights.dtype)
    # HIGHEST: keeps the matmul in true float32 on GPUs (TF32 would perturb close ranks).
    scores = jnp.matmul(profile, weights, precision=jax.lax.Precision.HIGHEST)
    padding = jnp.arange(weights.shape[0]) == 0
    return jnp.where(padding[None, :], -jnp.inf, scores)


def ease_score_fn(weights: np.ndarray, num_items: int, recency: float = 1.0) -> ScoreFn:
    """Wraps fitted weights as a ``score_fn`` for ``jaxrec.evaluation.evaluate``.

    The user profile is built only from the ids in the history batch, so pass histories
    that are not truncated (``eval_data(..., max_len=<longest history>)``) to score with the
    user's whole history, as EASE is defined.

    Args:
        weights: float32[I + 1, I + 1] from ``fit_ease`` / ``ease_from_gram``.
        num_items: catalogue size I (padding excluded); checked against ``weights``.
        recency: profile decay per step back (``ease_scores``); 1 = binary profile.

    Returns:
        ``score_fn(histories int32[B, L]) -> float32[B, I + 1]``, column 0 = -inf.

    Raises:
        ValueError: ``weights`` is not float[num_items + 1, num_items + 1].
    """
    if weights.shape != (num_items + 1, num_items + 1):
        raise ValueError(f"weights of shape {weights.shape}: expected {(num_items + 1,) * 2}")
    # Passed as jit arguments (not closed over) so the I² matrix is not baked into the HLO.
    return jax.tree_util.Partial(
        ease_scores, jnp.asarray(weights, jnp.float32), jnp.asarray(recency, jnp.float32)
    )
