"""The jitted, sharded, donating train step, built the same way for every caller.

The training loop, the profiler, the scale tests and the large-catalogue bench all use this
function, so what they measure and test is the step that trains.
"""

from __future__ import annotations

import functools

import jax
import optax
from flax import nnx
from jax.sharding import Mesh

from jaxrec import sharding
from jaxrec.config import LossConfig
from jaxrec.training.state import TrainState
from jaxrec.training.step import train_step


def jit_train_step(
    state: TrainState,
    mesh: Mesh,
    *,
    graphdef: nnx.GraphDef,
    tx: optax.GradientTransformation,
    loss_cfg: LossConfig,
    targets_per_batch: float | None,
    compiler_options: dict | None = None,
):
    """``jax.jit(train_step)`` with the state's shardings in and out and the state donated.

    Args:
        state: a (sharded) train state; only its shardings are read.
        mesh: the device mesh; batches are split over its ``data`` axis.
        graphdef: model structure.
        tx: optimizer.
        loss_cfg: the loss.
        targets_per_batch: see ``train_step``.
        compiler_options: XLA options for this jit only (tests pass
            ``{"xla_backend_optimization_level": 0}``: 4-6x faster CPU compiles).

    Returns:
        ``step(state, batch, log_prior) -> (state, metrics)``; ``state`` is donated.
    """
    state_sh = jax.tree.map(lambda x: x.sharding, state)
    return jax.jit(
        functools.partial(
            train_step,
            graphdef=graphdef,
            tx=tx,
            loss_cfg=loss_cfg,
            targets_per_batch=targets_per_batch,
        ),
        in_shardings=(state_sh, sharding.batch_sharding(mesh), sharding.replicated(mesh)),
        out_shardings=(state_sh, sharding.replicated(mesh)),
        donate_argnums=0,
        compiler_options=compiler_options,
    )
