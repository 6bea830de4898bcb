"""EASE as a model: the item-item weights of ``jaxrec.baselines.ease`` behind ``score_all``.

The weights are fitted in closed form (``jaxrec.training.closed_form``), not by gradient
steps; this module only holds and applies them (with the profile recency chosen on
validation), so EASE checkpoints, evaluates and exports through the same paths as the
sequence models.
Shapes: ``B`` batch, ``L`` history length, ``I`` = items + 1.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from jaxrec.baselines.ease import MAX_ITEMS, ease_scores
from jaxrec.config import ModelConfig
from jaxrec.types import Array


class EASE(nnx.Module):
    """Scores ``x B`` for the history profile ``x`` (binary at recency 1)."""

    def __init__(self, cfg: ModelConfig, num_items: int, *, rngs: nnx.Rngs):
        del rngs
        if num_items > MAX_ITEMS:
            raise ValueError(
                f"EASE keeps a dense {num_items} x {num_items} weight matrix; catalogues above "
                f"{MAX_ITEMS} items do not fit, use a sequence model (configs/sasrec.py)"
            )
        self.cfg = cfg
        self.num_items = num_items
        self.weights = nnx.Param(
            jnp.zeros((num_items + 1, num_items + 1)), out_sharding=("item", None)
        )
        self.recency = nnx.Param(jnp.asarray(1.0))

    def score_all(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, I] scores for int32[B, L] left-padded histories (column 0 = -inf)."""
        del users
        return ease_scores(self.weights[...], self.recency[...], ids)
