"""Text-aware SASRec: item vectors fuse a learned id embedding with projected MiniLM text.

``model.item_repr`` picks the item vector ``v_i`` used both for the input sequence and for
the tied output layer:

* ``id``: ``e_i`` (plain SASRec);
* ``text``: ``W t_i + b`` with ``t_i`` the frozen unit-norm 384-dim MiniLM vector of item i;
* ``both``: ``warm_i * e_i + W t_i + b``.

``warm_i`` is 1 for items with training interactions. A cold item (none) is represented by
its text alone, so it is scorable on day one, and the training softmax never sees it: the
training table carries one extra coordinate, a log-mask of 0 (warm) or ``COLD_LOGIT``
(cold), matched by a constant 1 appended to the hidden states, while ``score_all`` ranks
the full catalogue without it. With ``model.id_dropout = p`` (``both`` only), each training
step drops ``e_i`` of a random share p of the items from the output table (DropoutNet), so
the text path learns to rank items alone, as it must for cold items. The frozen features
live in non-trainable variables under ``stop_gradient`` (re-normalised on use, so weight
decay cannot change them).
Shapes: ``B`` batch, ``L`` = ``max_len``, ``D`` = ``embed_dim``, ``I`` = items + 1,
``E`` = 384 text dimensions.
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models.sasrec import SASRec
from jaxrec.types import Array

COLD_LOGIT = -1e4


class FrozenFeature(nnx.Variable):
    """Data the model reads but never trains (item text vectors, warm mask)."""


def load_item_features(path: str, num_items: int) -> tuple[np.ndarray, np.ndarray]:
    """(text float32[I, E], warm float32[I]) from an item-feature .npz; checks the shapes."""
    if not path:
        raise ValueError(
            "model.text_features is empty: run through `jaxrec train` (which encodes the "
            "dataset's item text) or set it to an item-feature .npz"
        )
    if not pathlib.Path(path).is_file():
        raise FileNotFoundError(f"model.text_features={path}: no such file")
    with np.load(path) as data:
        text, warm = data["text"].astype(np.float32), data["warm"].astype(np.float32)
    if text.ndim != 2 or text.shape[0] != num_items + 1 or warm.shape != (num_items + 1,):
        raise ValueError(
            f"{path}: text {text.shape} / warm {warm.shape} do not fit {num_items} items "
            f"(expected ({num_items + 1}, E) and ({num_items + 1},))"
        )
    return text, warm


class TextSASRec(SASRec):
    """SASRec whose item table is built from ids, text, or both (see the module docstring)."""

    def __init__(self, cfg: ModelConfig, num_items: int, *, rngs: nnx.Rngs):
        super().__init__(cfg, num_items, rngs=rngs)
        text, warm = load_item_features(cfg.text_features, num_items)
        self.text = FrozenFeature(jnp.asarray(text), out_sharding=("item", None))
        self.warm = FrozenFeature(jnp.asarray(warm), out_sharding=("item",))
        normal = nnx.initializers.normal(cfg.init_std)
        self.text_proj = nnx.Linear(
            text.shape[1],
            cfg.embed_dim,
            kernel_init=nnx.with_partitioning(normal, (None, "embed")),
            bias_init=nnx.with_partitioning(nnx.initializers.zeros_init(), ("embed",)),
            rngs=rngs,
        )

    def item_vectors(self, id_keep: Array | None = None) -> Array:
        """float[I, D]: fused item vectors; row 0 (padding) is zero.

        ``id_keep`` (float[I], 0 or 1) multiplies the id part of ``both`` (id dropout).
        """
        warm = jax.lax.stop_gradient(self.warm[...])
        if id_keep is not None:
            warm = warm * id_keep
        vectors = jnp.zeros_like(self.item_embed[...])
        if self.cfg.item_repr in ("id", "both"):
            id_part = self.item_embed[...]
            if self.cfg.item_repr == "both":
                id_part = id_part * warm[:, None]
            vectors = vectors + id_part
        if self.cfg.item_repr in ("text", "both"):
            text = self.text_vectors()
            text = text / jnp.maximum(jnp.linalg.norm(text, axis=-1, keepdims=True), 1e-12)
            vectors = vectors + self.text_proj(text)
        return vectors.at[0].set(0.0)

    def text_vectors(self) -> Array:
        """float[I, E]: the item text vectors (frozen here; fine-tuned in sasrec_text_ft)."""
        return jax.lax.stop_gradient(self.text[...])

    def item_table(self, id_keep: Array | None = None) -> Array:
        """float[I, D + 1]: the training table, last column 0 (warm) or COLD_LOGIT (cold)."""
        warm = jax.lax.stop_gradient(self.warm[...])
        mask = jnp.where(warm > 0, 0.0, COLD_LOGIT).astype(self.item_embed.dtype)
        return jnp.concatenate([self.item_vectors(id_keep), mask[:, None]], axis=-1)

    def training_table(self, key: Array) -> Array:
        """float[I, D + 1]: ``item_table`` with a random ``id_dropout`` share of ids dropped."""
        rate = self.cfg.id_dropout
        if rate == 0.0 or self.cfg.item_repr != "both":
            return self.item_table()
        keep = jax.random.bernoulli(key, 1.0 - rate, self.warm[...].shape)
        return self.item_table(keep.astype(self.item_embed.dtype))

    def input_table(self) -> Array:
        """float[I, D]: the fused item vectors embed the input sequence (no log-mask column)."""
        return self.item_vectors()

    def encode(self, ids: Array, *, key: Array | None = None, users: Array | None = None) -> Array:
        """float[B, L, D + 1]: SASRec states plus a constant 1 (pairs with the log-mask).

        Args:
            ids: int32[B, L] item ids, left-padded with 0.
            key: PRNG key for dropout, or None for deterministic inference.
            users: int32[B] user ids (unused).
        """
        x = super().encode(ids, key=key)
        return jnp.concatenate([x, jnp.ones_like(x[..., :1])], axis=-1)

    def user_state(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, D + 1]: ``encode(ids)[:, -1]`` by SASRec's last-position path."""
        x = super().user_state(ids)
        return jnp.concatenate([x, jnp.ones_like(x[..., :1])], axis=-1)

    def score_all(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, I]: scores over the full catalogue, cold items included (column 0 = -inf)."""
        state = self.user_state(ids, users)[:, :-1]
        logits = state @ self.item_vectors().T
        return logits.at[:, 0].set(-jnp.inf)
