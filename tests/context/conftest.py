"""Tiny raw MovieLens-1M and Amazon-review folders with timestamps, users and reviews."""

import json
import pathlib

import numpy as np
import pytest

from data_pipeline.prepare import prepare

REPO = pathlib.Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "configs" / "tiny.py"
NUM_USERS, NUM_ITEMS = 40, 30
WORDS = ("great, love it", "terrible, broke", "ok I guess", "")


def write_ml1m(folder: pathlib.Path, seed: int = 0) -> pathlib.Path:
    """ratings.dat / movies.dat / users.dat for 40 users x 8-16 ratings of 30 movies."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for user in range(1, NUM_USERS + 1):
        items = rng.choice(np.arange(1, NUM_ITEMS + 1), size=rng.integers(8, 17), replace=False)
        ts = 978_300_000 + np.cumsum(rng.integers(30, 200_000, size=len(items)))
        lines += [f"{user}::{i}::{rng.integers(1, 6)}::{t}" for i, t in zip(items, ts, strict=True)]
    (folder / "ratings.dat").write_text("\n".join(lines) + "\n", encoding="latin-1")
    movies = [f"{i}::Movie {i} (2000)::Drama" for i in range(1, NUM_ITEMS + 1)]
    (folder / "movies.dat").write_text("\n".join(movies) + "\n", encoding="latin-1")
    ages, occupations = (1, 18, 25, 35, 45, 50, 56), range(21)
    users = [
        f"{u}::{'FM'[u % 2]}::{ages[u % 7]}::{occupations[u % 21]}::{(u * 7919) % 100000:05d}"
        for u in range(1, NUM_USERS + 1)
    ]
    (folder / "users.dat").write_text("\n".join(users) + "\n", encoding="latin-1")
    return folder


def write_amazon(path: pathlib.Path, seed: int = 0) -> pathlib.Path:
    """Amazon review JSON lines: 30 users x 6-10 reviews of 30 items, with text."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(30):
        items = rng.choice(NUM_ITEMS, size=rng.integers(6, 11), replace=False)
        for k, item in enumerate(items):
            rows.append(
                {
                    "reviewerID": f"U{user}",
                    "asin": f"A{item}",
                    "overall": float(rng.integers(1, 6)),
                    "unixReviewTime": 1_400_000_000 + 86_400 * k + user,
                    "reviewText": WORDS[int(rng.integers(len(WORDS)))],
                }
            )
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="session")
def ml1m_prepared(tmp_path_factory) -> pathlib.Path:
    """A prepared tiny ML-1M with timestamps and user attributes."""
    root = tmp_path_factory.mktemp("ctx_ml1m")
    prepare("movielens", write_ml1m(root / "raw"), root / "prepared")
    return root / "prepared"


@pytest.fixture(scope="session")
def amazon_prepared(tmp_path_factory) -> pathlib.Path:
    """A prepared tiny Amazon review set (review text -> sentiment)."""
    root = tmp_path_factory.mktemp("ctx_amazon")
    prepare("amazon-reviews", write_amazon(root / "reviews.json"), root / "prepared")
    return root / "prepared"
