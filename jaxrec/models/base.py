"""What every next-item model shares: scoring the catalogue from the last position.

A model provides ``encode(ids, key=None, users=None) -> float[B, L, D]`` and ``item_table() ->
float[I, D]`` (the tied output layer, row 0 = padding); this base class turns those into
``user_state`` and ``score_all``, and gives ``training_pair`` for models whose training
inputs are not the plain shifted sequence (BERT4Rec's masking), ``target_slots`` for models
that predict only a bounded share of the positions (the step scores only those), and
``training_table`` for models whose output table is randomised in training (text SASRec's
id dropout) and ``training_logit_offset`` for models whose logits add a fixed score (the EASE
residual).
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from jaxrec.types import Array


class NextItemModel(nnx.Module):
    """Mixin for sequence models scored by dot product with the item table."""

    def user_state(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, D]: the representation that scores the next item (last position)."""
        return self.encode(ids, users=users)[:, -1]

    def score_all(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, I]: next-item scores for int32[B, L] histories (column 0 = -inf).

        ``users`` (int32[B]) is used only by models with per-user parameters.
        """
        logits = self.user_state(ids, users) @ self.item_table().T
        return logits.at[:, 0].set(-jnp.inf)

    def training_table(self, key: Array) -> Array:
        """float[I, D]: the output table the training loss scores against.

        The default is ``item_table()``; ``key`` is for models that randomise it.
        """
        del key
        return self.item_table()

    def training_logit_offset(self, ids: Array, targets: Array, users: Array) -> Array | None:
        """float[B, L, I] added to the training logits of every position, or None (default).

        Args:
            ids: int32[B, L] model inputs (``training_pair``'s first output).
            targets: int32[B, L] their targets (0 = none).
            users: int32[B] user ids.
        """
        del ids, targets, users
        return None

    def training_pair(self, inputs: Array, targets: Array, key: Array) -> tuple[Array, Array]:
        """(model input, per-position target), int32[B, L] each; 0 = no target.

        The default is next-item prediction on the batch as given.
        """
        del key
        return inputs, targets

    def target_slots(self, length: int) -> int | None:
        """At most how many positions of a length-``length`` row carry a target.

        None (the default): any number, so the loss scores every position. A model whose
        ``training_pair`` guarantees a bound lets the training step gather just that many
        positions per row before the catalogue-wide loss (``jaxrec.training.step``).
        """
        del length
        return None
