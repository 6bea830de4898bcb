"""Builds the pieces a run needs: dataset, mesh, model structure and sharded state."""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh

from data_pipeline.dataset import PreparedDataset
from data_pipeline.pipeline import train_dataset
from jaxrec import config as config_lib
from jaxrec import sharding
from jaxrec.atomic_io import write_json
from jaxrec.baselines.residual_ease import RESIDUAL_MODELS
from jaxrec.checkpoint import Checkpointer
from jaxrec.models import build_model
from jaxrec.training import text_finetune
from jaxrec.training.jit_step import jit_train_step
from jaxrec.training.optim import build_optimizer
from jaxrec.training.state import TrainState, abstract_like, create_state

RUN_FILE = "run.json"
CONFIG_FILE = "config.json"


@dataclasses.dataclass
class ModelParts:
    """A model split into its static structure and its parameters (placed per the rules)."""

    graphdef: nnx.GraphDef
    params: nnx.State


def init_params(
    cfg: config_lib.TrainConfig, num_items: int, mesh: Mesh, *, num_users: int = 0
) -> ModelParts:
    """Initialises parameters directly into their shardings (never whole on one device)."""
    init = functools.partial(build_model, cfg.model, num_items, seed=cfg.seed, num_users=num_users)
    abstract_model = nnx.eval_shape(init)
    graphdef, abstract_params = nnx.split(abstract_model)
    shardings = sharding.param_shardings(abstract_params, mesh)
    params = jax.jit(lambda: nnx.split(init())[1], out_shardings=shardings)()
    return ModelParts(graphdef=graphdef, params=params)


def init_state(parts: ModelParts, tx, seed: int) -> TrainState:
    """Optimizer state created under jit, its moments sharded like their parameters."""
    create = functools.partial(create_state, tx=tx, seed=seed)
    mesh = jax.tree.leaves(parts.params)[0].sharding.mesh
    shardings = sharding.like_params(jax.eval_shape(create, parts.params), parts.params, mesh)
    return jax.jit(create, out_shardings=shardings)(parts.params)


def train_iterator(cfg: config_lib.TrainConfig, dataset: PreparedDataset):
    """The checkpointable grain iterator over endless shuffled training batches.

    Context models and sentiment loss weights add ``context`` / ``weights`` to each batch
    (``jaxrec.context_features``).
    """
    from jaxrec.context_features import CONTEXT_MODELS, context_tables

    return iter(
        train_dataset(
            dataset,
            batch_size=cfg.data.batch_size,
            max_len=cfg.model.max_len,
            seed=cfg.seed,
            prefetch_threads=cfg.data.prefetch_threads,
            bucket_lengths=cfg.data.length_buckets,
            random_windows=cfg.data.random_windows,
            context=context_tables(cfg, dataset),
            sentiment_weight=cfg.loss.sentiment_weight,
            include_context=cfg.model.name in CONTEXT_MODELS,
        )
    )


def targets_per_batch(cfg: config_lib.TrainConfig, dataset: PreparedDataset) -> float | None:
    """Expected target positions per training batch (None with ``loss.normalize='batch'``).

    A user contributes min(n_train - 1, max_len) next-item targets; BERT4Rec predicts only
    its masked share of them.
    """
    if cfg.loss.normalize == "batch":
        return None
    lengths = np.maximum(dataset.train_lengths() - 1, 0).astype(np.float64)
    per_user = float(np.minimum(lengths, cfg.model.max_len).mean())
    fraction = cfg.model.mask_prob if cfg.model.name == "bert4rec" else 1.0
    return max(cfg.data.batch_size * per_user * fraction, 1.0)


def build_trainer(
    cfg: config_lib.TrainConfig,
    dataset: PreparedDataset,
    mesh: Mesh,
    total_steps: int,
    *,
    compiler_options: dict | None = None,
):
    """The model parts, a fresh sharded train state and its jitted, donating step.

    The one way the loop, ``jaxrec profile``, the scale tests and the benches assemble
    optimizer, state and step. Returns ``(parts, state, step_fn)`` with
    ``step_fn(state, batch, log_prior) -> (state, metrics)``.
    """
    tx = build_optimizer(cfg.optim, total_steps)
    if cfg.model.text_finetune or cfg.model.name in RESIDUAL_MODELS:
        # Encoder learning rate; frozen features (text caches, EASE weights) never updated.
        tx = text_finetune.finetune_optimizer(
            cfg.optim, total_steps, finetune=cfg.model.text_finetune
        )
    parts = init_params(cfg, dataset.num_items, mesh, num_users=dataset.num_users)
    state = init_state(parts, tx, cfg.seed)
    step_fn = jit_train_step(
        state,
        mesh,
        graphdef=parts.graphdef,
        tx=tx,
        loss_cfg=cfg.loss,
        targets_per_batch=targets_per_batch(cfg, dataset),
        compiler_options=compiler_options,
    )
    if cfg.model.text_finetune:
        step_fn = text_finetune.with_refresh(
            step_fn, state, parts.graphdef, compiler_options=compiler_options
        )
    return parts, state, step_fn


def log_prior(dataset: PreparedDataset, proposal: str) -> np.ndarray:
    """float32[I]: log proposal for sampled softmax (padding gets -inf)."""
    if proposal == "popularity":
        counts = dataset.item_popularity("valid").astype(np.float64) + 1.0
    else:
        counts = np.ones(dataset.num_items + 1)
    counts[0] = 0.0
    with np.errstate(divide="ignore"):
        return np.log(counts / counts.sum()).astype(np.float32)


def write_run_files(workdir: pathlib.Path, cfg: config_lib.TrainConfig, data_dir) -> None:
    """Records the resolved config and the data location (atomically)."""
    write_json(workdir / CONFIG_FILE, config_lib.to_dict(cfg))
    write_json(workdir / RUN_FILE, {"data": str(pathlib.Path(data_dir).resolve())})


@dataclasses.dataclass
class TrainedModel:
    """What ``evaluate`` and ``export`` need from a finished run."""

    cfg: config_lib.TrainConfig
    dataset: PreparedDataset
    graphdef: nnx.GraphDef
    params: nnx.State
    meta: dict


def load_trained(workdir: str | pathlib.Path, data_dir: str | None = None) -> TrainedModel:
    """Loads the best (early-stopping) checkpoint of ``workdir`` onto one device."""
    workdir = pathlib.Path(workdir)
    config_path = workdir / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path}: not a jaxrec workdir (no {CONFIG_FILE})")
    cfg = config_lib.from_dict(json.loads(config_path.read_text()))
    if data_dir is None:
        data_dir = json.loads((workdir / RUN_FILE).read_text())["data"]
    dataset = PreparedDataset.open(data_dir)
    mesh = sharding.make_mesh(config_lib.MeshConfig(data=-1, model=1), jax.devices()[:1])
    parts = init_params(cfg, dataset.num_items, mesh, num_users=dataset.num_users)
    ckpt = Checkpointer(workdir)
    try:
        if not ckpt.has_best():
            raise FileNotFoundError(f"{workdir}: no best checkpoint (did training finish an eval?)")
        params, meta = ckpt.restore_best(abstract_like(parts.params))
    finally:
        ckpt.close()
    return TrainedModel(cfg, dataset, parts.graphdef, params, meta)
