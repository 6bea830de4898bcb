"""Transformer-XL memory for long histories (Dai et al., 2019) on SASRec's blocks.

A history of any length is cut into segments of ``S = segment_len`` items. Segments are
processed in order (``lax.scan``); in every block a segment's queries attend to its own
earlier positions and to the previous segment's hidden states at that block's input
(the memory, ``M = S`` positions, gradient stopped as in the paper). Positions are encoded
by a learned bias per head over log-spaced relative-distance buckets (T5 style), so the
same parameters serve any length: every position of a 2,277-item history is encoded (and
trained on) at the per-segment cost of a window of ``S``. A position reads its own segment
and, through the memory chain, the ``num_layers`` segments before it: up to
``(num_layers + 1) x S`` items back, nothing earlier.
Shapes: ``B`` batch, ``L`` history length, ``D`` width, ``H`` heads, ``n = ceil(L / S)``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models.sasrec import SASRecCore
from jaxrec.types import Array


def relative_buckets(distance: Array, num_buckets: int, max_distance: int) -> Array:
    """int32 bucket of each non-negative query-key distance.

    Distances below ``num_buckets // 2`` get their own bucket; larger ones share
    log-spaced buckets up to ``max_distance`` (T5's unidirectional scheme).
    """
    exact = num_buckets // 2
    distance = jnp.maximum(distance, 0)
    scaled = jnp.log(jnp.maximum(distance, 1) / exact) / math.log(
        max(max_distance, exact + 1) / exact
    )
    log_bucket = exact + (scaled * (num_buckets - exact)).astype(jnp.int32)
    return jnp.where(distance < exact, distance, jnp.minimum(log_bucket, num_buckets - 1))


def segment_mask(memory_valid: Array, valid: Array) -> Array:
    """bool[B, 1, S, M + S]: query i sees valid memory and valid current keys j <= i.

    Args:
        memory_valid: bool[B, M], False where the memory holds padding.
        valid: bool[B, S], False at padding positions of the segment.
    """
    mem_len, seg_len = memory_valid.shape[1], valid.shape[1]
    keys_valid = jnp.concatenate([memory_valid, valid], axis=1)
    causal = jnp.tril(jnp.ones((seg_len, mem_len + seg_len), dtype=bool), k=mem_len)
    return keys_valid[:, None, None, :] & causal[None, None]


class TransformerXL(SASRecCore):
    """SASRec's core plus segment-level recurrence and relative position biases."""

    def make_positions(self, cfg: ModelConfig, rngs: nnx.Rngs) -> None:
        """A learned bias per head and relative-distance bucket, float[H, buckets]."""
        del rngs
        self.position_bias = nnx.Param(
            jnp.zeros((cfg.num_heads, cfg.relative_buckets)), out_sharding=("heads", None)
        )

    def _logit_bias(self, seg: int) -> Array:
        """float[1, H, seg, 2 seg]: the learned bias for each query-key distance in a segment.

        Buckets always span ``2 x segment_len`` distances, so a shorter window (a history
        shorter than one segment) gets the same bias for the same distance.
        """
        distance = jnp.arange(seg)[:, None] + seg - jnp.arange(2 * seg)[None, :]
        buckets = relative_buckets(distance, self.cfg.relative_buckets, 2 * self.cfg.segment_len)
        return self.position_bias[...][:, buckets][None]

    def encode(self, ids: Array, *, key: Array | None = None, users: Array | None = None) -> Array:
        """Hidden state per position.

        Args:
            ids: int32[B, L] item ids, left-padded with 0; any L (padded up to n x S).
            key: PRNG key for dropout, or None for deterministic inference.
            users: int32[B] user ids (unused).

        Returns:
            float[B, L, D]; position t summarises ids[:, : t + 1].
        """
        batch, length = ids.shape
        dim, layers = self.cfg.embed_dim, self.cfg.num_layers
        # A history shorter than a segment is one segment of its own length: padding it to
        # segment_len would add only masked positions (4x the work for L = 50, S = 200).
        seg = min(self.cfg.segment_len, length)
        num_segments = -(-length // seg)
        ids = jnp.pad(ids, ((0, 0), (num_segments * seg - length, 0)))
        valid = ids > 0
        x = self.lookup_items(ids) * valid[..., None]
        by_segment = lambda a: jnp.swapaxes(a.reshape(batch, num_segments, seg, *a.shape[2:]), 0, 1)
        keys = None if key is None else jax.random.split(key, (num_segments, layers + 1))
        logit_bias = self._logit_bias(seg)

        def step(carry, inputs):
            memories, memory_valid = carry
            x, valid, seg_keys = inputs
            x = self.dropout(
                x, deterministic=key is None, rngs=None if key is None else seg_keys[-1]
            )
            mask = segment_mask(memory_valid, valid)
            layer_inputs = []
            for i, block in enumerate(self.blocks):
                layer_inputs.append(x)
                x = (
                    block(
                        x,
                        mask,
                        key=None if key is None else seg_keys[i],
                        memory=jax.lax.stop_gradient(memories[i]),
                        logit_bias=logit_bias,
                    )
                    * valid[..., None]
                )
            # Without segment memory the carried mask stays all False: no segment sees another.
            next_valid = valid if self.cfg.segment_memory else memory_valid
            return (jnp.stack(layer_inputs), next_valid), self.final_norm(x)

        init = (jnp.zeros((layers, batch, seg, dim), x.dtype), jnp.zeros((batch, seg), bool))
        xs = (by_segment(x), by_segment(valid), keys)
        if key is None:
            xs = (xs[0], xs[1], jnp.zeros((num_segments,), jnp.int32))
        _, out = jax.lax.scan(step, init, xs)
        out = jnp.swapaxes(out, 0, 1).reshape(batch, num_segments * seg, dim)
        return out[:, -length:]
