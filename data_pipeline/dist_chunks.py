"""Splitting a text input into line-aligned byte ranges that workers parse in parallel.

A chunk owns the lines that start inside its byte range `[start, end)`; boundaries are moved
forward to just after a newline, so no line is cut. Lines are numbered 1.. within the chunk;
the driver turns them into file line numbers by adding the line counts of earlier chunks.
Gzip input cannot be split and is one chunk (read through `line_reader.iter_lines`).

Lines are decoded exactly as `line_reader.iter_lines` decodes them (same terminator handling,
same `DataFormatError` for a bad byte), so both engines report the same file/line/field.
"""

import dataclasses
import itertools
import math
import pathlib
from collections.abc import Iterator, Sequence

from data_pipeline.errors import DataFormatError

# The engine must name the same column as `iter_lines` on a bad byte, hence the private helper.
from data_pipeline.line_reader import field_at, is_gzip, iter_lines

_SCAN_BLOCK = 1 << 16


@dataclasses.dataclass(frozen=True)
class Chunk:
    """A byte range of one input file.

    Attributes:
        path: the file.
        index: position of the chunk in the file (0-based).
        start: first byte.
        end: one past the last byte; -1 for a whole gzip file.
    """

    path: pathlib.Path
    index: int
    start: int
    end: int

    @property
    def compressed(self) -> bool:
        """True for a whole gzip file (not split)."""
        return self.end < 0


def _next_line_start(f, offset: int, size: int) -> int:
    """The first line start at or after `offset` (just after a newline), or `size`."""
    if offset <= 0:
        return 0
    f.seek(offset - 1)
    position = offset - 1
    while position < size:
        block = f.read(_SCAN_BLOCK)
        if not block:
            break
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)
    return size


def plan_chunks(path: pathlib.Path, num_chunks: int, max_chunk_bytes: int) -> list[Chunk]:
    """Line-aligned chunks of `path`: at least `num_chunks`, each at most ~`max_chunk_bytes`.

    Args:
        path: an existing file.
        num_chunks: the parallelism wanted (e.g. the cluster's CPU count).
        max_chunk_bytes: upper bound on a chunk's size (a worker holds one chunk in memory).

    Returns:
        Non-empty chunks in file order (one whole-file chunk for gzip or an empty file).
    """
    if is_gzip(path):
        return [Chunk(path, 0, 0, -1)]
    size = path.stat().st_size
    count = max(1, num_chunks, math.ceil(size / max(1, max_chunk_bytes)))
    with path.open("rb") as f:
        cuts = sorted({_next_line_start(f, i * size // count, size) for i in range(count)})
    bounds = [c for c in cuts if c < size] + [size]
    if len(bounds) == 1:  # empty file
        return [Chunk(path, 0, 0, 0)]
    return [Chunk(path, i, start, end) for i, (start, end) in enumerate(itertools.pairwise(bounds))]


def _raw_lines(chunk: Chunk) -> list[bytes]:
    with chunk.path.open("rb") as f:
        f.seek(chunk.start)
        data = f.read(chunk.end - chunk.start)
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()  # the terminator of the last line, not a line
    return lines


def iter_chunk_lines(
    chunk: Chunk,
    *,
    encoding: str = "utf-8",
    sep: str | None = None,
    columns: Sequence[str] = (),
) -> Iterator[tuple[int, str]]:
    """Yields `(line number within the chunk, text)` like `line_reader.iter_lines`.

    Args:
        chunk: the byte range to read.
        encoding: text encoding of every line.
        sep: field separator, only to name the column of an encoding error.
        columns: column names, only to name the field of an encoding error.

    Raises:
        DataFormatError: bad bytes (line number relative to the chunk), or corrupt gzip.
    """
    if chunk.compressed:
        yield from iter_lines(chunk.path, encoding=encoding, sep=sep, columns=columns)
        return
    sep_bytes = None if sep is None else sep.encode(encoding)
    for lineno, raw in enumerate(_raw_lines(chunk), start=1):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as e:
            field = field_at(raw, e.start, sep_bytes, columns)
            bad = raw[e.start : e.start + 1]
            problem = f"invalid {encoding} byte {bad!r} at column {e.start + 1}"
            raise DataFormatError(chunk.path, lineno, field, problem) from e
        yield lineno, text.rstrip("\r\n")
