"""Serving-time adaptation: ``adapt(params, history) -> user_state`` for one short history.

    adapt, params = load_adapt("runs/ml1m_maml")
    state = adapt(params, history)          # float[D]; history int32[L], left-padded
    scores = state @ params["base"]["item_embed"].T  (== score_user(params, state))

The inner loop runs the meta-learned number of SGD steps at the learned rate (no outer
gradient, so first-order in effect); the item table must stay frozen for the user state
alone to score the catalogue.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
from collections.abc import Callable

import jax
from flax import nnx

from jaxrec.meta import maml
from jaxrec.meta.maml import InnerLoop
from jaxrec.meta.params import ParamSplit
from jaxrec.types import Array, PyTree


def make_adapt(graphdef: nnx.GraphDef, params: PyTree, adapt_params, steps: int) -> Callable:
    """A jitted pure ``adapt(params, history int32[L]) -> float[D]``.

    Raises:
        ValueError: when the inner loop adapts the item table (then a user is not a vector).
    """
    split = ParamSplit.create(params, tuple(adapt_params))
    if any(p.startswith("base/item_embed") for p in split.adapted_paths()):
        raise ValueError("serving adapt needs a frozen item table (maml.adapt_params)")
    loop = InnerLoop(split=split, graphdef=graphdef, steps=steps, first_order=True)
    return jax.jit(functools.partial(maml.user_state, loop=loop))


def score_user(params: PyTree, graphdef: nnx.GraphDef, state: Array) -> Array:
    """float[I]: catalogue scores of an adapted float[D] user state (column 0 = padding)."""
    table = nnx.merge(graphdef, params["base"]).item_table()
    return state @ table.T


def load_adapt(workdir: str | pathlib.Path, method: str = "maml") -> tuple[Callable, PyTree]:
    """(adapt, params) for a MAML run's best meta-parameters (``method='finetune'``: warm)."""
    # Imported here: the rest of this module must stay light for serving (no training stack).
    from jaxrec.meta.cold_eval import load_run

    cfg, m, _, graphdef, params, _ = load_run(pathlib.Path(workdir), None, method)
    del cfg
    m = dataclasses.replace(m)
    return make_adapt(graphdef, params, m.adapt_params, m.inner_steps), params
