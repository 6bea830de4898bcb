import jax.numpy as jnp
import numpy as np
import pytest

from jaxrec import metrics


def test_target_rank_counts_strictly_higher_and_lower_id_ties():
    scores = jnp.array([[0.0, 5.0, 3.0, 3.0, 1.0], [0.0, 1.0, 2.0, 3.0, 4.0]])
    candidates = jnp.ones((2, 5), bool).at[:, 0].set(False)
    ranks, counts = metrics.target_rank(scores, jnp.array([3, 1]), candidates)
    # user 0: item 1 (5.0) beats it, item 2 ties with a lower id -> rank 2.
    np.testing.assert_array_equal(ranks, [2, 3])
    np.testing.assert_array_equal(counts, [4, 4])


def test_target_rank_respects_candidates():
    scores = jnp.array([[0.0, 5.0, 3.0, 4.0], [0.0, 5.0, 3.0, 4.0]])
    # Row 0: the target competes with item 2 only. Row 1: the target (3) is not a
    # candidate (a repeat under exclude_seen), so it ranks after both candidates.
    candidates = jnp.array([[False, False, True, True], [False, True, True, False]])
    ranks, counts = metrics.target_rank(scores, jnp.array([3, 3]), candidates)
    np.testing.assert_array_equal(ranks, [0, 2])
    np.testing.assert_array_equal(counts, [2, 3])
    out = metrics.metrics_from_ranks(np.asarray(ranks), np.asarray(counts), (2,))
    np.testing.assert_allclose(out["hr@2"], [1, 0])
    np.testing.assert_allclose(out["auc"], [1, 0])


def test_metrics_from_ranks_hand_computed():
    # ranks 0, 4, 15 among 101 candidates; k = 10.
    out = metrics.metrics_from_ranks(np.array([0, 4, 15]), np.array([101, 101, 101]), (10,))
    np.testing.assert_allclose(out["hr@10"], [1, 1, 0])
    np.testing.assert_allclose(out["ndcg@10"], [1.0, 1 / np.log2(6), 0.0], rtol=1e-12)
    np.testing.assert_allclose(out["recall@10"], out["hr@10"])
    np.testing.assert_allclose(out["precision@10"], [0.1, 0.1, 0.0])
    # F1 for a hit: P = 0.1, R = 1 -> 2 * 0.1 / 1.1.
    np.testing.assert_allclose(out["f1@10"], [0.2 / 1.1, 0.2 / 1.1, 0.0], rtol=1e-12)
    np.testing.assert_allclose(out["mrr"], [1.0, 0.2, 1 / 16])
    np.testing.assert_allclose(out["auc"], [1.0, 96 / 100, 85 / 100])


def test_coverage_ignores_padding_and_duplicates():
    top = np.array([[1, 2, 0], [2, 3, 3]])
    assert metrics.coverage(top, num_items=6) == pytest.approx(3 / 6)
