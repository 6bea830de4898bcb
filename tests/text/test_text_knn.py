"""Text-kNN: neighbour tables from item text against a NumPy loop, cold items, the CLI path."""

import json
import pathlib

import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose

from jaxrec import cli
from jaxrec.baselines.item_knn import item_knn_scores
from jaxrec.baselines.text_knn import text_neighbour_tables
from jaxrec.config import ModelConfig
from jaxrec.evaluate_run import load_scorer
from tests.text.conftest import prepare_cold_items

REPO = pathlib.Path(__file__).resolve().parents[2]


def _vectors(num_items: int = 12, dim: int = 5, seed: int = 0) -> np.ndarray:
    """float[num_items + 1, dim]: random text vectors; row 0 (padding) and item 4 have none."""
    vectors = np.random.default_rng(seed).normal(size=(num_items + 1, dim))
    vectors[[0, 4]] = 0.0
    return vectors


def _reference(vectors: np.ndarray, num_neighbors: int, power: float):
    """Per item, {neighbour: similarity} of its K most similar others, literally."""
    tables = []
    for j in range(len(vectors)):
        sims = {}
        for i in range(1, len(vectors)):
            nj, ni = np.linalg.norm(vectors[j]), np.linalg.norm(vectors[i])
            if i != j and j != 0 and nj > 0 and ni > 0:
                cosine = vectors[j] @ vectors[i] / (nj * ni)
                if cosine > 0:
                    sims[i] = cosine**power
        best = sorted(sims, key=sims.get, reverse=True)[:num_neighbors]
        tables.append({i: sims[i] for i in best})
    return tables


@pytest.mark.parametrize(("num_neighbors", "power"), [(1, 1.0), (3, 3.0), (20, 6.0)])
def test_tables_match_a_pairwise_loop(num_neighbors, power):
    vectors = _vectors()
    ids, sims = text_neighbour_tables(vectors, num_neighbors, power)
    assert ids.shape == sims.shape == (len(vectors), num_neighbors)
    for j, want in enumerate(_reference(vectors, num_neighbors, power)):
        got = {int(i): float(s) for i, s in zip(ids[j], sims[j], strict=True) if s > 0}
        assert got.keys() == want.keys(), j
        assert_allclose([got[i] for i in want], list(want.values()), rtol=1e-4, atol=1e-9)
        assert np.all(np.diff(sims[j]) <= 0)  # most similar first
    # Padding and the item without text neither have nor are neighbours.
    assert not sims[[0, 4]].any() and not ids[[0, 4]].any()
    assert 4 not in ids[sims > 0] and 0 not in ids[sims > 0]


def test_block_size_only_changes_memory():
    vectors = _vectors(num_items=30, seed=1)
    whole = text_neighbour_tables(vectors, 7, 3.0)
    blocked = text_neighbour_tables(vectors, 7, 3.0, block_rows=4)
    for a, b in zip(whole, blocked, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("vectors", "num_neighbors", "power", "match"),
    [
        (np.ones((3, 2)), 0, 1.0, "num_neighbors"),
        (np.ones((3, 2)), 2, 0.0, "power"),
        (np.full((3, 2), np.nan), 2, 1.0, "finite"),
        (np.ones(3), 2, 1.0, "float"),
    ],
)
def test_bad_input_is_refused(vectors, num_neighbors, power, match):
    with pytest.raises(ValueError, match=match):
        text_neighbour_tables(vectors, num_neighbors, power)


def test_powers_are_checked_in_the_config():
    with pytest.raises(ValueError, match="text_knn_powers"):
        ModelConfig(name="text_knn", text_knn_powers=(0.0,))


def test_a_cold_item_is_recommended_through_its_text():
    """Item 9 has no interactions anywhere; its text is a near-copy of item 2's."""
    vectors = _vectors(num_items=9, seed=2)
    vectors[9] = vectors[2] + 0.01
    ids, sims = text_neighbour_tables(vectors, 4, 3.0)
    histories = np.array([[0, 5, 2], [0, 2, 5]], np.int32)  # 2 is the most recent, then not
    scores = np.asarray(item_knn_scores(ids, sims, jnp.float32(0.5), histories))
    assert np.argmax(np.where(np.isin(np.arange(10), [0, 2, 5]), -np.inf, scores[0])) == 9

    # Each history item votes its similarity to 9, times recency ** (steps back).
    def sim(a):
        return float(sims[a][ids[a] == 9].sum())

    assert sim(2) > 0.9
    assert_allclose(scores[:, 9], [sim(2) + 0.5 * sim(5), 0.5 * sim(2) + sim(5)], rtol=1e-5)


def test_cli_searches_the_grid_and_scores_cold_items(tiny_raw, tmp_path):
    run = tmp_path / "run"
    data, cold, feats = prepare_cold_items(tiny_raw, tmp_path)
    train = ["train", "--config", str(REPO / "configs" / "text_knn.py"), "--data", str(data)]
    grid = ["model.text_knn_powers=1,3", "model.knn_recency=0.5,0.9"]
    sets = ["--set", f"model.text_features={feats}", *grid]
    assert cli.main([*train, "--workdir", str(run), *sets]) == 0
    summary = json.loads((run / "train_summary.json").read_text())
    searched = [(row["power"], row["recency"]) for row in summary["search"]]
    assert searched == [(1.0, 0.5), (1.0, 0.9), (3.0, 0.5), (3.0, 0.9)]
    best = max(summary["search"], key=lambda row: row["ndcg@10"])
    assert (summary["power"], summary["recency"]) == (best["power"], best["recency"])
    out = tmp_path / "test.json"
    assert cli.main(["evaluate", "--workdir", str(run), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["cold_items"]["num_events"] > 0
    # Cold items were never trained on, yet the checkpoint's tables let them score.
    scorer = load_scorer(run)
    valid = scorer.eval_data("valid")
    scores = np.asarray(scorer.score_fn(valid.histories, valid.users))
    assert (scores[:, cold] > 0).any(axis=0).all()
