"""From an `InteractionLog` to per-user sequences: ordering, k-core, id remapping, split.

* Ordering: interactions are grouped by user; within a user they are sorted by timestamp with a
  stable sort, so ties keep their file order; without timestamps the file order is kept.
* Id order: if every raw id of a kind parses as a decimal integer, ids are ordered by numeric
  value, otherwise by first appearance in the file. Internal item ids are 1..I (0 is padding),
  internal user ids 0..U-1; the raw ids are kept alongside.
* `max_users` keeps the first N users in that order, before k-core filtering.
* k-core: users and items with fewer than k interactions are dropped repeatedly until none is left.
* Split: leave-one-out (last item test, second to last validation, the rest training; users with
  fewer than 3 interactions keep everything in training), or the split given by the source.
"""

import dataclasses
import logging

import numpy as np

from data_pipeline.interaction_log import InteractionLog
from data_pipeline.line_reader import is_int_token

logger = logging.getLogger(__name__)

MIN_EVAL_LENGTH = 3


@dataclasses.dataclass
class SequenceTable:
    """All users' sequences in internal ids, grouped by user in internal user id order.

    Attributes:
        user_raw: raw id of each internal user id (length U).
        item_raw: raw id of internal item id `i + 1` at index `i` (length I).
        offsets: int64[U + 1]; user `u` owns positions `offsets[u]:offsets[u + 1]`.
        items: int32[N] internal item ids.
        timestamps: int64[N] or None.
        ratings: float32[N] or None.
        reviews: N review texts or None.
        n_train: int64[U]; n_valid, n_test: int64[U] with values 0 or 1.
        devices: N device / location values or None.
    """

    user_raw: list[str]
    item_raw: list[str]
    offsets: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray | None
    ratings: np.ndarray | None
    reviews: list[str] | None
    n_train: np.ndarray
    n_valid: np.ndarray
    n_test: np.ndarray
    devices: list[str] | None = None

    @property
    def num_users(self) -> int:
        """Number of users U."""
        return len(self.user_raw)

    @property
    def num_items(self) -> int:
        """Number of items I (internal ids 1..I)."""
        return len(self.item_raw)


def factorize(raw: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes raw ids 0..K-1 by first appearance; returns (int64 codes, unique raw ids)."""
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(r, len(index)) for r in raw), np.int64, len(raw))
    return codes, list(index)


def id_rank(uniques: list[str]) -> np.ndarray:
    """int64 rank per unique id: numeric order if all are integers, else first appearance."""
    if not all(is_int_token(u) for u in uniques):
        return np.arange(len(uniques), dtype=np.int64)
    order = sorted(range(len(uniques)), key=lambda k: int(uniques[k]))
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    return rank


def kcore_mask(users: np.ndarray, items: np.ndarray, k: int, keep: np.ndarray) -> np.ndarray:
    """Iterative k-core: bool mask of interactions whose user and item both have >= k.

    Args:
        users: int64[N] user codes.
        items: int64[N] item codes.
        k: minimum number of interactions per user and per item.
        keep: bool[N] interactions to start from.

    Returns:
        bool[N], a subset of `keep`, at the fixpoint.
    """
    mask = keep.copy()
    rounds = 0
    while True:
        rounds += 1
        user_count = np.bincount(users[mask], minlength=users.max(initial=0) + 1)
        item_count = np.bincount(items[mask], minlength=items.max(initial=0) + 1)
        new = mask & (user_count[users] >= k) & (item_count[items] >= k)
        if new.sum() == mask.sum():
            logger.info(
                "%d-core: %d of %d interactions after %d rounds", k, new.sum(), len(new), rounds
            )
            return new
        mask = new


def _remap(codes: np.ndarray, mask: np.ndarray, rank: np.ndarray, start: int) -> np.ndarray:
    """New contiguous ids (from `start`, in rank order) per code; -1 for dropped codes."""
    present = np.zeros(len(rank), dtype=bool)
    present[codes[mask]] = True
    kept = np.flatnonzero(present)
    kept = kept[np.argsort(rank[kept], kind="stable")]
    new_id = np.full(len(rank), -1, dtype=np.int64)
    new_id[kept] = np.arange(start, start + len(kept))
    return new_id


def _raw_ids(new_id: np.ndarray, uniques: list[str]) -> list[str]:
    """Raw ids of the kept codes, in new-id order."""
    kept = np.flatnonzero(new_id >= 0)
    return [uniques[c] for c in kept[np.argsort(new_id[kept])]]


def _first_users(codes: np.ndarray, rank: np.ndarray, max_users: int | None) -> np.ndarray:
    if max_users is None:
        return np.ones(len(codes), dtype=bool)
    if max_users < 1:
        raise ValueError(f"max_users={max_users}: must be >= 1")
    return rank[codes] < max_users


def _split_counts(lengths: np.ndarray, user_raw: list[str], given: dict | None) -> tuple:
    if given is None:
        has_eval = (lengths >= MIN_EVAL_LENGTH).astype(np.int64)
        return lengths - 2 * has_eval, has_eval, has_eval.copy()
    n_valid = np.array([given[u]["n_valid"] for u in user_raw], dtype=np.int64)
    n_test = np.array([given[u]["n_test"] for u in user_raw], dtype=np.int64)
    n_train = np.array([given[u]["n_train"] for u in user_raw], dtype=np.int64)
    if not np.array_equal(n_train + n_valid + n_test, lengths):
        raise ValueError("the given split does not cover every interaction of every user")
    return n_train, n_valid, n_test


def build_sequences(
    log: InteractionLog, *, kcore: int | None = None, max_users: int | None = None
) -> SequenceTable:
    """Orders, filters, remaps and splits an interaction log (see the module docstring).

    Args:
        log: the reader's output.
        kcore: minimum interactions per user and item (iterated to a fixpoint), or None.
        max_users: keep only the first N users (in id order), or None for all.

    Returns:
        The sequences in internal ids.

    Raises:
        ValueError: k-core requested on pre-split data, bad arguments, or nothing left.
    """
    if kcore is not None and log.given_split is not None:
        raise ValueError("kcore filtering would break the split given by the source")
    user_codes, user_uniques = factorize(log.users)
    item_codes, item_uniques = factorize(log.items)
    user_rank, item_rank = id_rank(user_uniques), id_rank(item_uniques)
    mask = _first_users(user_codes, user_rank, max_users)
    if kcore is not None:
        mask = kcore_mask(user_codes, item_codes, kcore, mask)
    if not mask.any():
        raise ValueError("no interactions left after filtering")
    user_id = _remap(user_codes, mask, user_rank, 0)
    item_id = _remap(item_codes, mask, item_rank, 1)
    positions = np.flatnonzero(mask)
    if log.timestamps is not None:
        positions = positions[np.argsort(log.timestamps[positions], kind="stable")]
    positions = positions[np.argsort(user_id[user_codes[positions]], kind="stable")]
    user_raw, item_raw = _raw_ids(user_id, user_uniques), _raw_ids(item_id, item_uniques)
    lengths = np.bincount(user_id[user_codes[positions]], minlength=len(user_raw))
    n_train, n_valid, n_test = _split_counts(lengths, user_raw, log.given_split)
    return SequenceTable(
        user_raw=user_raw,
        item_raw=item_raw,
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        items=item_id[item_codes[positions]].astype(np.int32),
        timestamps=None if log.timestamps is None else log.timestamps[positions],
        ratings=None if log.ratings is None else log.ratings[positions],
        reviews=None if log.reviews is None else [log.reviews[p] for p in positions],
        n_train=n_train,
        n_valid=n_valid,
        n_test=n_test,
        devices=None if log.devices is None else [log.devices[p] for p in positions],
    )
