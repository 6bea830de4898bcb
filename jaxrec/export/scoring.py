"""The exported scoring function: histories -> top-k item ids and scores.

Shapes: ``B`` batch (dynamic in every artifact), ``L`` = ``max_len``, ``I`` = items + 1
(column 0 is padding), ``K`` = ``k_max``.

Seen-item exclusion avoids a scatter (awkward for ONNX/TensorRT with a symbolic batch): a
history holds at most ``L`` distinct items, so the top ``K`` unseen items are always among the
top ``K + L`` items overall. The function takes those candidates, masks the ones that occur in
the history and takes the top ``K`` again. Only ``TopK``, comparisons and gathers remain.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrec.export.context_signature import ContextSpec
from jaxrec.models.base import NextItemModel
from jaxrec.types import Array

ScoringFn = Callable[..., tuple[Array, Array]]


def sort_top_k(x: Array, k: int) -> tuple[Array, Array]:
    """``lax.top_k`` via one stable sort (for jax2tf).

    ``lax.top_k`` lowers to a ``chlo.top_k`` composite whose body TensorFlow's XlaCallModule
    cannot shape-refine with a symbolic batch ("op has dynamic shapes"); a plain sort can.

    Args:
        x: float32[B, N].
        k: how many columns to keep.

    Returns:
        (float32[B, k] values, int32[B, k] column indices), largest first, lower index on ties.
    """
    iota = jax.lax.broadcasted_iota(jnp.int32, x.shape, 1)
    neg, idx = jax.lax.sort((-x, iota), dimension=1, num_keys=1, is_stable=True)
    return -neg[:, :k], idx[:, :k]


def topk_with_exclusion(
    scores: Array, histories: Array, exclude_seen: Array, k: int, *, sort_based: bool = False
) -> tuple[Array, Array]:
    """Top-``k`` columns of ``scores``, skipping the history's items where asked.

    Args:
        scores: float32[B, I] scores; column 0 (padding) is -inf.
        histories: int32[B, L] left-padded internal item ids (0 = padding).
        exclude_seen: bool[B]; True drops the row's history items from the ranking.
        k: number of items returned, at most I - 1.
        sort_based: use ``sort_top_k`` instead of ``lax.top_k`` (SavedModel export).

    Returns:
        (int32[B, k] item ids, float32[B, k] scores), best first. Excluded items that still
        reach the list (only when fewer than ``k`` unseen items exist) carry score -inf.
    """
    num_cols = scores.shape[1]
    num_candidates = min(k + histories.shape[1], num_cols)
    top_k = sort_top_k if sort_based else jax.lax.top_k
    cand_scores, cand_ids = top_k(scores, num_candidates)
    cand_ids = cand_ids.astype(jnp.int32)
    seen = jnp.any(cand_ids[:, :, None] == histories[:, None, :], axis=-1)
    drop = jnp.logical_and(seen, exclude_seen[:, None])
    cand_scores = jnp.where(drop, -jnp.inf, cand_scores)
    top_scores, order = top_k(cand_scores, k)
    top_ids = jnp.take_along_axis(cand_ids, order, axis=1)
    return top_ids, top_scores


class _Identity(nnx.Module):
    """Stands in for ``nnx.Dropout`` at inference (jax2onnx patches Dropout's call signature)."""

    def __call__(self, x: Array, *args, **kwargs) -> Array:
        """Returns ``x`` unchanged."""
        del args, kwargs
        return x


def inference_parts(graphdef: nnx.GraphDef, params: nnx.State) -> tuple[nnx.GraphDef, nnx.State]:
    """The model with every ``nnx.Dropout`` replaced by identity, split again.

    Inference never drops, and a dropout-free graph is what jax2onnx can trace (its
    ``nnx.Dropout`` patch rejects the ``rngs=`` argument our models pass).
    """
    model = nnx.merge(graphdef, params)
    for _, module in list(nnx.iter_graph(model)):
        if not isinstance(module, nnx.Module | nnx.List):
            continue
        items = enumerate(module) if isinstance(module, nnx.List) else vars(module).items()
        for name, child in list(items):
            if isinstance(child, nnx.Dropout):
                if isinstance(module, nnx.List):
                    module[name] = _Identity()
                else:
                    setattr(module, name, _Identity())
    return nnx.split(model)


def all_scores(model: nnx.Module, histories: Array, context: Array | None = None) -> Array:
    """float32[B, I]: the model's ``score_all``, with column 0 masked without a scatter.

    ``NextItemModel.score_all`` masks padding with ``.at[:, 0].set(-inf)``; jax2onnx turns
    that into ScatterND + NonZero (a data-dependent shape TensorRT dislikes). The same
    logits with a ``where`` mask are bit-identical. Models that override ``score_all`` use it.
    ``context`` (int32[B, L, F], context models only) is passed on to the model.
    """
    from jaxrec.models.sasrec_context import ContextMixin

    plain = (NextItemModel.score_all, ContextMixin.score_all)
    extra = () if context is None else (context,)
    if type(model).score_all not in plain:
        return model.score_all(histories, None, *extra).astype(jnp.float32)
    state = model.user_state(histories, None, *extra)
    logits = (state @ model.item_table().T).astype(jnp.float32)
    padding = jnp.arange(logits.shape[1]) == 0
    return jnp.where(padding[None, :], -jnp.inf, logits)


def make_scoring_fn(
    graphdef: nnx.GraphDef,
    k: int,
    *,
    sort_based: bool = False,
    context: ContextSpec | None = None,
) -> Callable[..., tuple[Array, Array]]:
    """``fn(params, histories, exclude_seen, *context_inputs) -> (ids, scores)``, pure.

    Args:
        graphdef: the model structure (from ``nnx.split``).
        k: ``k_max``, the fixed list length of the artifact.
        sort_based: top-k by sorting (what jax2tf needs); see ``sort_top_k``.
        context: a context model's inputs (``context_signature.py``), or None.

    Returns:
        A function of (params ``nnx.State``, int32[B, L], bool[B], then the context inputs
        in ``context.input_names`` order) giving (int32[B, k], float32[B, k]), best first.
    """

    def score(params, histories: Array, exclude_seen: Array, *inputs) -> tuple[Array, Array]:
        model = nnx.merge(graphdef, params)
        histories = histories.astype(jnp.int32)
        ctx = None if context is None else context.assemble(histories, inputs)
        scores = all_scores(model, histories, ctx)
        return topk_with_exclusion(
            scores, histories, exclude_seen.astype(bool), k, sort_based=sort_based
        )

    return score


def bind_params(fn: Callable[..., tuple[Array, Array]], params) -> ScoringFn:
    """Closes ``fn`` over ``params``: ``(histories, exclude_seen, *context) -> (ids, scores)``."""
    return lambda histories, exclude_seen, *inputs: fn(params, histories, exclude_seen, *inputs)
