"""`PreparedDataset`: read access to a directory written by `prepare`.

ds = PreparedDataset.open("data/ml-1m")
source = ds.source()                    # grain random-access source of raw record bytes
rec = decode_user_record(source[0])     # user 0
ds.item_raw_ids()[rec.items[0]]         # raw id of that user's first item
"""

import functools
import json
import os
import pathlib
from collections.abc import Iterator

import grain
import numpy as np
from array_record.python.array_record_module import ArrayRecordReader

from data_pipeline.errors import DataFormatError
from data_pipeline.output import CREATED_BY, ITEMS_FILE, MANIFEST, USERS_FILE
from data_pipeline.records import UserRecord, decode_user_record, train_items

SUPPORTED_FORMAT_VERSIONS = (1,)
PAD_RAW_ID = "<pad>"
_REQUIRED_KEYS = ("format_version", "num_users", "num_items", "num_interactions", "shards")
_POPULARITY_SPLITS = ("valid", "test")


def _load_manifest(path: pathlib.Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFormatError(path, None, None, "missing: not a prepared dataset") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataFormatError(path, None, None, f"unreadable: {e}") from e
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataFormatError(path, e.lineno, None, f"corrupt JSON: {e.msg}") from e
    if not isinstance(manifest, dict):
        raise DataFormatError(path, None, None, "expected a JSON object")
    for key in _REQUIRED_KEYS:
        if key not in manifest:
            raise DataFormatError(path, None, key, "missing manifest field")
    version = manifest["format_version"]
    if version not in SUPPORTED_FORMAT_VERSIONS:
        problem = f"unknown format_version {version!r}; this code reads {SUPPORTED_FORMAT_VERSIONS}"
        raise DataFormatError(path, None, "format_version", problem)
    if manifest.get("created_by") != CREATED_BY:
        raise DataFormatError(path, None, "created_by", f"expected {CREATED_BY!r}")
    return manifest


def _read_jsonl(path: pathlib.Path, first_id: int, count: int) -> list[dict]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DataFormatError(path, None, None, f"unreadable: {e}") from e
    for lineno, line in enumerate(lines, start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataFormatError(path, lineno, None, f"corrupt JSON: {e.msg}") from e
        if row.get("id") != first_id + lineno - 1:
            raise DataFormatError(path, lineno, "id", f"expected id {first_id + lineno - 1}")
        rows.append(row)
    if len(rows) != count:
        raise DataFormatError(path, None, None, f"{len(rows)} rows, manifest says {count}")
    return rows


class PreparedDataset:
    """A prepared dataset directory (shards + items.jsonl + users.jsonl + manifest.json)."""

    def __init__(self, directory: pathlib.Path, manifest: dict) -> None:
        self._directory = directory
        self._manifest = manifest

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> "PreparedDataset":
        """Opens and validates a prepared dataset.

        Args:
            directory: a directory written by `prepare`.

        Returns:
            The dataset.

        Raises:
            DataFormatError: missing, corrupt or unsupported manifest, or a missing shard.
        """
        directory = pathlib.Path(directory)
        if not directory.is_dir():
            raise DataFormatError(directory, None, None, "prepared dataset folder not found")
        manifest = _load_manifest(directory / MANIFEST)
        for name in manifest["shards"]:
            if not (directory / name).is_file():
                raise DataFormatError(
                    directory / name, None, None, "shard listed in manifest is missing"
                )
        return cls(directory, manifest)

    @property
    def directory(self) -> pathlib.Path:
        """The dataset directory."""
        return self._directory

    @property
    def manifest(self) -> dict:
        """The parsed `manifest.json`."""
        return self._manifest

    @property
    def num_users(self) -> int:
        """Number of users U (internal ids 0..U-1)."""
        return int(self._manifest["num_users"])

    @property
    def num_items(self) -> int:
        """Number of items I (internal ids 1..I; 0 is padding)."""
        return int(self._manifest["num_items"])

    @property
    def shard_paths(self) -> list[pathlib.Path]:
        """The ArrayRecord shards, in user order."""
        return [self._directory / name for name in self._manifest["shards"]]

    def source(self) -> grain.sources.ArrayRecordDataSource:
        """A grain random-access source; element `u` is user `u`'s record bytes."""
        return grain.sources.ArrayRecordDataSource([str(p) for p in self.shard_paths])

    def records(self) -> Iterator[UserRecord]:
        """Yields every user's decoded record, in internal user id order."""
        for path in self.shard_paths:
            reader = ArrayRecordReader(str(path))
            try:
                for data in reader.read_all():
                    yield decode_user_record(data)
            finally:
                reader.close()

    @functools.cached_property
    def _train_lengths(self) -> np.ndarray:
        return np.array([rec.n_train for rec in self.records()], dtype=np.int64)

    def train_lengths(self) -> np.ndarray:
        """int64[U]: training items per user (decoded once, then cached)."""
        return self._train_lengths

    @functools.cached_property
    def _items(self) -> list[dict]:
        return _read_jsonl(self._directory / ITEMS_FILE, 1, self.num_items)

    @functools.cached_property
    def _users(self) -> list[dict]:
        return _read_jsonl(self._directory / USERS_FILE, 0, self.num_users)

    def item_raw_ids(self) -> list[str]:
        """Raw item ids indexed by internal id; index 0 is `"<pad>"`."""
        return [PAD_RAW_ID] + [row["raw_id"] for row in self._items]

    def user_raw_ids(self) -> list[str]:
        """Raw user ids indexed by internal user id."""
        return [row["raw_id"] for row in self._users]

    def item_info(self) -> list[dict]:
        """Side information indexed by internal item id (index 0, padding, is `{}`)."""
        rest = [{k: v for k, v in row.items() if k not in ("id", "raw_id")} for row in self._items]
        return [{}, *rest]

    def user_info(self) -> list[dict]:
        """Attributes indexed by internal user id (`{}` when the source has none)."""
        return [{k: v for k, v in row.items() if k not in ("id", "raw_id")} for row in self._users]

    def item_popularity(self, split: str = "test") -> np.ndarray:
        """int64[I + 1]: interactions per item in the training part of every user.

        Only `items[:n_train]` is counted, for either split, so neither the validation nor the
        test targets leak into the popularity (the MostPop baseline). Index 0 (padding) is 0.

        Args:
            split: `"valid"` or `"test"`, the split being evaluated.

        Returns:
            Counts per internal item id.
        """
        if split not in _POPULARITY_SPLITS:
            raise ValueError(f"split={split!r}: expected 'valid' or 'test'")
        parts = [train_items(record) for record in self.records()]
        items = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        return np.bincount(items, minlength=self.num_items + 1).astype(np.int64)
