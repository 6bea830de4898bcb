"""The per-partition steps of the distributed `prepare` (Ray-free, pure functions of their inputs).

A user partition holds every interaction of the users that `dist_parse.partition_of` routes to
it, in file order with global record indices, so per-user work (counts, ordering, split) needs
no further exchange. Items span partitions: their counts and first appearances are summed by
item partitions (`count_items` -> `items_below`, `item_summary` -> `merge_items`).

The rules are those of `sequencing.build_sequences`, restated per partition:

* id order: numeric when every raw id of the kind is an integer (ties by first appearance),
  else first appearance in the file (`id_order`);
* k-core: drop users and items below k until nothing changes; the result is the unique largest
  sub-log where every kept user and item has >= k interactions, so it does not matter that the
  rounds run partition by partition;
* within a user: stable sort by timestamp, ties (and logs without timestamps) in file order;
* leave-one-out split with `sequencing.MIN_EVAL_LENGTH`.
"""

import dataclasses

import numpy as np

from data_pipeline.dist_parse import Columns, partition_of
from data_pipeline.line_reader import is_int_token
from data_pipeline.sequencing import MIN_EVAL_LENGTH, factorize


@dataclasses.dataclass
class Partition:
    """One user partition, grouped.

    Attributes:
        columns: the partition's interactions; `columns.index` is the global record index;
            `users` and `items` are emptied (the codes below hold them).
        user_codes: int64[n] local user code per interaction (into `user_uniques`).
        user_uniques: raw user ids, by first appearance.
        item_codes: int64[n] local item code per interaction.
        item_uniques: raw item ids, by first appearance in this partition.
        item_first: int64[len(item_uniques)] global index of each item's first interaction here.
    """

    columns: Columns
    user_codes: np.ndarray
    user_uniques: list[str]
    item_codes: np.ndarray
    item_uniques: list[str]
    item_first: np.ndarray


@dataclasses.dataclass
class UserBlock:
    """Final sequences of one partition's kept users, in internal user id order.

    Attributes:
        users: int64[u] internal user ids, ascending.
        lengths: int64[u] interactions per user.
        items: int32[m] internal item ids, user after user.
        timestamps: int64[m] or None; ratings: float32[m] or None; reviews: m texts or None.
        n_train, n_valid, n_test: int64[u] the leave-one-out split.
    """

    users: np.ndarray
    lengths: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray | None
    ratings: np.ndarray | None
    reviews: list[str] | None
    n_train: np.ndarray
    n_valid: np.ndarray
    n_test: np.ndarray


def _first_index(codes: np.ndarray, index: np.ndarray, count: int) -> np.ndarray:
    first = np.empty(count, dtype=np.int64)
    first[codes[::-1]] = index[::-1]  # the earliest write wins
    return first


def _concat(pieces: list[Columns], offsets: np.ndarray) -> Columns:
    def cat(name: str):
        values = [getattr(p, name) for p in pieces]
        return None if values[0] is None else np.concatenate(values)

    def join(name: str):
        values = [getattr(p, name) for p in pieces]
        return None if values[0] is None else [v for piece in values for v in piece]

    return Columns(
        users=join("users"),
        items=join("items"),
        index=np.concatenate([p.index + offsets[c] for c, p in enumerate(pieces)]),
        timestamps=cat("timestamps"),
        ratings=cat("ratings"),
        reviews=join("reviews"),
    )


def group_partition(offsets: np.ndarray, *pieces: Columns) -> Partition:
    """Joins one partition's pieces from every chunk (chunk order) into a `Partition`.

    Args:
        offsets: int64[C] records in the chunks before chunk c.
        *pieces: C `Columns`, piece c from chunk c, with chunk-local indices.
    """
    columns = _concat(list(pieces), offsets)
    user_codes, user_uniques = factorize(columns.users)
    item_codes, item_uniques = factorize(columns.items)
    # The codes replace the per-record strings: later rounds ship the partition again.
    columns.users, columns.items = [], []
    return Partition(
        columns=columns,
        user_codes=user_codes,
        user_uniques=user_uniques,
        item_codes=item_codes,
        item_uniques=item_uniques,
        item_first=_first_index(item_codes, columns.index, len(item_uniques)),
    )


def user_summary(part: Partition) -> tuple[list[str], np.ndarray]:
    """(raw user ids, int64 global index of each one's first interaction)."""
    first = _first_index(part.user_codes, part.columns.index, len(part.user_uniques))
    return part.user_uniques, first


def id_order(raw: list[str], first: np.ndarray, all_int: bool) -> list[int]:
    """Positions of `raw` in id order: numeric (ties by `first`) if `all_int`, else by `first`."""
    if all_int:
        return sorted(range(len(raw)), key=lambda k: (int(raw[k]), int(first[k])))
    return np.argsort(first, kind="stable").tolist()


def all_int_ids(raw: list[str]) -> bool:
    """True when every raw id is a plain decimal integer."""
    return all(is_int_token(r) for r in raw)


def initial_mask(part: Partition, user_keep: np.ndarray | None) -> np.ndarray:
    """bool[n]: the interactions of the users kept by `max_users` (all when None)."""
    if user_keep is None:
        return np.ones(len(part.user_codes), dtype=bool)
    return user_keep[part.user_codes]


def _route(raw: list[str], num_partitions: int) -> np.ndarray:
    return np.fromiter((partition_of(r, num_partitions) for r in raw), np.int64, len(raw))


def count_items(part: Partition, mask: np.ndarray, num_partitions: int) -> tuple:
    """Per item partition: (raw item ids, int64 counts among `mask`) of this partition."""
    counts = np.bincount(part.item_codes[mask], minlength=len(part.item_uniques))
    present = np.flatnonzero(counts)
    routes = _route([part.item_uniques[c] for c in present], num_partitions)
    return tuple(
        ([part.item_uniques[c] for c in present[routes == j]], counts[present[routes == j]])
        for j in range(num_partitions)
    )


def items_below(k: int, *pieces: tuple[list[str], np.ndarray]) -> list[str]:
    """Raw ids of the items of one item partition with fewer than k interactions in total."""
    totals: dict[str, int] = {}
    for raw, counts in pieces:
        for item, count in zip(raw, counts.tolist(), strict=True):
            totals[item] = totals.get(item, 0) + count
    return [item for item, total in totals.items() if total < k]


def apply_kcore(
    part: Partition, mask: np.ndarray, k: int, *dropped_items: list[str]
) -> tuple[np.ndarray, int]:
    """One k-core round: (new mask, interactions removed) given the items below k."""
    user_count = np.bincount(part.user_codes[mask], minlength=len(part.user_uniques))
    dropped = set().union(*dropped_items)
    item_bad = np.fromiter(
        (r in dropped for r in part.item_uniques), dtype=bool, count=len(part.item_uniques)
    )
    new = mask & (user_count[part.user_codes] >= k) & ~item_bad[part.item_codes]
    return new, int(mask.sum() - new.sum())


def kept_users(part: Partition, mask: np.ndarray) -> np.ndarray:
    """bool[len(user_uniques)]: users with at least one kept interaction."""
    kept = np.zeros(len(part.user_uniques), dtype=bool)
    kept[part.user_codes[mask]] = True
    return kept


def item_summary(part: Partition, mask: np.ndarray, num_partitions: int) -> tuple:
    """Per item partition: (raw item ids, int64 first global index, bool kept) of this partition."""
    kept = np.zeros(len(part.item_uniques), dtype=bool)
    kept[part.item_codes[mask]] = True
    routes = _route(part.item_uniques, num_partitions)
    out = []
    for j in range(num_partitions):
        rows = np.flatnonzero(routes == j)
        out.append(([part.item_uniques[r] for r in rows], part.item_first[rows], kept[rows]))
    return tuple(out)


def merge_items(*pieces: tuple) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One item partition's (raw ids, first global index, kept anywhere) over all partitions."""
    first: dict[str, int] = {}
    kept: dict[str, bool] = {}
    for raw, firsts, keeps in pieces:
        for item, f, k in zip(raw, firsts.tolist(), keeps.tolist(), strict=True):
            first[item] = min(f, first.get(item, f))
            kept[item] = k or kept.get(item, False)
    raw_ids = list(first)
    return (
        raw_ids,
        np.array([first[r] for r in raw_ids], dtype=np.int64),
        np.array([kept[r] for r in raw_ids], dtype=bool),
    )


def finalize(
    part: Partition, mask: np.ndarray, user_ids: np.ndarray, item_ids: dict[str, int]
) -> UserBlock:
    """Remaps, orders and splits the kept interactions of one partition.

    Args:
        part: the partition.
        mask: bool[n] kept interactions.
        user_ids: int64[len(user_uniques)] internal id of each local user (-1 if dropped).
        item_ids: raw item id -> internal id (1..I) of every kept item.
    """
    cols = part.columns
    positions = np.flatnonzero(mask)
    uid = user_ids[part.user_codes[positions]]
    keys = [cols.index[positions]]
    if cols.timestamps is not None:
        keys.append(cols.timestamps[positions])
    positions = positions[np.lexsort([*keys, uid])]
    users, lengths = np.unique(user_ids[part.user_codes[positions]], return_counts=True)
    local_items = np.array([item_ids.get(r, -1) for r in part.item_uniques], dtype=np.int64)
    has_eval = (lengths >= MIN_EVAL_LENGTH).astype(np.int64)
    return UserBlock(
        users=users.astype(np.int64),
        lengths=lengths.astype(np.int64),
        items=local_items[part.item_codes[positions]].astype(np.int32),
        timestamps=None if cols.timestamps is None else cols.timestamps[positions],
        ratings=None if cols.ratings is None else cols.ratings[positions],
        reviews=None if cols.reviews is None else [cols.reviews[p] for p in positions.tolist()],
        n_train=lengths.astype(np.int64) - 2 * has_eval,
        n_valid=has_eval,
        n_test=has_eval.copy(),
    )
