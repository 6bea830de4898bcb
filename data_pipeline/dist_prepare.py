"""`prepare` for logs larger than one machine: the same output, computed in partitions.

`prepare_distributed(..., executor=...)` runs the steps of `data_pipeline.prepare` as tasks:

1. plan line-aligned chunks of the interaction file (`dist_chunks`); parse them in parallel,
   each task routing its records to P user partitions by a stable hash (`dist_parse`);
2. group: one task per user partition joins its pieces in chunk order and turns chunk-local
   record indices into global file-order indices (no sort of the whole log);
3. id order, `max_users` and iterative k-core as distributed counts (`dist_stages`); items are
   counted and merged by item partitions;
4. the driver fixes the id order from per-id summaries (raw ids and first appearances only:
   the sizes of `users.jsonl` and `items.jsonl`), then each partition remaps, orders and
   splits its users;
5. only the per-user arrays come back to the driver, which writes them with the
   single-machine writer (`prepare.write_prepared`, atomic).

The executor decides where tasks run: `SerialExecutor` calls them in this process (tests and
debugging), `ray_prepare.RayExecutor` submits them as Ray tasks. Bad input raises the same
`DataFormatError` (file, line, field) as the single-machine readers: a chunk reports its first
error with a chunk-local line number and the driver adds the lines of the chunks before it.
"""

import logging
import os
import pathlib
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from data_pipeline import dist_stages as stages
from data_pipeline.dist_chunks import plan_chunks
from data_pipeline.dist_parse import parse_chunk
from data_pipeline.dist_sources import locate, read_side
from data_pipeline.errors import DataFormatError
from data_pipeline.line_reader import require_nonempty
from data_pipeline.output import USERS_PER_SHARD
from data_pipeline.prepare import check_arguments, write_and_report
from data_pipeline.sequencing import SequenceTable

logger = logging.getLogger(__name__)

MAX_CHUNK_BYTES = 64 << 20


class Executor(Protocol):
    """Runs the stage functions; `submit` returns handles that `get` turns into values."""

    parallelism: int

    def submit(self, fn: Callable, *args: Any, num_returns: int = 1) -> Any:
        """Starts `fn(*args)`; args may be handles. With `num_returns` > 1, a list of handles."""

    def get(self, handles: Any) -> Any:
        """The value(s) behind a handle or a list of handles."""

    def put(self, value: Any) -> Any:
        """A handle to `value` that many tasks can share."""


class SerialExecutor:
    """Runs every task at once in this process; handles are the values themselves."""

    def __init__(self, parallelism: int = 2) -> None:
        self.parallelism = parallelism

    def submit(self, fn: Callable, *args: Any, num_returns: int = 1) -> Any:
        """Calls `fn(*args)`."""
        result = fn(*args)
        return list(result) if num_returns > 1 else result

    def get(self, handles: Any) -> Any:
        """Returns `handles` unchanged."""
        return handles

    def put(self, value: Any) -> Any:
        """Returns `value` unchanged."""
        return value


def _parse(executor: Executor, path: pathlib.Path, kind: str, options: dict, parts: int):
    chunks = plan_chunks(path, executor.parallelism, MAX_CHUNK_BYTES)
    outputs = [
        executor.submit(parse_chunk, kind, chunk, parts, options, num_returns=parts + 1)
        for chunk in chunks
    ]
    summaries = executor.get([out[0] for out in outputs])
    lines_before = 0
    for summary in summaries:
        if summary.error is not None:
            e = summary.error
            line = None if e.line is None else e.line + lines_before
            raise DataFormatError(e.path, line, e.field, e.problem)
        lines_before += summary.lines
    records = np.array([s.records for s in summaries], dtype=np.int64)
    require_nonempty(int(records.sum()), path)
    offsets = np.concatenate([[0], np.cumsum(records)[:-1]]).astype(np.int64)
    logger.info("parsed %d interactions in %d chunks", records.sum(), len(chunks))
    return [
        executor.submit(stages.group_partition, offsets, *[out[1 + p] for out in outputs])
        for p in range(parts)
    ]


def _only(fn: Callable, *args: Any) -> Any:
    """The single element of the 1-tuple `fn(*args)` returns."""
    (value,) = fn(*args)
    return value


def _exchange(executor, fn, parts_refs, masks, parts, reducer, *reducer_args):
    """Each partition emits one piece per item partition; item partition j reduces pieces j."""
    if parts == 1:  # one return value is the whole tuple, not its element
        pieces = [[executor.submit(_only, fn, parts_refs[0], masks[0], parts)]]
    else:
        pieces = [
            executor.submit(fn, part, mask, parts, num_returns=parts)
            for part, mask in zip(parts_refs, masks, strict=True)
        ]
    return [
        executor.submit(reducer, *reducer_args, *[pieces[p][j] for p in range(parts)])
        for j in range(parts)
    ]


def _kcore(executor: Executor, partitions: list, masks: list, k: int, parts: int) -> list:
    rounds = 0
    while True:
        rounds += 1
        dropped = _exchange(
            executor, stages.count_items, partitions, masks, parts, stages.items_below, k
        )
        outs = [
            executor.submit(stages.apply_kcore, part, mask, k, *dropped, num_returns=2)
            for part, mask in zip(partitions, masks, strict=True)
        ]
        masks = [out[0] for out in outs]
        removed = sum(executor.get([out[1] for out in outs]))
        if removed == 0:
            logger.info("%d-core reached after %d rounds", k, rounds)
            return masks


def _user_order(executor, partitions, max_users):
    """Per partition: raw user ids and their first global index; all-integer flag."""
    summaries = executor.get([executor.submit(stages.user_summary, p) for p in partitions])
    raw = [r for uniques, _ in summaries for r in uniques]
    first = np.concatenate([f for _, f in summaries])
    all_int = stages.all_int_ids(raw)
    return summaries, first, all_int, users_to_keep(summaries, first, all_int, max_users)


def users_to_keep(summaries, first, all_int, max_users) -> list[np.ndarray] | None:
    """Per partition, bool[len(uniques)]: the first `max_users` users in id order (None: all).

    Args:
        summaries: per partition `(raw user ids, first indices)`.
        first: int64[users] the first indices of every partition, concatenated.
        all_int: every raw user id is an integer.
        max_users: how many users to keep, or None.
    """
    if max_users is None:
        return None
    if max_users < 1:
        raise ValueError(f"max_users={max_users}: must be >= 1")
    raw = [r for uniques, _ in summaries for r in uniques]
    flat = np.zeros(len(raw), dtype=bool)
    flat[stages.id_order(raw, first, all_int)[:max_users]] = True
    return np.split(flat, np.cumsum([len(u) for u, _ in summaries])[:-1])


def assemble_table(blocks: list[stages.UserBlock], user_raw: list[str], item_raw: list[str]):
    """The `SequenceTable` of every partition's `UserBlock` (any block order), users by id."""
    users = np.concatenate([b.users for b in blocks])
    lengths = np.concatenate([b.lengths for b in blocks])
    if not np.array_equal(np.sort(users), np.arange(len(user_raw))):
        raise RuntimeError("partitions returned an inconsistent set of users")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    order = np.argsort(users)
    ordered = lengths[order]
    ordered_starts = np.concatenate([[0], np.cumsum(ordered)[:-1]]).astype(np.int64)
    take = np.repeat(starts[order] - ordered_starts, ordered) + np.arange(ordered.sum())

    def gather(name: str):
        values = [getattr(b, name) for b in blocks]
        return None if values[0] is None else np.concatenate(values)[take]

    reviews = None
    if blocks[0].reviews is not None:
        flat = [r for b in blocks for r in b.reviews]
        reviews = [flat[t] for t in take.tolist()]
    return SequenceTable(
        user_raw=user_raw,
        item_raw=item_raw,
        offsets=np.concatenate([[0], np.cumsum(lengths[order])]).astype(np.int64),
        items=gather("items").astype(np.int32),
        timestamps=gather("timestamps"),
        ratings=gather("ratings"),
        reviews=reviews,
        n_train=np.concatenate([b.n_train for b in blocks])[order],
        n_valid=np.concatenate([b.n_valid for b in blocks])[order],
        n_test=np.concatenate([b.n_test for b in blocks])[order],
    )


def _items(executor, partitions, masks, parts) -> tuple[list[str], dict[str, int]]:
    """Kept raw item ids in id order, and raw id -> internal id (1..I)."""
    merged = executor.get(
        _exchange(executor, stages.item_summary, partitions, masks, parts, stages.merge_items)
    )
    raw = [r for uniques, _, _ in merged for r in uniques]
    first = np.concatenate([f for _, f, _ in merged])
    kept = np.concatenate([k for _, _, k in merged])
    order = stages.id_order(raw, first, stages.all_int_ids(raw))
    item_raw = [raw[k] for k in order if kept[k]]
    return item_raw, {r: i for i, r in enumerate(item_raw, start=1)}


def order_users(summaries, first, all_int, kept_parts) -> tuple[list[str], list[np.ndarray]]:
    """Kept raw user ids in id order, and per partition the internal id of each local user."""
    raw = [r for uniques, _ in summaries for r in uniques]
    kept = np.concatenate(kept_parts)
    order = [k for k in stages.id_order(raw, first, all_int) if kept[k]]
    new_id = np.full(len(raw), -1, dtype=np.int64)
    new_id[order] = np.arange(len(order))
    ids = np.split(new_id, np.cumsum([len(u) for u, _ in summaries])[:-1])
    return [raw[k] for k in order], ids


def build_sequences_distributed(
    executor: Executor,
    source: str,
    input_path: str | os.PathLike[str],
    *,
    kcore: int | None = None,
    max_users: int | None = None,
    num_partitions: int | None = None,
):
    """The distributed `sequencing.build_sequences(read(source, input_path))`.

    Args:
        executor: where the tasks run.
        source: a source of `dist_sources.SUPPORTED`.
        input_path: the input file or folder.
        kcore: minimum interactions per user and item, or None.
        max_users: keep the first N users in id order, or None.
        num_partitions: user (and item) partitions; default `executor.parallelism`.

    Returns:
        `(table, side)`: the `SequenceTable` and a log holding only side information and inputs.

    Raises:
        ValueError: unsupported source, bad arguments, or nothing left after filtering.
        DataFormatError: missing or malformed input (same message as the readers).
    """
    input_path = pathlib.Path(input_path)
    path, kind, options = locate(source, input_path)
    parts = max(1, num_partitions or executor.parallelism)
    partitions = _parse(executor, path, kind, options, parts)
    summaries, first, all_int, keep = _user_order(executor, partitions, max_users)
    masks = [
        executor.submit(stages.initial_mask, part, None if keep is None else keep[p])
        for p, part in enumerate(partitions)
    ]
    if kcore is not None:
        masks = _kcore(executor, partitions, masks, kcore, parts)
    kept = executor.get(
        [executor.submit(stages.kept_users, p, m) for p, m in zip(partitions, masks, strict=True)]
    )
    if not any(k.any() for k in kept):
        raise ValueError("no interactions left after filtering")
    item_raw, item_ids = _items(executor, partitions, masks, parts)
    user_raw, user_ids = order_users(summaries, first, all_int, kept)
    item_ref = executor.put(item_ids)
    blocks = executor.get(
        [
            executor.submit(stages.finalize, part, mask, ids, item_ref)
            for part, mask, ids in zip(partitions, masks, user_ids, strict=True)
        ]
    )
    table = assemble_table(blocks, user_raw, item_raw)
    return table, read_side(source, input_path, path)


def prepare_distributed(
    source: str,
    input_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    executor: Executor,
    kcore: int | None = None,
    max_users: int | None = None,
    users_per_shard: int = USERS_PER_SHARD,
    num_partitions: int | None = None,
) -> dict:
    """`prepare.prepare` with the work done by `executor`; writes the same files.

    Returns:
        The manifest, as written to `out_dir/manifest.json`.

    Raises:
        ValueError: unknown or unsupported source, bad arguments, nothing left after filtering.
        DataFormatError: missing or malformed input.
        FileExistsError: `out_dir` exists and is not a prepared dataset.
    """
    started = time.perf_counter()
    out_dir = pathlib.Path(out_dir)
    check_arguments(source, out_dir, kcore)
    locate(source, pathlib.Path(input_path))
    table, side = build_sequences_distributed(
        executor,
        source,
        input_path,
        kcore=kcore,
        max_users=max_users,
        num_partitions=num_partitions,
    )
    return write_and_report(
        source,
        side,
        table,
        out_dir,
        kcore=kcore,
        max_users=max_users,
        users_per_shard=users_per_shard,
        started=started,
        engine="distributed",
    )
