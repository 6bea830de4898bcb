"""Writing a prepared dataset directory atomically.

Everything is built in a temporary sibling, `out_dir.parent / f".{out_dir.name}.tmp-<pid>"`,
and moved into place with `os.replace` only when complete. A previous prepared dataset at
`out_dir` is replaced (moved aside first, restored if the final move fails); any other existing
non-empty path is refused. On error the temporary directory is removed, so a failed run leaves
neither `out_dir` nor the temporary directory behind.
"""

import contextlib
import hashlib
import json
import logging
import math
import os
import pathlib
import shutil
from collections.abc import Iterable, Iterator

import numpy as np
from array_record.python.array_record_module import ArrayRecordWriter

from data_pipeline.records import UserRecord, encode_user_record
from data_pipeline.sequencing import SequenceTable

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
ITEMS_FILE = "items.jsonl"
USERS_FILE = "users.jsonl"
CREATED_BY = "jaxrec data prepare"
USERS_PER_SHARD = 50_000
WRITER_OPTIONS = "group_size:1"


def is_prepared_dataset(path: pathlib.Path) -> bool:
    """True when `path` holds a manifest written by `prepare`."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("created_by") == CREATED_BY


def check_replaceable(out_dir: pathlib.Path) -> None:
    """Raises FileExistsError unless `out_dir` is absent, empty or a prepared dataset."""
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    is_real_dir = out_dir.is_dir() and not out_dir.is_symlink()
    if is_real_dir and (not any(out_dir.iterdir()) or is_prepared_dataset(out_dir)):
        return
    raise FileExistsError(
        f"{out_dir} exists and is not a prepared dataset (no {MANIFEST} written by "
        f"'{CREATED_BY}'); refusing to replace it. Choose another --out or remove it."
    )


def _move_into_place(tmp: pathlib.Path, out_dir: pathlib.Path) -> None:
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        os.replace(old, out_dir)
        raise
    shutil.rmtree(old)


@contextlib.contextmanager
def atomic_directory(out_dir: pathlib.Path) -> Iterator[pathlib.Path]:
    """Yields a temporary directory that becomes `out_dir` when the block succeeds.

    Args:
        out_dir: the final location.

    Yields:
        The temporary directory to fill.

    Raises:
        FileExistsError: `out_dir` exists and is not a prepared dataset.
    """
    check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        _move_into_place(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def shard_names(num_users: int, users_per_shard: int = USERS_PER_SHARD) -> list[str]:
    """File names of the shards for `num_users` users."""
    count = max(1, math.ceil(num_users / users_per_shard))
    return [f"sequences-{i:05d}-of-{count:05d}.array_record" for i in range(count)]


def _user_record(table: SequenceTable, user: int) -> UserRecord:
    start, end = table.offsets[user], table.offsets[user + 1]
    return UserRecord(
        user=user,
        items=table.items[start:end],
        timestamps=None if table.timestamps is None else table.timestamps[start:end],
        ratings=None if table.ratings is None else table.ratings[start:end],
        n_train=int(table.n_train[user]),
        n_valid=int(table.n_valid[user]),
        n_test=int(table.n_test[user]),
        reviews=None if table.reviews is None else table.reviews[start:end],
        devices=None if table.devices is None else table.devices[start:end],
    )


def write_shards(table: SequenceTable, directory: pathlib.Path, names: list[str]) -> None:
    """Writes one record per user, in user order, split evenly over the named shards."""
    bounds = np.linspace(0, table.num_users, len(names) + 1).round().astype(int)
    for name, start, end in zip(names, bounds[:-1], bounds[1:], strict=True):
        writer = ArrayRecordWriter(str(directory / name), WRITER_OPTIONS)
        try:
            for user in range(start, end):
                writer.write(encode_user_record(_user_record(table, user)))
        finally:
            writer.close()


def write_jsonl(path: pathlib.Path, rows: Iterable[dict]) -> None:
    """Writes one compact JSON object per line (UTF-8, keys in insertion order)."""
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def write_json(path: pathlib.Path, data: dict) -> None:
    """Writes an indented JSON document (UTF-8)."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def file_digest(path: pathlib.Path) -> dict:
    """`{"path", "bytes", "sha256"}` of an input file."""
    sha = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return {"path": str(path.resolve()), "bytes": path.stat().st_size, "sha256": sha.hexdigest()}
