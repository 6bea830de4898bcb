"""Parsing one chunk of an interaction file into per-user-partition columns (Ray-free).

Every parser here reproduces, line for line, the loop of the single-machine reader it names
(same skipping of blank lines, same canonical ids, same checks in the same order), so the two
engines read the same interactions and raise the same `DataFormatError`. Records are routed to
user partitions by a stable hash of the raw user id (`partition_of`), and each record carries
its index within the chunk, which the driver turns into a global file-order index.

| kind       | sources          | single-machine loop                        |
|------------|------------------|--------------------------------------------|
| `pairs`    | `sasrec-txt`     | `readers_text.read_sasrec_txt`             |
| `sequence` | `s3rec-txt`      | `readers_text.read_s3rec_txt`              |
| `ratings`  | `movielens`      | `readers_movielens._read_ratings`          |
| `amazon`   | `amazon-reviews` | `readers_amazon.read_amazon_reviews`       |
"""

import dataclasses
import zlib

import numpy as np

from data_pipeline.dist_chunks import Chunk, iter_chunk_lines
from data_pipeline.errors import DataFormatError

# Private helpers of the readers: the engine must check fields exactly as they do.
from data_pipeline.readers_amazon import parse_review_lines
from data_pipeline.readers_movielens import RATING_COLUMNS, parse_rating_lines
from data_pipeline.readers_text import PAIR_COLUMNS, parse_pair_lines, parse_sequence_lines


@dataclasses.dataclass
class Columns:
    """Interactions of one piece, in file order.

    Attributes:
        users: raw user id per record.
        items: raw item id per record.
        index: int64[n] record index (within the chunk after parsing; in the whole file once
            grouped), ascending.
        timestamps: int64[n] or None.
        ratings: float32[n] or None.
        reviews: n review texts or None.
    """

    users: list[str]
    items: list[str]
    index: np.ndarray
    timestamps: np.ndarray | None = None
    ratings: np.ndarray | None = None
    reviews: list[str] | None = None

    def take(self, rows: np.ndarray) -> "Columns":
        """The records at `rows` (int64 positions), in that order."""
        pick = rows.tolist()
        return Columns(
            users=[self.users[r] for r in pick],
            items=[self.items[r] for r in pick],
            index=self.index[rows],
            timestamps=None if self.timestamps is None else self.timestamps[rows],
            ratings=None if self.ratings is None else self.ratings[rows],
            reviews=None if self.reviews is None else [self.reviews[r] for r in pick],
        )


@dataclasses.dataclass
class ChunkSummary:
    """What the driver needs from a parsed chunk: sizes, or the first error.

    Attributes:
        lines: lines read (all of the chunk's lines unless `error`).
        records: interactions parsed.
        error: the first malformed line (line number relative to the chunk), or None.
    """

    lines: int
    records: int
    error: DataFormatError | None = None


def partition_of(user: str, num_partitions: int) -> int:
    """Stable partition of a raw user id (the same in every process, unlike `hash`)."""
    return zlib.crc32(user.encode("utf-8")) % num_partitions


class _Rows:
    """Column lists being filled by a parser, plus the number of lines seen."""

    def __init__(self, timestamps: bool, ratings: bool, reviews: bool) -> None:
        self.lines = 0
        self.users: list[str] = []
        self.items: list[str] = []
        self.timestamps: list[int] | None = [] if timestamps else None
        self.ratings: list[float] | None = [] if ratings else None
        self.reviews: list[str] | None = [] if reviews else None

    def lines_of(self, chunk: Chunk, **kwargs):
        for lineno, text in iter_chunk_lines(chunk, **kwargs):
            self.lines = lineno
            yield lineno, text

    def columns(self) -> Columns:
        return Columns(
            users=self.users,
            items=self.items,
            index=np.arange(len(self.users), dtype=np.int64),
            timestamps=None if self.timestamps is None else np.asarray(self.timestamps, np.int64),
            ratings=None if self.ratings is None else np.asarray(self.ratings, np.float32),
            reviews=self.reviews,
        )


def _parse_pairs(chunk: Chunk, out: _Rows, options: dict) -> None:
    lines = out.lines_of(chunk, columns=PAIR_COLUMNS)
    parse_pair_lines(chunk.path, lines, out.users, out.items)


def _parse_sequence(chunk: Chunk, out: _Rows, options: dict) -> None:
    lines = out.lines_of(chunk, columns=PAIR_COLUMNS)
    parse_sequence_lines(chunk.path, lines, out.users, out.items)


def _parse_ratings(chunk: Chunk, out: _Rows, options: dict) -> None:
    sep = options["sep"]
    lines = out.lines_of(chunk, encoding=options["encoding"], sep=sep, columns=RATING_COLUMNS)
    parse_rating_lines(chunk.path, lines, sep, out.users, out.items, out.ratings, out.timestamps)


def _parse_amazon(chunk: Chunk, out: _Rows, options: dict) -> None:
    parse_review_lines(
        chunk.path,
        out.lines_of(chunk),
        out.users,
        out.items,
        out.ratings,
        out.timestamps,
        out.reviews,
    )


# kind -> (parser, has timestamps, has ratings, has reviews)
PARSERS = {
    "pairs": (_parse_pairs, False, False, False),
    "sequence": (_parse_sequence, False, False, False),
    "ratings": (_parse_ratings, True, True, False),
    "amazon": (_parse_amazon, True, True, True),
}


def parse_chunk(
    kind: str, chunk: Chunk, num_partitions: int, options: dict | None = None
) -> tuple[ChunkSummary, ...]:
    """Parses one chunk and splits its records by user partition.

    Args:
        kind: one of `PARSERS`.
        chunk: the byte range to parse.
        num_partitions: number of user partitions P.
        options: parser options (`ratings`: `sep` and `encoding`).

    Returns:
        `(summary, piece_0, ..., piece_{P-1})`: the summary, then P `Columns` whose `index` is
        the record's index within the chunk. On a malformed line the summary holds the error
        and the pieces are empty (the driver raises it once it knows the line offset).
    """
    parser, timestamps, ratings, reviews = PARSERS[kind]
    out = _Rows(timestamps, ratings, reviews)
    try:
        parser(chunk, out, options or {})
    except DataFormatError as e:
        empty = _Rows(timestamps, ratings, reviews).columns()
        return (ChunkSummary(out.lines, 0, e), *([empty] * num_partitions))
    columns = out.columns()
    cache: dict[str, int] = {}
    parts = np.empty(len(columns.users), dtype=np.int64)
    for row, user in enumerate(columns.users):
        part = cache.get(user)
        if part is None:
            part = cache[user] = partition_of(user, num_partitions)
        parts[row] = part
    pieces = [columns.take(np.flatnonzero(parts == p)) for p in range(num_partitions)]
    return (ChunkSummary(out.lines, len(columns.users)), *pieces)
