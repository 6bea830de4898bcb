"""`jaxrec data prepare --engine ray-data`: the distributed prepare on Ray Data (`ray.data`).

    jaxrec data prepare --engine ray-data --source movielens --input ml-1m --out data/ml-1m-raw \
        [--ray-address auto|HOST:PORT] [--ray-cpus N]

The interaction log moves through Ray Data Datasets, and the per-partition work is done by the
stage functions of `--engine ray` (`dist_parse`, `dist_stages`), so the files are
byte-identical to `--engine local` and `--engine ray`:

1. the line-aligned chunks (`dist_chunks.plan_chunks`) are a Dataset, one block per chunk;
   `map_batches` parses each with `dist_parse.parse_chunk` into one row per interaction
   (`key`: file-order key `chunk * KEY_STRIDE + index in the chunk`; `part`: the user
   partition, a stable hash of the raw user id);
2. `groupby("part").map_groups` is the shuffle: each user partition receives its
   interactions, puts them back in file order and becomes a `dist_stages.Partition`; the
   Dataset of partitions (one row each, with its k-core mask) stays in the object store;
3. k-core rounds: item totals are a `groupby("item")` sum of per-partition counts, filtered
   to the items below k, which go back to every partition (`map_batches`); rounds stop when
   no partition removed anything;
4. id order: each item's first appearance and kept flag are a `groupby("item")` min / max;
   the driver orders the per-id summaries as `--engine ray` does, then every partition
   remaps, orders and splits its users (`map_batches`);
5. the per-user arrays come back to the driver, which writes them with the single-machine
   writer (`prepare.write_prepared`, atomic).

A malformed line fails the parse; the driver then runs a per-chunk summary pass (lines read,
first error) and raises the reader's `DataFormatError` with the line number in the file.
"""

import contextlib
import dataclasses
import logging
import os
import pathlib
import pickle
import time
from collections.abc import Iterator

import numpy as np

from data_pipeline import dist_stages as stages
from data_pipeline.dist_chunks import Chunk, plan_chunks
from data_pipeline.dist_parse import Columns, parse_chunk
from data_pipeline.dist_prepare import MAX_CHUNK_BYTES, assemble_table, order_users, users_to_keep
from data_pipeline.dist_sources import locate, read_side
from data_pipeline.errors import DataFormatError
from data_pipeline.line_reader import require_nonempty
from data_pipeline.output import USERS_PER_SHARD
from data_pipeline.prepare import check_arguments, write_and_report
from data_pipeline.ray_prepare import ray_cluster

logger = logging.getLogger(__name__)

KEY_STRIDE = 1 << 40  # file-order key: chunk * KEY_STRIDE + record index within the chunk
_OPTIONAL = ("timestamps", "ratings", "reviews")


@dataclasses.dataclass
class _Shard:
    """One user partition of the Dataset: its `Partition` and bool[n] kept interactions."""

    partition: stages.Partition
    mask: np.ndarray


def _pack(values: list) -> np.ndarray:
    """Python objects -> a column of their pickles (a binary column in the Dataset)."""
    out = np.empty(len(values), dtype=object)
    out[:] = [pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL) for v in values]
    return out


def _unpack(column: np.ndarray) -> list:
    """The objects of a `_pack` column."""
    return [pickle.loads(v) for v in column]


def _int64(arrays: list[np.ndarray]) -> np.ndarray:
    """int64 concatenation of `arrays` (empty for none)."""
    return np.concatenate([np.zeros(0, np.int64), *arrays]).astype(np.int64)


def _map(ds, fn, **kwargs):
    """`ds.map_batches(fn)` on numpy batches (whole blocks), `kwargs` passed to `fn`."""
    return ds.map_batches(fn, batch_format="numpy", fn_kwargs=kwargs)


def _collect(ds) -> dict[str, np.ndarray]:
    """Every row of `ds` on the driver, as columns (empty dict for no rows)."""
    batches = list(ds.iter_batches(batch_size=None, batch_format="numpy"))
    batches = [b for b in batches if len(next(iter(b.values()), ()))]
    if not batches:
        return {}
    return {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}


def _interaction_table(pieces: list[Columns], chunk: int):
    """A pyarrow table, one row per record of `pieces` (piece p: user partition p)."""
    import pyarrow as pa

    columns = {
        "key": pa.array(np.concatenate([p.index for p in pieces]) + chunk * KEY_STRIDE),
        "part": pa.array(np.repeat(np.arange(len(pieces)), [len(p.users) for p in pieces])),
        "user": pa.array([u for p in pieces for u in p.users], pa.string()),
        "item": pa.array([i for p in pieces for i in p.items], pa.string()),
    }
    if pieces[0].timestamps is not None:
        columns["timestamps"] = pa.array(np.concatenate([p.timestamps for p in pieces]))
    if pieces[0].ratings is not None:
        columns["ratings"] = pa.array(np.concatenate([p.ratings for p in pieces]))
    if pieces[0].reviews is not None:
        columns["reviews"] = pa.array([r for p in pieces for r in p.reviews], pa.large_string())
    return pa.table(columns)


def _chunk_of(batch: dict, path: str) -> Chunk:
    (index,) = batch["chunk"].tolist()
    return Chunk(pathlib.Path(path), index, int(batch["start"][0]), int(batch["end"][0]))


def _parse_batch(batch: dict, *, path: str, kind: str, options: dict, parts: int):
    """map_batches on one chunk row -> one row per interaction; raises on a malformed line."""
    chunk = _chunk_of(batch, path)
    summary, *pieces = parse_chunk(kind, chunk, parts, options)
    if summary.error is not None:
        raise summary.error
    return _interaction_table(pieces, chunk.index)


def _summary_batch(batch: dict, *, path: str, kind: str, options: dict) -> dict:
    """map_batches on one chunk row -> its lines read and first error (error path only)."""
    chunk = _chunk_of(batch, path)
    summary = parse_chunk(kind, chunk, 1, options)[0]
    return {"chunk": np.array([chunk.index]), "summary": _pack([summary])}


def _group(batch: dict) -> dict:
    """map_groups on one user partition's rows -> one row: `part` and its `_Shard`."""
    order = np.argsort(batch["key"], kind="stable")
    optional = {n: batch[n][order] for n in _OPTIONAL if n in batch}
    if "reviews" in optional:
        optional["reviews"] = optional["reviews"].tolist()
    columns = Columns(
        users=batch["user"][order].tolist(),
        items=batch["item"][order].tolist(),
        index=batch["key"][order].astype(np.int64),
        **optional,
    )
    part = stages.group_partition(np.zeros(1, dtype=np.int64), columns)
    shard = _Shard(part, np.ones(len(part.user_codes), dtype=bool))
    return {"part": batch["part"][:1], "shard": _pack([shard])}


def _user_summaries(batch: dict) -> dict:
    """Per shard: raw user ids, first global keys, records."""
    shards = _unpack(batch["shard"])
    summaries = [stages.user_summary(s.partition) for s in shards]
    return {
        "part": batch["part"],
        "summary": _pack(summaries),
        "records": np.array([len(s.mask) for s in shards], dtype=np.int64),
    }


def _restrict(batch: dict, *, keep: dict[int, np.ndarray]) -> dict:
    """Per shard: mask of the users kept by `max_users` (`keep`: part -> bool[users])."""
    shards = [
        _Shard(s.partition, stages.initial_mask(s.partition, keep[p]))
        for p, s in zip(batch["part"].tolist(), _unpack(batch["shard"]), strict=True)
    ]
    return {"part": batch["part"], "shard": _pack(shards)}


def _item_counts(batch: dict):
    """Per shard -> rows (item, count) of its kept interactions."""
    import pyarrow as pa

    counted = [stages.count_items(s.partition, s.mask, 1)[0] for s in _unpack(batch["shard"])]
    return pa.table(
        {
            "item": pa.array([r for raw, _ in counted for r in raw], pa.string()),
            "count": pa.array(_int64([c for _, c in counted])),
        }
    )


def _apply_kcore(batch: dict, *, k: int, dropped: list[str]) -> dict:
    """Per shard: one k-core round -> new shard and interactions `removed`."""
    shards, removed = [], []
    for shard in _unpack(batch["shard"]):
        mask, count = stages.apply_kcore(shard.partition, shard.mask, k, dropped)
        shards.append(_Shard(shard.partition, mask))
        removed.append(count)
    return {"part": batch["part"], "shard": _pack(shards), "removed": np.array(removed)}


def _item_rows(batch: dict):
    """Per shard -> rows (item, first key, kept) over its partition's items."""
    import pyarrow as pa

    rows = [stages.item_summary(s.partition, s.mask, 1)[0] for s in _unpack(batch["shard"])]
    return pa.table(
        {
            "item": pa.array([r for raw, _, _ in rows for r in raw], pa.string()),
            "first": pa.array(_int64([f for _, f, _ in rows])),
            "kept": pa.array(_int64([k for _, _, k in rows])),
        }
    )


def _kept_users(batch: dict) -> dict:
    """Per shard: bool[users] with a kept interaction."""
    kept = [stages.kept_users(s.partition, s.mask) for s in _unpack(batch["shard"])]
    return {"part": batch["part"], "kept": _pack(kept)}


def _finalize(batch: dict, *, user_ids: dict[int, np.ndarray], item_ids: dict[str, int]):
    """Per shard -> its `UserBlock` (remapped, ordered, split)."""
    blocks = [
        stages.finalize(s.partition, s.mask, user_ids[p], item_ids)
        for p, s in zip(batch["part"].tolist(), _unpack(batch["shard"]), strict=True)
    ]
    return {"part": batch["part"], "block": _pack(blocks)}


def _first_error(chunks_ds, path: pathlib.Path, kind: str, options: dict) -> DataFormatError | None:
    """The reader's error for the first malformed line, with its line number in the file."""
    kwargs = {"path": str(path), "kind": kind, "options": options}
    rows = _collect(
        chunks_ds.map_batches(_summary_batch, batch_size=1, fn_kwargs=kwargs, batch_format="numpy")
    )
    lines_before = 0
    for position in np.argsort(rows["chunk"]):
        summary = pickle.loads(rows["summary"][position])
        if summary.error is not None:
            e = summary.error
            line = None if e.line is None else e.line + lines_before
            return DataFormatError(e.path, line, e.field, e.problem)
        lines_before += summary.lines
    return None


def _partitions(path: pathlib.Path, kind: str, options: dict, parts: int):
    """Parse and group-by-user: the materialised Dataset of shards (rows `part`, `shard`)."""
    import ray.data

    chunks = plan_chunks(path, parts, MAX_CHUNK_BYTES)
    rows = [{"chunk": c.index, "start": c.start, "end": c.end} for c in chunks]
    chunks_ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    kwargs = {"path": str(path), "kind": kind, "options": options, "parts": parts}
    parsed = chunks_ds.map_batches(
        _parse_batch, batch_size=1, fn_kwargs=kwargs, batch_format="numpy"
    )
    grouped = parsed.groupby("part", num_partitions=parts).map_groups(_group, batch_format="numpy")
    try:
        state = grouped.materialize()
    except Exception:
        error = _first_error(chunks_ds, path, kind, options)
        if error is None:
            raise
        raise error from None
    logger.info("parsed %s in %d chunks into %d user partitions", path, len(chunks), parts)
    return state


def _kcore(state, k: int):
    """Iterative k-core on the shards: the materialised Dataset with the final masks."""
    from ray.data.aggregate import Sum
    from ray.data.expressions import col

    rounds = 0
    while True:
        rounds += 1
        totals = _map(state, _item_counts).groupby("item").aggregate(Sum("count", alias_name="n"))
        below = totals.filter(expr=col("n") < k).select_columns(["item"])
        dropped = _collect(below).get("item", np.array([], dtype=object)).tolist()
        state = _map(state, _apply_kcore, k=k, dropped=dropped).materialize()
        if not _collect(state.select_columns(["removed"]))["removed"].sum():
            logger.info("%d-core reached after %d rounds", k, rounds)
            return state.drop_columns(["removed"])


def _items(state) -> tuple[list[str], dict[str, int]]:
    """Kept raw item ids in id order, and raw id -> internal id (1..I)."""
    from ray.data.aggregate import Max, Min

    aggregated = _map(state, _item_rows).groupby("item")
    rows = _collect(
        aggregated.aggregate(Min("first", alias_name="first"), Max("kept", alias_name="kept"))
    )
    raw = rows["item"].tolist()
    order = stages.id_order(raw, rows["first"], stages.all_int_ids(raw))
    kept = rows["kept"] > 0
    item_raw = [raw[k] for k in order if kept[k]]
    return item_raw, {r: i for i, r in enumerate(item_raw, start=1)}


def _by_part(rows: dict, name: str) -> tuple[list[int], list]:
    """(parts ascending, column `name` in that order)."""
    order = np.argsort(rows["part"])
    return rows["part"][order].tolist(), _unpack(rows[name][order])


def build_table_ray_data(
    source: str,
    input_path: pathlib.Path,
    *,
    parts: int,
    kcore: int | None = None,
    max_users: int | None = None,
):
    """The `SequenceTable` of `sequencing.build_sequences(read(source, input_path))`.

    Args:
        source: a source of `dist_sources.SUPPORTED`.
        input_path: the input file or folder.
        parts: user partitions (and minimum chunks), e.g. the cluster's CPUs.
        kcore: minimum interactions per user and item, or None.
        max_users: keep the first N users in id order, or None.

    Raises:
        ValueError: nothing left after filtering, bad `max_users`.
        DataFormatError: missing or malformed input (same message as the readers).
    """
    path, kind, options = locate(source, input_path, "ray-data")
    state = _partitions(path, kind, options, parts)
    rows = _collect(_map(state, _user_summaries))
    require_nonempty(int(rows.get("records", np.zeros(0)).sum()), path)
    part_ids, summaries = _by_part(rows, "summary")
    first = np.concatenate([f for _, f in summaries])
    all_int = stages.all_int_ids([r for uniques, _ in summaries for r in uniques])
    keep = users_to_keep(summaries, first, all_int, max_users)
    if keep is not None:
        state = _map(state, _restrict, keep=dict(zip(part_ids, keep, strict=True)))
    if kcore is not None:
        state = _kcore(state, kcore)
    state = state.materialize()
    _, kept = _by_part(_collect(_map(state, _kept_users)), "kept")
    if not any(k.any() for k in kept):
        raise ValueError("no interactions left after filtering")
    item_raw, item_ids = _items(state)
    user_raw, user_ids = order_users(summaries, first, all_int, kept)
    user_ids = dict(zip(part_ids, user_ids, strict=True))
    finals = _map(state, _finalize, user_ids=user_ids, item_ids=item_ids)
    _, blocks = _by_part(_collect(finals), "block")
    return assemble_table(blocks, user_raw, item_raw)


@contextlib.contextmanager
def _data_context() -> Iterator[None]:
    """Ray Data settings for the block: task-based sort shuffles, no progress bars.

    The default hash shuffle starts aggregator actors for every `groupby` (seconds each on a
    small cluster); the sort shuffle runs as plain tasks. Progress bars flood a CLI log.
    """
    from ray.data import DataContext
    from ray.data.context import ShuffleStrategy

    context = DataContext.get_current()
    before = context.enable_progress_bars, context.shuffle_strategy
    context.enable_progress_bars = False
    context.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    try:
        yield
    finally:
        context.enable_progress_bars, context.shuffle_strategy = before


def prepare_ray_data(
    source: str,
    input_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    kcore: int | None = None,
    max_users: int | None = None,
    users_per_shard: int = USERS_PER_SHARD,
) -> dict:
    """`prepare.prepare` on Ray Data; writes byte-identical files.

    Arguments, return value and errors as `ray_prepare.prepare_ray`.
    """
    input_path, out_dir = pathlib.Path(input_path), pathlib.Path(out_dir)
    check_arguments(source, out_dir, kcore)  # before the slow Ray start
    path = locate(source, input_path, "ray-data")[0]
    with ray_cluster(address, num_cpus) as cpus, _data_context():
        logger.info("Ray cluster with %d CPUs (Ray Data)", cpus)
        started = time.perf_counter()  # like --engine ray: the cluster start is not counted
        table = build_table_ray_data(
            source, input_path, parts=cpus, kcore=kcore, max_users=max_users
        )
    return write_and_report(
        source,
        read_side(source, input_path, path),
        table,
        out_dir,
        kcore=kcore,
        max_users=max_users,
        users_per_shard=users_per_shard,
        started=started,
        engine="Ray Data",
    )
