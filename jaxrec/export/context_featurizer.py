"""Raw request context -> the context ids an exported model was trained with (Python + NumPy).

The export writes every constant the bucketing needs into ``metadata["context"]["featurizer"]``
(``describe``, at export time, from the training dataset); ``ContextFeaturizer`` reads only
that, so serving needs neither the dataset nor ``data_pipeline``. The rules are those of
``data_pipeline/context.py`` (tests/export/test_export_context.py checks they agree):

* time (per history item, Unix seconds UTC): hour ``1 + (ts // 3600) % 24``, weekday
  ``1 + (ts // 86400 + 3) % 7`` (Monday = 1), gap ``1`` for the first item of the history,
  else ``2 + min(floor(log2(1 + minutes since the previous item)), max_gap_log2)``;
* sentiment (per item): ``1 + #(edges <= compound)``; 0 when the item has no review;
* device (per item): the training vocabulary; unseen values and null -> 0;
* user: age group ``1 + #(age_edges <= age)``, gender by first letter, occupation by the
  training vocabulary, region ``1 +`` first zip digit (11 for other codes); unknown -> 0.

Features are computed over the whole request history, then the last ``max_len`` are kept
(left-padded with 0), so the first kept item's gap is measured to the item before it, as in
the training windows.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from jaxrec.export.context_signature import PREFIX, USER_INPUT, ContextSpec

VERSION = 1
GENDERS = {"F": 1, "M": 2}
# Request field -> the context group whose columns it feeds.
FIELD_GROUPS = {"timestamps": "time", "devices": "device", "sentiment": "sentiment", "user": "user"}
USER_FIELDS = ("age", "gender", "occupation", "zip")
# Kept in step with data_pipeline/context_schema.py GROUPS (the test compares them).
GROUP_COLUMNS = {
    "time": ("hour", "weekday", "gap"),
    "device": ("device",),
    "sentiment": ("sentiment",),
    "user": ("age", "gender", "occupation", "region"),
}


class ContextInputError(ValueError):
    """A request's context cannot be featurized; ``field`` names the request field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def describe(spec: ContextSpec, dataset) -> dict:
    """The ``featurizer`` metadata of an export: constants, vocabularies, required fields.

    Args:
        spec: the exported model's context columns.
        dataset: the training ``PreparedDataset`` (vocabularies and which fields it had).
    """
    from data_pipeline import context as ctx

    records = list(dataset.records())
    user_info = dataset.user_info()
    observed = {
        "time": any(r.timestamps is not None for r in records),
        "device": bool(ctx.device_vocabulary(records)),
        "sentiment": any(r.reviews is not None for r in records),
        "user": bool(np.any(ctx.user_columns(user_info))) if user_info else False,
    }
    enabled = {group for group, cols in GROUP_COLUMNS.items() if set(cols) & spec_columns(spec)}
    return {
        "version": VERSION,
        "max_gap_log2": int(ctx.MAX_GAP_LOG2),
        "sentiment_edges": [float(e) for e in ctx.SENTIMENT_EDGES],
        "age_edges": [float(e) for e in ctx.AGE_EDGES],
        "genders": dict(GENDERS),
        "device_vocabulary": ctx.device_vocabulary(records),
        "occupation_vocabulary": ctx.occupation_vocabulary(user_info),
        # A group the model reads and the training data had: requests must send its field.
        "required_fields": sorted(
            f for f, g in FIELD_GROUPS.items() if g in enabled and observed[g]
        ),
    }


def spec_columns(spec: ContextSpec) -> set[str]:
    """Every column the spec reads (event and user)."""
    return {*spec.events, *spec.users}


def time_ids(timestamps: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hour, weekday, gap-without-cap) int arrays[n]; see the module doc (gap capped later)."""
    ts = np.asarray(timestamps, np.int64)
    hour = 1 + (ts // 3600) % 24
    weekday = 1 + (ts // 86400 + 3) % 7  # 1970-01-01 was a Thursday
    minutes = np.maximum(np.diff(ts), 0) / 60.0
    return hour, weekday, np.floor(np.log2(1.0 + minutes))


def _left_pad(values, max_len: int) -> np.ndarray:
    """int32[max_len]: the last ``max_len`` of ``values``, left-padded with 0 (unknown)."""
    values = np.asarray(values, np.int32)[-max_len:]
    row = np.zeros(max_len, np.int32)
    if len(values):
        row[max_len - len(values) :] = values
    return row


class ContextFeaturizer:
    """Turns one request's raw context into the export's context inputs (NumPy rows).

    Args:
        spec: the export's context columns (``ContextSpec.from_metadata``).
        params: ``metadata["context"]["featurizer"]`` (``describe``).
    """

    def __init__(self, spec: ContextSpec, params: Mapping):
        if int(params.get("version", 0)) != VERSION:
            raise ValueError(f"context featurizer version {params.get('version')!r} unsupported")
        self.spec = spec
        self.params = params
        self.required = tuple(params["required_fields"])
        self.reads = {g for g, cols in GROUP_COLUMNS.items() if set(cols) & spec_columns(spec)}

    def featurize(
        self,
        num_items: int,
        max_len: int,
        *,
        timestamps: Sequence[int] | None = None,
        devices: Sequence[str | None] | None = None,
        sentiment: Sequence[float | None] | None = None,
        user: Mapping | None = None,
    ) -> dict[str, np.ndarray]:
        """``{input name: int32[max_len] or int32[S]}`` for a history of ``num_items`` items.

        Per-item sequences must hold one entry per history item (oldest first).

        Raises:
            ContextInputError: a required field is missing, a per-item list has the wrong
                length, or a value is malformed (the error names the request field).
        """
        given = {"timestamps": timestamps, "devices": devices, "sentiment": sentiment}
        for field in self.required:
            if (user if field == "user" else given[field]) is None:
                alternative = " (or 'reviews')" if field == "sentiment" else ""
                raise ContextInputError(
                    field,
                    f"this model reads {FIELD_GROUPS[field]} context (it was trained with "
                    f"it); send {field!r}{alternative}",
                )
        for field, values in given.items():
            if values is not None and len(values) != num_items:
                raise ContextInputError(
                    field, f"holds {len(values)} entries for {num_items} history items"
                )
        columns: dict[str, np.ndarray] = {}
        if "time" in self.reads and timestamps is not None:
            columns.update(self._time(timestamps))
        if "device" in self.reads and devices is not None:
            vocab = self.params["device_vocabulary"]
            columns["device"] = np.asarray([vocab.get(str(d), 0) if d else 0 for d in devices])
        if "sentiment" in self.reads and sentiment is not None:
            columns["sentiment"] = self._sentiment(sentiment)
        out = {PREFIX + n: _left_pad(columns.get(n, ()), max_len) for n in self.spec.events}
        if self.spec.users:
            out[USER_INPUT] = self._user(user or {})
        return out

    def _time(self, timestamps: Sequence[int]) -> dict[str, np.ndarray]:
        for i, t in enumerate(timestamps):
            if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
                raise ContextInputError(
                    f"timestamps[{i}]", f"expected Unix seconds >= 0, got {t!r}"
                )
        if not len(timestamps):
            return {}
        hour, weekday, log_gap = time_ids(timestamps)
        gap = np.empty(len(timestamps), np.int32)
        gap[0] = 1
        gap[1:] = 2 + np.minimum(log_gap, self.params["max_gap_log2"]).astype(np.int32)
        return {"hour": hour.astype(np.int32), "weekday": weekday.astype(np.int32), "gap": gap}

    def _sentiment(self, values: Sequence[float | None]) -> np.ndarray:
        out = np.zeros(len(values), np.int32)
        edges = np.asarray(self.params["sentiment_edges"], np.float64)
        for i, v in enumerate(values):
            if v is None:
                continue  # no review: unknown
            if isinstance(v, bool) or not isinstance(v, int | float) or not -1.0 <= v <= 1.0:
                raise ContextInputError(
                    f"sentiment[{i}]", f"expected a VADER compound in [-1, 1] or null, got {v!r}"
                )
            # Rounded to float32 as the training scores are (a value on an edge, e.g. -0.05,
            # then falls in the same bucket as in training).
            value = np.float64(np.float32(v))
            out[i] = 1 + int(np.searchsorted(edges, value, side="right"))
        return out

    def _user(self, user: Mapping) -> np.ndarray:
        age = user.get("age")
        if isinstance(age, str):
            try:
                age = float(age)
            except ValueError:
                raise ContextInputError("user.age", f"expected a number, got {age!r}") from None
        if age is not None and (isinstance(age, bool) or not math.isfinite(age)):
            raise ContextInputError("user.age", f"expected a finite number, got {age!r}")
        gender = user.get("gender")
        occupation = user.get("occupation")
        zipcode = str(user.get("zip") or "").strip()
        ids = {
            "age": 0
            if age is None
            else 1 + int(np.searchsorted(self.params["age_edges"], age, side="right")),
            "gender": self.params["genders"].get(str(gender or "").upper()[:1], 0),
            "occupation": 0
            if occupation is None
            else self.params["occupation_vocabulary"].get(str(occupation), 0),
            "region": 0 if not zipcode else (1 + int(zipcode[0]) if zipcode[0].isdigit() else 11),
        }
        return np.asarray([ids[n] for n in self.spec.users], np.int32)


def review_sentiment(reviews: Sequence[str | None]) -> list[float | None]:
    """VADER compound per review text (None or blank: no review), as training scores them.

    Raises:
        ContextInputError: ``vaderSentiment`` is not installed on this server (``reviews``).
    """
    texts = [r if r and r.strip() else "" for r in reviews]
    if not any(texts):
        return [None] * len(texts)
    try:
        from jaxrec.text.sentiment import vader_compound

        scores = vader_compound(texts, progress=False)
    except ImportError as err:
        raise ContextInputError(
            "reviews", f"scoring review text needs vaderSentiment: {err}"
        ) from err
    return [float(s) if t else None for s, t in zip(scores, texts, strict=True)]
