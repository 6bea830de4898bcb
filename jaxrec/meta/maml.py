"""MAML over user tasks: inner SGD with ``jax.grad``, outer MAML / FOMAML / Reptile (pure).

A task is one user: ``support`` int32[L] (the first k items, left-padded), ``inputs`` and
``targets`` int32[L] (the first k + q items as next-item pairs; ``targets`` is 0 except at
the q query positions), ``full_targets`` int32[L] (every position's next item, for Reptile).
The support loss trains every prefix of the support, including the empty one (the user's
first item from no history), so one interaction is already a training signal.
Shapes: ``T`` tasks, ``L`` task length, ``D`` width, ``I`` items + 1.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrec.meta.params import LOG_LR, ParamSplit, apply_adapter
from jaxrec.types import Array, PyTree

Algorithm = Literal["maml", "fomaml", "reptile"]
_NO_ITEM = -1e9  # logit of the padding id: finite, so second derivatives stay finite


@dataclasses.dataclass(frozen=True)
class InnerLoop:
    """How a task adapts: which leaves, how many SGD steps, first- or second-order."""

    split: ParamSplit
    graphdef: nnx.GraphDef
    steps: int
    learn_lr: bool = True
    first_order: bool = False


def hidden_states(params: PyTree, graphdef: nnx.GraphDef, ids: Array) -> tuple[Array, Array]:
    """(adapted hidden float[L, D], item table float[I, D]) for one int32[L] sequence."""
    model = nnx.merge(graphdef, params["base"])
    hidden = model.encode(ids[None])[0]
    return apply_adapter(params["adapter"], hidden), model.item_table()


def sequence_loss(params: PyTree, graphdef: nnx.GraphDef, inputs: Array, targets: Array) -> Array:
    """Mean full-softmax cross-entropy over the positions with a target (> 0)."""
    hidden, table = hidden_states(params, graphdef, inputs)
    logits = hidden @ table.T
    logits = logits.at[:, 0].set(_NO_ITEM)
    logp = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(logp, targets[:, None], axis=-1)[:, 0]
    mask = (targets > 0).astype(nll.dtype)
    return jnp.sum(nll * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def support_pairs(history: Array) -> tuple[Array, Array]:
    """(inputs, targets) int32[L] from a left-padded history: every non-empty prefix -> next item.

    ``inputs`` is the history shifted right by one; ``targets`` is the history, 0 (no
    target) where the prefix is empty. The empty prefix is left out because its hidden
    state is not a user state: the warm model never trained a prediction from padding
    alone, and one SGD step on it moves the adapter for every position. So k revealed
    items give k - 1 pairs, and k = 1 leaves the model as it is.
    """
    inputs = jnp.concatenate([jnp.zeros((1,), history.dtype), history[:-1]])
    return inputs, jnp.where(inputs > 0, history, 0)


def support_loss(params: PyTree, graphdef: nnx.GraphDef, history: Array) -> Array:
    """Next-item loss on every prefix of the int32[L] support history."""
    inputs, targets = support_pairs(history)
    return sequence_loss(params, graphdef, inputs, targets)


def inner_lr(params: PyTree, learn: bool) -> Array:
    """The inner learning rate, exp(log_inner_lr); constant to the outer loop unless learned."""
    log_lr = params[LOG_LR] if learn else jax.lax.stop_gradient(params[LOG_LR])
    return jnp.exp(log_lr)


def inner_adapt(
    params: PyTree, inputs: Array, targets: Array, loop: InnerLoop, lr: Array | None = None
) -> PyTree:
    """``loop.steps`` SGD steps on the adapted leaves for one task's (inputs, targets).

    Args:
        params: meta parameters.
        inputs: int32[L] model input.
        targets: int32[L] next item per position (0 = no target).
        loop: the inner-loop description.
        lr: learning rate; default the (learned) ``exp(log_inner_lr)``.

    Returns:
        Parameters with the adapted leaves moved; the others untouched. In first-order mode
        the inner gradients are constants to the outer gradient.
    """
    lr = inner_lr(params, loop.learn_lr) if lr is None else lr
    fast, leaves = loop.split.split(params)

    def loss(fast_leaves):
        return sequence_loss(loop.split.merge(fast_leaves, leaves), loop.graphdef, inputs, targets)

    for _ in range(loop.steps):
        grads = jax.grad(loss)(fast)
        if loop.first_order:
            grads = jax.lax.stop_gradient(grads)
        fast = [p - lr * g for p, g in zip(fast, grads, strict=True)]
    return loop.split.merge(fast, leaves)


def adapt_to_history(
    params: PyTree, history: Array, loop: InnerLoop, lr: Array | None = None
) -> PyTree:
    """Inner loop on the support built from an int32[L] left-padded history."""
    inputs, targets = support_pairs(history)
    return inner_adapt(params, inputs, targets, loop, lr)


def task_query_loss(params: PyTree, task: dict, loop: InnerLoop) -> Array:
    """Query loss after adapting on the support (differentiable through the inner loop)."""
    adapted = adapt_to_history(params, task["support"], loop)
    return sequence_loss(adapted, loop.graphdef, task["inputs"], task["targets"])


def maml_loss(params: PyTree, tasks: dict, loop: InnerLoop) -> Array:
    """Mean post-adaptation query loss over the T tasks (``vmap`` over the task axis)."""
    losses = jax.vmap(lambda task: task_query_loss(params, task, loop))(tasks)
    return jnp.mean(losses)


def reptile_grad(params: PyTree, tasks: dict, loop: InnerLoop) -> tuple[Array, PyTree]:
    """(pre-adaptation task loss, Reptile direction ``params - mean(adapted)``).

    Each task adapts on all of its pairs (``inputs`` -> ``full_targets``); only adapted
    leaves move, so the direction is zero elsewhere.
    """

    def one(task):
        adapted = inner_adapt(params, task["inputs"], task["full_targets"], loop)
        loss = sequence_loss(params, loop.graphdef, task["inputs"], task["full_targets"])
        return loss, adapted

    losses, adapted = jax.vmap(one)(tasks)
    direction = jax.tree.map(lambda p, a: p - jnp.mean(a, axis=0), params, adapted)
    return jnp.mean(losses), direction


def meta_gradient(
    params: PyTree, tasks: dict, loop: InnerLoop, algorithm: Algorithm
) -> tuple[Array, PyTree]:
    """(loss, meta-gradient) for ``maml`` (second order), ``fomaml`` or ``reptile``."""
    if algorithm == "reptile":
        return reptile_grad(params, tasks, loop)
    loop = dataclasses.replace(loop, first_order=algorithm == "fomaml")
    return jax.value_and_grad(maml_loss)(params, tasks, loop)


def user_state(params: PyTree, history: Array, loop: InnerLoop) -> Array:
    """float[D]: the adapted representation that scores the next item for one user."""
    adapted = adapt_to_history(params, history, loop)
    hidden, _ = hidden_states(adapted, loop.graphdef, history)
    return hidden[-1]


def adapted_scores(
    params: PyTree, histories: Array, loop: InnerLoop, lr: Array | None = None
) -> Array:
    """float[B, I]: per user, adapt on the history, then score the catalogue (col 0 -inf)."""

    def one(history):
        adapted = adapt_to_history(params, history, loop, lr)
        hidden, table = hidden_states(adapted, loop.graphdef, history)
        return hidden[-1] @ table.T

    scores = jax.vmap(one)(histories)
    return scores.at[:, 0].set(-jnp.inf)
