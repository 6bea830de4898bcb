"""Loading an export for serving: one ``Backend`` interface over every format.

    from jaxrec.export.runtime import load_backend, pad_history
    from jaxrec.export.catalog import Catalog

    backend = load_backend("exports/ml1m_onnx")          # format from metadata.json
    catalog = Catalog.load("exports/ml1m_onnx")
    ids, unknown = catalog.lookup(["1193", "661"])        # original -> internal ids
    histories = pad_history(ids, backend.max_len)[None]   # int32[1, L]
    items, scores = backend.recommend(histories, np.array([True]))
    [(catalog.to_original(i), catalog.title(i), s) for i, s in zip(items[0], scores[0])]

Interface (stable; ``serve/`` depends on it):

* ``load_backend(export_dir, backend=None) -> Backend``: ``backend`` None uses the format in
  ``metadata.json``; ``"jax" | "onnx" | "savedmodel" | "tensorrt"`` pick one explicitly (a
  ``tensorrt`` export also holds ``model.onnx``, so ``"onnx"`` serves it too). Every file's
  sha256 is verified first (``ExportIntegrityError`` on mismatch). Keyword-only
  ``num_threads`` sets onnxruntime's intra-op threads.
* ``Backend.metadata`` (parsed ``metadata.json``), ``max_len``, ``num_items``, ``k_max`` and
  ``model_version`` (``"<model>-<format>-<checksum prefix>"``).
* ``Backend.recommend(histories int32[B, max_len], exclude_seen bool[B]) ->
  (item_ids int32[B, k_max], scores float32[B, k_max])``: internal ids, best first. Any
  ``B >= 0``. Histories are left-padded with 0; ids must lie in 0..num_items (else
  ``ValueError``). Padding (id 0) is never recommended unless fewer than ``k_max`` real
  candidates remain; such tail entries, and excluded items that had to fill the list, carry
  score ``-inf``: drop entries with a non-finite score (or id 0) before answering.
* ``pad_history(items, max_len) -> int32[max_len]``: keeps the most recent ``max_len``
  internal ids and left-pads with 0.

Backends are safe to call from one thread at a time; make one per replica.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from jaxrec.export.artifact import ExportError, read_metadata

BACKENDS = ("jax", "onnx", "savedmodel", "tensorrt")


class Backend(Protocol):
    """What a server needs from a loaded export."""

    metadata: dict
    max_len: int
    num_items: int
    k_max: int
    model_version: str

    def recommend(
        self, histories: np.ndarray, exclude_seen: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """int32[B, max_len] + bool[B] -> (int32[B, k_max] internal ids, float32[B, k_max])."""
        ...


def pad_history(items: Sequence[int], max_len: int) -> np.ndarray:
    """int32[max_len]: the last ``max_len`` of ``items`` (oldest first), left-padded with 0."""
    recent = np.asarray(list(items)[-max_len:] if max_len > 0 else [], dtype=np.int32)
    out = np.zeros(max_len, np.int32)
    if recent.size:
        out[max_len - recent.size :] = recent
    return out


class ScoringBackend:
    """A ``Backend`` around a format's scorer: validates inputs, handles empty batches."""

    def __init__(self, name: str, metadata: dict, scorer):
        """``scorer(int32[B, L], bool[B]) -> (int32[B, K], float32[B, K])`` for B >= 1."""
        self.name = name
        self.metadata = metadata
        self.max_len = int(metadata["max_len"])
        self.num_items = int(metadata["num_items"])
        self.k_max = int(metadata["k_max"])
        self.model_version = str(metadata.get("model_version", metadata["checksum"][:12]))
        self._scorer = scorer

    def recommend(
        self, histories: np.ndarray, exclude_seen: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k_max`` internal ids and scores per row, best first (see the module doc)."""
        histories = np.asarray(histories)
        exclude_seen = np.asarray(exclude_seen)
        if histories.ndim != 2 or histories.shape[1] != self.max_len:
            raise ValueError(
                f"histories: expected shape [B, {self.max_len}], got {histories.shape}"
            )
        if histories.size and not np.issubdtype(histories.dtype, np.integer):
            raise ValueError(f"histories: expected integer ids, got dtype {histories.dtype}")
        if exclude_seen.shape != (histories.shape[0],):
            raise ValueError(
                f"exclude_seen: expected shape [{histories.shape[0]}], got {exclude_seen.shape}"
            )
        batch = histories.shape[0]
        if batch == 0:
            return np.zeros((0, self.k_max), np.int32), np.zeros((0, self.k_max), np.float32)
        if histories.min() < 0 or histories.max() > self.num_items:
            raise ValueError(f"histories: item ids must lie in 0..{self.num_items}")
        histories = np.ascontiguousarray(histories, dtype=np.int32)
        exclude_seen = np.ascontiguousarray(exclude_seen, dtype=bool)
        return self._scorer(histories, exclude_seen)


def load_backend(
    export_dir: str | pathlib.Path, backend: str | None = None, *, num_threads: int | None = None
) -> Backend:
    """Verifies an export directory and loads it for scoring.

    Args:
        export_dir: written by ``jaxrec export``.
        backend: None (the export's own format) or one of ``BACKENDS``.
        num_threads: onnxruntime intra-op threads (None = its default).

    Raises:
        ExportError: not an export, or the backend cannot serve this export.
        ExportIntegrityError: a file's checksum does not match.
    """
    directory = pathlib.Path(export_dir)
    metadata = read_metadata(directory)
    name = backend or metadata["format"]
    if name not in BACKENDS:
        raise ExportError(f"backend {name!r}: expected one of {BACKENDS}")
    return ScoringBackend(name, metadata, _scorer(name, directory, metadata, num_threads))


def _scorer(name: str, directory: pathlib.Path, metadata: dict, num_threads: int | None):
    from jaxrec.export import jax_format, onnx_format, savedmodel_format, trt_engine

    files = {
        "jax": jax_format.PARAMS_FILE,
        "onnx": onnx_format.ONNX_FILE,
        "savedmodel": savedmodel_format.SAVEDMODEL_DIR,
        "tensorrt": trt_engine.ENGINE_FILE,
    }
    path = directory / files[name]
    if not path.exists():
        raise ExportError(
            f"{directory}: a {metadata['format']!r} export has no {files[name]}, so backend "
            f"{name!r} cannot serve it; use backend {metadata['format']!r}"
        )
    if name == "jax":
        return jax_format.JaxScorer(directory, metadata)
    if name == "onnx":
        return onnx_format.OnnxScorer(path, num_threads=num_threads)
    if name == "savedmodel":
        return savedmodel_format.SavedModelScorer(path)
    return trt_engine.TensorRTScorer(path, metadata)
