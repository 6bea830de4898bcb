"""Item-kNN as a model: the neighbour tables of ``jaxrec.baselines.item_knn`` / ``text_knn``.

The tables are built in closed form (``jaxrec.training.closed_form``), not by gradient
steps; this module only holds and applies them (with the recency decay chosen on
validation), so item-kNN checkpoints, evaluates and ensembles through the same paths as the
sequence models. Shapes: ``B`` batch, ``L`` history length, ``I`` = items + 1, ``K``
neighbours per item.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from jaxrec.baselines.item_knn import item_knn_scores
from jaxrec.config import ModelConfig
from jaxrec.types import Array


class ItemKNN(nnx.Module):
    """Recency-weighted votes of the history items for their nearest neighbours."""

    def __init__(self, cfg: ModelConfig, num_items: int, *, rngs: nnx.Rngs):
        del rngs
        self.cfg = cfg
        self.num_items = num_items
        shape = (num_items + 1, cfg.knn_neighbors)
        self.neighbor_ids = nnx.Param(jnp.zeros(shape, jnp.int32), out_sharding=("item", None))
        self.neighbor_sims = nnx.Param(jnp.zeros(shape), out_sharding=("item", None))
        self.recency = nnx.Param(jnp.asarray(1.0))

    def score_all(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, I] scores for int32[B, L] left-padded histories (column 0 = -inf)."""
        del users
        return item_knn_scores(
            self.neighbor_ids[...], self.neighbor_sims[...], self.recency[...], ids
        )
