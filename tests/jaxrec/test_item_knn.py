"""Sequential item-kNN: co-occurrence counts, neighbour tables and scores against NumPy loops."""

import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose

from jaxrec.baselines.item_knn import (
    cooccurrence,
    fit_item_knn,
    item_knn_scores,
    neighbour_tables,
)
from jaxrec.config import ModelConfig

NUM_ITEMS = 9


def _random_sequences(num_users: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(1, NUM_ITEMS + 1, rng.integers(1, 12)) for _ in range(num_users)]


def _reference_counts(sequences, window: int, decay: float) -> np.ndarray:
    """Every ordered pair of positions at most ``window`` apart, literally."""
    counts = np.zeros((NUM_ITEMS + 1, NUM_ITEMS + 1))
    for seq in sequences:
        for p in range(len(seq)):
            for q in range(len(seq)):
                if 0 < abs(p - q) <= window:
                    counts[seq[p], seq[q]] += decay ** (abs(p - q) - 1)
    return counts


@pytest.mark.parametrize(("window", "decay"), [(1, 1.0), (3, 0.5), (20, 0.9)])
def test_cooccurrence_matches_pairwise_loop(window, decay):
    sequences = _random_sequences(30)
    counts = cooccurrence(sequences, NUM_ITEMS, window, decay).toarray()
    assert_allclose(counts, _reference_counts(sequences, window, decay), rtol=1e-12)
    assert_allclose(counts, counts.T)  # both directions count
    assert not counts[0].any() and not counts[:, 0].any()


def test_cooccurrence_drops_padding_and_rejects_bad_input():
    padded = cooccurrence([np.array([0, 0, 1, 2])], 3, 1, 1.0).toarray()
    assert_allclose(padded, _reference_counts([np.array([1, 2])], 1, 1.0)[:4, :4])
    assert cooccurrence([np.array([1])], 3, 2, 1.0).nnz == 0  # a lone item has no pair
    with pytest.raises(ValueError, match="item ids"):
        cooccurrence([np.array([1, 4])], 3, 1, 1.0)
    with pytest.raises(ValueError, match="window"):
        cooccurrence([np.array([1, 2])], 3, 0, 1.0)


@pytest.mark.parametrize("num_neighbors", [1, 3, 20])
def test_neighbour_tables_keep_the_strongest_normalised(num_neighbors):
    sequences = _random_sequences(40, seed=1)
    counts = cooccurrence(sequences, NUM_ITEMS, 2, 0.7)
    item_counts = np.bincount(np.concatenate(sequences), minlength=NUM_ITEMS + 1)
    ids, sims = neighbour_tables(counts, item_counts, num_neighbors, alpha=0.5)
    assert ids.shape == sims.shape == (NUM_ITEMS + 1, num_neighbors)
    assert ids.dtype == np.int32 and sims.dtype == np.float32
    assert not ids[0].any() and not sims[0].any()
    dense = counts.toarray()
    for j in range(1, NUM_ITEMS + 1):
        row = dense[j] / max(item_counts[j], 1) ** 0.5
        kept = min(num_neighbors, np.count_nonzero(row))
        assert_allclose(sims[j, :kept], np.sort(row)[::-1][:kept], rtol=1e-6)
        assert_allclose(row[ids[j, :kept]], sims[j, :kept], rtol=1e-6)
        assert not sims[j, kept:].any() and not ids[j, kept:].any()  # unused slots: id 0


def test_scores_are_recency_weighted_votes():
    ids, sims = fit_item_knn(
        _random_sequences(50, seed=2),
        NUM_ITEMS,
        window=3,
        window_decay=0.8,
        num_neighbors=4,
        alpha=1.0,
    )
    histories = np.array([[0, 0, 3, 5, 3], [1, 2, 9, 4, 7], [0, 0, 0, 0, 0]], np.int32)
    recency = 0.6
    scores = np.asarray(item_knn_scores(ids, sims, jnp.float32(recency), histories))
    expected = np.zeros((3, NUM_ITEMS + 1))
    for b, history in enumerate(histories):
        for l, item in enumerate(history):
            for k in range(ids.shape[1]):
                expected[b, ids[item, k]] += recency ** (len(history) - 1 - l) * sims[item, k]
    assert scores.shape == (3, NUM_ITEMS + 1)
    assert np.all(np.isneginf(scores[:, 0]))
    assert_allclose(scores[:, 1:], expected[:, 1:], rtol=1e-5, atol=1e-7)
    assert not scores[2, 1:].any()  # an empty history votes for nothing


def test_next_item_of_a_chain_outranks_items_far_behind():
    # Users walk 1 -> 2 -> ... -> 8; after [.., 3, 4] item 5 (one step ahead) must beat
    # item 8 (four steps ahead), and a lower recency makes the last item count more.
    chain = np.arange(1, 9)
    ids, sims = fit_item_knn(
        [chain] * 10, 8, window=5, window_decay=0.5, num_neighbors=8, alpha=0.5
    )
    scores = np.asarray(item_knn_scores(ids, sims, jnp.float32(0.5), np.array([[0, 3, 4]])))
    assert scores[0, 5] > scores[0, 6] > scores[0, 7] > scores[0, 8] > 0


@pytest.mark.parametrize(
    "bad",
    [
        {"knn_neighbors": 0},
        {"knn_window_decay": 0.0},
        {"knn_windows": ()},
        {"knn_alphas": (-0.5,)},
        {"knn_recency": (1.5,)},
        {"knn_recency": ()},
    ],
)
def test_config_rejects_out_of_range_knn_settings(bad):
    with pytest.raises(ValueError, match="knn"):
        ModelConfig(name="item_knn", **bad)
