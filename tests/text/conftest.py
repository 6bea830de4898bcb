import json
import pathlib

import numpy as np
import pytest

from data_pipeline.prepare import prepare
from data_pipeline.synthetic import synthetic_sequences, write_sasrec_txt

NUM_ITEMS = 40


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory) -> pathlib.Path:
    """A synthetic SASRec-format file: 96 users over 40 items."""
    root = tmp_path_factory.mktemp("tiny_text")
    return write_sasrec_txt(root / "tiny.txt", synthetic_sequences(96, NUM_ITEMS, seed=0))


def fake_features(path: pathlib.Path, num_items: int, cold=(), dim: int = 384, seed: int = 0):
    """An item-feature .npz with random unit text vectors; ``cold`` items get warm = 0."""
    rng = np.random.default_rng(seed)
    text = rng.normal(size=(num_items + 1, dim)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    text[0] = 0.0
    warm = np.ones(num_items + 1, np.float32)
    warm[0] = 0.0
    warm[list(cold)] = 0.0
    np.savez(path, text=text, warm=warm)
    return path


def prepare_cold_items(raw: pathlib.Path, root: pathlib.Path):
    """``jaxrec data prepare --cold-items 0.1 --seed 1`` of ``raw`` into ``root/data``.

    Returns (data dir, cold item ids, an item-feature .npz with those items cold).
    """
    from jaxrec import cli

    data = root / "data"
    argv = ["data", "prepare", "--source", "sasrec-txt", "--input", str(raw), "--out", str(data)]
    assert cli.main([*argv, "--cold-items", "0.1", "--seed", "1"]) == 0
    cold = json.loads((data / "cold_items.json").read_text())["items"]
    return data, cold, fake_features(root / "f.npz", NUM_ITEMS, cold=cold)


@pytest.fixture
def text_dataset(tmp_path):
    """A prepared 2-user, 4-item dataset with MovieLens-style titles and genres."""
    raw = tmp_path / "ml.txt"
    raw.write_text("1 1\n1 2\n1 3\n1 4\n2 2\n2 3\n2 4\n2 1\n", encoding="utf-8")
    items = tmp_path / "ml_items.tsv"
    rows = ["sas_item_id\tmovielens_movie_id\ttitle\tgenres"]
    rows += [f"{i}\t{i}\tMovie {i}\tDrama|Comedy" for i in range(1, 5)]
    items.write_text("\n".join(rows) + "\n", encoding="utf-8")
    prepare("sasrec-txt", raw, tmp_path / "prepared")
    return tmp_path / "prepared"
