"""Request logic without any web framework: validate, map ids, pad, and build the answer.

``RecommendService`` turns a parsed ``RecommendRequest`` into model inputs (``prepare``) and the
model's top-k internal ids back into the response (``respond``). The model call in between is
the caller's (a ``@serve.batch`` method in Ray, an asyncio batcher in the plain app).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Protocol

import numpy as np

from serve.schemas import ItemInfo, RecommendRequest, RecommendResponse, ScoredItem


class RequestError(Exception):
    """A client error: HTTP ``status`` with a message naming the request ``field``."""

    def __init__(self, status: int, field: str | None, message: str):
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


class Backend(Protocol):
    """What serve needs from ``jaxrec.export.runtime.load_backend``."""

    metadata: dict
    max_len: int
    num_items: int
    k_max: int

    def recommend(
        self, histories: np.ndarray, exclude_seen: np.ndarray, context: dict | None = None
    ) -> tuple[Any, Any]:
        """int32[B, max_len], bool[B] -> (int32[B, k_max] ids, float32[B, k_max] scores).

        Context models also take ``context``: ``{input name: int32[B, ...]}``, stacked rows of
        their ``featurizer``.
        """
        ...


@dataclasses.dataclass(frozen=True)
class ItemIndex:
    """Original item ids <-> internal ids (1..num_items; 0 is padding), plus titles.

    Attributes:
        to_internal: original id (string form) -> internal id.
        to_original: index i holds the original id of internal id i (index 0 unused).
        titles: index i holds the title of internal id i, or None.
    """

    to_internal: dict[str, int]
    to_original: list[str]
    titles: list[str | None]

    @property
    def num_items(self) -> int:
        """Catalogue size without the padding id."""
        return len(self.to_original) - 1

    def lookup(self, original: str | int) -> int | None:
        """Internal id of an original id given as string or int, or None when unknown."""
        return self.to_internal.get(str(original))


@dataclasses.dataclass(frozen=True)
class Prepared:
    """One validated request, ready for the model: history int32[max_len], exclude, k.

    ``adapted``: the backend adapts this history (cold start) before scoring it.
    ``context``: a context model's inputs for this row (``{name: int32[max_len] or [S]}``).
    """

    history: np.ndarray
    exclude_seen: bool
    k: int
    truncated: int
    adapted: bool = False
    context: dict[str, np.ndarray] | None = None


class RecommendService:
    """Validation, id mapping and response building around one loaded backend.

    Args:
        backend: the loaded export (``max_len``, ``k_max``, ``metadata``, ``recommend``).
        items: the id map of the same export.
        max_history_items: longer history lists are rejected (422) rather than truncated.
        backend_name: reported by ``/readyz``.
    """

    def __init__(
        self,
        backend: Backend,
        items: ItemIndex,
        *,
        max_history_items: int = 2048,
        backend_name: str | None = None,
    ):
        self.backend = backend
        self.items = items
        self.max_history_items = max_history_items
        self.backend_name = backend_name
        self.max_len = int(backend.max_len)
        self.max_k = min(int(backend.k_max), items.num_items)
        self.model_version = model_version(backend.metadata)
        # Set by backends of models with cold-start adaptation (jaxrec.export.runtime).
        self.cold_start = getattr(backend, "cold_start", None)
        self._adapted_rows = getattr(backend, "adapted_rows", None)
        # Set by backends of context models (jaxrec.export.context_featurizer).
        self.featurizer = getattr(backend, "featurizer", None)

    def prepare(self, req: RecommendRequest) -> Prepared:
        """Checks ``k`` and ``history`` and pads the most recent ``max_len`` items.

        Raises:
            RequestError: 422 naming ``k`` or ``history`` (or ``history[i]`` for unknown ids).
        """
        if not 1 <= req.k <= self.max_k:
            raise RequestError(422, "k", f"k must be between 1 and {self.max_k}, got {req.k}")
        if not req.history:
            raise RequestError(422, "history", "history must hold at least one item id")
        if len(req.history) > self.max_history_items:
            raise RequestError(
                422,
                "history",
                f"history holds {len(req.history)} items; at most {self.max_history_items}",
            )
        recent = req.history[-self.max_len :]
        offset = len(req.history) - len(recent)
        ids = np.zeros(self.max_len, np.int32)
        start = self.max_len - len(recent)
        unknown = []
        for pos, original in enumerate(recent):
            internal = self.items.lookup(original)
            if internal is None:
                unknown.append(pos + offset)
            else:
                ids[start + pos] = internal
        if unknown:
            first = unknown[0]
            shown = ", ".join(repr(req.history[i]) for i in unknown[:5])
            raise RequestError(
                422,
                f"history[{first}]",
                f"{len(unknown)} unknown item id(s) in history: {shown}",
            )
        adapted = self._adapted_rows is not None and bool(self._adapted_rows(ids[None])[0])
        context = self._context(req) if self.featurizer is not None else None
        return Prepared(ids, req.exclude_seen, req.k, offset, adapted, context)

    def _context(self, req: RecommendRequest) -> dict[str, np.ndarray]:
        """The context model's inputs for one request (see ``RecommendRequest``).

        Raises:
            RequestError: 422 naming the context field that is missing, of the wrong length
                or malformed.
        """
        from jaxrec.export.context_featurizer import ContextInputError, review_sentiment

        sentiment = req.sentiment
        try:
            if req.reviews is not None:
                if sentiment is not None:
                    raise ContextInputError("reviews", "send sentiment or reviews, not both")
                if len(req.reviews) != len(req.history):
                    raise ContextInputError(
                        "reviews",
                        f"holds {len(req.reviews)} entries for {len(req.history)} history items",
                    )
                if "sentiment" in self.featurizer.reads:  # VADER only where it is read
                    sentiment = review_sentiment(req.reviews)
            return self.featurizer.featurize(
                len(req.history),
                self.max_len,
                timestamps=req.timestamps,
                devices=req.devices,
                sentiment=sentiment,
                user=None if req.user is None else req.user.model_dump(),
            )
        except ContextInputError as err:
            raise RequestError(422, err.field, str(err)) from err

    def respond(self, prepared: Prepared, ids: np.ndarray, scores: np.ndarray) -> RecommendResponse:
        """Maps one row of model output (int32[k_max], float32[k_max]) to the response.

        Items with a non-finite score (excluded items that only fill a too-short list) and
        the padding id are dropped, so the list may be shorter than ``k``.
        """
        out = []
        for internal, score in zip(ids.tolist(), scores.tolist(), strict=True):
            if len(out) == prepared.k:
                break
            if internal <= 0 or internal > self.items.num_items or not math.isfinite(score):
                continue
            out.append(
                ScoredItem(
                    id=self.items.to_original[internal],
                    score=score,
                    title=self.items.titles[internal],
                )
            )
        return RecommendResponse(
            items=out, model_version=self.model_version, adapted=prepared.adapted
        )

    def item(self, original: str) -> ItemInfo:
        """``GET /v1/items/{id}``.

        Raises:
            RequestError: 404 naming ``id`` when the item is not in the catalogue.
        """
        internal = self.items.lookup(original)
        if internal is None:
            raise RequestError(404, "id", f"unknown item id {original!r}")
        return ItemInfo(
            id=self.items.to_original[internal],
            title=self.items.titles[internal],
            model_version=self.model_version,
        )

    def score_batch(self, prepared: list[Prepared]) -> list[tuple[np.ndarray, np.ndarray]]:
        """One model call for many requests: rows of (ids int32[k_max], scores float32[k_max])."""
        histories = np.stack([p.history for p in prepared])
        exclude = np.asarray([p.exclude_seen for p in prepared], dtype=bool)
        if prepared[0].context is None:
            ids, scores = self.backend.recommend(histories, exclude)
        else:  # one backend: every row carries the same context inputs
            names = prepared[0].context
            context = {n: np.stack([p.context[n] for p in prepared]) for n in names}
            ids, scores = self.backend.recommend(histories, exclude, context)
        ids, scores = np.asarray(ids), np.asarray(scores)
        return [(ids[i], scores[i]) for i in range(len(prepared))]

    def warm_up(self, max_batch_size: int = 64) -> None:
        """Calls the model on batch sizes 1, 2, 4, ... up to ``max_batch_size``.

        The jax backend compiles one program per power-of-two batch bucket; doing it here keeps
        compilation out of the first requests. With cold-start adaptation, short (adapted) and
        full (un-adapted) histories are warmed separately: each has its own programs.
        """
        short = np.zeros(self.max_len, np.int32)
        short[-1] = 1
        rows = [short]
        if self.cold_start and self.cold_start.get("available"):
            rows.append(np.ones(self.max_len, np.int32))
        spec = getattr(self.backend, "context", None)
        blank = None
        if spec is not None:  # all-unknown context ids
            blank = {
                n: np.zeros(dims[1:-1], np.int32)
                for n, dims in spec.signature(self.max_len).items()
            }
        for row in rows:
            size = 1
            while True:
                batch = [Prepared(row, True, 1, 0, context=blank)] * min(size, max_batch_size)
                self.score_batch(batch)
                if size >= max_batch_size:
                    break
                size *= 2


def model_version(metadata: dict) -> str:
    """A short version string from the export metadata (explicit version, else checksum)."""
    for key in ("model_version", "version"):
        if metadata.get(key):
            return str(metadata[key])
    checksum = metadata.get("checksum") or metadata.get("sha256")
    if isinstance(checksum, dict):
        checksum = next(iter(checksum.values()), None)
    return f"sha256:{str(checksum)[:12]}" if checksum else "unknown"
