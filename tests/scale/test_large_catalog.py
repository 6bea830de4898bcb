"""Sampled softmax with logQ + in-batch negatives, and chunked full-ranking evaluation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrec import losses
from jaxrec.chunked_eval import rank_in_chunks
from jaxrec.config import LossConfig
from jaxrec.evaluation import rank_batch
from jaxrec.sampled_softmax import (
    in_batch_negatives,
    log_expected_count,
    mixed_sampled_softmax,
    sample_from_log_prior,
)


def _problem(num_items=50, b=4, length=6, d=8, seed=0):
    rng = np.random.default_rng(seed)
    hidden = rng.normal(size=(b, length, d)).astype(np.float32)
    table = rng.normal(size=(num_items + 1, d)).astype(np.float32)
    targets = rng.integers(1, num_items + 1, size=(b, length)).astype(np.int32)
    targets[0, :2] = 0
    return jnp.asarray(hidden), jnp.asarray(table), jnp.asarray(targets)


def _uniform_prior(num_items):
    prior = np.full(num_items + 1, -np.log(num_items), np.float32)
    prior[0] = -np.inf
    return jnp.asarray(prior)


def test_sampler_follows_the_prior_and_never_draws_padding():
    with np.errstate(divide="ignore"):
        prior = np.log(np.array([0.0, 1.0, 2.0, 7.0]) / 10.0).astype(np.float32)
    draws = np.asarray(sample_from_log_prior(jax.random.key(0), jnp.asarray(prior), 20000))
    assert draws.min() >= 1 and draws.max() <= 3
    np.testing.assert_allclose(
        np.bincount(draws, minlength=4)[1:] / 20000, [0.1, 0.2, 0.7], atol=0.01
    )


def test_loss_matches_a_numpy_reference():
    hidden, table, targets = _problem()
    prior = _uniform_prior(50)
    key = jax.random.key(3)
    got = np.asarray(
        mixed_sampled_softmax(hidden, table, targets, key, prior, num_sampled=7, num_in_batch=5)
    )
    # The same candidates, recomputed through the public helpers.
    k_key, m_key = jax.random.split(key)
    sampled = np.asarray(sample_from_log_prior(k_key, prior, 7))
    batch_items, n_t = in_batch_negatives(m_key, targets, 5)
    cands = np.concatenate([sampled, np.asarray(batch_items)])
    flat = np.asarray(targets).reshape(-1)
    counts = np.array([(flat == c).sum() for c in cands])
    log_e = np.log(7 / 50 + 5 * counts / float(n_t))
    np.testing.assert_allclose(
        np.asarray(log_expected_count(jnp.asarray(cands), prior, 7, 5, jnp.asarray(flat), n_t)),
        log_e,
        rtol=1e-5,
    )
    h, t, tg = map(np.asarray, (hidden, table, targets))
    want = np.zeros(tg.shape)
    for i, j in np.ndindex(tg.shape):
        pos = h[i, j] @ t[tg[i, j]]
        neg = t[cands] @ h[i, j] - log_e
        neg = neg[cands != tg[i, j]]
        want[i, j] = np.logaddexp(pos, np.logaddexp.reduce(neg)) - pos
    mask = tg > 0
    np.testing.assert_allclose(got[mask], want[mask], rtol=1e-5, atol=1e-5)


def test_many_uniform_samples_approach_full_softmax():
    hidden, table, targets = _problem(num_items=30)
    full = losses.full_cross_entropy(hidden, table, targets)
    per = mixed_sampled_softmax(
        hidden,
        table,
        targets,
        jax.random.key(1),
        _uniform_prior(30),
        num_sampled=20000,
        num_in_batch=8,
    )
    approx = losses._masked_mean(per, targets > 0)
    np.testing.assert_allclose(float(approx), float(full), rtol=0.02)


def test_compute_loss_never_forms_position_by_catalogue_logits():
    num_items = 100_003
    hidden, _, targets = _problem(num_items=num_items, b=8, length=16, d=8)
    table = jnp.zeros((num_items + 1, 8))
    cfg = LossConfig(name="sampled_softmax", num_negatives=64, num_in_batch=32)
    prior = _uniform_prior(num_items)

    def loss(h, t):
        return losses.compute_loss(cfg, h, t, targets, jax.random.key(0), prior)

    jaxpr = jax.make_jaxpr(jax.grad(loss, argnums=(0, 1)))(hidden, table)
    sizes = [int(np.prod(v.aval.shape)) for eqn in jaxpr.eqns for v in eqn.outvars]
    n_positions = 8 * 16
    # The largest intermediates are table-sized (I x D, D = 8 << N = 128), not N x I.
    assert max(sizes) <= (num_items + 1) * 8 < n_positions * num_items / 4
    value = float(loss(hidden, table))
    assert np.isfinite(value)


@pytest.mark.parametrize("exclude_seen", [True, False])
def test_chunked_ranking_equals_full_ranking(exclude_seen):
    rng = np.random.default_rng(0)
    b, d, num_items = 6, 4, 37
    state = rng.normal(size=(b, d)).astype(np.float32)
    table = np.round(rng.normal(size=(num_items + 1, d)), 1).astype(np.float32)
    table[5] = table[9]  # a tie: the lower id must rank first
    targets = rng.integers(1, num_items + 1, size=b).astype(np.int32)
    targets[0] = 9
    seen = rng.integers(0, num_items + 1, size=(b, 7)).astype(np.int32)
    seen[1, 3] = targets[1]  # a repeated target: a miss under exclude_seen
    scores = jnp.asarray(state @ table.T).at[:, 0].set(-jnp.inf)
    want = rank_batch(
        scores,
        jnp.asarray(targets),
        jnp.asarray(seen),
        jnp.zeros((b, 0), jnp.int32),
        exclude_seen=exclude_seen,
        keep_top=10,
    )
    got = rank_in_chunks(
        jnp.asarray(state),
        jnp.asarray(table),
        jnp.asarray(targets),
        jnp.asarray(seen),
        exclude_seen=exclude_seen,
        keep_top=10,
        chunk=8,
    )
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
    ranks, counts = np.asarray(got[0]), np.asarray(got[1])
    assert (ranks[1] == counts[1] - 1) == exclude_seen


def test_evaluate_chunked_matches_evaluate():
    from data_pipeline.pipeline import EvalData
    from jaxrec.chunked_eval import evaluate_chunked
    from jaxrec.evaluation import EvalOptions, evaluate

    rng = np.random.default_rng(1)
    n, length, d, num_items = 11, 5, 4, 29
    histories = rng.integers(0, num_items + 1, size=(n, length)).astype(np.int32)
    data = EvalData(
        users=np.arange(n, dtype=np.int32),
        histories=histories,
        targets=rng.integers(1, num_items + 1, size=n).astype(np.int32),
        seen=[h[h > 0] for h in histories],
    )
    proj = jnp.asarray(rng.normal(size=(num_items + 1, d)).astype(np.float32))
    table = jnp.asarray(rng.normal(size=(num_items + 1, d)).astype(np.float32))
    state_fn = lambda h, u: jnp.sum(proj[h], axis=1)
    score_fn = lambda h, u: (state_fn(h, u) @ table.T).at[:, 0].set(-jnp.inf)
    want, _ = evaluate(score_fn, data, num_items, EvalOptions(batch_size=4), progress=False)
    got = evaluate_chunked(state_fn, table, data, num_items, batch_size=4, chunk=7)
    for key in ("ndcg@10", "hr@10", "ndcg@20", "mrr"):
        assert got[key] == pytest.approx(want[key], rel=1e-6), key
