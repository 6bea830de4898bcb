"""Memory-lean full-catalogue softmax cross-entropy with a hand-written VJP.

The naive loss materialises float[N, I] logits (N = B x L positions), then reads and
writes them several times in the backward pass; on CPU that is memory-bound. Here the
positions are processed in chunks of ``chunk`` rows: the forward pass keeps only the
log-normaliser per position, and the backward pass recomputes each chunk's logits in
cache and forms ``(softmax - onehot) * g`` directly. Item row 0 (padding) is never a class.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxrec.types import Array


def _chunk_logits(hidden: Array, table: Array, offset: Array | None) -> Array:
    """float[C, I] logits of one chunk (plus its offset rows); the padding column is -inf."""
    logits = hidden @ table.T
    if offset is not None:
        logits = logits + offset
    return logits.at[:, 0].set(-jnp.inf)


def _split(x: Array | None, chunk: int) -> Array | None:
    return None if x is None else x.reshape(x.shape[0] // chunk, chunk, *x.shape[1:])


def _forward(hidden, table, targets, offset, chunk):
    def one(args):
        h, t, o = args
        logits = _chunk_logits(h, table, o)
        log_norm = jax.nn.logsumexp(logits, axis=-1)
        target_logit = jnp.take_along_axis(logits, t[:, None], axis=-1)[:, 0]
        return log_norm - target_logit, log_norm

    args = (_split(hidden, chunk), _split(targets, chunk), _split(offset, chunk))
    loss, log_norm = jax.lax.map(one, args)
    return loss.reshape(-1), log_norm.reshape(-1)


@functools.partial(jax.custom_vjp, nondiff_argnums=(4,))
def _per_position(hidden: Array, table: Array, targets: Array, offset, chunk: int) -> Array:
    return _forward(hidden, table, targets, offset, chunk)[0]


def _per_position_fwd(hidden, table, targets, offset, chunk):
    loss, log_norm = _forward(hidden, table, targets, offset, chunk)
    return loss, (hidden, table, targets, offset, log_norm)


def _per_position_bwd(chunk, residuals, grad):
    hidden, table, targets, offset, log_norm = residuals

    def one(d_table, args):
        h, t, o, lse, g = args
        probs = jnp.exp(_chunk_logits(h, table, o) - lse[:, None])
        delta = probs.at[jnp.arange(chunk), t].add(-1.0) * g[:, None]
        # The offset enters the logits additively: its cotangent is delta itself.
        d_offset = None if o is None else delta
        return d_table + delta.T @ h, (delta @ table, d_offset)

    args = tuple(_split(x, chunk) for x in (hidden, targets, offset, log_norm, grad))
    d_table, (d_hidden, d_offset) = jax.lax.scan(one, jnp.zeros_like(table), args)
    if d_offset is not None:
        d_offset = d_offset.reshape(offset.shape)
    return d_hidden.reshape(hidden.shape), d_table, None, d_offset


_per_position.defvjp(_per_position_fwd, _per_position_bwd)


def softmax_cross_entropy(
    hidden: Array,
    table: Array,
    targets: Array,
    chunk: int = 512,
    offset: Array | None = None,
) -> Array:
    """Per-position full-softmax cross-entropy.

    Args:
        hidden: float[N, D] position representations.
        table: float[I, D] item embeddings; row 0 (padding) is excluded from the softmax.
        targets: int32[N] target items; positions with target 0 get +inf (mask them).
        chunk: rows per chunk (memory/speed trade-off, not a numerical one).
        offset: optional float[N, I] added to the logits (differentiable).

    Returns:
        float[N] loss per position.
    """
    n = hidden.shape[0]
    chunk = min(chunk, n)
    pad = -n % chunk
    if pad:
        hidden = jnp.concatenate([hidden, jnp.zeros((pad, hidden.shape[1]), hidden.dtype)])
        targets = jnp.concatenate([targets, jnp.zeros((pad,), targets.dtype)])
        if offset is not None:
            offset = jnp.concatenate([offset, jnp.zeros((pad, offset.shape[1]), offset.dtype)])
    return _per_position(hidden, table, targets, offset, chunk)[:n]
