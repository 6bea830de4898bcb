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
* Context models (``metadata["context"]``): ``Backend.context_inputs`` names the extra
  inputs (``context_hour`` ... int32[B, max_len], ``context_user`` int32[B, S]; empty for
  history-only exports) that ``recommend(..., context={name: array})`` requires (else
  ``ValueError`` naming the input); ``Backend.featurizer`` (a
  ``context_featurizer.ContextFeaturizer``, else None) builds one row of them from raw
  request fields (timestamps, user attributes, devices, sentiment).
* ``pad_history(items, max_len) -> int32[max_len]``: keeps the most recent ``max_len``
  internal ids and left-pads with 0.
* ``Backend.cold_start``: None for exports without cold-start adaptation; for a MAML export a
  dict ``{"method", "available", "max_history_items", "detail"}``. Where ``available`` (the
  ``jax`` backend), ``recommend`` adapts the rows that ``adapted_rows(histories) -> bool[B]``
  marks (1..max_history_items items, ``jaxrec/export/cold_start.py``); other backends serve
  every row un-adapted and say so in ``detail``. ``load_backend(..., cold_start_max_items=N)``
  overrides the export's threshold (0 turns adaptation off).

Backends are safe to call from one thread at a time; make one per replica.
"""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from jaxrec.export.artifact import ExportError, read_metadata
from jaxrec.export.context_featurizer import ContextFeaturizer
from jaxrec.export.context_signature import ContextSpec

log = logging.getLogger(__name__)
BACKENDS = ("jax", "onnx", "savedmodel", "tensorrt")


class Backend(Protocol):
    """What a server needs from a loaded export."""

    metadata: dict
    max_len: int
    num_items: int
    k_max: int
    model_version: str

    def recommend(
        self,
        histories: np.ndarray,
        exclude_seen: np.ndarray,
        context: Mapping[str, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """int32[B, max_len] + bool[B] (+ context) -> (int32[B, k_max] ids, float32[B, k_max])."""
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

    def __init__(self, name: str, metadata: dict, scorer, adapter=None, cold_start=None):
        """``scorer(int32[B, L], bool[B]) -> (int32[B, K], float32[B, K])`` for B >= 1.

        ``adapter`` (a ``cold_start.ColdStartAdapter``) scores the rows it marks instead;
        ``cold_start`` describes it (see the module doc).
        """
        self.name = name
        self.metadata = metadata
        self.max_len = int(metadata["max_len"])
        self.num_items = int(metadata["num_items"])
        self.k_max = int(metadata["k_max"])
        self.model_version = str(metadata.get("model_version", metadata["checksum"][:12]))
        self.cold_start = cold_start
        self.context = ContextSpec.from_metadata(metadata)
        self.context_inputs = self.context.input_names if self.context else ()
        self.featurizer = (
            ContextFeaturizer(self.context, metadata["context"]["featurizer"])
            if self.context
            else None
        )
        self._scorer = scorer
        self._adapter = adapter

    def adapted_rows(self, histories: np.ndarray) -> np.ndarray:
        """bool[B]: the int32[B, max_len] rows ``recommend`` adapts (all False without one)."""
        histories = np.asarray(histories)
        if self._adapter is None:
            return np.zeros(histories.shape[0], bool)
        return self._adapter.rows(histories)

    def recommend(
        self,
        histories: np.ndarray,
        exclude_seen: np.ndarray,
        context: Mapping[str, np.ndarray] | None = None,
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
        if self.context is not None:
            inputs = self.context.check(context, batch, self.max_len)
        elif context:
            raise ValueError(f"context: this {self.metadata['model_name']!r} export reads none")
        else:
            inputs = []
        if batch == 0:
            return np.zeros((0, self.k_max), np.int32), np.zeros((0, self.k_max), np.float32)
        if histories.min() < 0 or histories.max() > self.num_items:
            raise ValueError(f"histories: item ids must lie in 0..{self.num_items}")
        histories = np.ascontiguousarray(histories, dtype=np.int32)
        exclude_seen = np.ascontiguousarray(exclude_seen, dtype=bool)
        adapt = self.adapted_rows(histories)
        if not adapt.any():
            return self._scorer(histories, exclude_seen, *inputs)
        ids = np.zeros((batch, self.k_max), np.int32)
        scores = np.zeros((batch, self.k_max), np.float32)
        ids[adapt], scores[adapt] = self._adapter(histories[adapt], exclude_seen[adapt])
        rest = ~adapt
        if rest.any():
            ids[rest], scores[rest] = self._scorer(histories[rest], exclude_seen[rest])
        return ids, scores


def load_backend(
    export_dir: str | pathlib.Path,
    backend: str | None = None,
    *,
    num_threads: int | None = None,
    cold_start_max_items: int | None = None,
) -> Backend:
    """Verifies an export directory and loads it for scoring.

    Args:
        export_dir: written by ``jaxrec export``.
        backend: None (the export's own format) or one of ``BACKENDS``.
        num_threads: onnxruntime intra-op threads (None = its default).
        cold_start_max_items: adapt histories of 1..N items (MAML exports, ``jax`` backend);
            None = the export's ``cold_start.max_history_items``, 0 = never.

    Raises:
        ExportError: not an export, or the backend cannot serve this export.
        ExportIntegrityError: a file's checksum does not match.
    """
    directory = pathlib.Path(export_dir)
    metadata = read_metadata(directory)
    name = backend or metadata["format"]
    if name not in BACKENDS:
        raise ExportError(f"backend {name!r}: expected one of {BACKENDS}")
    scorer = _scorer(name, directory, metadata, num_threads)
    adapter, info = _cold_start(name, scorer, metadata, cold_start_max_items)
    return ScoringBackend(name, metadata, scorer, adapter, info)


def _cold_start(name: str, scorer, metadata: dict, max_items: int | None):
    """(adapter or None, ``Backend.cold_start``) for a loaded scorer."""
    cold = metadata.get("cold_start")
    if not cold:
        return None, None
    max_items = int(cold["max_history_items"]) if max_items is None else int(max_items)
    if max_items < 0:
        raise ExportError(f"cold_start_max_items={max_items}: must be >= 0")
    info = {"method": cold["method"], "available": False, "max_history_items": max_items}
    if name != "jax":
        info["detail"] = (
            f"backend {name!r} cannot run jax.grad, so {cold['method']} cold-start adaptation "
            "is unavailable: every history is scored by the un-adapted model (use the jax "
            "backend on a jax export to adapt short histories)"
        )
        log.warning("%s", info["detail"])
        return None, info
    if max_items == 0:
        info["detail"] = "adaptation turned off (cold_start_max_items=0)"
        return None, info
    from jaxrec.export.cold_start import ColdStartAdapter

    adapter = ColdStartAdapter(
        scorer.graphdef,
        scorer.params,
        cold,
        max_items=max_items,
        max_len=int(metadata["max_len"]),
        k=int(metadata["k_max"]),
    )
    info["available"] = True
    info["detail"] = (
        f"histories of 1..{max_items} items are adapted with {cold['inner_steps']} "
        f"{cold['method']} inner step(s) before scoring"
    )
    return adapter, info


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
