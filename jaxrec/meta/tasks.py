"""User tasks as fixed-shape numpy arrays: meta-training batches and cold-user evaluation.

A user's support is their first k items; the query is the next q (at most ``query_size``).
Everything is left-padded to ``task_len`` like the model's other inputs.
"""

from __future__ import annotations

import numpy as np

from data_pipeline.pipeline import EvalData, left_pad
from jaxrec.config import MamlConfig


def task_arrays(items: np.ndarray, k: int, q: int, length: int) -> dict[str, np.ndarray]:
    """One task from a user's chronological items (needs ``len(items) > k``).

    Returns:
        ``support`` int32[L] (first k items), ``inputs`` int32[L] (the first k + q - 1),
        ``targets`` int32[L] (the q query items at the last q positions, else 0) and
        ``full_targets`` int32[L] (every position's next item, the first from the empty
        prefix).
    """
    q = min(q, len(items) - k)
    if k < 1 or q < 1 or k + q > length:
        raise ValueError(
            f"task with k={k}, q={q} does not fit length {length} ({len(items)} items)"
        )
    seq = items[: k + q]
    full = left_pad(seq, length)
    targets = full.copy()
    targets[: length - q] = 0
    return {
        "support": left_pad(seq[:k], length),
        "inputs": left_pad(seq[:-1], length),
        "targets": targets,
        "full_targets": full,
    }


class TaskSampler:
    """Deterministic meta-batches: batch ``step`` depends only on (seed, step).

    Args:
        sequences: each meta-training user's chronological training items.
        cfg: meta-training settings (batch size, support sizes, query size, length).
        seed: base seed.
    """

    def __init__(self, sequences: list[np.ndarray], cfg: MamlConfig, seed: int):
        self._seqs = [s for s in sequences if len(s) >= 2]
        if not self._seqs:
            raise ValueError("no meta-training user has 2 or more training items")
        self._cfg = cfg
        self._seed = seed

    def __call__(self, step: int) -> dict[str, np.ndarray]:
        """int32[T, L] arrays ``support``, ``inputs``, ``targets``, ``full_targets``."""
        cfg = self._cfg
        rng = np.random.default_rng([self._seed, int(step)])
        users = rng.choice(
            len(self._seqs), cfg.meta_batch, replace=len(self._seqs) < cfg.meta_batch
        )
        sizes = rng.choice(np.asarray(cfg.support_sizes), cfg.meta_batch)
        tasks = [
            task_arrays(
                self._seqs[u], min(int(k), len(self._seqs[u]) - 1), cfg.query_size, cfg.task_len
            )
            for u, k in zip(users, sizes, strict=True)
        ]
        return {name: np.stack([t[name] for t in tasks]) for name in tasks[0]}


def cold_eval_data(sequences: list[np.ndarray], users: np.ndarray, k: int, length: int) -> EvalData:
    """Reveal the first k items, hold out item k + 1; users with fewer items are skipped.

    Args:
        sequences: each user's full chronological items.
        users: int32[N] their ids (recorded in the output, unused for scoring).
        k: number of revealed interactions.
        length: history width (>= k).

    Returns:
        EvalData whose ``seen`` (excluded from the candidates) is the k revealed items.
    """
    keep = [i for i, s in enumerate(sequences) if len(s) > k]
    if not keep:
        raise ValueError(f"no cold user has more than k={k} interactions")
    return EvalData(
        users=np.asarray([users[i] for i in keep], np.int32),
        histories=np.stack([left_pad(sequences[i][:k], length) for i in keep]),
        targets=np.asarray([sequences[i][k] for i in keep], np.int32),
        seen=[np.asarray(sequences[i][:k], np.int32) for i in keep],
    )
