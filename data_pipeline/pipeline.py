"""grain input pipelines: shuffled training batches and evaluation arrays.

Training examples follow SASRec: for a user's training items ``s`` the input is
``s[:-1]`` and the target ``s[1:]``, both cut to the last ``max_len`` positions and
left-padded with 0, so the last position always holds the most recent item.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import grain
import numpy as np

from data_pipeline.records import decode_user_record, history_for, target_for

if TYPE_CHECKING:
    from data_pipeline.context import ContextTables
    from data_pipeline.dataset import PreparedDataset


def left_pad(items: np.ndarray, length: int) -> np.ndarray:
    """int32[length]: the last ``length`` ids of ``items``, left-padded with 0."""
    out = np.zeros(length, dtype=np.int32)
    tail = items[-length:] if length else items[:0]
    if len(tail):
        out[-len(tail) :] = tail
    return out


def make_train_example(
    record_bytes: bytes,
    max_len: int,
    rng: np.random.Generator | None = None,
    context: ContextTables | None = None,
    sentiment_weight: float = 0.0,
    include_context: bool = True,
) -> dict[str, np.ndarray]:
    """One user's next-item training example: ``inputs`` and ``targets`` int32[L], ``users``.

    By default the window is the user's most recent ``max_len`` transitions. With
    ``rng``, a user with more training transitions than that gets a window ending at a
    uniformly drawn position instead, so long histories are seen in full across epochs.
    With ``context`` the example also holds ``context`` int32[L, F], the context of the
    input positions (data_pipeline/context.py; left out when not ``include_context``), and
    with ``sentiment_weight`` > 0 ``weights`` float32[L], the per-target loss weights
    1 + alpha * sentiment.
    """
    rec = decode_user_record(record_bytes)
    train = rec.items[: rec.n_train]
    if rng is not None and len(train) - 1 > max_len:
        train = train[: int(rng.integers(max_len + 1, len(train) + 1))]
    example = {
        "inputs": left_pad(train[:-1], max_len),
        "targets": left_pad(train[1:], max_len),
        "users": np.int32(rec.user),
    }
    if context is not None:
        end = max(len(train) - 1, 0)
        if include_context:
            example["context"] = context.window(rec.user, end, max_len)
        if sentiment_weight:
            example["weights"] = context.target_weights(rec.user, end, max_len, sentiment_weight)
    return example


class _Subset:
    """A random-access view of ``source`` restricted to ``indices`` (a grain source)."""

    def __init__(self, source, indices: np.ndarray):
        self._source, self._indices = source, indices

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, i: int):
        return self._source[int(self._indices[i])]


def assign_buckets(lengths: np.ndarray, bucket_lengths: tuple[int, ...], max_len: int):
    """Maps each user to the shortest bucket that holds min(length, max_len) positions.

    Returns:
        ``{bucket_length: user indices}`` for the non-empty buckets; the last bucket is
        always ``max_len``.
    """
    edges = sorted({b for b in bucket_lengths if b < max_len} | {max_len})
    which = np.searchsorted(edges, np.minimum(lengths, max_len), side="left")
    return {edges[b]: np.flatnonzero(which == b) for b in range(len(edges)) if np.any(which == b)}


def train_dataset(
    dataset: PreparedDataset,
    *,
    batch_size: int,
    max_len: int,
    seed: int,
    prefetch_threads: int,
    bucket_lengths: tuple[int, ...] = (),
    random_windows: bool = False,
    context: ContextTables | None = None,
    sentiment_weight: float = 0.0,
    include_context: bool = True,
) -> grain.IterDataset:
    """Endless shuffled batches; every epoch is a fresh permutation of the users.

    Batches run across epoch boundaries so that every batch has a static shape. With
    ``bucket_lengths``, users are grouped by training length and each batch is padded
    only to its bucket's length (one compiled shape per bucket); buckets are mixed in
    proportion to their sizes. A user's example is the same in every bucket layout
    (left padding is masked, positions count from the end), so only batch composition
    changes. With ``random_windows``, long histories are cut at a random position per
    epoch (see ``make_train_example``). ``context`` / ``sentiment_weight`` add the context
    and loss-weight fields (``make_train_example``). The iterator state is checkpointable
    (see ``jaxrec.checkpoint``).
    """
    extra = {
        "context": context,
        "sentiment_weight": sentiment_weight,
        "include_context": include_context,
    }
    source = dataset.source()
    if bucket_lengths:
        lengths = np.maximum(dataset.train_lengths() - 1, 0)
        buckets = assign_buckets(lengths, bucket_lengths, max_len)
    else:
        buckets = {max_len: np.arange(len(source))}
    parts, weights = [], []
    for i, (length, users) in enumerate(sorted(buckets.items())):
        part = grain.MapDataset.source(_Subset(source, users)).shuffle(seed=seed + i).repeat(None)
        if random_windows:
            part = part.random_map(
                lambda b, rng, n=length: make_train_example(b, n, rng, **extra),
                seed=seed + 7919 + i,
            )
        else:
            part = part.map(lambda b, n=length: make_train_example(b, n, **extra))
        part = part.batch(batch_size, drop_remainder=True)
        parts.append(part)
        weights.append(len(users))
    ds = parts[0] if len(parts) == 1 else grain.MapDataset.mix(parts, weights=weights)
    read = grain.ReadOptions(num_threads=prefetch_threads, prefetch_buffer_size=4)
    return ds.to_iter_dataset(read_options=read)


@dataclasses.dataclass(frozen=True)
class EvalData:
    """Everything needed to rank one held-out item per user.

    Attributes:
        users: int32[N] internal user ids.
        histories: int32[N, L] model input (last ``L`` history items, left-padded).
        targets: int32[N] held-out items.
        seen: list of N int32 arrays, each user's full history (for exclusion).
        context: int32[N, L, F] context of the history positions, or None
            (``with_context``).
    """

    users: np.ndarray
    histories: np.ndarray
    targets: np.ndarray
    seen: list[np.ndarray]
    context: np.ndarray | None = None


def eval_data(dataset: PreparedDataset, split: str, max_len: int) -> EvalData:
    """Collects the users that have a ``split`` ('valid' or 'test') target."""
    if split not in ("valid", "test"):
        raise ValueError(f"split={split!r}: expected 'valid' or 'test'")
    users, histories, targets, seen = [], [], [], []
    for rec in dataset.records():
        target = target_for(rec, split)
        if target is None:
            continue
        history = history_for(rec, split)
        users.append(rec.user)
        histories.append(left_pad(history, max_len))
        targets.append(target)
        seen.append(np.asarray(history, dtype=np.int32))
    return EvalData(
        users=np.asarray(users, dtype=np.int32),
        histories=np.stack(histories) if histories else np.zeros((0, max_len), np.int32),
        targets=np.asarray(targets, dtype=np.int32),
        seen=seen,
    )


def with_context(data: EvalData, tables: ContextTables | None) -> EvalData:
    """``data`` plus the context of each user's history window (unchanged if no tables).

    The history of every split is the first ``len(seen)`` interactions, so its context is
    the window ending there.
    """
    if tables is None:
        return data
    length = data.histories.shape[1]
    windows = [
        tables.window(int(u), len(s), length) for u, s in zip(data.users, data.seen, strict=True)
    ]
    shape = (0, length, tables.events.shape[1] + tables.users.shape[1])
    context = np.stack(windows) if windows else np.zeros(shape, np.int32)
    return dataclasses.replace(data, context=context)


def pad_ragged(rows: list[np.ndarray], min_width: int = 64) -> np.ndarray:
    """int32[N, W] with W the next power of two >= the longest row (few jit shapes)."""
    longest = max((len(r) for r in rows), default=0)
    width = max(min_width, 1 << max(longest - 1, 0).bit_length())
    out = np.zeros((len(rows), width), dtype=np.int32)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out
