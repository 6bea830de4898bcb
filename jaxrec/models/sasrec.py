"""SASRec: causal self-attention over a user's item sequence (Kang & McAuley, 2018).

Pre-LN blocks, learned positions, dropout, item embeddings tied with the output layer.
Sequences are left-padded with item id 0, so the last position predicts the next item.
Shapes: ``B`` batch, ``L`` = ``max_len``, ``D`` = ``embed_dim``, ``I`` = items + 1.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models.base import NextItemModel
from jaxrec.models.transformer import TransformerBlock, layer_norm, run_blocks, run_blocks_last
from jaxrec.types import Array


class SASRecCore(NextItemModel):
    """What SASRec and its variants share: the tied item table, blocks, final norm, dropout.

    Subclasses add their position encoding in ``make_positions`` (called between the item
    table and the blocks, so the parameter init order and values stay SASRec's) and their
    ``encode``.
    """

    def __init__(self, cfg: ModelConfig, num_items: int, *, rngs: nnx.Rngs):
        self.cfg = cfg
        self.num_items = num_items
        self.item_embed = nnx.Param(
            self.embed_init(rngs.params(), (num_items + 1, cfg.embed_dim)),
            out_sharding=("item", "embed"),
        )
        self.make_positions(cfg, rngs)
        self.blocks = nnx.List([TransformerBlock(cfg, rngs=rngs) for _ in range(cfg.num_layers)])
        self.final_norm = layer_norm(cfg.embed_dim, rngs)
        self.dropout = nnx.Dropout(cfg.dropout)

    def embed_init(self, key: Array, shape: tuple[int, ...]) -> Array:
        """Normal(0, ``init_std``) init of the embedding tables."""
        return nnx.initializers.normal(stddev=self.cfg.init_std)(key, shape)

    def make_positions(self, cfg: ModelConfig, rngs: nnx.Rngs) -> None:
        """Creates the position parameters (none here)."""

    def item_table(self) -> Array:
        """float[I, D]: item embeddings; row 0 is padding."""
        return self.item_embed[...]

    def input_table(self) -> Array:
        """float[I, D]: the vectors that embed the input sequence (here the item table)."""
        return self.item_table()

    def lookup_items(self, ids: Array) -> Array:
        """float[B, L, D]: input vectors of ``ids``, scaled by sqrt(D) if configured."""
        x = jnp.take(self.input_table(), ids, axis=0)
        if self.cfg.scale_embeddings:
            x = x * jnp.sqrt(jnp.asarray(self.cfg.embed_dim, x.dtype))
        return x


class SASRec(SASRecCore):
    """SASRec encoder: the core plus learned absolute positions; ``item_table`` is the output."""

    def make_positions(self, cfg: ModelConfig, rngs: nnx.Rngs) -> None:
        """Learned absolute position embeddings, float[L, D]."""
        self.pos_embed = nnx.Param(
            self.embed_init(rngs.params(), (cfg.max_len, cfg.embed_dim)),
            out_sharding=("seq", "embed"),
        )

    def embed_inputs(self, ids: Array) -> Array:
        """float[B, L, D]: item vectors (scaled if configured) + positions, zero at padding.

        Args:
            ids: int32[B, L] item ids, left-padded with 0.
        """
        x = self.lookup_items(ids) + self.pos_embed[...][-ids.shape[1] :][None]
        return x * (ids > 0)[..., None]

    def encode(self, ids: Array, *, key: Array | None = None, users: Array | None = None) -> Array:
        """Hidden state per position.

        Args:
            ids: int32[B, L] item ids, left-padded with 0.
            key: PRNG key for dropout, or None for deterministic inference.
            users: int32[B] user ids (unused: the history is the user).

        Returns:
            float[B, L, D]; position t summarises ids[:, : t + 1].
        """
        x = run_blocks(
            self.blocks, self.dropout, self.embed_inputs(ids), ids > 0, causal=True, key=key
        )
        return self.final_norm(x)

    def user_state(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, D]: ``encode(ids)[:, -1]``, with the last block run for the last row only.

        A subclass that changes ``encode`` beyond ``input_table`` must override this too.

        Args:
            ids: int32[B, L] item ids, left-padded with 0.
            users: int32[B] user ids (unused).
        """
        del users
        x = run_blocks_last(self.blocks, self.dropout, self.embed_inputs(ids), ids > 0)
        return self.final_norm(x)
