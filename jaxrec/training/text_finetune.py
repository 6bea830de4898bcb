"""Optimizer and cache refresh for fine-tuning the text encoder (``model.text_finetune``).

``finetune_optimizer``: one global-norm clip, then AdamW per parameter group, chosen by
path and variable type: the encoder (``params['encoder']``) at
``optim.encoder_learning_rate``, the recommender at ``optim.learning_rate`` (same warm-up
and schedule shape), and every ``FrozenFeature`` (text caches, token ids, warm mask,
whitening) never updated (``optax.set_to_zero``: no moments, no weight decay). Without
``text_finetune`` the encoder is in the frozen group too.

``with_refresh`` wraps the jitted train step into one jitted, donating function: after each
update it re-encodes ``model.text_refresh_items`` cache rows with the updated encoder
(``FinetuneTextSASRec.refresh_text``).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import optax
from flax import nnx

from jaxrec import sharding
from jaxrec.config import OptimConfig
from jaxrec.models.sasrec_text import FrozenFeature
from jaxrec.training.optim import learning_rate_schedule
from jaxrec.training.state import TrainState
from jaxrec.types import PyTree

ENCODER = "encoder"


def param_labels(params: nnx.State, *, finetune: bool) -> PyTree:
    """Group label (model, encoder or frozen) per variable: a prefix tree of ``params``."""

    def label(path, var) -> str:
        if isinstance(var, FrozenFeature):
            return "frozen"
        if getattr(path[0], "key", None) == ENCODER:
            return ENCODER if finetune else "frozen"
        return "model"

    return jax.tree_util.tree_map_with_path(
        label, params, is_leaf=lambda x: isinstance(x, nnx.Variable)
    )


def finetune_optimizer(
    cfg: OptimConfig, total_steps: int, *, finetune: bool = True
) -> optax.GradientTransformation:
    """Clip, then AdamW with the recommender's or the encoder's learning rate per group."""
    decay_mask = lambda params: jax.tree.map(lambda p: p.ndim >= 2, params)

    def adamw(learning_rate: float):
        schedule = learning_rate_schedule(
            dataclasses.replace(cfg, learning_rate=learning_rate), total_steps
        )
        return optax.adamw(
            schedule, b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay, mask=decay_mask
        )

    groups = {
        "model": adamw(cfg.learning_rate),
        ENCODER: adamw(cfg.encoder_learning_rate),
        "frozen": optax.set_to_zero(),
    }
    return optax.chain(
        optax.clip_by_global_norm(cfg.grad_clip_norm),
        optax.multi_transform(groups, functools.partial(param_labels, finetune=finetune)),
    )


def refresh_state(state: TrainState, *, graphdef: nnx.GraphDef) -> TrainState:
    """``state`` with the next ``text_refresh_items`` cache rows re-encoded (pure)."""
    model = nnx.merge(graphdef, state.params)
    model.refresh_text(state.step)
    return state.replace(params=nnx.split(model)[1])


def with_refresh(
    step_fn, state: TrainState, graphdef: nnx.GraphDef, *, compiler_options: dict | None = None
):
    """One jitted, donating function: ``step_fn`` then ``refresh_state`` (same signature).

    ``step_fn`` (from ``jit_train_step``) is traced through, unjitted, so callers that
    ``.lower()`` the step (the profiler, the benches) see both parts, and
    ``compiler_options`` apply to the whole (XLA takes them on the outer jit only).
    """
    inner = getattr(step_fn, "__wrapped__", step_fn)
    state_sh = jax.tree.map(lambda x: x.sharding, state)
    mesh = jax.tree.leaves(state_sh)[0].mesh

    def step(state, batch, log_prior):
        state, metrics = inner(state, batch, log_prior)
        return refresh_state(state, graphdef=graphdef), metrics

    return jax.jit(
        step,
        in_shardings=(state_sh, sharding.batch_sharding(mesh), sharding.replicated(mesh)),
        out_shardings=(state_sh, sharding.replicated(mesh)),
        donate_argnums=0,
        compiler_options=compiler_options,
    )
