"""The ``onnx`` format: ``model.onnx`` from jax2onnx, run with onnxruntime.

Graph signature (opset 23): inputs ``histories`` int32[B, L] and ``exclude_seen`` bool[B]
(then a context model's ``context_*`` int32 inputs, ``context_signature.py``); outputs
``item_ids`` int32[B, K] and ``scores`` float32[B, K]; ``B`` is symbolic. The top-k
is the standard ``TopK`` op; seen-item exclusion uses ``Equal``/``Where`` on the top K + L
candidates (see ``scoring.py``), so the graph has no data-dependent shapes.
"""

from __future__ import annotations

import logging
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from jaxrec.export.artifact import ExportError

ONNX_FILE = "model.onnx"
INPUT_NAMES = ("histories", "exclude_seen")
OUTPUT_NAMES = ("item_ids", "scores")
OPSET = 23

log = logging.getLogger(__name__)


def write_onnx(path: pathlib.Path, score_fn, max_len: int, context: dict | None = None) -> None:
    """Converts ``score_fn(histories, exclude_seen, *context)`` (params closed over) to ONNX.

    Args:
        path: the ``.onnx`` file to write.
        score_fn: (int32[B, L], bool[B], *context) -> (int32[B, K], float32[B, K]).
        max_len: L.
        context: ``{input name: [B, dims..., "int32"]}`` of a context model's extra inputs
            (``ContextSpec.signature``), in argument order; None for history-only models.
    """
    from jax2onnx import to_onnx

    context = context or {}
    inputs = [
        jax.ShapeDtypeStruct(("B", max_len), jnp.int32),
        jax.ShapeDtypeStruct(("B",), jnp.bool_),
        *(jax.ShapeDtypeStruct(("B", *dims[1:-1]), jnp.int32) for dims in context.values()),
    ]
    proto = to_onnx(
        score_fn,
        inputs=inputs,
        opset=OPSET,
        model_name="jaxrec_recommend",
        input_names=[*INPUT_NAMES, *context],
        output_names=list(OUTPUT_NAMES),
    )
    import onnx

    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def available_providers() -> list[str]:
    """Execution providers for onnxruntime: CUDA first where it exists, then CPU."""
    import onnxruntime as ort

    have = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in have]


class OnnxScorer:
    """An onnxruntime session over ``model.onnx``: numpy in, numpy out."""

    def __init__(self, path: pathlib.Path, *, num_threads: int | None = None):
        """Opens the session (``num_threads`` sets intra-op threads; None = ORT default)."""
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise ExportError(f"{path}: the onnx backend needs onnxruntime: {err}") from err
        options = ort.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
        self._session = ort.InferenceSession(
            str(path), sess_options=options, providers=available_providers()
        )
        log.info("onnxruntime providers: %s", self._session.get_providers())
        self._inputs = [i.name for i in self._session.get_inputs()]

    def __call__(self, histories: np.ndarray, exclude_seen: np.ndarray, *context: np.ndarray):
        """(int32[B, K], float32[B, K]) for int32[B, L], bool[B] and the context inputs."""
        feeds = dict(zip(self._inputs, (histories, exclude_seen, *context), strict=True))
        ids, scores = self._session.run(list(OUTPUT_NAMES), feeds)
        return ids.astype(np.int32, copy=False), scores.astype(np.float32, copy=False)
