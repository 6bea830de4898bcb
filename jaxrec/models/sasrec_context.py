"""Context-aware SASRec: time, user, device and sentiment features with cross-attention.

Context arrives as ``int32[B, L, F]`` (layout: ``data_pipeline/context_schema.py``): per
position the event columns of that interaction (hour, weekday, gap bucket, device,
sentiment bucket), then the user's static columns (age, gender, occupation, zip region)
repeated at every position. Each enabled column has its own embedding table (row 0 =
unknown); ``model.context`` switches the groups off for ablations, and a switched-off
group has no parameters.

* Event token ``c_t`` = sum of the enabled event embeddings of interaction t + position.
* User tokens ``u_k``: one per enabled user attribute.
* ``cross_attention=True``: after each self-attention block, a pre-LN cross-attention
  sub-layer lets position t attend to ``c_0..c_t`` (valid ones), the user tokens and,
  for ``sasrec_text_context`` with ``context.text``, the projected text vectors of the
  items at positions 0..t. ``cross_attention=False``: ``c_t`` and the user tokens are
  added to the input embedding instead.

Causality: position t never sees context of positions > t, and the event columns of t
describe interaction t (the input), never the target t + 1. ``context=None`` (e.g. an
exported scoring function) means every column unknown.
Shapes: ``B`` batch, ``L`` length, ``F`` context columns, ``C`` context tokens,
``D`` = ``embed_dim``, ``I`` = items + 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models.sasrec import SASRec
from jaxrec.models.sasrec_text import TextSASRec
from jaxrec.models.transformer import (
    MultiHeadAttention,
    attention_mask,
    layer_norm,
    run_blocks,
)
from jaxrec.types import Array

# Kept in step with data_pipeline/context_schema.py (models may not import data_pipeline;
# tests/jaxrec/test_context_model.py checks they agree).
EVENT_COLUMNS = (("hour", 25), ("weekday", 8), ("gap", 22), ("device", 33), ("sentiment", 6))
USER_COLUMNS = (("age", 8), ("gender", 3), ("occupation", 33), ("region", 12))
GROUPS = {
    "time": ("hour", "weekday", "gap"),
    "device": ("device",),
    "sentiment": ("sentiment",),
    "user": ("age", "gender", "occupation", "region"),
}
NUM_COLUMNS = len(EVENT_COLUMNS) + len(USER_COLUMNS)


def enabled_columns(cfg: ModelConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(event column names, user column names) switched on by ``cfg.context``."""
    on = {name for group, names in GROUPS.items() if getattr(cfg.context, group) for name in names}
    events = tuple(n for n, _ in EVENT_COLUMNS if n in on)
    users = tuple(n for n, _ in USER_COLUMNS if n in on)
    return events, users


class ContextEmbedding(nnx.Module):
    """One ``float[vocab, D]`` table per enabled context column (logical axes None, embed)."""

    def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
        self.events, self.users = enabled_columns(cfg)
        sizes = dict(EVENT_COLUMNS + USER_COLUMNS)
        init = nnx.initializers.normal(cfg.init_std)
        self.tables = nnx.Dict(
            {
                name: nnx.Param(
                    init(rngs.params(), (sizes[name], cfg.embed_dim)),
                    out_sharding=(None, "embed"),
                )
                for name in (*self.events, *self.users)
            }
        )
        self.index = {n: i for i, (n, _) in enumerate(EVENT_COLUMNS + USER_COLUMNS)}

    def _lookup(self, name: str, ids: Array) -> Array:
        return jnp.take(self.tables[name][...], ids, axis=0)

    def event_tokens(self, context: Array) -> Array | None:
        """float[B, L, D]: summed event embeddings per position (None if no event column)."""
        if not self.events:
            return None
        parts = [self._lookup(n, context[..., self.index[n]]) for n in self.events]
        return sum(parts[1:], parts[0])

    def user_tokens(self, context: Array) -> Array | None:
        """float[B, S, D]: one token per enabled user attribute (None if none)."""
        if not self.users:
            return None
        static = context[:, -1]  # repeated at every position
        return jnp.stack([self._lookup(n, static[:, self.index[n]]) for n in self.users], 1)


class CrossAttention(nnx.Module):
    """Pre-LN residual cross-attention: x + Drop(Attn(LN(x), tokens))."""

    def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
        self.norm = layer_norm(cfg.embed_dim, rngs)
        self.attn = MultiHeadAttention(
            cfg.embed_dim, cfg.num_heads, cfg.attention_dropout, cfg.init_std, rngs=rngs
        )
        self.dropout = nnx.Dropout(cfg.dropout)

    def __call__(self, x: Array, tokens: Array, mask: Array, *, key: Array | None) -> Array:
        """x: float[B, L, D]; tokens: float[B, C, D]; mask: bool[B, 1, L, C] -> float[B, L, D]."""
        keys = (None, None) if key is None else tuple(jax.random.split(key))
        h = self.attn(self.norm(x), mask, key=keys[0], context=tokens)
        return x + self.dropout(h, deterministic=key is None, rngs=keys[1])


class ContextMixin:
    """Adds context embeddings and cross-attention to a SASRec-style model."""

    def __init__(self, cfg: ModelConfig, num_items: int, *, rngs: nnx.Rngs):
        super().__init__(cfg, num_items, rngs=rngs)
        self.context_embed = ContextEmbedding(cfg, rngs=rngs)
        has_tokens = bool(self.context_embed.events or self.context_embed.users)
        use_cross = cfg.context.cross_attention and (has_tokens or self._text_keys())
        self.cross = (
            nnx.List([CrossAttention(cfg, rngs=rngs) for _ in range(cfg.num_layers)])
            if use_cross
            else None
        )

    def _text_keys(self) -> bool:
        return False

    def input_vectors(self) -> Array:
        """float[I, D]: the vectors that embed input item ids."""
        return self.item_table()

    def text_tokens(self, ids: Array) -> Array | None:
        """float[B, L, D] text keys of the history items, or None (not a text model)."""
        del ids
        return None

    def _embed(self, ids: Array) -> Array:
        x = jnp.take(self.input_vectors(), ids, axis=0)
        if self.cfg.scale_embeddings:
            x = x * jnp.sqrt(jnp.asarray(self.cfg.embed_dim, x.dtype))
        return x + self.pos_embed[...][-ids.shape[1] :][None]

    def _tokens(self, ids: Array, context: Array) -> tuple[Array, Array] | None:
        """(tokens float[B, C, D], mask bool[B, 1, L, C]) for cross-attention, or None."""
        valid = ids > 0
        causal = attention_mask(valid, causal=True)  # [B, 1, L, L]: key j valid, j <= t
        pos = self.pos_embed[...][-ids.shape[1] :][None]
        tokens, masks = [], []
        events = self.context_embed.event_tokens(context)
        if events is not None:
            tokens.append((events + pos) * valid[..., None])
            masks.append(causal)
        users = self.context_embed.user_tokens(context)
        if users is not None:
            tokens.append(users)
            masks.append(jnp.ones((*causal.shape[:3], users.shape[1]), bool))
        text = self.text_tokens(ids) if self._text_keys() else None
        if text is not None:
            tokens.append((text + pos) * valid[..., None])
            masks.append(causal)
        if not tokens:
            return None
        return jnp.concatenate(tokens, axis=1), jnp.concatenate(masks, axis=-1)

    def _additive(self, x: Array, context: Array) -> Array:
        events = self.context_embed.event_tokens(context)
        if events is not None:
            x = x + events
        users = self.context_embed.user_tokens(context)
        if users is not None:
            x = x + jnp.sum(users, axis=1, keepdims=True)
        return x

    def context_hidden(
        self, ids: Array, *, key: Array | None = None, context: Array | None = None
    ) -> Array:
        """float[B, L, D] final-normed hidden states; position t sees positions <= t only.

        Args:
            ids: int32[B, L] item ids, left-padded with 0.
            key: PRNG key for dropout, or None for deterministic inference.
            context: int32[B, L, F] context ids, or None (all unknown).
        """
        if context is None:
            context = jnp.zeros((*ids.shape, NUM_COLUMNS), jnp.int32)
        valid = ids > 0
        x = self._embed(ids)
        if self.cross is None:
            x = self._additive(x, context) * valid[..., None]
            x = run_blocks(self.blocks, self.dropout, x, valid, causal=True, key=key)
            return self.final_norm(x)
        x = x * valid[..., None]
        tokens, cross_mask = self._tokens(ids, context)
        n = len(self.blocks)
        keys = [None] * (2 * n + 1)
        if key is not None:
            keys = list(jax.random.split(key, 2 * n + 1))
        x = self.dropout(x, deterministic=key is None, rngs=keys[-1])
        mask = attention_mask(valid, causal=True)
        for i, (block, cross) in enumerate(zip(self.blocks, self.cross, strict=True)):
            x = block(x, mask, key=keys[2 * i]) * valid[..., None]
            x = cross(x, tokens, cross_mask, key=keys[2 * i + 1]) * valid[..., None]
        return self.final_norm(x)

    def encode(
        self,
        ids: Array,
        *,
        key: Array | None = None,
        users: Array | None = None,
        context: Array | None = None,
    ) -> Array:
        """float[B, L, D]: hidden state per position (see ``context_hidden``)."""
        del users
        return self.context_hidden(ids, key=key, context=context)

    def user_state(
        self, ids: Array, users: Array | None = None, context: Array | None = None
    ) -> Array:
        """float[B, D]: the last position's state."""
        return self.encode(ids, users=users, context=context)[:, -1]

    def score_all(
        self, ids: Array, users: Array | None = None, context: Array | None = None
    ) -> Array:
        """float[B, I]: next-item scores (column 0 = -inf)."""
        logits = self.user_state(ids, users, context) @ self.item_table().T
        return logits.at[:, 0].set(-jnp.inf)


class ContextSASRec(ContextMixin, SASRec):
    """SASRec with context features (see the module docstring)."""


class ContextTextSASRec(ContextMixin, TextSASRec):
    """Text-aware SASRec (``TextSASRec``) with context features and optional text keys."""

    def _text_keys(self) -> bool:
        return self.cfg.context.text

    def input_vectors(self) -> Array:
        """float[I, D]: the fused id/text item vectors."""
        return self.item_vectors()

    def text_tokens(self, ids: Array) -> Array:
        """float[B, L, D]: projected unit-norm text vectors of the history items."""
        text = jax.lax.stop_gradient(self.text[...])
        text = text / jnp.maximum(jnp.linalg.norm(text, axis=-1, keepdims=True), 1e-12)
        return jnp.take(self.text_proj(text), ids, axis=0)

    def encode(self, ids, *, key=None, users=None, context=None) -> Array:
        """float[B, L, D + 1]: context states plus a constant 1 (pairs with the log-mask)."""
        x = self.context_hidden(ids, key=key, context=context)
        return jnp.concatenate([x, jnp.ones_like(x[..., :1])], axis=-1)

    def score_all(self, ids, users=None, context=None) -> Array:
        """float[B, I]: scores over the full catalogue, cold items included (column 0 = -inf)."""
        state = self.user_state(ids, users, context)[:, :-1]
        logits = state @ self.item_vectors().T
        return logits.at[:, 0].set(-jnp.inf)
