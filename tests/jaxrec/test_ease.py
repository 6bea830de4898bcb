import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose

from jaxrec.baselines.ease import ease_score_fn, fit_ease, gram_matrix, interaction_matrix
from jaxrec.config import ModelConfig

NUM_ITEMS = 12


def _random_users(num_users: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    dense = rng.random((num_users, NUM_ITEMS)) < 0.35
    return [np.flatnonzero(row).astype(np.int32) + 1 for row in dense]


def _reference(x: np.ndarray, l2: float) -> np.ndarray:
    """Steck's closed form, literally, on a dense float64 X without the padding column."""
    g = x.T @ x + l2 * np.eye(x.shape[1])
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    return b


def _dense(users: list[np.ndarray]) -> np.ndarray:
    x = np.zeros((len(users), NUM_ITEMS + 1))
    for u, items in enumerate(users):
        x[u, items] = 1.0
    return x[:, 1:]


def test_interaction_matrix_is_binary_and_skips_padding():
    x = interaction_matrix([np.array([0, 3, 3, 1]), np.array([], np.int32)], 4).toarray()
    assert_allclose(x, [[0, 1, 0, 1, 0], [0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="item ids"):
        interaction_matrix([np.array([5])], 4)


@pytest.mark.parametrize("l2", [0.5, 10.0, 300.0])
def test_weights_match_numpy_closed_form(l2):
    users = _random_users(40)
    b = fit_ease(users, NUM_ITEMS, l2)
    assert b.dtype == np.float32 and b.shape == (NUM_ITEMS + 1, NUM_ITEMS + 1)
    assert_allclose(b[1:, 1:], _reference(_dense(users), l2), rtol=1e-5, atol=1e-7)
    assert_allclose(np.diag(b), 0.0)
    assert not b[0].any() and not b[:, 0].any()


@pytest.mark.parametrize("l2", [0.5, 300.0])
def test_stationarity_off_diagonal(l2):
    # KKT of min ||X - XB||² + λ||B||² s.t. diag(B) = 0: (XᵀX + λI) B - XᵀX is diagonal.
    users = _random_users(40, seed=1)
    x = _dense(users)
    g = x.T @ x
    b = fit_ease(users, NUM_ITEMS, l2)[1:, 1:].astype(np.float64)
    residual = (g + l2 * np.eye(NUM_ITEMS)) @ b - g
    off = ~np.eye(NUM_ITEMS, dtype=bool)
    assert_allclose(residual[off], 0.0, atol=1e-4 * np.abs(g).max())


def test_small_l2_reconstructs_each_item_by_least_squares():
    # λ → 0 with XᵀX invertible: column j of B is the least-squares fit of X_j on the
    # other columns, i.e. each item is reconstructed from the rest as well as linearly possible.
    users = _random_users(300, seed=2)
    x = _dense(users)
    assert np.linalg.matrix_rank(x.T @ x) == NUM_ITEMS
    b = fit_ease(users, NUM_ITEMS, 1e-9)[1:, 1:]
    for j in range(NUM_ITEMS):
        others = np.delete(np.arange(NUM_ITEMS), j)
        coef, *_ = np.linalg.lstsq(x[:, others], x[:, j], rcond=None)
        assert_allclose(b[others, j], coef, rtol=1e-5, atol=1e-6)
    # And the fit beats every other zero-diagonal B (here: a perturbed one) on the residual.
    loss = lambda w: np.sum((x - x @ w) ** 2)
    bumped = b.astype(np.float64) + 1e-3 * (1 - np.eye(NUM_ITEMS))
    assert loss(b.astype(np.float64)) < loss(bumped)


def test_co_occurring_item_outranks_unrelated_item():
    # Items 1, 2, 3 always appear together; 4 and 5 appear together, never with 1..3.
    users = [np.array([1, 2, 3])] * 5 + [np.array([4, 5])] * 5 + [np.array([1, 2])]
    b = fit_ease(users, 5, 1.0)
    score = ease_score_fn(b, 5)
    scores = np.asarray(score(jnp.array([[0, 0, 1, 2], [0, 0, 0, 4]], jnp.int32)))
    assert scores.shape == (2, 6)
    assert scores[0, 3] > scores[0, 4] and scores[0, 3] > scores[0, 5]
    assert scores[1, 5] > max(scores[1, 1], scores[1, 2], scores[1, 3])


def test_scores_are_indicator_times_weights_with_padding_neg_inf():
    users = _random_users(40, seed=3)
    b = fit_ease(users, NUM_ITEMS, 5.0)
    # Repeats and padding on both sides: the profile is the binary set of the real ids.
    histories = np.array([[0, 0, 3, 3, 7], [1, 2, 0, 12, 0], [0, 0, 0, 0, 0]], np.int32)
    scores = np.asarray(ease_score_fn(b, NUM_ITEMS)(jnp.asarray(histories)))
    profile = np.zeros((3, NUM_ITEMS + 1))
    profile[0, [3, 7]] = profile[1, [1, 2, 12]] = 1.0
    expected = profile @ b.astype(np.float64)
    assert np.all(np.isneginf(scores[:, 0]))
    assert_allclose(scores[:, 1:], expected[:, 1:], rtol=1e-5, atol=1e-6)


def test_recency_weights_each_item_by_its_most_recent_position():
    users = _random_users(40, seed=5)
    b = fit_ease(users, NUM_ITEMS, 5.0)
    # Left-padded; item 3 repeats (its later position counts), item 9 is the most recent.
    histories = np.array([[0, 3, 5, 3, 9], [0, 0, 0, 0, 4]], np.int32)
    scores = np.asarray(ease_score_fn(b, NUM_ITEMS, recency=0.5)(jnp.asarray(histories)))
    profile = np.zeros((2, NUM_ITEMS + 1))
    profile[0, [9, 3, 5]] = [1.0, 0.5, 0.25]
    profile[1, 4] = 1.0
    expected = profile @ b.astype(np.float64)
    assert np.all(np.isneginf(scores[:, 0]))
    assert_allclose(scores[:, 1:], expected[:, 1:], rtol=1e-5, atol=1e-6)
    binary = np.asarray(ease_score_fn(b, NUM_ITEMS)(jnp.asarray(histories)))
    assert not np.allclose(binary[0, 1:], scores[0, 1:])


def test_score_fn_rejects_wrong_shape_and_gram_is_symmetric():
    users = _random_users(10, seed=4)
    g = gram_matrix(users, NUM_ITEMS)
    assert_allclose(g, g.T)
    assert_allclose(np.diag(g)[1:], [sum(j in u for u in users) for j in range(1, 13)])
    with pytest.raises(ValueError, match="expected"):
        ease_score_fn(np.zeros((4, 4), np.float32), NUM_ITEMS)


@pytest.mark.parametrize("recency", [(0.0,), (1.5,), ()])
def test_config_rejects_out_of_range_ease_recency(recency):
    with pytest.raises(ValueError, match="ease_recency"):
        ModelConfig(name="ease", ease_recency=recency)
