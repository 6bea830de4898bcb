"""Per-interaction and per-user context features of a prepared dataset, as id columns.

``build_context_tables`` turns a ``PreparedDataset`` (timestamps, the optional ``devices``
column, user attributes from ``users.jsonl``) plus optional per-interaction sentiment scores
into a ``ContextTables``; its ``window`` cuts the ``int32[L, F]`` context of one model input
the same way ``pipeline.left_pad`` cuts the item ids. The layout is
``data_pipeline/context_schema.py``; id 0 means unknown everywhere.

Leakage: the event columns at position t describe interaction t only (its time, the gap
to interaction t - 1, its device, its review), never the target t + 1.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from data_pipeline import context_schema as schema

if TYPE_CHECKING:
    from data_pipeline.dataset import PreparedDataset

# Gap buckets: 2 + floor(log2(1 + minutes)), capped (2^19 minutes is about a year).
MAX_GAP_LOG2 = schema.vocab_size("gap") - 3
# VADER compound thresholds between the 5 sentiment buckets.
SENTIMENT_EDGES = (-0.5, -0.05, 0.05, 0.5)
# MovieLens-1M age codes are the lower ends of these groups; ML-100K ages are years.
AGE_EDGES = (18, 25, 35, 45, 50, 56)


def time_columns(timestamps: np.ndarray | None, n: int) -> np.ndarray:
    """int32[n, 3]: hour (1..24), weekday (1..7, Monday = 1), gap bucket (1 = first).

    Args:
        timestamps: int64[n] Unix seconds (UTC) in sequence order, or None (all unknown).
        n: number of interactions.
    """
    out = np.zeros((n, 3), np.int32)
    if timestamps is None or n == 0:
        return out
    ts = np.asarray(timestamps, np.int64)
    out[:, 0] = 1 + (ts // 3600) % 24
    out[:, 1] = 1 + (ts // 86400 + 3) % 7  # 1970-01-01 was a Thursday
    minutes = np.maximum(np.diff(ts), 0) / 60.0
    buckets = np.minimum(np.floor(np.log2(1.0 + minutes)), MAX_GAP_LOG2).astype(np.int32)
    out[0, 2] = 1
    out[1:, 2] = 2 + buckets
    return out


def sentiment_bucket(compound: np.ndarray, has_text: np.ndarray) -> np.ndarray:
    """int32[n]: 1..5 by ``SENTIMENT_EDGES``; 0 where the interaction has no review text."""
    buckets = 1 + np.searchsorted(SENTIMENT_EDGES, compound, side="right").astype(np.int32)
    return np.where(has_text, buckets, 0).astype(np.int32)


def vocabulary(values, cap: int) -> dict[str, int]:
    """Maps each value to an id 1..cap-1 in sorted order (values past the cap share cap - 1)."""
    uniques = sorted({str(v) for v in values if v is not None and str(v) != ""})
    return {v: min(i + 1, cap - 1) for i, v in enumerate(uniques)}


def age_group(age) -> int:
    """1..7 MovieLens age group of an age code or age in years; 0 when unknown."""
    if age is None or isinstance(age, bool) or not isinstance(age, int | float):
        return 0
    return 1 + int(np.searchsorted(AGE_EDGES, age, side="right"))


def zip_region(zipcode) -> int:
    """1 + first digit of a US zip code (1..10), 11 for any other code, 0 when unknown."""
    text = str(zipcode or "").strip()
    if not text:
        return 0
    return 1 + int(text[0]) if text[0].isdigit() else 11


def occupation_vocabulary(user_info: list[dict]) -> dict[str, int]:
    """Occupation string -> id (1..cap-1) over every user of the dataset."""
    return vocabulary((row.get("occupation") for row in user_info), schema.vocab_size("occupation"))


def device_vocabulary(records) -> dict[str, int]:
    """Device/location string -> id (1..cap-1) over every interaction of ``records``."""
    devices = [d for r in records for d in (getattr(r, "devices", None) or ())]
    return vocabulary(devices, schema.vocab_size("device"))


def user_columns(user_info: list[dict]) -> np.ndarray:
    """int32[U, 4]: age group, gender, occupation, region per user (0 = unknown)."""
    occupations = occupation_vocabulary(user_info)
    genders = {"F": 1, "M": 2}
    out = np.zeros((len(user_info), len(schema.USER_COLUMNS)), np.int32)
    for u, row in enumerate(user_info):
        occupation = row.get("occupation")
        out[u] = (
            age_group(row.get("age")),
            genders.get(str(row.get("gender", "")).upper()[:1], 0),
            occupations.get(str(occupation), 0) if occupation is not None else 0,
            zip_region(row.get("zip")),
        )
    return out


@dataclasses.dataclass(frozen=True)
class ContextTables:
    """Context ids of every interaction, flattened in user order, and of every user.

    Attributes:
        offsets: int64[U + 1]; user u's interactions are rows offsets[u]:offsets[u + 1].
        events: int8[N, E] event columns (``schema.EVENT_COLUMNS``).
        users: int8[U, S] user columns (``schema.USER_COLUMNS``).
        sentiment: float32[N] VADER compound per interaction (0 without review), or None.
    """

    offsets: np.ndarray
    events: np.ndarray
    users: np.ndarray
    sentiment: np.ndarray | None = None

    def window(self, user: int, end: int, length: int) -> np.ndarray:
        """int32[length, F]: context of the user's interactions [end - length, end).

        Left-padded like ``pipeline.left_pad`` (event columns 0 at padding); the user
        columns are repeated at every position.
        """
        start = self.offsets[user]
        rows = self.events[start + max(end - length, 0) : start + end]
        out = np.zeros((length, schema.NUM_COLUMNS), np.int32)
        if len(rows):
            out[length - len(rows) :, : schema.NUM_EVENT] = rows
        out[:, schema.NUM_EVENT :] = self.users[user]
        return out

    def target_weights(self, user: int, end: int, length: int, alpha: float) -> np.ndarray:
        """float32[length]: 1 + alpha * sentiment of the targets of a window ending at ``end``.

        The window's inputs are interactions [end - length, end), so its targets are
        [end - length + 1, end + 1); padding positions get 0 (they carry no target).
        """
        scores = np.zeros(0, np.float32) if self.sentiment is None else self.sentiment
        start = self.offsets[user]
        lo, hi = max(end - length, 0) + 1, end + 1
        out = np.zeros(length, np.float32)
        n = hi - lo
        if n > 0:
            tail = scores[start + lo : start + hi] if len(scores) else np.zeros(n, np.float32)
            out[length - n :] = 1.0 + alpha * tail
        return out


def build_context_tables(
    dataset: PreparedDataset, sentiment: np.ndarray | None = None
) -> ContextTables:
    """Context ids of every interaction and user of ``dataset``.

    Args:
        dataset: a prepared dataset.
        sentiment: float32[N] VADER compound per interaction in record order (None: the
            sentiment column stays 0 = unknown).

    Raises:
        ValueError: ``sentiment`` does not have one score per interaction.
    """
    records = list(dataset.records())
    lengths = np.array([len(r.items) for r in records], np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    total = int(offsets[-1])
    if sentiment is not None and len(sentiment) != total:
        raise ValueError(f"{len(sentiment)} sentiment scores for {total} interactions")
    device_ids = device_vocabulary(records)
    # Every vocabulary in the schema is < 128 ids, so int8 holds them.
    events = np.zeros((total, schema.NUM_EVENT), np.int8)
    col = schema.column_index
    for rec, start in zip(records, offsets[:-1], strict=True):
        n = len(rec.items)
        block = events[start : start + n]
        block[:, col("hour") : col("gap") + 1] = time_columns(rec.timestamps, n)
        rec_devices = getattr(rec, "devices", None)
        if rec_devices is not None:
            block[:, col("device")] = [device_ids.get(str(d), 0) for d in rec_devices]
        if sentiment is not None and rec.reviews is not None:
            has_text = np.array([bool(t and t.strip()) for t in rec.reviews])
            block[:, col("sentiment")] = sentiment_bucket(sentiment[start : start + n], has_text)
    return ContextTables(
        offsets=offsets,
        events=events,
        users=user_columns(dataset.user_info()).astype(np.int8),
        sentiment=None if sentiment is None else np.asarray(sentiment, np.float32),
    )
