"""Hybrid short/long-term model: SASRec's session state fused with a long-term profile.

At each position the short-term state is SASRec's causal-attention output; the long-term
profile is the running mean of every item embedding seen so far (a collaborative,
order-free summary of the user's taste, FISM-style). A learned per-dimension gate mixes
them: ``h = g * short + (1 - g) * long`` with ``g = sigmoid([short, long] W + b)``.
``gates(ids)`` returns g at the last position, so how much each user leans on the
session versus the long-term profile can be inspected.
Shapes: ``B`` batch, ``L`` = ``max_len``, ``D`` = ``embed_dim``, ``I`` = items + 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models.sasrec import SASRec
from jaxrec.models.transformer import layer_norm
from jaxrec.types import Array


def running_mean(x: Array, valid: Array) -> Array:
    """float[B, L, D]: mean of x over the valid positions up to and including each t."""
    weights = valid[..., None].astype(x.dtype)
    totals = jnp.cumsum(x * weights, axis=1)
    counts = jnp.cumsum(weights, axis=1)
    return totals / jnp.maximum(counts, 1.0)


class HybridSASRec(SASRec):
    """SASRec plus a gated long-term profile; same interface and training as SASRec."""

    def __init__(self, cfg: ModelConfig, num_items: int, *, rngs: nnx.Rngs):
        super().__init__(cfg, num_items, rngs=rngs)
        dim = cfg.embed_dim
        normal = nnx.initializers.normal(cfg.init_std)
        self.long_term = nnx.Linear(
            dim,
            dim,
            kernel_init=nnx.with_partitioning(normal, ("embed", "mlp")),
            bias_init=nnx.with_partitioning(nnx.initializers.zeros_init(), ("mlp",)),
            rngs=rngs,
        )
        self.long_norm = layer_norm(dim, rngs)
        self.gate = nnx.Linear(
            2 * dim,
            dim,
            kernel_init=nnx.with_partitioning(normal, ("mlp", "embed")),
            bias_init=nnx.with_partitioning(nnx.initializers.zeros_init(), ("embed",)),
            rngs=rngs,
        )

    def _parts(self, ids: Array, key: Array | None) -> tuple[Array, Array, Array]:
        """(short-term state, long-term profile, gate), each float[B, L, D]."""
        short = super().encode(ids, key=key)
        valid = ids > 0
        pooled = running_mean(jnp.take(self.item_table(), ids, axis=0), valid)
        long = self.long_norm(self.long_term(pooled))
        gate = jax.nn.sigmoid(self.gate(jnp.concatenate([short, long], axis=-1)))
        return short, long, gate

    def encode(self, ids: Array, *, key: Array | None = None, users: Array | None = None) -> Array:
        """float[B, L, D]: gated mix of short-term state and long-term profile.

        Args:
            ids: int32[B, L] item ids, left-padded with 0.
            key: PRNG key for dropout, or None for deterministic inference.
            users: int32[B] user ids (unused: the history is the user).
        """
        short, long, gate = self._parts(ids, key)
        return (gate * short + (1.0 - gate) * long) * (ids > 0)[..., None]

    def user_state(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, D]: ``encode(ids)[:, -1]`` without the other positions' states.

        The short-term state comes from SASRec's last-position path; the long-term profile at
        the last position is the mean over the whole history.
        """
        del users
        short = super().user_state(ids)
        valid = ids > 0
        weights = valid[..., None].astype(short.dtype)
        totals = jnp.sum(jnp.take(self.item_table(), ids, axis=0) * weights, axis=1)
        pooled = totals / jnp.maximum(jnp.sum(weights, axis=1), 1.0)
        long = self.long_norm(self.long_term(pooled))
        gate = jax.nn.sigmoid(self.gate(jnp.concatenate([short, long], axis=-1)))
        return (gate * short + (1.0 - gate) * long) * valid[:, -1:]

    def gates(self, ids: Array) -> Array:
        """float[B, D] in (0, 1): weight of the short-term state at the last position."""
        return self._parts(ids, None)[2][:, -1]
