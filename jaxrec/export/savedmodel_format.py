"""The ``savedmodel`` format: a jax2tf SavedModel with a polymorphic batch dimension.

Signature ``serving_default``: ``histories`` int32[None, L], ``exclude_seen`` bool[None]
(then a context model's ``context_*`` int32 inputs, ``context_signature.py``) ->
``{"item_ids": int32[None, K], "scores": float32[None, K]}``. The parameters are TF
variables (not constants in the graph); the computation is one ``XlaCallModule`` op
serialised for CPU and CUDA (jax2tf native serialisation; see STACK.md).
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator

import jax
import numpy as np

from jaxrec.export.artifact import ExportError

SAVEDMODEL_DIR = "saved_model"


@contextlib.contextmanager
def _stablehlo_for_tensorflow() -> Iterator[None]:
    """Serialises StableHLO for a 12-week-old consumer while jax2tf traces.

    jax 0.10 writes StableHLO 1.15 (its 4-week window); TensorFlow 2.21's XlaCallModule reads
    at most 1.13.7 ("failed to deserialize portable artifact"). The 12-week window is 1.13.7.
    jax has no public switch for this, so the private serialiser is wrapped for the duration.
    """
    from jax._src.export import _export
    from jax._src.lib import _jax
    from jax._src.lib.mlir.dialects import hlo

    original = _export._module_to_bytecode

    def week12(module):
        from jax._src import xla_bridge

        target = hlo.get_version_from_compatibility_requirement(
            hlo.StablehloCompatibilityRequirement.WEEK_12
        )
        return _jax.mlir.serialize_portable_artifact(
            module, target, xla_bridge.get_backend().serialize_with_sdy
        )

    _export._module_to_bytecode = week12
    try:
        yield
    finally:
        _export._module_to_bytecode = original


def write_savedmodel(
    directory: pathlib.Path, score, params, max_len: int, context: dict | None = None
) -> None:
    """Writes ``directory`` as a SavedModel.

    Args:
        directory: target folder (created).
        score: ``score(params, histories, exclude_seen, *context) -> (ids, scores)``, pure.
        params: the parameter pytree (``nnx.State``).
        max_len: L.
        context: ``{input name: [B, dims..., "int32"]}`` of a context model's extra inputs
            (``ContextSpec.signature``), in argument order; None for history-only models.
    """
    import tensorflow as tf
    from jax.experimental import jax2tf

    context = context or {}
    leaves, treedef = jax.tree.flatten(params)

    def flat_score(flat, histories, exclude_seen, *inputs):
        return score(jax.tree.unflatten(treedef, flat), histories, exclude_seen, *inputs)

    extra_shapes = [f"(b, {', '.join(str(d) for d in dims[1:-1])})" for dims in context.values()]
    tf_score = jax2tf.convert(
        flat_score,
        polymorphic_shapes=[None, f"(b, {max_len})", "(b,)", *extra_shapes],
        native_serialization_platforms=("cpu", "cuda"),
        with_gradient=False,
    )
    module = tf.Module()
    module.params = [tf.Variable(np.asarray(x), trainable=False) for x in leaves]
    specs = [
        tf.TensorSpec([None, max_len], tf.int32, name="histories"),
        tf.TensorSpec([None], tf.bool, name="exclude_seen"),
        *(tf.TensorSpec([None, *dims[1:-1]], tf.int32, name=n) for n, dims in context.items()),
    ]

    @tf.function(input_signature=specs, autograph=False)
    def recommend(histories, exclude_seen, *inputs):
        ids, scores = tf_score(module.params, histories, exclude_seen, *inputs)
        return {"item_ids": ids, "scores": scores}

    module.recommend = recommend
    with _stablehlo_for_tensorflow():
        tf.saved_model.save(module, str(directory), signatures={"serving_default": recommend})


class SavedModelScorer:
    """Runs the SavedModel's ``recommend`` function: numpy in, numpy out."""

    def __init__(self, path: pathlib.Path):
        """Loads the SavedModel (imports TensorFlow: several seconds)."""
        try:
            import tensorflow as tf
        except ImportError as err:
            raise ExportError(f"{path}: the savedmodel backend needs tensorflow: {err}") from err
        self._tf = tf
        self._module = tf.saved_model.load(str(path))

    def __call__(self, histories: np.ndarray, exclude_seen: np.ndarray, *context: np.ndarray):
        """(int32[B, K], float32[B, K]) for int32[B, L], bool[B] and the context inputs."""
        args = [self._tf.constant(a) for a in (histories, exclude_seen, *context)]
        out = self._module.recommend(*args)
        return out["item_ids"].numpy().astype(np.int32), out["scores"].numpy()
