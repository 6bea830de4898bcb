"""Hybrid short/long-term model: SASRec's session state fused with a long-term profile.

At each position the short-term state is SASRec's causal-attention output; the long-term
profile is the running mean of every item embedding seen so far (a collaborative,
order-free summary of the user's taste, FISM-style). A learned per-dimension gate mixes
them: ``h = g * short + (1 - g) * long`` with ``g = sigmoid([short, long] W + b)``.
``gates(ids)`` returns g at the last position, so how much each user leans on the
session versus the long-term profile can be inspected.

Optional score terms join the dot product as extra coordinates of the state and the item
table, each scaled by a learned weight (``score_weights()``):

* collaborative (``cf_rank`` > 0): ``w_cf * (Σ_{i≤t} q_i) · k_j``, a low-rank item-item model
  fitted on the training split (EASE or PureSVD, ``jaxrec.baselines.cf_factors``);
* content (``hybrid_content``): ``w_text * mean_{i≤t}(t_i) · t_j`` over unit item text vectors.

The factors and text vectors are frozen (``FrozenFeature``); the score is
``h · e_j + w_cf * cf_j + w_text * content_j``, so training, top-k and export are unchanged.
Shapes: ``B`` batch, ``L`` = ``max_len``, ``D`` = ``embed_dim``, ``I`` = items + 1,
``R`` = ``cf_rank``, ``E`` text dimensions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrec.baselines.cf_factors import load_factors
from jaxrec.config import ModelConfig
from jaxrec.models.sasrec import SASRec
from jaxrec.models.sasrec_text import FrozenFeature, load_item_features
from jaxrec.models.transformer import layer_norm
from jaxrec.types import Array


def running_mean(x: Array, valid: Array) -> Array:
    """float[B, L, D]: mean of x over the valid positions up to and including each t."""
    weights = valid[..., None].astype(x.dtype)
    totals = jnp.cumsum(x * weights, axis=1)
    counts = jnp.cumsum(weights, axis=1)
    return totals / jnp.maximum(counts, 1.0)


def unit_rows(x: Array) -> Array:
    """The rows of ``x`` scaled to unit L2 norm (zero rows stay zero)."""
    return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


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
        terms = []
        if cfg.cf_rank > 0:
            if not cfg.cf_factors:
                raise ValueError(
                    "model.cf_factors is empty: run through `jaxrec train` (which fits the CF "
                    "factors on the training split) or set it to a factors .npz"
                )
            query, key = load_factors(cfg.cf_factors, num_items)
            self.cf_query = FrozenFeature(jnp.asarray(query), out_sharding=("item", None))
            self.cf_key = FrozenFeature(jnp.asarray(key), out_sharding=("item", None))
            terms.append("cf")
        if cfg.hybrid_content:
            text, _ = load_item_features(cfg.text_features, num_items)
            self.text = FrozenFeature(jnp.asarray(text), out_sharding=("item", None))
            terms.append("content")
        self.terms = tuple(terms)  # static: which score terms the state and table carry
        if self.terms:
            self.term_weights = nnx.Param(jnp.ones(len(self.terms)), out_sharding=(None,))

    def input_table(self) -> Array:
        """float[I, D]: the item embeddings (the input side has no score-term columns)."""
        return self.item_embed[...]

    def item_table(self) -> Array:
        """float[I, D + R + E]: item embeddings, then the CF keys and unit text vectors."""
        columns = [self.item_embed[...]]
        if "cf" in self.terms:
            columns.append(jax.lax.stop_gradient(self.cf_key[...]))
        if "content" in self.terms:
            columns.append(unit_rows(jax.lax.stop_gradient(self.text[...])))
        return jnp.concatenate(columns, axis=-1) if len(columns) > 1 else columns[0]

    def score_weights(self) -> dict[str, Array]:
        """The learned weight of each score term (empty without terms)."""
        return {name: self.term_weights[...][i] for i, name in enumerate(self.terms)}

    def _term_states(self, ids: Array, *, last_only: bool) -> list[Array]:
        """Per term, its user side float[B, L, ·] (float[B, ·] with ``last_only``), weighted."""
        valid = (ids > 0)[..., None]
        states = []
        for i, name in enumerate(self.terms):
            if name == "cf":
                rows = jnp.take(jax.lax.stop_gradient(self.cf_query[...]), ids, axis=0) * valid
                state = rows.sum(axis=1) if last_only else jnp.cumsum(rows, axis=1)
            else:
                rows = unit_rows(jnp.take(jax.lax.stop_gradient(self.text[...]), ids, axis=0))
                if last_only:
                    count = jnp.maximum(valid.sum(axis=1), 1)
                    state = (rows * valid).sum(axis=1) / count
                else:
                    state = running_mean(rows, ids > 0)
            states.append(self.term_weights[...][i] * state)
        return states

    def _parts(self, ids: Array, key: Array | None) -> tuple[Array, Array, Array]:
        """(short-term state, long-term profile, gate), each float[B, L, D]."""
        short = super().encode(ids, key=key)
        valid = ids > 0
        pooled = running_mean(jnp.take(self.input_table(), ids, axis=0), valid)
        long = self.long_norm(self.long_term(pooled))
        gate = jax.nn.sigmoid(self.gate(jnp.concatenate([short, long], axis=-1)))
        return short, long, gate

    def encode(self, ids: Array, *, key: Array | None = None, users: Array | None = None) -> Array:
        """float[B, L, D (+ R + E)]: gated short/long-term mix, then the weighted term states.

        Args:
            ids: int32[B, L] item ids, left-padded with 0.
            key: PRNG key for dropout, or None for deterministic inference.
            users: int32[B] user ids (unused: the history is the user).
        """
        short, long, gate = self._parts(ids, key)
        mixed = gate * short + (1.0 - gate) * long
        states = jnp.concatenate([mixed, *self._term_states(ids, last_only=False)], axis=-1)
        return states * (ids > 0)[..., None]

    def user_state(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, D (+ R + E)]: ``encode(ids)[:, -1]`` without the other positions' states.

        The short-term state comes from SASRec's last-position path; the long-term profile at
        the last position is the mean over the whole history.
        """
        del users
        short = super().user_state(ids)
        valid = ids > 0
        weights = valid[..., None].astype(short.dtype)
        totals = jnp.sum(jnp.take(self.input_table(), ids, axis=0) * weights, axis=1)
        pooled = totals / jnp.maximum(jnp.sum(weights, axis=1), 1.0)
        long = self.long_norm(self.long_term(pooled))
        gate = jax.nn.sigmoid(self.gate(jnp.concatenate([short, long], axis=-1)))
        mixed = gate * short + (1.0 - gate) * long
        states = jnp.concatenate([mixed, *self._term_states(ids, last_only=True)], axis=-1)
        return states * valid[:, -1:]

    def gates(self, ids: Array) -> Array:
        """float[B, D] in (0, 1): weight of the short-term state at the last position."""
        return self._parts(ids, None)[2][:, -1]
