"""BERT4Rec: bidirectional self-attention trained by masked-item prediction (Sun et al., 2019).

Item id ``I`` (= ``num_items + 1``) is the mask token. Training masks each item with
probability ``cfg.mask_prob`` and predicts the masked ones; inference appends the mask
token after the history and scores the catalogue at that position. A row masks at most
``masked_slots(L, mask_prob)`` items (mean + 4 std of the binomial count, rounded up: at
L = 200, p = 0.2 that is 64, and the cap binds on 1 full row in 46,000), which lets the
training step score the catalogue at those slots only instead of at all ``L`` positions.
Shapes: ``B`` batch, ``L`` = ``max_len``, ``D`` = ``embed_dim``, ``I`` = items + 1.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models.base import NextItemModel
from jaxrec.models.transformer import TransformerBlock, layer_norm, run_blocks
from jaxrec.types import Array


def masked_slots(length: int, mask_prob: float) -> int:
    """Masked items a row of ``length`` may hold: mean + 4 std, rounded up to 8, <= length."""
    mean = length * mask_prob
    bound = mean + 4.0 * math.sqrt(mean * (1.0 - mask_prob))
    return min(length, 8 * math.ceil(bound / 8))


class BERT4Rec(NextItemModel):
    """Bidirectional transformer encoder; item embeddings double as the output layer."""

    def __init__(self, cfg: ModelConfig, num_items: int, *, rngs: nnx.Rngs):
        self.cfg = cfg
        self.num_items = num_items
        self.mask_id = num_items + 1
        embed_init = nnx.initializers.normal(stddev=cfg.init_std)
        self.item_embed = nnx.Param(
            embed_init(rngs.params(), (num_items + 2, cfg.embed_dim)),
            out_sharding=("item", "embed"),
        )
        self.pos_embed = nnx.Param(
            embed_init(rngs.params(), (cfg.max_len, cfg.embed_dim)), out_sharding=("seq", "embed")
        )
        self.embed_norm = layer_norm(cfg.embed_dim, rngs)
        self.blocks = nnx.List([TransformerBlock(cfg, rngs=rngs) for _ in range(cfg.num_layers)])
        self.final_norm = layer_norm(cfg.embed_dim, rngs)
        self.dropout = nnx.Dropout(cfg.dropout)

    def item_table(self) -> Array:
        """float[I, D]: output embeddings of the real items (row 0 padding, no mask row)."""
        return self.item_embed[...][: self.num_items + 1]

    def encode(self, ids: Array, *, key: Array | None = None, users: Array | None = None) -> Array:
        """Hidden state per position, each seeing the whole (unpadded) sequence.

        Args:
            ids: int32[B, L] item ids or ``mask_id``, left-padded with 0.
            key: PRNG key for dropout, or None for deterministic inference.
            users: int32[B] user ids (unused: the history is the user).

        Returns:
            float[B, L, D].
        """
        valid = ids > 0
        x = jnp.take(self.item_embed[...], ids, axis=0)
        x = self.embed_norm(x + self.pos_embed[...][-ids.shape[1] :][None]) * valid[..., None]
        x = run_blocks(self.blocks, self.dropout, x, valid, causal=False, key=key)
        return self.final_norm(x)

    def user_state(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, D]: the hidden state of a mask token appended after the history."""
        masked = jnp.concatenate(
            [ids[:, 1:], jnp.full((ids.shape[0], 1), self.mask_id, ids.dtype)], axis=1
        )
        return self.encode(masked)[:, -1]

    def training_pair(self, inputs: Array, targets: Array, key: Array) -> tuple[Array, Array]:
        """Masks the user's sequence (``targets``: the last L training items).

        Each item is masked with probability ``mask_prob``, keeping at most
        ``target_slots(L)`` masked items per row (the first ones). With probability
        ``mask_last_prob`` a row masks only its last item instead: a next-item sample,
        shaped like inference (a mask token after the history).

        Returns:
            (sequence with masked items replaced by ``mask_id``, the original item at
            masked positions and 0 elsewhere), int32[B, L] each.
        """
        del inputs
        sequence = targets
        masked = (jax.random.uniform(key, sequence.shape) < self.cfg.mask_prob) & (sequence > 0)
        masked &= jnp.cumsum(masked, axis=1) <= self.target_slots(sequence.shape[1])
        if self.cfg.mask_last_prob > 0:
            last_only = (
                jax.random.uniform(jax.random.fold_in(key, 1), (sequence.shape[0], 1))
                < self.cfg.mask_last_prob
            )
            last = (jnp.arange(sequence.shape[1]) == sequence.shape[1] - 1)[None] & (sequence > 0)
            masked = jnp.where(last_only, last, masked)
        return jnp.where(masked, self.mask_id, sequence), jnp.where(masked, sequence, 0)

    def target_slots(self, length: int) -> int:
        """At most this many masked items (targets) per row of ``length``."""
        return masked_slots(length, self.cfg.mask_prob)
