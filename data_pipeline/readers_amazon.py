"""Reader for Amazon review dumps (McAuley lab), JSON lines, optionally gzip-compressed.

Required per line: `reviewerID` (user), `asin` (item), `overall` (star rating) and
`unixReviewTime` (timestamp, seconds). Optional: `summary` and `reviewText`, which become the
review text of the interaction: `"{summary}. {reviewText}"`, where the `". "` is reduced to
`" "` if the summary already ends in `.`, `!` or `?`, and a missing or blank part is dropped
(so the text may be just the summary, just the review, or `""`).
"""

import json
import pathlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from data_pipeline.errors import DataFormatError
from data_pipeline.interaction_log import InteractionLog
from data_pipeline.line_reader import iter_lines, require_file, require_nonempty

_SENTENCE_END = (".", "!", "?")


def review_text(summary: str, body: str) -> str:
    """Joins a review's summary and body into one text (see the module docstring)."""
    summary, body = summary.strip(), body.strip()
    if not summary or not body:
        return summary or body
    joiner = " " if summary.endswith(_SENTENCE_END) else ". "
    return f"{summary}{joiner}{body}"


def _required(record: dict, name: str, kind: type | tuple[type, ...], path, lineno) -> Any:
    if name not in record:
        raise DataFormatError(path, lineno, name, "missing required field")
    value = record[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        problem = f"expected {getattr(kind, '__name__', 'a number')}, got {value!r}"
        raise DataFormatError(path, lineno, name, problem)
    return value


def _optional_text(record: dict, name: str, path, lineno) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DataFormatError(path, lineno, name, f"expected a string, got {value!r}")
    return value


def parse_review_lines(
    path: pathlib.Path,
    lines: Iterable[tuple[int, str]],
    users: list[str],
    items: list[str],
    ratings: list[float],
    timestamps: list[int],
    reviews: list[str],
) -> None:
    """Appends each JSON review line's fields to the lists (blank lines are skipped).

    Shared by ``read_amazon_reviews`` and the Ray engine's chunk parser, so both accept and
    reject exactly the same lines.

    Raises:
        DataFormatError: a JSON syntax error, a line that is not an object, or a missing /
            mistyped required field (naming the file and line).
    """
    for lineno, text in lines:
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as e:
            problem = f"invalid JSON: {e.msg} (column {e.colno})"
            raise DataFormatError(path, lineno, None, problem) from e
        if not isinstance(record, dict):
            raise DataFormatError(path, lineno, None, "expected a JSON object")
        users.append(_required(record, "reviewerID", str, path, lineno))
        items.append(_required(record, "asin", str, path, lineno))
        ratings.append(float(_required(record, "overall", (int, float), path, lineno)))
        timestamps.append(_required(record, "unixReviewTime", int, path, lineno))
        summary = _optional_text(record, "summary", path, lineno)
        reviews.append(review_text(summary, _optional_text(record, "reviewText", path, lineno)))


def read_amazon_reviews(input_path: str | pathlib.Path) -> InteractionLog:
    """Reads an Amazon review file (JSON lines, plain or gzip).

    Args:
        input_path: the `.json` / `.json.gz` file.

    Returns:
        Reviews in file order with timestamps, ratings and review texts. No item or user side
        information (the review files carry none).

    Raises:
        DataFormatError: missing or empty file, truncated gzip, bad UTF-8, a JSON syntax error,
            a line that is not an object, or a missing / mistyped required field.
    """
    path = require_file(input_path)
    users: list[str] = []
    items: list[str] = []
    ratings: list[float] = []
    timestamps: list[int] = []
    reviews: list[str] = []
    parse_review_lines(path, iter_lines(path), users, items, ratings, timestamps, reviews)
    require_nonempty(len(users), path)
    return InteractionLog(
        users=users,
        items=items,
        timestamps=np.asarray(timestamps, dtype=np.int64),
        ratings=np.asarray(ratings, dtype=np.float32),
        reviews=reviews,
        inputs=[path],
    )
