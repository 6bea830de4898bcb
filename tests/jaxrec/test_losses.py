import typing

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrec import losses
from jaxrec.config import LossConfig, LossName


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _log_sigmoid(x):
    return -np.log1p(np.exp(-x))


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(2, 3, 4)).astype(np.float32)
    table = rng.normal(size=(7, 4)).astype(np.float32)
    targets = np.array([[0, 2, 5], [1, 6, 3]], np.int32)
    return hidden, table, targets


def test_full_cross_entropy_matches_numpy(problem):
    hidden, table, targets = problem
    logits = hidden @ table.T
    logits[..., 0] = -np.inf
    nll = -np.take_along_axis(_log_softmax(logits), targets[..., None], -1)[..., 0]
    expected = nll[targets > 0].mean()
    got = losses.full_cross_entropy(jnp.asarray(hidden), jnp.asarray(table), jnp.asarray(targets))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_bce_matches_numpy(problem):
    hidden, table, targets = problem
    negatives = np.array([[[3, 4]] * 3, [[2, 5]] * 3], np.int32)
    pos = (hidden * table[targets]).sum(-1)
    neg = np.einsum("bld,blkd->blk", hidden, table[negatives])
    per = -_log_sigmoid(pos) - _log_sigmoid(-neg).sum(-1)
    got = losses.binary_cross_entropy(*map(jnp.asarray, (hidden, table, targets, negatives)))
    np.testing.assert_allclose(got, per[targets > 0].mean(), rtol=1e-5)


def test_sampled_softmax_matches_numpy_and_masks_hits(problem):
    hidden, table, targets = problem
    negatives = np.array([2, 4, 6], np.int32)
    log_q = np.log(np.array([0.2, 0.3, 0.5], np.float32))
    pos = (hidden * table[targets]).sum(-1)
    neg = hidden @ table[negatives].T - log_q
    neg = np.where(negatives[None, None] == targets[..., None], -np.inf, neg)
    logits = np.concatenate([pos[..., None], neg], -1)
    per = -_log_softmax(logits)[..., 0]
    got = losses.sampled_softmax(*map(jnp.asarray, (hidden, table, targets, negatives, log_q)))
    np.testing.assert_allclose(got, per[targets > 0].mean(), rtol=1e-5)


NEGATIVES = np.array([[[3, 4]] * 3, [[2, 5]] * 3], np.int32)


def _pair_scores(hidden, table, targets):
    return (hidden * table[targets]).sum(-1), np.einsum("bld,blkd->blk", hidden, table[NEGATIVES])


def test_bpr_matches_numpy(problem):
    hidden, table, targets = problem
    pos, neg = _pair_scores(hidden, table, targets)
    per = -_log_sigmoid(pos[..., None] - neg).mean(-1)
    got = losses.bpr(*map(jnp.asarray, (hidden, table, targets, NEGATIVES)))
    np.testing.assert_allclose(got, per[targets > 0].mean(), rtol=1e-5)


def test_gbce_matches_numpy_and_reduces_to_bce_at_zero_calibration(problem):
    hidden, table, targets = problem
    pos, neg = _pair_scores(hidden, table, targets)
    alpha, t = 2 / 5, 0.75  # 2 negatives out of 6 - 1 items
    beta = alpha * (t * (1 - 1 / alpha) + 1 / alpha)
    assert losses.gbce_beta(2, 6, t) == pytest.approx(beta)
    assert losses.gbce_beta(2, 6, 0.0) == pytest.approx(1.0)
    per = -beta * _log_sigmoid(pos) - _log_sigmoid(-neg).sum(-1)
    args = tuple(map(jnp.asarray, (hidden, table, targets, NEGATIVES)))
    np.testing.assert_allclose(
        losses.generalised_bce(*args, beta), per[targets > 0].mean(), rtol=1e-5
    )
    np.testing.assert_allclose(
        losses.generalised_bce(*args, 1.0), losses.binary_cross_entropy(*args), rtol=1e-6
    )


def test_ce_plus_bpr_is_the_weighted_mix(problem):
    hidden, table, targets = map(jnp.asarray, problem)
    key = jax.random.key(0)
    cfg = LossConfig(name="ce+bpr", num_negatives=3, pairwise_weight=0.3)
    negatives = losses.uniform_negatives(key, targets, table.shape[0] - 1, 3)
    expected = 0.7 * losses.full_cross_entropy(hidden, table, targets) + 0.3 * losses.bpr(
        hidden, table, targets, negatives
    )
    got = losses.compute_loss(cfg, hidden, table, targets, key, jnp.zeros(table.shape[0]))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_uniform_negatives_never_hit_the_target():
    targets = jnp.tile(jnp.arange(1, 11, dtype=jnp.int32), (4, 1))
    negs = losses.uniform_negatives(jax.random.key(0), targets, num_items=10, k=50)
    assert negs.shape == (4, 10, 50)
    assert int(negs.min()) >= 1 and int(negs.max()) <= 10
    assert not bool(jnp.any(negs == targets[..., None]))
    # Every other item shows up: the sampler covers the catalogue.
    assert len(np.unique(np.asarray(negs[:, 0]))) == 9


@pytest.mark.parametrize("name", typing.get_args(LossName))
def test_compute_loss_dispatch_is_finite(problem, name):
    hidden, table, targets = problem
    prior = jnp.log(jnp.full((7,), 1 / 6)).at[0].set(-jnp.inf)
    cfg = LossConfig(name=name, num_negatives=3)
    loss = losses.compute_loss(
        cfg, *map(jnp.asarray, (hidden, table, targets)), jax.random.key(1), prior
    )
    assert np.isfinite(float(loss)) and float(loss) > 0


def test_normalizer_turns_the_mean_into_a_sum_over_a_constant(problem):
    hidden, table, targets = map(jnp.asarray, problem)
    args = (LossConfig(name="ce"), hidden, table, targets, jax.random.key(0), jnp.zeros(7))
    mean = losses.compute_loss(*args)
    count = int(jnp.sum(targets > 0))
    np.testing.assert_allclose(losses.compute_loss(*args, normalizer=10.0), mean * count / 10.0)
