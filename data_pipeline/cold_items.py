"""Cold items: hold a random share of items out of training entirely (``--cold-items``).

A fraction of the catalogue, drawn with a seeded generator, becomes *cold*. No cold item may
appear in any training sequence, validation target or history, so each user is rewritten:

* users without cold items keep their sequence and split;
* a user with cold items is cut at the LAST one, which becomes the test target; the history
  is every warm item before it (earlier cold items are removed), its last item the
  validation target and the rest training. Items after that position are dropped. With a
  single warm item before it there is no validation target; with none, the user is dropped.

Cold items stay in the catalogue (ids 1..I unchanged) and keep their side information, so a
text model can score them. ``cold_items.json`` lists them and the manifest counts the events.
"""

import json
import logging
import os
import pathlib

import numpy as np

from data_pipeline import prepare as prepare_lib
from data_pipeline.output import USERS_PER_SHARD, shard_names
from data_pipeline.readers import read
from data_pipeline.sequencing import SequenceTable, build_sequences

logger = logging.getLogger(__name__)

COLD_FILE = "cold_items.json"


def choose_cold_items(num_items: int, fraction: float, seed: int) -> np.ndarray:
    """int32[K] sorted internal ids (1..I), K = round(fraction * I) (at least 1)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"cold items fraction={fraction}: must be in (0, 1)")
    count = max(1, round(fraction * num_items))
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(np.arange(1, num_items + 1), count, replace=False)).astype(np.int32)


def _user_positions(items: np.ndarray, is_cold: np.ndarray) -> tuple[np.ndarray, int]:
    """(kept positions, n_train) for a user with cold items; the last kept one is the test."""
    last = int(np.flatnonzero(is_cold)[-1])
    history = np.flatnonzero(~is_cold[:last])
    return np.append(history, last), max(len(history) - 1, 1 if len(history) else 0)


def holdout(table: SequenceTable, cold: np.ndarray) -> tuple[SequenceTable, dict]:
    """Rewrites ``table`` so that cold items are only test targets (module docstring).

    Returns:
        (new table, statistics for the manifest).
    """
    keep, n_train, n_valid, n_test, users = [], [], [], [], []
    cold_mask = np.zeros(table.num_items + 1, dtype=bool)
    cold_mask[cold] = True
    stats = {"cold_test_events": 0, "users_dropped": 0, "interactions_dropped": 0}
    for user in range(table.num_users):
        start, end = table.offsets[user], table.offsets[user + 1]
        is_cold = cold_mask[table.items[start:end]]
        if not is_cold.any():
            positions = np.arange(end - start)
            split = (table.n_train[user], table.n_valid[user], table.n_test[user])
        else:
            positions, train = _user_positions(table.items[start:end], is_cold)
            if len(positions) == 1:
                stats["users_dropped"] += 1
                stats["interactions_dropped"] += int(end - start)
                continue
            split = (train, len(positions) - 1 - train, 1)
            stats["cold_test_events"] += 1
        stats["interactions_dropped"] += int(end - start - len(positions))
        keep.append(start + positions)
        users.append(user)
        n_train.append(split[0])
        n_valid.append(split[1])
        n_test.append(split[2])
    index = np.concatenate(keep)
    lengths = np.array([len(k) for k in keep], dtype=np.int64)
    new = SequenceTable(
        user_raw=[table.user_raw[u] for u in users],
        item_raw=table.item_raw,
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        items=table.items[index],
        timestamps=None if table.timestamps is None else table.timestamps[index],
        ratings=None if table.ratings is None else table.ratings[index],
        reviews=None if table.reviews is None else [table.reviews[i] for i in index],
        n_train=np.array(n_train, dtype=np.int64),
        n_valid=np.array(n_valid, dtype=np.int64),
        n_test=np.array(n_test, dtype=np.int64),
    )
    return new, stats


def prepare_with_cold_items(
    source: str,
    input_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    fraction: float,
    seed: int,
    kcore: int | None = None,
    users_per_shard: int = USERS_PER_SHARD,
) -> dict:
    """``prepare`` with a share of the items held out of training (module docstring).

    Returns:
        The manifest, with a ``cold_items`` block (fraction, seed, counts).
    """
    out_dir = pathlib.Path(out_dir)
    choose_cold_items(2, fraction, seed)  # validates the fraction before any reading
    prepare_lib.check_arguments(source, out_dir, kcore)
    log = read(source, input_path)
    table = build_sequences(log, kcore=kcore)
    cold = choose_cold_items(table.num_items, fraction, seed)
    table, stats = holdout(table, cold)
    shards = shard_names(table.num_users, users_per_shard)
    manifest = prepare_lib.build_manifest(source, log, table, shards, kcore=kcore, max_users=None)
    manifest["split"] = {**manifest["split"], "cold_items": "last cold item of a user is its test"}
    manifest["cold_items"] = {"fraction": fraction, "seed": seed, "num_items": len(cold), **stats}
    cold_doc = {**manifest["cold_items"], "items": cold.tolist()}
    prepare_lib.write_prepared(
        out_dir, log, table, shards, manifest, extra_json={COLD_FILE: cold_doc}
    )
    logger.info("cold items: %s", json.dumps(manifest["cold_items"]))
    return manifest


def read_cold_items(data_dir: str | os.PathLike[str]) -> np.ndarray | None:
    """int32[K] cold item ids of a prepared dataset, or None when it has none."""
    path = pathlib.Path(data_dir) / COLD_FILE
    if not path.is_file():
        return None
    return np.asarray(json.loads(path.read_text(encoding="utf-8"))["items"], dtype=np.int32)
