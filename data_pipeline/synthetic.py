"""Deterministic synthetic interaction logs for tests and demos (numpy only).

Each user walks the catalogue with a fixed stride (1 or 2), with some random jumps, so a
sequence model can learn the next item while a popularity ranking cannot.
"""

from __future__ import annotations

import pathlib

import numpy as np


def synthetic_sequences(
    num_users: int, num_items: int, *, min_len: int = 5, max_len: int = 30, seed: int = 0
) -> list[np.ndarray]:
    """Item-id sequences (ids 1..num_items), one per user."""
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(num_users):
        length = int(rng.integers(min_len, max_len + 1))
        stride = int(rng.integers(1, 3))
        item = int(rng.integers(0, num_items))
        seq = []
        for _ in range(length):
            seq.append(item + 1)
            jump = rng.random() < 0.1
            item = int(rng.integers(0, num_items)) if jump else (item + stride) % num_items
        sequences.append(np.asarray(seq, dtype=np.int64))
    return sequences


def write_sasrec_txt(path: str | pathlib.Path, sequences: list[np.ndarray]) -> pathlib.Path:
    """Writes ``user item`` lines (users 1..N, chronological) in the sasrec-txt format."""
    path = pathlib.Path(path)
    lines = [f"{user} {item}" for user, seq in enumerate(sequences, 1) for item in seq]
    path.write_text("\n".join(lines) + "\n")
    return path
