"""The training state: a plain pytree that the jitted step consumes and returns."""

from __future__ import annotations

import flax.struct
import jax
import optax
from flax import nnx

from jaxrec.types import Array, PyTree


@flax.struct.dataclass
class TrainState:
    """Step counter, parameters, optimizer state and the base PRNG key (raw uint32[2])."""

    step: Array
    params: nnx.State
    opt_state: optax.OptState
    rng: Array

    @property
    def key(self) -> Array:
        """The typed PRNG key behind ``rng``."""
        return jax.random.wrap_key_data(self.rng)


def create_state(params: nnx.State, tx: optax.GradientTransformation, seed: int) -> TrainState:
    """Fresh state at step 0; call under ``jax.jit`` so everything is placed on devices."""
    return TrainState(
        step=jax.numpy.zeros((), jax.numpy.int32),
        params=params,
        opt_state=tx.init(params),
        rng=jax.random.key_data(jax.random.key(seed)),
    )


def abstract_like(tree: PyTree) -> PyTree:
    """ShapeDtypeStructs (with shardings) mirroring ``tree``, for checkpoint restore."""
    return jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", None)),
        tree,
    )
