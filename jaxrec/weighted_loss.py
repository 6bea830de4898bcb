"""Full softmax cross-entropy with a weight per target position (sentiment loss weights).

``loss.sentiment_weight = alpha`` gives target t the weight ``1 + alpha * s_t`` with ``s_t``
in [-1, 1] the VADER compound score of the target interaction's review (0 without one),
built by ``data_pipeline.context.ContextTables.target_weights``. Items the user wrote
happily about pull harder on the model, items they panned less. The weights are not
renormalised: the loss is sum(w * ce) over target positions divided by the same
normaliser as the unweighted loss (``compute_loss``), so alpha also scales the effective
learning rate by the mean weight (1 + alpha * mean score).
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxrec.fused_softmax import softmax_cross_entropy
from jaxrec.types import Array


def weighted_cross_entropy(
    hidden: Array,
    table: Array,
    targets: Array,
    weights: Array,
    normalizer: float | None = None,
) -> Array:
    """Scalar sum(weights * CE) over positions with a target, / normaliser.

    Args:
        hidden: float[B, L, D].
        table: float[I, D] item table (row 0 padding).
        targets: int32[B, L] next item per position; 0 = no target.
        weights: float[B, L] weight per position (ignored where the target is 0).
        normalizer: divide by this constant (None: by the number of target positions).
    """
    per_position = softmax_cross_entropy(
        hidden.reshape(-1, hidden.shape[-1]), table, targets.reshape(-1)
    ).reshape(targets.shape)
    mask = targets > 0
    total = jnp.sum(jnp.where(mask, weights.astype(per_position.dtype) * per_position, 0.0))
    if normalizer is None:
        return total / jnp.maximum(jnp.sum(mask, dtype=per_position.dtype), 1.0)
    return total / normalizer
