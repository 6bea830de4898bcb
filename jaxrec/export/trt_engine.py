"""The ``tensorrt`` format: a TensorRT engine built from the exported ONNX graph.

Built with the TensorRT Python API (``OnnxParser`` -> ``build_serialized_network``) with one
optimisation profile over the batch size (``min_batch``/``opt_batch``/``max_batch``; the
history length is fixed) and optional FP16. An engine only runs on the GPU model and TensorRT
version that built it; both are recorded in the metadata. ``model.onnx`` stays next to the
engine, so the ``onnx`` backend can serve the same directory.

Running an engine needs ``tensorrt`` and CUDA runtime bindings (``cuda-python``). Neither is
installable on the CPU machines here; ``require_tensorrt`` fails with a clear message first.
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from jaxrec.export.artifact import ExportError

ENGINE_FILE = "model.engine"


class TensorRTUnavailableError(ExportError):
    """TensorRT (or CUDA) is not installed or no GPU is visible."""


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    """Engine build options: the batch-size profile, FP16 and the builder workspace."""

    min_batch: int = 1
    opt_batch: int = 32
    max_batch: int = 256
    fp16: bool = False
    workspace_mib: int = 1024

    def __post_init__(self):
        """Checks 1 <= min <= opt <= max."""
        if not 1 <= self.min_batch <= self.opt_batch <= self.max_batch:
            raise ExportError(
                f"TensorRT profile: need 1 <= min_batch ({self.min_batch}) <= opt_batch "
                f"({self.opt_batch}) <= max_batch ({self.max_batch})"
            )


def require_tensorrt():
    """Imports ``tensorrt`` or raises ``TensorRTUnavailableError`` saying what to install."""
    try:
        import tensorrt
    except ImportError as err:
        raise TensorRTUnavailableError(
            "--format tensorrt needs the TensorRT Python package (`import tensorrt` failed: "
            f"{err}). Install it on a machine with an NVIDIA GPU (pip install tensorrt, from "
            "NVIDIA's index), or export --format onnx here and build the engine there."
        ) from err
    return tensorrt


def _cudart():
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart
        except ImportError as err:
            raise TensorRTUnavailableError(
                f"the tensorrt backend needs CUDA runtime bindings (pip install cuda-python): {err}"
            ) from err
    return cudart


def _check_cuda(result):
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return rest[0] if len(rest) == 1 else rest


def build_engine(
    onnx_path: pathlib.Path, engine_path: pathlib.Path, max_len: int, options: EngineOptions
) -> dict:
    """Parses ``onnx_path`` and writes a serialised engine to ``engine_path``.

    Returns:
        Metadata: TensorRT version, GPU name, profile and precision.

    Raises:
        TensorRTUnavailableError: TensorRT absent. ExportError: parse or build failure.
    """
    trt = require_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # TensorRT < 10
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"{onnx_path}: TensorRT could not parse the ONNX graph: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mib << 20)
    if options.fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    batches = (options.min_batch, options.opt_batch, options.max_batch)
    profile.set_shape("histories", *[(b, max_len) for b in batches])
    profile.set_shape("exclude_seen", *[(b,) for b in batches])
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ExportError(f"{onnx_path}: TensorRT engine build failed (see the log above)")
    engine_path.write_bytes(memoryview(serialized))  # IHostMemory: buffer protocol
    cudart = _cudart()
    props = _check_cuda(cudart.cudaGetDeviceProperties(0))
    name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
    return {
        "tensorrt_version": trt.__version__,
        "gpu": name.rstrip("\x00"),
        "profile": {"min_batch": batches[0], "opt_batch": batches[1], "max_batch": batches[2]},
        "fp16": options.fp16,
    }


class TensorRTScorer:
    """Runs a serialised engine with explicit CUDA buffers: numpy in, numpy out."""

    def __init__(self, path: pathlib.Path, metadata: dict):
        """Deserialises the engine and creates one execution context and stream."""
        trt = require_tensorrt()
        self._trt, self._cudart = trt, _cudart()
        self._engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(
            path.read_bytes()
        )
        if self._engine is None:
            raise ExportError(f"{path}: engine does not load (built for another GPU/TensorRT?)")
        self._context = self._engine.create_execution_context()
        self._stream = _check_cuda(self._cudart.cudaStreamCreate())
        self._max_batch = int(metadata.get("tensorrt", {}).get("profile", {}).get("max_batch", 0))

    def _run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # Buffers are allocated per call: simple and correct; pool them if this path is hot.
        cudart, trt = self._cudart, self._trt
        h2d = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        d2h = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        buffers, outputs = [], {}
        try:
            for name, array in inputs.items():
                self._context.set_input_shape(name, array.shape)
            for name in ("item_ids", "scores"):
                shape = tuple(self._context.get_tensor_shape(name))
                dtype = trt.nptype(self._engine.get_tensor_dtype(name))
                outputs[name] = np.empty(shape, dtype)
            for name, array in {**inputs, **outputs}.items():
                ptr = _check_cuda(cudart.cudaMalloc(max(array.nbytes, 1)))
                buffers.append(ptr)
                self._context.set_tensor_address(name, int(ptr))
                if name in inputs:
                    _check_cuda(
                        cudart.cudaMemcpyAsync(
                            ptr, array.ctypes.data, array.nbytes, h2d, self._stream
                        )
                    )
            if not self._context.execute_async_v3(int(self._stream)):
                raise RuntimeError("TensorRT execute_async_v3 failed")
            for ptr, (_, array) in zip(buffers[len(inputs) :], outputs.items(), strict=True):
                _check_cuda(
                    cudart.cudaMemcpyAsync(array.ctypes.data, ptr, array.nbytes, d2h, self._stream)
                )
            _check_cuda(cudart.cudaStreamSynchronize(self._stream))
        finally:
            for ptr in buffers:
                cudart.cudaFree(ptr)
        return outputs

    def __call__(self, histories: np.ndarray, exclude_seen: np.ndarray):
        """(int32[B, K], float32[B, K]) for int32[B, L] and bool[B]; splits over max_batch."""
        step = self._max_batch or histories.shape[0]
        ids, scores = [], []
        for start in range(0, histories.shape[0], step):
            h = np.ascontiguousarray(histories[start : start + step])
            e = np.ascontiguousarray(exclude_seen[start : start + step])
            out = self._run({"histories": h, "exclude_seen": e})
            ids.append(out["item_ids"].astype(np.int32))
            scores.append(out["scores"].astype(np.float32))
        return np.concatenate(ids), np.concatenate(scores)
