"""`prepare`: read a raw dataset, order, filter, remap, split and write it for training.

Steps (details in `sequencing` and `output`):

1. Read with the reader registered for `source` (`readers.READERS`).
2. Order: group by user; within a user, a STABLE sort by timestamp, so interactions with equal
   timestamps keep their file order; formats without timestamps keep the file order.
3. Optional `max_users` (first N users in id order), then optional iterative k-core.
4. Remap ids: items 1..I (0 is padding), users 0..U-1; numeric order when all raw ids are
   integers (so SASRec's item k stays k and user k becomes k-1), else first appearance.
5. Split: leave-one-out (last item test, second to last validation, rest training; users with
   fewer than 3 interactions are all training and counted as `users_without_eval`), or the
   split given by pre-split RecBole data.
6. Write atomically: shards `sequences-XXXXX-of-YYYYY.array_record` (one msgpack record per user,
   see `records`), `items.jsonl`, `users.jsonl`, `manifest.json`.

The output is deterministic: preparing the same input twice gives byte-identical files (the
manifest holds no dates).
"""

import logging
import os
import pathlib
import time

from data_pipeline.interaction_log import InteractionLog
from data_pipeline.output import (
    CREATED_BY,
    ITEMS_FILE,
    MANIFEST,
    USERS_FILE,
    USERS_PER_SHARD,
    atomic_directory,
    check_replaceable,
    file_digest,
    shard_names,
    write_json,
    write_jsonl,
    write_shards,
)
from data_pipeline.readers import get_reader, read
from data_pipeline.sequencing import SequenceTable, build_sequences

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
ORDERING = "stable sort by timestamp; ties and missing timestamps keep file order"


def _field_names(info: dict[str, dict], keys: list[str]) -> list[str]:
    names: dict[str, None] = {}
    for key in keys:
        names.update(dict.fromkeys(info.get(key, {})))
    return sorted(names)


def _split_description(log: InteractionLog) -> dict:
    protocol = "leave-one-out" if log.given_split is None else "given"
    return {"protocol": protocol, "valid": "second to last item", "test": "last item"}


def build_manifest(
    source: str,
    log: InteractionLog,
    table: SequenceTable,
    shards: list[str],
    *,
    kcore: int | None,
    max_users: int | None,
) -> dict:
    """The manifest of a prepared dataset (no time-dependent fields)."""
    return {
        "format_version": FORMAT_VERSION,
        "source": source,
        "inputs": [file_digest(p) for p in log.inputs],
        "num_users": table.num_users,
        "num_items": table.num_items,
        "num_interactions": int(table.offsets[-1]),
        "users_without_eval": int(((table.n_valid == 0) & (table.n_test == 0)).sum()),
        "split": _split_description(log),
        "ordering": ORDERING,
        "kcore": kcore,
        "max_users": max_users,
        "shards": shards,
        "side_info": {
            "items": _field_names(log.item_info, table.item_raw),
            "users": _field_names(log.user_info, table.user_raw),
            "timestamps": table.timestamps is not None,
            "ratings": table.ratings is not None,
            "reviews": table.reviews is not None,
        },
        "created_by": CREATED_BY,
    }


def _item_rows(log: InteractionLog, table: SequenceTable):
    for index, raw in enumerate(table.item_raw, start=1):
        yield {"id": index, "raw_id": raw, **log.item_info.get(raw, {})}


def _user_rows(log: InteractionLog, table: SequenceTable):
    for index, raw in enumerate(table.user_raw):
        yield {"id": index, "raw_id": raw, **log.user_info.get(raw, {})}


def write_prepared(
    out_dir: pathlib.Path,
    log: InteractionLog,
    table: SequenceTable,
    shards: list[str],
    manifest: dict,
    *,
    extra_json: dict[str, dict] | None = None,
) -> None:
    """Writes a prepared dataset atomically: shards, items/users JSONL, extras, manifest.

    Args:
        out_dir: the output directory; replaced as a whole, never left half-written.
        log: the interactions as read (side information of items and users).
        table: the remapped, split sequences to store.
        shards: shard file names, from `output.shard_names`.
        manifest: written last, as `manifest.json`.
        extra_json: more JSON files to write, by file name (e.g. `cold_items.json`).
    """
    with atomic_directory(out_dir) as tmp:
        write_shards(table, tmp, shards)
        write_jsonl(tmp / ITEMS_FILE, _item_rows(log, table))
        write_jsonl(tmp / USERS_FILE, _user_rows(log, table))
        for name, doc in (extra_json or {}).items():
            write_json(tmp / name, doc)
        write_json(tmp / MANIFEST, manifest)


def check_arguments(source: str, out_dir: pathlib.Path, kcore: int | None) -> None:
    """Fails fast, before any reading, on arguments that cannot work.

    Raises:
        ValueError: unknown `source`, or `kcore` below 1.
        FileExistsError: `out_dir` exists and is not a prepared dataset.
    """
    get_reader(source)
    if kcore is not None and kcore < 1:
        raise ValueError(f"kcore={kcore}: must be >= 1")
    check_replaceable(out_dir)


def write_and_report(
    source: str,
    side,
    table: SequenceTable,
    out_dir: pathlib.Path,
    *,
    kcore: int | None,
    max_users: int | None,
    users_per_shard: int,
    started: float,
    engine: str = "",
) -> dict:
    """Shards, manifest and files (atomic) of a built ``table``, logged; returns the manifest.

    ``side`` holds the side information (``InteractionLog`` or the distributed engines'
    equivalent); ``started`` is the ``time.perf_counter()`` the logged duration counts from.
    """
    shards = shard_names(table.num_users, users_per_shard)
    manifest = build_manifest(source, side, table, shards, kcore=kcore, max_users=max_users)
    write_prepared(out_dir, side, table, shards, manifest)
    logger.info(
        "prepared %s%s: %d users, %d items, %d interactions in %.1f s -> %s",
        source,
        f" ({engine})" if engine else "",
        manifest["num_users"],
        manifest["num_items"],
        manifest["num_interactions"],
        time.perf_counter() - started,
        out_dir,
    )
    return manifest


def prepare(
    source: str,
    input_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    kcore: int | None = None,
    max_users: int | None = None,
    users_per_shard: int = USERS_PER_SHARD,
) -> dict:
    """Prepares one dataset for training (see the module docstring).

    Args:
        source: input format, one of `readers.READERS` (e.g. `"sasrec-txt"`).
        input_path: the input file or folder.
        out_dir: the output directory; replaced if it holds an earlier prepared dataset.
        kcore: minimum interactions per user and per item, or None for no filtering.
        max_users: keep only the first N users (in id order), or None for all.
        users_per_shard: about how many users go into one ArrayRecord shard.

    Returns:
        The manifest, as written to `out_dir/manifest.json`.

    Raises:
        ValueError: unknown source, bad arguments, or nothing left after filtering.
        DataFormatError: missing or malformed input.
        FileExistsError: `out_dir` exists and is not a prepared dataset.
    """
    started = time.perf_counter()
    out_dir = pathlib.Path(out_dir)
    check_arguments(source, out_dir, kcore)
    log = read(source, input_path)
    table = build_sequences(log, kcore=kcore, max_users=max_users)
    return write_and_report(
        source,
        log,
        table,
        out_dir,
        kcore=kcore,
        max_users=max_users,
        users_per_shard=users_per_shard,
        started=started,
    )
