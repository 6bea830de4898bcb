"""Exports of MAML runs and serving-time cold-start adaptation for the ``jax`` backend.

A MAML run (``configs/maml_ml1m.py``) checkpoints meta parameters ``{"base", "adapter",
"log_inner_lr"}`` (``jaxrec/meta/params.py``). Its export wraps them in ``MetaScoringModel``:
the base model's last-position state passed through the meta-learned adapter, which is the
un-adapted (zero inner steps) scoring path. Every format exports that path. The ``jax`` backend
additionally runs the inner loop (``jaxrec.meta.serving.make_adapt``) for histories of at most
``cold_start.max_history_items`` items: per row, a few SGD steps on the history's own
next-item pairs, then scoring with the adapted state. ``onnx``, ``savedmodel`` and ``tensorrt``
cannot run ``jax.grad``: they report adaptation as unavailable and serve the un-adapted path.

``metadata.json["cold_start"]`` of a MAML export::

    {"method": "maml", "adapt_params": ["adapter"], "inner_steps": 3, "inner_lr": 0.41,
     "max_history_items": 10}

Shapes: ``B`` batch, ``L`` = ``max_len``, ``W`` adaptation window, ``D`` width, ``K`` = k_max.
"""

from __future__ import annotations

import functools
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxrec.export.artifact import ExportError
from jaxrec.export.scoring import topk_with_exclusion
from jaxrec.meta.params import ADAPTER, LOG_LR, apply_adapter, init_meta_params
from jaxrec.models.base import NextItemModel
from jaxrec.types import Array


class MetaScoringModel(NextItemModel):
    """A MAML run's base model with its meta-learned adapter on the user state.

    Args:
        base: the meta-trained sequence model (default ``score_all``).
        adapter: ``{"w": float[D, D], "b": float[D]}``.
        log_inner_lr: float[] log of the learned inner learning rate.
    """

    def __init__(self, base: nnx.Module, adapter: dict, log_inner_lr: Array):
        self.base = base
        self.adapter_w = nnx.Param(jnp.asarray(adapter["w"]))
        self.adapter_b = nnx.Param(jnp.asarray(adapter["b"]))
        self.log_inner_lr = nnx.Param(jnp.asarray(log_inner_lr))

    def _adapter(self) -> dict:
        return {"w": self.adapter_w[...], "b": self.adapter_b[...]}

    def item_table(self) -> Array:
        """float[I, D]: the base model's item table."""
        return self.base.item_table()

    def encode(self, ids: Array, *, key: Array | None = None, users: Array | None = None) -> Array:
        """float[B, L, D]: the base model's states through the adapter."""
        return apply_adapter(self._adapter(), self.base.encode(ids, key=key, users=users))

    def user_state(self, ids: Array, users: Array | None = None) -> Array:
        """float[B, D]: the base model's last-position state through the adapter."""
        return apply_adapter(self._adapter(), self.base.user_state(ids, users))

    def meta_params(self) -> tuple[nnx.GraphDef, dict]:
        """(base graphdef, ``{"base", "adapter", "log_inner_lr"}``) as ``jaxrec.meta`` wants."""
        graphdef, base = nnx.split(self.base)
        return graphdef, {"base": base, ADAPTER: self._adapter(), LOG_LR: self.log_inner_lr[...]}


def wrap(base: nnx.Module, embed_dim: int, meta: dict | None = None) -> MetaScoringModel:
    """``MetaScoringModel`` around ``base``; ``meta`` gives adapter and rate (else identity)."""
    if type(base).score_all is not NextItemModel.score_all:
        raise ExportError(
            f"{type(base).__name__}: cold-start export needs a model scored by "
            "user_state @ item_table (default score_all)"
        )
    meta = meta or init_meta_params(None, embed_dim, 1.0)
    return MetaScoringModel(base, meta[ADAPTER], meta[LOG_LR])


def is_meta_run(workdir: str | pathlib.Path) -> bool:
    """Whether ``workdir``'s saved config has a ``maml`` section."""
    from jaxrec.training import setup

    path = pathlib.Path(workdir) / setup.CONFIG_FILE
    return path.is_file() and json.loads(path.read_text()).get("maml") is not None


def load_meta_trained(workdir: str | pathlib.Path, data_dir: str | None):
    """(``TrainedModel`` holding a ``MetaScoringModel``, ``cold_start`` metadata) of a MAML run.

    Raises:
        ExportError: the inner loop adapts the item table, or the base model cannot be wrapped.
    """
    from jaxrec.meta.cold_eval import load_run
    from jaxrec.training.setup import TrainedModel

    cfg, m, dataset, graphdef, params, source = load_run(pathlib.Path(workdir), data_dir, "maml")
    model = wrap(nnx.merge(graphdef, params["base"]), cfg.model.embed_dim, params)
    cold = {
        "method": "maml",
        "adapt_params": list(m.adapt_params),
        "inner_steps": int(m.inner_steps),
        "inner_lr": float(jnp.exp(params[LOG_LR])),
        "max_history_items": int(max(m.support_sizes)),
        "params_from": source,
    }
    graphdef, state = nnx.split(model)
    return TrainedModel(cfg, dataset, graphdef, state, {}), cold


def _adapted_topk(meta, histories, exclude_seen, *, adapt, graphdef, k: int):
    """(int32[B, K], float32[B, K]): per row adapt on the int32[B, W] history, then rank."""
    states = jax.vmap(lambda history: adapt(meta, history))(histories)
    table = nnx.merge(graphdef, meta["base"]).item_table()
    logits = (states @ table.T).astype(jnp.float32)
    padding = jnp.arange(logits.shape[1]) == 0
    logits = jnp.where(padding[None, :], -jnp.inf, logits)
    return topk_with_exclusion(logits, histories, exclude_seen, k)


class ColdStartAdapter:
    """Jitted MAML adaptation + top-k for short histories of a ``jax`` MAML export.

    Args:
        graphdef: the export's (inference) ``MetaScoringModel`` graphdef.
        params: its parameters.
        cold: ``metadata["cold_start"]``.
        max_items: adapt histories with 1..max_items items.
        max_len: the model window L.
        k: k_max.
    """

    def __init__(self, graphdef, params, cold: dict, *, max_items: int, max_len: int, k: int):
        from jaxrec.meta.serving import make_adapt

        base_graphdef, meta = nnx.merge(graphdef, params).meta_params()
        try:
            adapt = make_adapt(base_graphdef, meta, cold["adapt_params"], cold["inner_steps"])
        except ValueError as err:
            raise ExportError(f"metadata.json cold_start: {err}") from err
        self.max_items = max_items
        # A row with at most W items is the same history in a W-wide window (positions are
        # right-aligned and padding is masked), and the inner loop is ~L / W times cheaper.
        self.window = max(1, min(max_len, max_items))
        self._meta = jax.device_put(meta)
        self._score = jax.jit(
            functools.partial(_adapted_topk, adapt=adapt, graphdef=base_graphdef, k=k)
        )

    def rows(self, histories: np.ndarray) -> np.ndarray:
        """bool[B]: which int32[B, L] rows are adapted (1..max_items real items)."""
        counts = np.count_nonzero(histories > 0, axis=1)
        return (counts >= 1) & (counts <= self.max_items)

    def __call__(self, histories: np.ndarray, exclude_seen: np.ndarray):
        """(int32[B, K], float32[B, K]) for short int32[B, L] rows and bool[B]."""
        from jaxrec.export.jax_format import pad_to_bucket

        batch = histories.shape[0]
        window, exclude = pad_to_bucket(histories[:, -self.window :], exclude_seen)
        ids, scores = self._score(self._meta, window, exclude)
        return np.asarray(ids)[:batch], np.asarray(scores)[:batch]
