"""HTTP request and response bodies (pydantic; they are also the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)

ItemId = StrictStr | StrictInt


class UserAttributes(BaseModel):
    """The user's attributes, as in the training data (context models; unknown values are ok)."""

    model_config = ConfigDict(extra="forbid")

    age: StrictInt | StrictFloat | StrictStr | None = Field(
        default=None, description="age in years or MovieLens-1M age code (a numeric string is ok)"
    )
    gender: StrictStr | None = Field(
        default=None, max_length=64, description="'F' or 'M' (first letter); other values unknown"
    )
    occupation: StrictStr | StrictInt | None = Field(
        default=None, description="as in the dataset (ML-1M: code 0..20); unseen values unknown"
    )
    zip: StrictStr | None = Field(
        default=None, max_length=64, description="zip code; its first digit is the region"
    )


class RecommendRequest(BaseModel):
    """``POST /v1/recommend`` body.

    ``history`` holds original item ids (as in the dataset), oldest first. Only the most recent
    ``max_len`` items (the model's window) are used; older ones are dropped.

    Context models (``sasrec_context``) also read ``timestamps``, ``user``, ``devices`` and
    ``sentiment`` or ``reviews``: per-item lists hold one entry per ``history`` item, in the
    same order. Which ones a model requires is in its export's
    ``metadata.json`` (``context.featurizer.required_fields``); other models ignore them.
    """

    model_config = ConfigDict(extra="forbid")

    user_id: StrictStr | None = Field(default=None, max_length=256)
    history: list[ItemId] = Field(
        description="original item ids, oldest first; the most recent max_len are used"
    )
    k: StrictInt = Field(default=10, description="number of items to return (1..k_max)")
    exclude_seen: StrictBool = Field(default=True, description="drop items of the history")
    timestamps: list[StrictInt] | None = Field(
        default=None, description="Unix seconds (UTC) of each history item (context models)"
    )
    user: UserAttributes | None = Field(default=None, description="user attributes (context)")
    devices: list[StrictStr | None] | None = Field(
        default=None, description="device/location of each history item; null = unknown"
    )
    sentiment: list[StrictFloat | None] | None = Field(
        default=None,
        description="VADER compound score in [-1, 1] of each history item's review; null = none",
    )
    reviews: list[StrictStr | None] | None = Field(
        default=None,
        description="review text of each history item (scored with VADER; instead of sentiment)",
    )
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
