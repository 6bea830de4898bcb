"""The pure training step. Jitted exactly once, in ``jaxrec.training.loop``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jaxrec.config import LossConfig
from jaxrec.losses import compute_loss
from jaxrec.training.state import TrainState
from jaxrec.types import Array, Batch, Metrics
from jaxrec.weighted_loss import weighted_cross_entropy


def gather_target_slots(
    slots: int, hidden: Array, targets: Array, weights: Array | None = None
) -> tuple[Array, Array, Array | None]:
    """The ``slots`` positions of each row that hold targets, in their original order.

    A row must hold at most ``slots`` targets (``NextItemModel.target_slots``); the loss
    over the gathered positions then equals the loss over all of them, at ``slots / L``
    of the catalogue-scoring cost.

    Args:
        slots: positions kept per row (static).
        hidden: float[B, L, D].
        targets: int32[B, L], 0 = no target.
        weights: optional float[B, L] per-target loss weights.

    Returns:
        (float[B, S, D], int32[B, S], float[B, S] or None) with ``S = slots``; unfilled
        slots have target 0.
    """
    order = jnp.argsort(targets == 0, axis=1, stable=True)[:, :slots]
    gathered_hidden = jnp.take_along_axis(hidden, order[..., None], axis=1)
    gathered_targets = jnp.take_along_axis(targets, order, axis=1)
    if weights is not None:
        weights = jnp.take_along_axis(weights, order, axis=1)
    return gathered_hidden, gathered_targets, weights


def train_step(
    state: TrainState,
    batch: Batch,
    log_prior: Array,
    *,
    graphdef: nnx.GraphDef,
    tx: optax.GradientTransformation,
    loss_cfg: LossConfig,
    targets_per_batch: float | None = None,
) -> tuple[TrainState, Metrics]:
    """One optimizer update.

    Args:
        state: current state.
        batch: ``inputs`` and ``targets``, int32[B, L] (0 = padding / no target), and
            ``users`` int32[B]; optionally ``context`` int32[B, L, F] (passed to the model)
            and ``weights`` float[B, L] per-target loss weights (``weighted_cross_entropy``).
        log_prior: float[I] log proposal over items (used by sampled softmax only).
        graphdef: the model structure from ``nnx.split``.
        tx: optimizer.
        loss_cfg: which loss.
        targets_per_batch: expected number of target positions per batch; the loss sum
            is divided by it (None: by the batch's own count). See ``compute_loss``.

    Returns:
        (new state, scalar metrics ``loss`` and ``grad_norm``).
    """
    step_key = jax.random.fold_in(state.key, state.step)
    dropout_key, negatives_key = jax.random.split(step_key)
    masking_key = jax.random.fold_in(step_key, 1)
    table_key = jax.random.fold_in(step_key, 2)

    def loss_fn(params):
        model = nnx.merge(graphdef, params)
        inputs, targets = model.training_pair(batch["inputs"], batch["targets"], masking_key)
        extra = {"context": batch["context"]} if "context" in batch else {}
        hidden = model.encode(inputs, key=dropout_key, users=batch["users"], **extra)
        weights = batch.get("weights")
        slots = model.target_slots(targets.shape[1])
        if slots is not None and slots < targets.shape[1]:
            hidden, targets, weights = gather_target_slots(slots, hidden, targets, weights)
        table = model.training_table(table_key)
        offset = model.training_logit_offset(inputs, targets, batch["users"])
        if weights is not None:
            if offset is not None:
                raise ValueError("per-target loss weights and a logit offset do not combine")
            return weighted_cross_entropy(hidden, table, targets, weights, targets_per_batch)
        return compute_loss(
            loss_cfg, hidden, table, targets, negatives_key, log_prior, targets_per_batch, offset
        )

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    new_state = state.replace(
        step=state.step + 1, params=optax.apply_updates(state.params, updates), opt_state=opt_state
    )
    return new_state, {"loss": loss, "grad_norm": optax.tree.norm(grads)}


def score_step(
    params: nnx.State,
    histories: Array,
    users: Array,
    context: Array | None = None,
    *,
    graphdef: nnx.GraphDef,
) -> Array:
    """float[B, I] next-item scores for int32[B, L] histories of int32[B] users.

    ``context`` (int32[B, L, F]) is passed only to context models (``sasrec_context``).
    """
    model = nnx.merge(graphdef, params)
    if context is None:
        return model.score_all(histories, users)
    return model.score_all(histories, users, context=context)
