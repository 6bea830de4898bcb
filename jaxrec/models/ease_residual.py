"""Text SASRec trained as the residual of EASE: its logits are added to EASE's scores.

Ensembles blend EASE and text SASRec after both are trained; here SASRec trains *on top of*
EASE, as one model. The logit of item j after the prefix ``ids[:t + 1]`` is

    h_t · v_j + w * Σ_{s ≤ t} r^(t - s) B[ids_s, j],

text SASRec's logit plus EASE's score with a recency-weighted profile (r =
``model.residual_recency``; a repeated item counts once per occurrence). ``w`` is
``model.residual_weight * exp(log_scale)`` with ``log_scale`` learned. The model keeps EASE's
precision P = (XᵀX + λI)⁻¹ (``jaxrec/baselines/residual_ease.py``); ``score_all`` reads
B = -P / diag(P) from it, and training removes each batch user from P first (leave one user
out), so SASRec never learns to trust EASE scores that saw the user's own sequence.
Shapes: ``B`` batch, ``L`` = ``max_len``, ``N`` items per user row, ``I`` = items + 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrec.baselines.ease import recency_profile
from jaxrec.baselines.residual_ease import load_precision
from jaxrec.config import ModelConfig
from jaxrec.models.sasrec_text import FrozenFeature, TextSASRec
from jaxrec.types import Array


def decayed_prefix_sums(rows: Array, recency: float) -> Array:
    """float[B, L, I]: out[:, t] = Σ_{s ≤ t} recency^(t - s) rows[:, s].

    Args:
        rows: float[B, L, I] one row per position.
        recency: decay per step back, in (0, 1].
    """
    steps = jnp.arange(rows.shape[1])
    distance = steps[:, None] - steps[None, :]  # [L, L]: t - s
    decay = jnp.where(distance >= 0, recency ** jnp.maximum(distance, 0), 0.0)
    return jnp.einsum("ts,bsi->bti", decay.astype(rows.dtype), rows)


def first_occurrences(ids: Array) -> Array:
    """bool[B, N]: whether ids[b, n] is a real item (> 0) not seen earlier in its row."""
    same = ids[:, :, None] == ids[:, None, :]  # [B, N, N]
    earlier = jnp.tril(jnp.ones(same.shape[1:], bool), k=-1)
    return (ids > 0) & ~jnp.any(same & earlier[None], axis=-1)


def leave_one_out_rows(precision: Array, ids: Array, user_items: Array) -> Array:
    """float[B, L, I]: rows ids of EASE's B refitted without the user (Sherman-Morrison).

    Removing user u's binary row x from X turns P = (XᵀX + λI)⁻¹ into
    ``P + (P x)(P x)ᵀ / (1 - xᵀ P x)``, and B = -P / diag(P) column-wise with diag(B) = 0.

    Args:
        precision: float[I, I] P of the fit on every user (row/column 0 padding, P[0, 0] = 1).
        ids: int32[B, L] the items whose rows are wanted (0 = padding: a zero row).
        user_items: int32[B, N] every training item of the user (repeats and 0 allowed).
    """
    keep = first_occurrences(user_items).astype(precision.dtype)
    p_x = jnp.einsum("bn,bni->bi", keep, precision[user_items])  # [B, I]: P x
    quad = jnp.einsum("bn,bn->b", keep, jnp.take_along_axis(p_x, user_items, axis=1))
    scale = 1.0 / (1.0 - quad)  # > 0: P⁻¹ - x xᵀ stays >= λI
    rows = precision[ids] + jnp.take_along_axis(p_x, ids, axis=1)[..., None] * (
        scale[:, None, None] * p_x[:, None, :]
    )
    diagonal = jnp.diagonal(precision)[None, :] + scale[:, None] * p_x**2  # [B, I]
    weights = -rows / diagonal[:, None, :]
    own_column = jnp.arange(precision.shape[0])[None, None, :] == ids[..., None]
    return jnp.where(own_column | (ids[..., None] == 0), 0.0, weights)


class EaseResidualTextSASRec(TextSASRec):
    """``TextSASRec`` whose logits add EASE's recency-weighted scores (module docstring)."""

    def __init__(self, cfg: ModelConfig, num_items: int, *, rngs: nnx.Rngs):
        super().__init__(cfg, num_items, rngs=rngs)
        if not cfg.residual_ease:
            raise ValueError(
                "model.residual_ease is empty: run through `jaxrec train` (which fits EASE on "
                "the training split) or set it to an ease_precision .npz"
            )
        precision = load_precision(cfg.residual_ease, num_items)
        self.ease_precision = FrozenFeature(jnp.asarray(precision), out_sharding=("item", None))
        self.log_scale = nnx.Param(jnp.zeros(()), out_sharding=())

    def residual_weight(self) -> Array:
        """float[]: w, the weight of EASE's scores in the logits."""
        return self.cfg.residual_weight * jnp.exp(self.log_scale[...])

    def training_logit_offset(self, ids: Array, targets: Array, users: Array) -> Array:
        """float[B, L, I]: w x EASE scores, refitted without the user, of every prefix of ids.

        The user's items are those of the batch row (inputs and targets): a history longer
        than the row is removed from P only in part.
        """
        del users
        precision = jax.lax.stop_gradient(self.ease_precision[...])
        rows = leave_one_out_rows(precision, ids, jnp.concatenate([ids, targets], axis=1))
        return self.residual_weight() * decayed_prefix_sums(rows, self.cfg.residual_recency)

    def ease_scores(self, ids: Array) -> Array:
        """float[B, I]: EASE (fitted on every user) scores x B of int32[B, L] histories.

        Repeated items add up in the profile x, as in ``training_logit_offset``.
        """
        precision = jax.lax.stop_gradient(self.ease_precision[...])
        profile = recency_profile(
            ids, precision.shape[0], self.cfg.residual_recency, jax.lax.scatter_add
        ).astype(precision.dtype)
        # x B with B = -P / diag(P) and diag(B) = 0 is x - (x P) / diag(P).
        product = jnp.matmul(profile, precision, precision=jax.lax.Precision.HIGHEST)
        return profile - product / jnp.diagonal(precision)[None, :]

    def score_all(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, I]: text SASRec's logits plus w x EASE scores (column 0 = -inf)."""
        state = self.user_state(ids, users)[:, :-1]
        logits = state @ self.item_vectors().T + self.residual_weight() * self.ease_scores(ids)
        return logits.at[:, 0].set(-jnp.inf)
