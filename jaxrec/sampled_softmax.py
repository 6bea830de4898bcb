"""Sampled softmax for large catalogues: shared sampled + in-batch negatives, logQ-corrected.

The loss never forms the B x L x I logits of the full softmax. Every position is scored
against its own target and one shared candidate set of ``K`` items drawn from a proposal
``q`` plus ``M`` in-batch negatives (the targets of ``M`` positions drawn uniformly from the
batch's target positions), so the logits are float[N, K + M] with N = B x L.

Correction (Horvitz-Thompson / logQ): a candidate ``c`` appears ``E[c] = K q(c) + M n_c / N_t``
times in expectation (``n_c`` = its count among the batch's ``N_t`` targets), so
``sum_c exp(s_c - log E[c])`` estimates the partition sum over all items; the loss is
``log(exp(s_t) + sum_{c != t} exp(s_c - log E[c])) - s_t``. Candidates equal to the
position's target (accidental hits) are masked. Shapes: ``B`` batch, ``L`` length, ``D``
width, ``I`` catalogue rows (row 0 padding), ``K`` sampled, ``M`` in-batch negatives.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrec.types import Array


def sample_from_log_prior(key: Array, log_prior: Array, k: int) -> Array:
    """int32[K] items drawn with replacement from ``softmax(log_prior)`` by inverse CDF.

    O(I + K log I) work and memory; ``jax.random.categorical`` would draw K x I Gumbels,
    which is 40 GB for K = 1024 over a 10M catalogue.
    """
    cdf = jnp.cumsum(jnp.exp(log_prior - jnp.max(log_prior)))
    u = jax.random.uniform(key, (k,), cdf.dtype) * cdf[-1]
    idx = jnp.searchsorted(cdf, u, side="right")
    return jnp.clip(idx, 1, log_prior.shape[0] - 1).astype(jnp.int32)


def in_batch_negatives(key: Array, targets: Array, m: int) -> tuple[Array, Array]:
    """(int32[M] targets of M positions drawn uniformly among target positions, float[]).

    The second value is N_t, the number of target positions (at least 1).
    """
    flat = targets.reshape(-1)
    valid = flat > 0
    logits = jnp.where(valid, 0.0, -jnp.inf)
    positions = jax.random.categorical(key, logits, shape=(m,))
    return flat[positions], jnp.maximum(jnp.sum(valid, dtype=jnp.float32), 1.0)


def log_expected_count(
    items: Array, log_prior: Array, k: int, m: int, flat_targets: Array, n_targets: Array
) -> Array:
    """float[C]: log(K q(c) + M n_c / N_t) for int32[C] candidate ``items``."""
    log_q = log_prior[items] - jax.nn.logsumexp(log_prior)
    sampled = jnp.log(float(k)) + log_q if k else jnp.full(items.shape, -jnp.inf)
    if not m:
        return sampled
    counts = jnp.sum(items[:, None] == flat_targets[None, :], axis=1, dtype=jnp.float32)
    return jnp.logaddexp(sampled, jnp.log(m * counts / n_targets))


def mixed_sampled_softmax(
    hidden: Array,
    table: Array,
    targets: Array,
    key: Array,
    log_prior: Array,
    *,
    num_sampled: int,
    num_in_batch: int,
) -> Array:
    """Per-position sampled softmax loss over K sampled + M in-batch negatives.

    Args:
        hidden: float[B, L, D].
        table: float[I, D] item embeddings (row 0 padding, never a candidate).
        targets: int32[B, L]; 0 = no target.
        key: PRNG key.
        log_prior: float[I] log proposal for the K sampled negatives (row 0: -inf).
        num_sampled: K (may be 0 when ``num_in_batch`` > 0).
        num_in_batch: M.

    Returns:
        float[B, L] loss per position (meaningless where ``targets`` is 0: mask it).
    """
    k_key, m_key = jax.random.split(key)
    parts = []
    if num_sampled:
        parts.append(sample_from_log_prior(k_key, log_prior, num_sampled))
    n_targets = jnp.ones((), jnp.float32)
    if num_in_batch:
        batch_items, n_targets = in_batch_negatives(m_key, targets, num_in_batch)
        parts.append(batch_items)
    candidates = jnp.concatenate(parts)
    log_e = log_expected_count(
        candidates, log_prior, num_sampled, num_in_batch, targets.reshape(-1), n_targets
    )
    pos = jnp.einsum("bld,bld->bl", hidden, jnp.take(table, targets, axis=0))
    neg = jnp.einsum("bld,cd->blc", hidden, jnp.take(table, candidates, axis=0)) - log_e[None, None]
    hit = (candidates[None, None, :] == targets[..., None]) | (candidates == 0)[None, None, :]
    neg = jnp.where(hit, -jnp.inf, neg)
    return jnp.logaddexp(pos, jax.nn.logsumexp(neg, axis=-1)) - pos
