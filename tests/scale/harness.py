"""Builds the same run on any mesh shape: sharded state, the jitted step, fixed batches."""

import dataclasses
import itertools

import jax
import numpy as np

from data_pipeline.dataset import PreparedDataset
from jaxrec import config as config_lib
from jaxrec import distributed, sharding
from jaxrec.training import setup

from .conftest import TINY_CONFIG

# Unoptimised LLVM codegen: the tiny steps run as fast, and compile 4-6x faster on CPU.
FAST_COMPILE = {"xla_backend_optimization_level": 0}


@dataclasses.dataclass
class Run:
    mesh: jax.sharding.Mesh
    state: object
    step_fn: object
    prior: jax.Array
    parts: setup.ModelParts


def tiny_config(**loss) -> config_lib.TrainConfig:
    cfg = config_lib.load_config(TINY_CONFIG)
    return dataclasses.replace(cfg, loss=dataclasses.replace(cfg.loss, **loss))


def build(cfg, data_dir, data: int, model: int) -> Run:
    """The state of ``cfg`` initialised on a ``data x model`` mesh of the first devices."""
    cfg = dataclasses.replace(cfg, mesh=config_lib.MeshConfig(data=data, model=model))
    dataset = PreparedDataset.open(data_dir)
    mesh = sharding.make_mesh(cfg.mesh, jax.devices()[: data * model])
    parts, state, step_fn = setup.build_trainer(
        cfg, dataset, mesh, total_steps=100, compiler_options=FAST_COMPILE
    )
    prior = distributed.global_array(
        setup.log_prior(dataset, cfg.loss.proposal), sharding.replicated(mesh)
    )
    return Run(mesh, state, step_fn, prior, parts)


def host_batches(cfg, data_dir, n: int) -> list[dict]:
    """The first ``n`` training batches as numpy (the same for every mesh)."""
    dataset = PreparedDataset.open(data_dir)
    return list(itertools.islice(setup.train_iterator(cfg, dataset), n))


def train(run: Run, batches: list[dict]) -> tuple[object, list[float]]:
    """Runs one step per batch; returns the final state and the losses."""
    state, losses = run.state, []
    batch_sh = sharding.batch_sharding(run.mesh)
    for host in batches:
        state, metrics = run.step_fn(state, distributed.global_batch(host, batch_sh), run.prior)
        losses.append(float(metrics["loss"]))
    return state, losses


def leaves_named(tree, name: str) -> list:
    """Array leaves of ``tree`` whose key path mentions ``name``."""
    found = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if name in jax.tree_util.keystr(path):
            found.append(leaf)
    return found


def to_numpy(tree) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(tree)]
