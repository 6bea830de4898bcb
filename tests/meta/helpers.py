"""Tiny MAML set-up shared by the meta tests."""

import dataclasses

import jax
import numpy as np
from flax import nnx

from jaxrec.config import MamlConfig, ModelConfig
from jaxrec.meta.maml import InnerLoop
from jaxrec.meta.params import ParamSplit, init_meta_params
from jaxrec.meta.tasks import TaskSampler
from jaxrec.models import build_model

NUM_ITEMS = 30
TINY = ModelConfig(
    embed_dim=8,
    num_layers=1,
    num_heads=1,
    mlp_dim=8,
    max_len=8,
    dropout=0.0,
    attention_dropout=0.0,
)
MAML = MamlConfig(support_sizes=(1, 2, 3), query_size=2, task_len=8, meta_batch=4, inner_steps=2)


def tiny_setup(adapt=("adapter",), steps=1, seed=0, inner_lr=0.5):
    model = build_model(TINY, NUM_ITEMS, seed=seed)
    graphdef, base = nnx.split(model)
    params = init_meta_params(base, TINY.embed_dim, inner_lr)
    # A non-zero adapter, so the second-order terms do not vanish by symmetry.
    key = jax.random.key(seed + 1)
    params["adapter"]["w"] = 0.1 * jax.random.normal(key, (TINY.embed_dim, TINY.embed_dim))
    loop = InnerLoop(split=ParamSplit.create(params, adapt), graphdef=graphdef, steps=steps)
    return params, loop


def tiny_tasks(seed=0, cfg=MAML):
    rng = np.random.default_rng(seed)
    seqs = [rng.integers(1, NUM_ITEMS + 1, size=int(rng.integers(4, 10))) for _ in range(16)]
    return TaskSampler(seqs, dataclasses.replace(cfg), seed)(0)
