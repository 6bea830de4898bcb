"""Line-by-line reading of text inputs that turns every low-level failure into `DataFormatError`.

Files are read as bytes and decoded one line at a time, so an encoding error is reported with
its line number and column (field). Gzip input is recognised by its magic bytes or a `.gz`
suffix; a truncated or corrupt stream is reported at the line where reading stopped.
"""

import contextlib
import gzip
import json
import os
import pathlib
import re
import zlib
from collections.abc import Iterator, Sequence
from typing import IO, Any

from data_pipeline.errors import DataFormatError

GZIP_MAGIC = b"\x1f\x8b"
_INT_RE = re.compile(r"[+-]?[0-9]+")


def require_file(path: str | os.PathLike[str]) -> pathlib.Path:
    """Returns `path` as a Path, or raises DataFormatError if it is not an existing file."""
    path = pathlib.Path(path)
    if not path.exists():
        raise DataFormatError(path, None, None, "input file not found")
    if not path.is_file():
        raise DataFormatError(path, None, None, "expected a file, found a folder or special file")
    return path


def require_dir(path: str | os.PathLike[str]) -> pathlib.Path:
    """Returns `path` as a Path, or raises DataFormatError if it is not an existing folder."""
    path = pathlib.Path(path)
    if not path.exists():
        raise DataFormatError(path, None, None, "input folder not found")
    if not path.is_dir():
        raise DataFormatError(path, None, None, "expected a folder, found a file")
    return path


def is_gzip(path: pathlib.Path) -> bool:
    """True when the file starts with the gzip magic bytes or is named `*.gz`."""
    with path.open("rb") as f:
        return f.read(2) == GZIP_MAGIC or path.suffix == ".gz"


@contextlib.contextmanager
def _open_binary(path: pathlib.Path) -> Iterator[IO[bytes]]:
    if is_gzip(path):
        with gzip.open(path, "rb") as f:
            yield f
    else:
        with path.open("rb") as f:
            yield f


def field_at(raw: bytes, offset: int, sep: bytes | None, columns: Sequence[str]) -> str | None:
    """Names the column that contains byte `offset` of a raw line."""
    if not columns:
        return None
    prefix = raw[:offset]
    if sep is None:
        index = len(prefix.split())
        if prefix and not prefix[-1:].isspace():
            index -= 1
    else:
        index = prefix.count(sep)
    return columns[min(max(index, 0), len(columns) - 1)]


def iter_lines(
    path: str | os.PathLike[str],
    *,
    encoding: str = "utf-8",
    sep: str | None = None,
    columns: Sequence[str] = (),
) -> Iterator[tuple[int, str]]:
    r"""Yields `(line_number, text)` for every line of a (possibly gzipped) text file.

    Line numbers are 1-based; the line terminator (`\n` or `\r\n`) is removed. Blank lines
    are yielded too; callers decide whether to skip them.

    Args:
        path: the file to read.
        encoding: text encoding of every line.
        sep: the field separator, used only to name the column of an encoding error
            (None means runs of whitespace).
        columns: column names, used only to name the field of an encoding error; lines with more
            fields than names report the last name.

    Yields:
        `(line_number, text)` pairs.

    Raises:
        DataFormatError: the file is missing, a line is not valid `encoding`, or the gzip stream
            is truncated or corrupt.
    """
    path = require_file(path)
    sep_bytes = None if sep is None else sep.encode(encoding)
    with _open_binary(path) as f:
        lines = iter(f)
        lineno = 0
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except (EOFError, gzip.BadGzipFile, zlib.error) as e:
                problem = f"truncated or corrupt gzip data ({e})"
                raise DataFormatError(path, lineno + 1, None, problem) from e
            lineno += 1
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as e:
                field = field_at(raw, e.start, sep_bytes, columns)
                bad = raw[e.start : e.start + 1]
                problem = f"invalid {encoding} byte {bad!r} at column {e.start + 1}"
                raise DataFormatError(path, lineno, field, problem) from e
            yield lineno, text.rstrip("\r\n")


def parse_int(text: str, path: pathlib.Path, line: int | None, field: str) -> int:
    """Parses a decimal integer field or raises DataFormatError naming file, line and field."""
    try:
        if "_" not in text:  # int() would accept "1_000"
            return int(text)
    except ValueError:
        pass
    raise DataFormatError(path, line, field, f"expected an integer, got {text!r}")


def parse_float(text: str, path: pathlib.Path, line: int | None, field: str) -> float:
    """Parses a float field or raises DataFormatError naming file, line and field."""
    try:
        return float(text)
    except ValueError:
        raise DataFormatError(path, line, field, f"expected a number, got {text!r}") from None


def is_int_token(text: str) -> bool:
    """True when `text` is a plain decimal integer such as `"42"` or `"-3"`."""
    return _INT_RE.fullmatch(text) is not None


def split_fields(
    text: str, sep: str, columns: Sequence[str], path: pathlib.Path, line: int
) -> list[str]:
    """Splits a line into exactly `len(columns)` fields or raises DataFormatError.

    Args:
        text: the line without its terminator.
        sep: field separator.
        columns: the expected column names.
        path: file, for the error message.
        line: 1-based line number, for the error message.

    Returns:
        The fields, as strings.

    Raises:
        DataFormatError: too few fields (naming the first missing column) or too many.
    """
    fields = text.split(sep)
    if len(fields) < len(columns):
        problem = (
            f"missing field: expected {len(columns)} fields separated by {sep!r}, got {len(fields)}"
        )
        raise DataFormatError(path, line, columns[len(fields)], problem)
    if len(fields) > len(columns):
        problem = f"expected {len(columns)} fields separated by {sep!r}, got {len(fields)}"
        raise DataFormatError(path, line, None, problem)
    return fields


def load_json(path: str | os.PathLike[str]) -> Any:
    """Loads one JSON document, mapping syntax and encoding errors to DataFormatError."""
    path = require_file(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataFormatError(path, line, None, f"invalid utf-8 byte at offset {e.start}") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        problem = f"invalid JSON: {e.msg} (column {e.colno})"
        raise DataFormatError(path, e.lineno, None, problem) from e


def require_nonempty(count: int, path: pathlib.Path) -> None:
    """Raises DataFormatError when a file yielded no data rows."""
    if count == 0:
        raise DataFormatError(path, None, None, "file is empty (no data rows)")
