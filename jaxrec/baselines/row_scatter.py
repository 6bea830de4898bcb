"""Scatter per-row (column, value) pairs into a dense [B, size] array, ONNX-exportable."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxrec.types import Array

# One (row, column) index pair per update, nothing else: lax directly (no fancy indexing, no
# reshape of the batch dimension), so the exported ONNX graph keeps a dynamic batch.
_ONE_CELL = jax.lax.ScatterDimensionNumbers(
    update_window_dims=(), inserted_window_dims=(0, 1), scatter_dims_to_operand_dims=(0, 1)
)


def scatter_rows(scatter: Callable, size: int, columns: Array, values: Array) -> Array:
    """Combines ``values`` into the columns of their own row.

    Args:
        scatter: ``jax.lax.scatter_add`` (sum repeats) or ``jax.lax.scatter_max`` (keep the
            largest).
        size: number of columns of the result.
        columns: int32[B, ...] target column of each value.
        values: float[B, ...] same shape as ``columns``.

    Returns:
        float[B, size]: out[b, c] combines every values[b, ...] whose column is c; zero where
        none lands.
    """
    rows = jax.lax.broadcasted_iota(columns.dtype, columns.shape, 0)
    pairs = jnp.stack([rows, columns], axis=-1)  # [B, ..., 2]
    return scatter(jnp.zeros((columns.shape[0], size), values.dtype), pairs, values, _ONE_CELL)
