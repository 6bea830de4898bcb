"""The per-user record stored in the prepared ArrayRecord shards, and split accessors.

One record per user, `msgpack.packb` of a dict (keys in this order):

    {"user": int, "items": bytes (int32 LE), "timestamps": bytes (int64 LE) or b"",
     "ratings": bytes (float32 LE) or b"", "n_train": int, "n_valid": 0|1, "n_test": 0|1}

plus `"reviews": [str, ...]` only when the source has review text, and `"devices": [str, ...]`
only when it has a per-interaction device / location column (context features). `items` is the
user's full chronological sequence of internal item ids (1..I); the first `n_train` items are
training data, the validation target is `items[n_train]` (when `n_valid`), the test target is
`items[n_train + n_valid]` (when `n_test`).
"""

import dataclasses

import msgpack
import numpy as np

_SPLITS = ("valid", "test")


@dataclasses.dataclass(frozen=True)
class UserRecord:
    """One user's sequence and split.

    Attributes:
        user: internal user id (0..U-1).
        items: int32[N] internal item ids in chronological order.
        timestamps: int64[N] seconds, or None when the source has no timestamps.
        ratings: float32[N], or None when the source has no ratings.
        n_train: number of leading training items.
        n_valid: 1 if `items[n_train]` is the validation target, else 0.
        n_test: 1 if `items[n_train + n_valid]` is the test target, else 0.
        reviews: N review texts, or None when the source has none.
        devices: N device / location values, or None when the source has none.
    """

    user: int
    items: np.ndarray
    timestamps: np.ndarray | None
    ratings: np.ndarray | None
    n_train: int
    n_valid: int
    n_test: int
    reviews: list[str] | None = None
    devices: list[str] | None = None

    def __post_init__(self) -> None:
        n = len(self.items)
        if self.n_valid not in (0, 1) or self.n_test not in (0, 1):
            raise ValueError(f"n_valid={self.n_valid}, n_test={self.n_test}: expected 0 or 1")
        if self.n_train < 0 or self.n_train + self.n_valid + self.n_test != n:
            raise ValueError(
                f"n_train={self.n_train} + n_valid={self.n_valid} + n_test={self.n_test} "
                f"!= {n} items"
            )
        for name in ("timestamps", "ratings", "reviews", "devices"):
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"{len(column)} {name} for {n} items")


def _to_bytes(values: np.ndarray | None, dtype: str) -> bytes:
    return b"" if values is None else np.asarray(values).astype(dtype, copy=False).tobytes()


def _from_bytes(data: bytes, dtype: str, native: type) -> np.ndarray:
    return np.frombuffer(data, dtype=dtype).astype(native)


def encode_user_record(record: UserRecord) -> bytes:
    """Serialises a record with msgpack (format in the module docstring)."""
    payload = {
        "user": int(record.user),
        "items": _to_bytes(record.items, "<i4"),
        "timestamps": _to_bytes(record.timestamps, "<i8"),
        "ratings": _to_bytes(record.ratings, "<f4"),
        "n_train": int(record.n_train),
        "n_valid": int(record.n_valid),
        "n_test": int(record.n_test),
    }
    if record.reviews is not None:
        payload["reviews"] = list(record.reviews)
    if record.devices is not None:
        payload["devices"] = list(record.devices)
    return msgpack.packb(payload, use_bin_type=True)


def decode_user_record(data: bytes) -> UserRecord:
    """Parses bytes written by `encode_user_record`; arrays are fresh native-endian copies."""
    payload = msgpack.unpackb(data, raw=False)
    items = _from_bytes(payload["items"], "<i4", np.int32)
    timestamps = payload["timestamps"]
    ratings = payload["ratings"]
    return UserRecord(
        user=payload["user"],
        items=items,
        timestamps=_from_bytes(timestamps, "<i8", np.int64) if timestamps else None,
        ratings=_from_bytes(ratings, "<f4", np.float32) if ratings else None,
        n_train=payload["n_train"],
        n_valid=payload["n_valid"],
        n_test=payload["n_test"],
        reviews=payload.get("reviews"),
        devices=payload.get("devices"),
    )


def train_items(record: UserRecord) -> np.ndarray:
    """int32[n_train]: the training part of the sequence."""
    return record.items[: record.n_train]


def _check_split(split: str) -> None:
    if split not in _SPLITS:
        raise ValueError(f"split={split!r}: expected 'valid' or 'test'")


def history_for(record: UserRecord, split: str) -> np.ndarray:
    """The items a model may see when predicting the `split` target.

    Args:
        record: the user.
        split: `"valid"` -> `items[:n_train]`; `"test"` -> `items[:n_train + n_valid]`.

    Returns:
        int32 array of internal item ids, oldest first.
    """
    _check_split(split)
    end = record.n_train + (record.n_valid if split == "test" else 0)
    return record.items[:end]


def target_for(record: UserRecord, split: str) -> int | None:
    """The held-out item of `split` (`"valid"` or `"test"`), or None if the user has none."""
    _check_split(split)
    if split == "valid":
        return int(record.items[record.n_train]) if record.n_valid else None
    return int(record.items[record.n_train + record.n_valid]) if record.n_test else None
