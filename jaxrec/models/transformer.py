"""Pre-LayerNorm transformer block with a padding-aware causal mask.

Shapes: ``B`` batch, ``L`` length, ``D`` width, ``H`` heads, ``K`` = ``D // H``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.types import Array

_init = nnx.initializers


def attention_mask(valid: Array, causal: bool = True) -> Array:
    """bool[B, 1, L, L]: query i may attend key j (j valid, and j <= i if causal).

    Args:
        valid: bool[B, L], False at padding positions.
        causal: whether to forbid attending to later positions.
    """
    mask = valid[:, None, None, :]
    if causal:
        length = valid.shape[-1]
        mask = mask & jnp.tril(jnp.ones((length, length), dtype=bool))[None, None]
    return mask


def run_blocks(
    blocks, dropout: nnx.Dropout, x: Array, valid: Array, *, causal: bool, key: Array | None
) -> Array:
    """Input dropout, then every block with padding positions re-zeroed after each.

    Args:
        blocks: sequence of ``TransformerBlock``.
        dropout: the input-embedding dropout.
        x: float[B, L, D] embedded inputs.
        valid: bool[B, L], False at padding.
        causal: whether position t may only attend to positions <= t.
        key: PRNG key for dropout, or None for deterministic inference.

    Returns:
        float[B, L, D].
    """
    keys = [None] * (len(blocks) + 1)
    if key is not None:
        keys = list(jax.random.split(key, len(blocks) + 1))
    x = dropout(x, deterministic=key is None, rngs=keys[-1])
    mask = attention_mask(valid, causal=causal)
    for block, block_key in zip(blocks, keys[:-1], strict=False):
        x = block(x, mask, key=block_key) * valid[..., None]
    return x


def run_blocks_last(blocks, dropout: nnx.Dropout, x: Array, valid: Array) -> Array:
    """``run_blocks(..., causal=True, key=None)[:, -1]`` without the last block's other rows.

    Next-item scoring reads only the last position. Every block but the last still runs over
    all positions (later blocks attend to them); the last block's queries, output projection
    and feed-forward run for the last row only, its keys and values over the whole sequence.

    Args:
        blocks: sequence of ``TransformerBlock``.
        dropout: the input-embedding dropout (inactive here: inference only).
        x: float[B, L, D] embedded inputs.
        valid: bool[B, L], False at padding.

    Returns:
        float[B, D], equal to the last row of ``run_blocks`` up to float rounding.
    """
    x = dropout(x, deterministic=True)
    if not len(blocks):
        return x[:, -1]
    mask = attention_mask(valid, causal=True)
    for block in list(blocks)[:-1]:
        x = block(x, mask, key=None) * valid[..., None]
    # The last query row of a causal mask is the padding mask itself: bool[B, 1, 1, L].
    last = blocks[-1](x[:, -1:], mask[:, :, -1:], key=None, memory=x[:, :-1])
    return last[:, 0] * valid[:, -1:]


class MultiHeadAttention(nnx.Module):
    """Scaled dot-product self-attention with fused per-head projections."""

    def __init__(self, dim: int, num_heads: int, dropout: float, init_std: float, *, rngs):
        head_dim = dim // num_heads
        kernel = _init.normal(init_std)
        qkv = jnp.stack([kernel(key, (dim, dim)) for key in jax.random.split(rngs.params(), 3)])
        self.qkv = nnx.Param(
            qkv.reshape(3, dim, num_heads, head_dim), out_sharding=(None, "embed", "heads", "kv")
        )
        self.qkv_bias = nnx.Param(
            jnp.zeros((3, num_heads, head_dim)), out_sharding=(None, "heads", "kv")
        )
        self.out = nnx.Param(
            kernel(rngs.params(), (dim, dim)).reshape(num_heads, head_dim, dim),
            out_sharding=("heads", "kv", "embed"),
        )
        self.out_bias = nnx.Param(jnp.zeros((dim,)), out_sharding=("embed",))
        self.dropout = nnx.Dropout(dropout)

    def __call__(
        self,
        x: Array,
        mask: Array,
        *,
        key: Array | None,
        context: Array | None = None,
        logit_bias: Array | None = None,
    ) -> Array:
        """Queries from x, keys and values from ``context`` (default x).

        x: float[B, L, D]; context: float[B, C, D]; mask: bool[B, 1, L, C];
        logit_bias: float[1, H, L, C] added to the attention logits (relative positions)
        -> float[B, L, D].
        """
        qkv, bias = self.qkv[...], self.qkv_bias[...][:, None, None]
        if context is None:
            q, k, v = jnp.einsum("bld,cdhk->cblhk", x, qkv) + bias
        else:
            q = jnp.einsum("bld,dhk->blhk", x, qkv[0]) + bias[0]
            k, v = jnp.einsum("bld,cdhk->cblhk", context, qkv[1:]) + bias[1:]
        logits = jnp.einsum("bqhk,bshk->bhqs", q, k) / jnp.sqrt(q.shape[-1]).astype(x.dtype)
        if logit_bias is not None:
            logits = logits + logit_bias
        # Fully masked rows (padding queries) get a uniform softmax instead of NaN.
        logits = jnp.where(mask, logits, jnp.finfo(logits.dtype).min)
        probs = jax.nn.softmax(logits, axis=-1)
        probs = self.dropout(probs, deterministic=key is None, rngs=key)
        ctx = jnp.einsum("bhqs,bshk->bqhk", probs, v)
        return jnp.einsum("bqhk,hkd->bqd", ctx, self.out[...]) + self.out_bias[...][None, None]


class FeedForward(nnx.Module):
    """Position-wise two-layer MLP (SASRec's point-wise feed-forward)."""

    def __init__(self, dim, hidden, dropout, activation, init_std, *, rngs):
        self.up = nnx.Linear(
            dim,
            hidden,
            kernel_init=nnx.with_partitioning(_init.normal(init_std), ("embed", "mlp")),
            bias_init=nnx.with_partitioning(_init.zeros_init(), ("mlp",)),
            rngs=rngs,
        )
        self.down = nnx.Linear(
            hidden,
            dim,
            kernel_init=nnx.with_partitioning(_init.normal(init_std), ("mlp", "embed")),
            bias_init=nnx.with_partitioning(_init.zeros_init(), ("embed",)),
            rngs=rngs,
        )
        self.activation = jax.nn.relu if activation == "relu" else jax.nn.gelu
        self.dropout = nnx.Dropout(dropout)

    def __call__(self, x: Array, *, key: Array | None) -> Array:
        """float[B, L, D] -> float[B, L, D]."""
        hidden = self.activation(self.up(x))
        return self.down(self.dropout(hidden, deterministic=key is None, rngs=key))


def layer_norm(dim: int, rngs: nnx.Rngs) -> nnx.LayerNorm:
    """LayerNorm whose scale and bias carry the ``embed`` logical axis."""
    return nnx.LayerNorm(
        dim,
        epsilon=1e-6,
        scale_init=nnx.with_partitioning(_init.ones_init(), ("embed",)),
        bias_init=nnx.with_partitioning(_init.zeros_init(), ("embed",)),
        rngs=rngs,
    )


class TransformerBlock(nnx.Module):
    """One self-attention block, in one of two layouts (``cfg.block``).

    ``pre_ln``: x + Drop(Attn(LN(x))), then x + Drop(FFN(LN(x))).
    ``sasrec``: the reference SASRec code's layout: q = LN(x); x = q + Attn(q, kv=x);
    x = LN(x); x + Drop(FFN(x)). Keys and values see the un-normalised stream.
    """

    def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
        dim = cfg.embed_dim
        self.attn_norm = layer_norm(dim, rngs)
        self.attn = MultiHeadAttention(
            dim, cfg.num_heads, cfg.attention_dropout, cfg.init_std, rngs=rngs
        )
        self.mlp_norm = layer_norm(dim, rngs)
        self.mlp = FeedForward(
            dim, cfg.mlp_dim, cfg.dropout, cfg.activation, cfg.init_std, rngs=rngs
        )
        self.dropout = nnx.Dropout(cfg.dropout)
        self.layout = cfg.block

    def __call__(
        self,
        x: Array,
        mask: Array,
        *,
        key: Array | None,
        memory: Array | None = None,
        logit_bias: Array | None = None,
    ) -> Array:
        """float[B, L, D] -> float[B, L, D].

        ``memory`` (float[B, M, D], Transformer-XL): earlier hidden states that the
        queries also attend to, placed before x; then ``mask`` is bool[B, 1, L, M + L].
        """
        keys = (None,) * 4 if key is None else tuple(jax.random.split(key, 4))
        stream = x if memory is None else jnp.concatenate([memory, x], axis=1)
        if self.layout == "sasrec":
            q = self.attn_norm(x)
            h = self.attn(q, mask, key=keys[0], context=stream, logit_bias=logit_bias)
            x = self.mlp_norm(q + h)
            h = self.mlp(x, key=keys[2])
            return x + self.dropout(h, deterministic=key is None, rngs=keys[3])
        q = self.attn_norm(x)
        kv = None if memory is None else self.attn_norm(stream)
        h = self.attn(q, mask, key=keys[0], context=kv, logit_bias=logit_bias)
        x = x + self.dropout(h, deterministic=key is None, rngs=keys[1])
        h = self.mlp(self.mlp_norm(x), key=keys[2])
        return x + self.dropout(h, deterministic=key is None, rngs=keys[3])
