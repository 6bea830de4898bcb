"""Recurrent sequence encoders: GRU4Rec (Hidasi et al., 2016) and an LSTM.

Both run a ``jax.lax.scan`` over positions, share SASRec's interface (``encode``,
``item_table``, ``user_state``, ``score_all``) and so train with the same heads and losses.
Left padding (item id 0) leaves the recurrent state at its initial zeros, so a user's
state does not depend on how much padding precedes the history.
Shapes: ``B`` batch, ``L`` length, ``D`` = ``embed_dim``, ``G`` gates x ``D``, ``I`` items + 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models.base import NextItemModel
from jaxrec.models.transformer import layer_norm
from jaxrec.types import Array

_NUM_GATES = {"gru4rec": 3, "lstm": 4}


def gru_cell(h: Array, x_proj: Array, recurrent: Array, recurrent_bias: Array) -> Array:
    """One GRU step.

    h: float[B, D]; x_proj: float[B, 3D] (input part of the r, z, n gates);
    recurrent: float[D, 3D]; recurrent_bias: float[1, 3D].
    """
    r_x, z_x, n_x = jnp.split(x_proj, 3, axis=-1)
    r_h, z_h, n_h = jnp.split(h @ recurrent + recurrent_bias, 3, axis=-1)
    reset = jax.nn.sigmoid(r_x + r_h)
    update = jax.nn.sigmoid(z_x + z_h)
    candidate = jnp.tanh(n_x + reset * n_h)
    return (1.0 - update) * candidate + update * h


def lstm_cell(
    state: tuple[Array, Array], x_proj: Array, recurrent: Array, recurrent_bias: Array
) -> tuple[Array, Array]:
    """One LSTM step.

    state: (h, c) float[B, D]; x_proj: float[B, 4D] (i, f, g, o gates);
    recurrent: float[D, 4D]; recurrent_bias: float[1, 4D].
    """
    h, c = state
    i, f, g, o = jnp.split(x_proj + h @ recurrent + recurrent_bias, 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return jax.nn.sigmoid(o) * jnp.tanh(c), c


class RecurrentEncoder(NextItemModel):
    """GRU or LSTM over item embeddings; ``cfg.num_layers`` stacked layers."""

    def __init__(self, cfg: ModelConfig, num_items: int, *, rngs: nnx.Rngs):
        if cfg.name not in _NUM_GATES:
            raise ValueError(f"model.name={cfg.name!r}: expected one of {sorted(_NUM_GATES)}")
        self.cfg = cfg
        self.num_items = num_items
        dim, gates = cfg.embed_dim, _NUM_GATES[cfg.name] * cfg.embed_dim
        normal = nnx.initializers.normal(stddev=cfg.init_std)
        orthogonal = nnx.initializers.orthogonal()
        self.item_embed = nnx.Param(
            normal(rngs.params(), (num_items + 1, dim)), out_sharding=("item", "embed")
        )
        self.input_kernels = nnx.List(
            [
                nnx.Param(normal(rngs.params(), (dim, gates)), out_sharding=("embed", "mlp"))
                for _ in range(cfg.num_layers)
            ]
        )
        # Orthogonal per-gate recurrent blocks keep the state's scale over long sequences.
        self.recurrent_kernels = nnx.List(
            [
                nnx.Param(
                    jnp.concatenate(
                        [orthogonal(rngs.params(), (dim, dim)) for _ in range(gates // dim)], 1
                    ),
                    out_sharding=("embed", "mlp"),
                )
                for _ in range(cfg.num_layers)
            ]
        )
        self.biases = nnx.List(
            [
                nnx.Param(jnp.zeros((2, gates)), out_sharding=(None, "mlp"))
                for _ in range(cfg.num_layers)
            ]
        )
        self.final_norm = layer_norm(dim, rngs)
        self.dropout = nnx.Dropout(cfg.dropout)

    def item_table(self) -> Array:
        """float[I, D]: item embeddings (tied output layer); row 0 is padding."""
        return self.item_embed[...]

    def _run_layer(self, x: Array, valid: Array, layer: int) -> Array:
        """float[B, L, D] -> float[B, L, D]: one recurrent layer, state held over padding."""
        kernel, recurrent = self.input_kernels[layer][...], self.recurrent_kernels[layer][...]
        input_bias, recurrent_bias = self.biases[layer][...][:, None]
        x_proj = jnp.einsum("bld,dg->lbg", x, kernel) + input_bias[None]
        zeros = jnp.zeros((x.shape[0], x.shape[-1]), x.dtype)
        keep = jnp.swapaxes(valid, 0, 1)[..., None]  # bool[L, B, 1]

        if self.cfg.name == "gru4rec":

            def step(h, inputs):
                proj, ok = inputs
                h = jnp.where(ok, gru_cell(h, proj, recurrent, recurrent_bias), h)
                return h, h

            init = zeros
        else:

            def step(state, inputs):
                proj, ok = inputs
                new = lstm_cell(state, proj, recurrent, recurrent_bias)
                state = tuple(jnp.where(ok, n, o) for n, o in zip(new, state, strict=True))
                return state, state[0]

            init = (zeros, zeros)
        _, outputs = jax.lax.scan(step, init, (x_proj, keep))
        return jnp.swapaxes(outputs, 0, 1)

    def encode(self, ids: Array, *, key: Array | None = None, users: Array | None = None) -> Array:
        """Hidden state per position.

        Args:
            ids: int32[B, L] item ids, left-padded with 0.
            key: PRNG key for dropout, or None for deterministic inference.
            users: int32[B] user ids (unused: the history is the user).

        Returns:
            float[B, L, D]; position t summarises ids[:, : t + 1].
        """
        valid = ids > 0
        x = jnp.take(self.item_table(), ids, axis=0)
        keys = [None] * (self.cfg.num_layers + 1)
        if key is not None:
            keys = list(jax.random.split(key, self.cfg.num_layers + 1))
        for layer in range(self.cfg.num_layers):
            x = self.dropout(x, deterministic=key is None, rngs=keys[layer])
            x = self._run_layer(x, valid, layer)
        x = self.dropout(x, deterministic=key is None, rngs=keys[-1])
        return self.final_norm(x) * valid[..., None]
