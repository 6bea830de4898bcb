"""Matrix factorisation (BPR-MF, Rendle et al., UAI 2009): one learned vector per user.

The user's "hidden state" at every position is the same user vector, so the shared
training step and losses apply unchanged: with ``loss.name='bpr'`` each training item of
the user is a positive against sampled negatives, which is BPR-MF. Order is ignored.
Shapes: ``B`` batch, ``L`` length, ``D`` = ``embed_dim``, ``U`` users, ``I`` = items + 1.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models.base import NextItemModel
from jaxrec.types import Array


class MatrixFactorization(NextItemModel):
    """User and item embeddings scored by dot product."""

    def __init__(self, cfg: ModelConfig, num_items: int, *, num_users: int, rngs: nnx.Rngs):
        if num_users < 1:
            raise ValueError("matrix factorisation needs num_users >= 1 (one vector per user)")
        self.cfg = cfg
        self.num_items = num_items
        normal = nnx.initializers.normal(stddev=cfg.init_std)
        self.user_embed = nnx.Param(
            normal(rngs.params(), (num_users, cfg.embed_dim)), out_sharding=("user", "embed")
        )
        self.item_embed = nnx.Param(
            normal(rngs.params(), (num_items + 1, cfg.embed_dim)), out_sharding=("item", "embed")
        )

    def item_table(self) -> Array:
        """float[I, D]: item factors; row 0 is padding."""
        return self.item_embed[...]

    def encode(self, ids: Array, *, key: Array | None = None, users: Array | None = None) -> Array:
        """float[B, L, D]: the user's vector at every valid position of ``ids``.

        Args:
            ids: int32[B, L] item ids (only their padding mask is used).
            key: unused (no dropout).
            users: int32[B] internal user ids; required.
        """
        del key
        return self.user_state(ids, users)[:, None, :] * (ids > 0)[..., None]

    def user_state(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, D]: the user's vector (the history itself is not used)."""
        del ids
        if users is None:
            raise ValueError("matrix factorisation scores need user ids")
        return jnp.take(self.user_embed[...], users, axis=0)
