"""HTTP request and response bodies (pydantic; they are also the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

ItemId = StrictStr | StrictInt


class RecommendRequest(BaseModel):
    """``POST /v1/recommend`` body.

    ``history`` holds original item ids (as in the dataset), oldest first. Only the most recent
    ``max_len`` items (the model's window) are used; older ones are dropped.
    """

    model_config = ConfigDict(extra="forbid")

    user_id: StrictStr | None = Field(default=None, max_length=256)
    history: list[ItemId] = Field(
        description="original item ids, oldest first; the most recent max_len are used"
    )
    k: StrictInt = Field(default=10, description="number of items to return (1..k_max)")
    exclude_seen: StrictBool = Field(default=True, description="drop items of the history")
    context: dict[str, Any] | None = Field(
        default=None, description="free-form request context (logged, not used by the model)"
    )


class ScoredItem(BaseModel):
    """One recommended item."""

    id: str
    score: float
    title: str | None = None


class RecommendResponse(BaseModel):
    """``POST /v1/recommend`` answer: best first."""

    items: list[ScoredItem]
    model_version: str
    adapted: bool = Field(
        default=False,
        description="the history was short and the model adapted to it (MAML cold start)",
    )


class ItemInfo(BaseModel):
    """``GET /v1/items/{id}`` answer."""

    id: str
    title: str | None = None
    model_version: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: what went wrong and which request field caused it."""

    detail: str
    field: str | None = None


class ColdStartInfo(BaseModel):
    """Whether this server adapts short histories (``/readyz``)."""

    method: str
    available: bool
    max_history_items: int
    detail: str


class HealthBody(BaseModel):
    """``/healthz`` and ``/readyz`` answer.

    ``cold_start`` (``/readyz``) is null when the model has no cold-start adaptation.
    """

    status: str
    model_version: str | None = None
    backend: str | None = None
    cold_start: ColdStartInfo | None = None
