"""Cold-user hold-out: a prepared dataset without a seed-chosen set of users.

``holdout_users(src, out, fraction=0.1, seed=0, valid_fraction=0.05)`` writes ``out`` as a
normal prepared dataset holding only the *warm* users (renumbered 0..W-1; items, item ids and
side information are unchanged) plus ``cold_users.json``, which records the source dataset,
the seed, the fractions and the held-out users' internal and raw ids. Two disjoint sets are
held out: the *cold* users (reported) and the *meta-validation* users (MAML's checkpoint
selection). Warm-model training (``jaxrec train --data out``) and meta-training never see
either, not even in validation, so selecting on the meta-validation users measures what the
cold users will see rather than memorisation. The cold-user evaluation (``jaxrec evaluate
--cold-users``) and meta-validation read their sequences back from the source dataset.

    jaxrec data holdout-users --data data/ml-1m --out data/ml-1m-warm --fraction 0.1 --seed 0
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np
from array_record.python.array_record_module import ArrayRecordWriter

from data_pipeline.dataset import PreparedDataset
from data_pipeline.errors import DataFormatError
from data_pipeline.output import (
    ITEMS_FILE,
    MANIFEST,
    USERS_FILE,
    WRITER_OPTIONS,
    atomic_directory,
    shard_names,
    write_json,
    write_jsonl,
)
from data_pipeline.records import UserRecord, encode_user_record

COLD_FILE = "cold_users.json"


@dataclasses.dataclass(frozen=True)
class ColdSplit:
    """The held-out users of a warm dataset.

    Attributes:
        source: the full prepared dataset the users come from.
        users: int32[C] internal user ids in ``source``, sorted.
        fraction: requested share of users held out.
        seed: the seed that chose them.
        valid_users: int32[V] meta-validation users in ``source``, sorted, disjoint from
            ``users``; empty for splits made before they existed.
        valid_fraction: requested share of users held out for meta-validation.
    """

    source: pathlib.Path
    users: np.ndarray
    fraction: float
    seed: int
    valid_users: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int32))
    valid_fraction: float = 0.0


def choose_cold_users(num_users: int, fraction: float, seed: int) -> np.ndarray:
    """int64[C]: sorted user ids, C = round(fraction * num_users), drawn without replacement."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction={fraction}: must be in (0, 1)")
    count = max(1, round(fraction * num_users))
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num_users, size=count, replace=False))


def choose_valid_users(num_users: int, cold: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """int64[V]: sorted meta-validation users, V = round(fraction * num_users), none in ``cold``.

    Drawn from their own random stream, so adding them leaves the cold users of a seed as
    they were.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"valid_fraction={fraction}: must be in [0, 1)")
    rest = np.setdiff1d(np.arange(num_users), cold)
    count = min(round(fraction * num_users), len(rest) - 1)
    if fraction > 0.0 and count < 1:
        raise ValueError(f"valid_fraction={fraction}: no user left for meta-validation")
    rng = np.random.default_rng([seed, 1])
    return np.sort(rng.choice(rest, size=max(count, 0), replace=False))


def holdout_users(
    src: str | pathlib.Path,
    out: str | pathlib.Path,
    *,
    fraction: float,
    seed: int,
    valid_fraction: float = 0.05,
) -> ColdSplit:
    """Writes the warm-user dataset ``out`` and its ``cold_users.json`` (atomically).

    Returns:
        The split that was written.
    """
    src, out = pathlib.Path(src).resolve(), pathlib.Path(out)
    dataset = PreparedDataset.open(src)
    cold = choose_cold_users(dataset.num_users, fraction, seed)
    valid = choose_valid_users(dataset.num_users, cold, valid_fraction, seed)
    held_out = np.zeros(dataset.num_users, bool)
    held_out[cold] = True
    held_out[valid] = True
    raw_user_ids = dataset.user_raw_ids()
    user_rows = [json.loads(line) for line in (src / USERS_FILE).read_text().splitlines()]
    warm_rows, interactions = [], 0
    names = shard_names(int((~held_out).sum()))
    with atomic_directory(out) as tmp:
        writer = ArrayRecordWriter(str(tmp / names[0]), WRITER_OPTIONS)
        try:
            for rec in dataset.records():
                if held_out[rec.user]:
                    continue
                new_id = len(warm_rows)
                writer.write(encode_user_record(dataclasses.replace(rec, user=new_id)))
                warm_rows.append({**user_rows[rec.user], "id": new_id})
                interactions += len(rec.items)
        finally:
            writer.close()
        if len(names) != 1:
            raise ValueError(f"{src}: more than one shard of warm users is not supported")
        write_jsonl(tmp / USERS_FILE, warm_rows)
        (tmp / ITEMS_FILE).write_bytes((src / ITEMS_FILE).read_bytes())
        manifest = dict(dataset.manifest)
        manifest.update(
            num_users=len(warm_rows),
            num_interactions=interactions,
            shards=names,
            cold_user_holdout={
                "source": str(src),
                "fraction": fraction,
                "seed": seed,
                "valid_fraction": valid_fraction,
            },
        )
        write_json(tmp / MANIFEST, manifest)
        write_json(
            tmp / COLD_FILE,
            {
                "source": str(src),
                "fraction": fraction,
                "seed": seed,
                "num_users": len(cold),
                "users": [int(u) for u in cold],
                "raw_ids": [raw_user_ids[u] for u in cold],
                "valid_fraction": valid_fraction,
                "valid_users": [int(u) for u in valid],
                "valid_raw_ids": [raw_user_ids[u] for u in valid],
            },
        )
    return ColdSplit(
        source=src,
        users=cold.astype(np.int32),
        fraction=fraction,
        seed=seed,
        valid_users=valid.astype(np.int32),
        valid_fraction=valid_fraction,
    )


def load_cold_split(data_dir: str | pathlib.Path) -> ColdSplit:
    """Reads ``data_dir/cold_users.json``.

    Raises:
        DataFormatError: when ``data_dir`` has no cold-user split.
    """
    path = pathlib.Path(data_dir) / COLD_FILE
    if not path.is_file():
        raise DataFormatError(
            path,
            None,
            None,
            "missing: train on a warm dataset made by 'jaxrec data holdout-users' to "
            "evaluate cold users",
        )
    meta = json.loads(path.read_text())
    return ColdSplit(
        source=pathlib.Path(meta["source"]),
        users=np.asarray(meta["users"], np.int32),
        fraction=float(meta["fraction"]),
        seed=int(meta["seed"]),
        valid_users=np.asarray(meta.get("valid_users", []), np.int32),
        valid_fraction=float(meta.get("valid_fraction", 0.0)),
    )


def cold_sequences(split: ColdSplit, *, valid: bool = False) -> list[UserRecord]:
    """Full records of the held-out users from the source dataset.

    The cold users in ``split.users`` order, or with ``valid`` the meta-validation users in
    ``split.valid_users`` order.
    """
    users = split.valid_users if valid else split.users
    wanted = set(users.tolist())
    records = {r.user: r for r in PreparedDataset.open(split.source).records() if r.user in wanted}
    return [records[int(u)] for u in users]
