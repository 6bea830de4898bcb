"""Next-item training losses over hidden states and the tied item table.

All functions are pure and jit-safe. Shapes: ``B`` batch, ``L`` length, ``D`` width,
``I`` catalogue rows (row 0 is padding and never a valid class), ``K`` negatives.
Positions whose target is 0 (padding) are excluded from every mean.
"""

from __future__ import annotations

import typing

import jax
import jax.numpy as jnp

from jaxrec.config import LossConfig, LossName
from jaxrec.fused_softmax import softmax_cross_entropy
from jaxrec.sampled_softmax import mixed_sampled_softmax
from jaxrec.types import Array


def _masked_mean(values: Array, mask: Array) -> Array:
    # `where`, not a product: values at masked positions may be inf (target 0 = padding).
    total = jnp.sum(jnp.where(mask, values, 0.0))
    return total / jnp.maximum(jnp.sum(mask, dtype=values.dtype), 1.0)


def full_cross_entropy(
    hidden: Array, table: Array, targets: Array, offset: Array | None = None
) -> Array:
    """Softmax cross-entropy over the whole catalogue.

    Args:
        hidden: float[B, L, D].
        table: float[I, D] item embeddings (row 0 padding, excluded from the softmax).
        targets: int32[B, L] next item per position; 0 = no target.
        offset: optional float[B, L, I] added to every position's logits.

    Returns:
        Scalar mean loss over positions with a target.
    """
    if offset is not None:
        offset = offset.reshape(-1, offset.shape[-1])
    per_position = softmax_cross_entropy(
        hidden.reshape(-1, hidden.shape[-1]), table, targets.reshape(-1), offset=offset
    )
    return _masked_mean(per_position.reshape(targets.shape), targets > 0)


def binary_cross_entropy(hidden: Array, table: Array, targets: Array, negatives: Array) -> Array:
    """SASRec's loss: -log s(pos) - sum_k log(1 - s(neg_k)) per position.

    Args:
        hidden: float[B, L, D].
        table: float[I, D].
        targets: int32[B, L]; 0 = no target.
        negatives: int32[B, L, K] sampled negative items.

    Returns:
        Scalar mean over positions with a target.
    """
    pos, neg = _pair_scores(hidden, table, targets, negatives)
    per_position = -jax.nn.log_sigmoid(pos) - jnp.sum(jax.nn.log_sigmoid(-neg), axis=-1)
    return _masked_mean(per_position, targets > 0)


def _pair_scores(hidden: Array, table: Array, targets: Array, negatives: Array):
    """(float[B, L] positive scores, float[B, L, K] negative scores)."""
    pos = jnp.einsum("bld,bld->bl", hidden, jnp.take(table, targets, axis=0))
    neg = jnp.einsum("bld,blkd->blk", hidden, jnp.take(table, negatives, axis=0))
    return pos, neg


def bpr(hidden: Array, table: Array, targets: Array, negatives: Array) -> Array:
    """Bayesian personalised ranking: mean_k -log s(pos - neg_k) per position.

    Args and result as ``binary_cross_entropy``.
    """
    pos, neg = _pair_scores(hidden, table, targets, negatives)
    per_position = -jnp.mean(jax.nn.log_sigmoid(pos[..., None] - neg), axis=-1)
    return _masked_mean(per_position, targets > 0)


def gbce_beta(num_negatives: int, num_items: int, calibration: float) -> float:
    """The positive exponent of gSASRec's gBCE: beta = alpha * (t * (1 - 1/alpha) + 1/alpha).

    ``alpha = K / (num_items - 1)`` is the negative sampling rate and ``t`` in [0, 1]
    the calibration (t = 0 is plain BCE, t = 1 fully corrects the sampling bias).
    """
    alpha = num_negatives / max(num_items - 1, 1)
    return alpha * (calibration * (1.0 - 1.0 / alpha) + 1.0 / alpha)


def generalised_bce(
    hidden: Array, table: Array, targets: Array, negatives: Array, beta: float
) -> Array:
    """Generalised BCE: -beta log s(pos) - sum_k log(1 - s(neg_k)).

    From gSASRec (Petrov & Macdonald, RecSys 2023). Args as ``binary_cross_entropy``;
    ``beta`` from ``gbce_beta``.
    """
    pos, neg = _pair_scores(hidden, table, targets, negatives)
    per_position = -beta * jax.nn.log_sigmoid(pos) - jnp.sum(jax.nn.log_sigmoid(-neg), axis=-1)
    return _masked_mean(per_position, targets > 0)


def sampled_softmax(
    hidden: Array, table: Array, targets: Array, negatives: Array, log_q: Array
) -> Array:
    """Softmax over the positive and K shared negatives with logQ correction.

    Args:
        hidden: float[B, L, D].
        table: float[I, D].
        targets: int32[B, L]; 0 = no target.
        negatives: int32[K] negatives shared by the whole batch.
        log_q: float[K] log proposal probability of each negative.

    Returns:
        Scalar mean over positions with a target. A negative equal to the position's
        target (an accidental hit) is masked out.
    """
    pos = jnp.einsum("bld,bld->bl", hidden, jnp.take(table, targets, axis=0))
    neg = jnp.einsum("bld,kd->blk", hidden, jnp.take(table, negatives, axis=0)) - log_q[None, None]
    neg = jnp.where(negatives[None, None, :] == targets[..., None], -jnp.inf, neg)
    logits = jnp.concatenate([pos[..., None], neg], axis=-1)
    return _masked_mean(jax.nn.logsumexp(logits, axis=-1) - pos, targets > 0)


def uniform_negatives(key: Array, targets: Array, num_items: int, k: int) -> Array:
    """int32[B, L, K] items drawn uniformly from 1..num_items, never equal to the target."""
    offsets = jax.random.randint(key, (*targets.shape, k), 1, num_items)
    # Shifting the target by 1..num_items-1 (mod num_items) never lands on the target.
    base = jnp.maximum(targets, 1)[..., None] - 1
    return ((base + offsets) % num_items + 1).astype(jnp.int32)


def compute_loss(
    cfg: LossConfig,
    hidden: Array,
    table: Array,
    targets: Array,
    key: Array,
    log_prior: Array,
    normalizer: float | None = None,
    offset: Array | None = None,
) -> Array:
    """Dispatches on ``cfg.name``.

    Args:
        cfg: loss settings.
        hidden: float[B, L, D].
        table: float[I, D].
        targets: int32[B, L].
        key: PRNG key for negative sampling.
        log_prior: float[I] log proposal distribution over items (sampled softmax).
        normalizer: if given, the loss is the sum over target positions divided by this
            constant instead of their mean, so every position weighs the same whatever
            the batch (length-bucketed batches hold very different numbers of targets).
        offset: optional float[B, L, I] added to the logits (``NextItemModel.
            training_logit_offset``); full cross-entropy (``ce``) only.

    Raises:
        ValueError: an ``offset`` with a loss other than ``ce``.
    """
    if offset is not None:
        if cfg.name != "ce":
            raise ValueError(
                f"loss.name={cfg.name!r}: this model adds a logit offset over the whole "
                "catalogue, which only the full softmax loss 'ce' scores"
            )
        mean = full_cross_entropy(hidden, table, targets, offset)
    else:
        mean = _loss_mean(cfg, hidden, table, targets, key, log_prior)
    if normalizer is None:
        return mean
    return mean * jnp.sum(targets > 0, dtype=mean.dtype) / normalizer


def _loss_mean(
    cfg: LossConfig, hidden: Array, table: Array, targets: Array, key: Array, log_prior: Array
) -> Array:
    """The loss named by ``cfg.name``, averaged over target positions."""
    num_items = table.shape[0] - 1
    if cfg.name == "ce":
        return full_cross_entropy(hidden, table, targets)
    if cfg.name == "sampled_softmax" and cfg.num_in_batch:
        per_position = mixed_sampled_softmax(
            hidden,
            table,
            targets,
            key,
            log_prior,
            num_sampled=cfg.num_negatives,
            num_in_batch=cfg.num_in_batch,
        )
        return _masked_mean(per_position, targets > 0)
    if cfg.name == "sampled_softmax":
        negatives = jax.random.categorical(key, log_prior, shape=(cfg.num_negatives,))
        return sampled_softmax(hidden, table, targets, negatives, log_prior[negatives])
    negatives = uniform_negatives(key, targets, num_items, cfg.num_negatives)
    if cfg.name == "bce":
        return binary_cross_entropy(hidden, table, targets, negatives)
    if cfg.name == "bpr":
        return bpr(hidden, table, targets, negatives)
    if cfg.name == "gbce":
        beta = gbce_beta(cfg.num_negatives, num_items, cfg.gbce_calibration)
        return generalised_bce(hidden, table, targets, negatives, beta)
    if cfg.name == "ce+bpr":
        pairwise = bpr(hidden, table, targets, negatives)
        pointwise = full_cross_entropy(hidden, table, targets)
        return (1.0 - cfg.pairwise_weight) * pointwise + cfg.pairwise_weight * pairwise
    raise ValueError(f"loss.name={cfg.name!r}: expected one of {typing.get_args(LossName)}")
