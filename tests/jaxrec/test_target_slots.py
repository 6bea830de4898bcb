"""BERT4Rec's bounded masking and the training step's gather of target positions."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrec.config import ModelConfig
from jaxrec.losses import full_cross_entropy
from jaxrec.models import build_model
from jaxrec.models.bert4rec import BERT4Rec, masked_slots
from jaxrec.training.step import gather_target_slots
from jaxrec.weighted_loss import weighted_cross_entropy

CFG = ModelConfig(name="bert4rec", embed_dim=16, num_layers=1, num_heads=2, mlp_dim=16, max_len=12)


@pytest.mark.parametrize(
    "length, mask_prob, expected", [(200, 0.2, 64), (50, 0.2, 24), (10, 0.3, 10), (200, 0.5, 136)]
)
def test_masked_slots_is_mean_plus_four_std_rounded_up_to_8(length, mask_prob, expected):
    assert masked_slots(length, mask_prob) == expected


def test_only_bert4rec_bounds_its_targets():
    assert build_model(CFG, num_items=30, seed=0).target_slots(200) == 64
    sasrec = build_model(dataclasses.replace(CFG, name="sasrec"), num_items=30, seed=0)
    assert sasrec.target_slots(200) is None


def test_training_pair_masks_at_most_target_slots_per_row(monkeypatch):
    monkeypatch.setattr(BERT4Rec, "target_slots", lambda self, length: 2)
    model = build_model(dataclasses.replace(CFG, mask_prob=0.5), num_items=30, seed=0)
    sequence = jnp.tile(jnp.arange(1, 13, dtype=jnp.int32), (300, 1))
    inputs, labels = model.training_pair(sequence, sequence, jax.random.key(0))
    per_row = np.asarray((labels > 0).sum(axis=1))
    assert per_row.max() == 2 and per_row.mean() > 1.9  # the cap binds on almost every row
    assert len({tuple(row) for row in np.asarray(labels > 0)}) >= 20  # at random positions
    np.testing.assert_array_equal(inputs == model.mask_id, labels > 0)
    # Without the cap the same key masks ~6 of 12 per row.
    monkeypatch.undo()
    _, uncapped = model.training_pair(sequence, sequence, jax.random.key(0))
    assert float((uncapped > 0).sum(axis=1).mean()) > 4


def _problem(seed=0, batch=5, length=12, dim=8, items=20, slots=4):
    rng = np.random.default_rng(seed)
    hidden = jnp.asarray(rng.normal(size=(batch, length, dim)), jnp.float32)
    table = jnp.asarray(rng.normal(size=(items, dim)), jnp.float32)
    targets = np.zeros((batch, length), np.int32)
    for row in range(batch):
        filled = rng.choice(length, size=rng.integers(0, slots + 1), replace=False)
        targets[row, filled] = rng.integers(1, items, size=filled.size)
    weights = jnp.asarray(rng.uniform(0.5, 2.0, size=(batch, length)), jnp.float32)
    return hidden, table, jnp.asarray(targets), weights


def test_gather_keeps_every_target_in_order():
    hidden, _, targets, weights = _problem()
    got_hidden, got_targets, got_weights = gather_target_slots(4, hidden, targets, weights)
    assert got_hidden.shape == (5, 4, 8) and got_targets.shape == (5, 4)
    for row in range(5):
        where = np.flatnonzero(np.asarray(targets[row]))
        n = where.size
        np.testing.assert_array_equal(got_targets[row, :n], targets[row, where])
        np.testing.assert_array_equal(got_targets[row, n:], 0)
        np.testing.assert_array_equal(got_hidden[row, :n], hidden[row, where])
        np.testing.assert_array_equal(got_weights[row, :n], weights[row, where])


def test_loss_and_gradient_over_gathered_slots_equal_those_over_all_positions():
    hidden, table, targets, weights = _problem(seed=1)

    def full(h):
        return full_cross_entropy(h, table, targets)

    def gathered(h):
        h, t, _ = gather_target_slots(4, h, targets)
        return full_cross_entropy(h, table, t)

    np.testing.assert_allclose(gathered(hidden), full(hidden), rtol=1e-6)
    np.testing.assert_allclose(jax.grad(gathered)(hidden), jax.grad(full)(hidden), atol=1e-6)
    h, t, w = gather_target_slots(4, hidden, targets, weights)
    np.testing.assert_allclose(
        weighted_cross_entropy(h, table, t, w, 7.0),
        weighted_cross_entropy(hidden, table, targets, weights, 7.0),
        rtol=1e-6,
    )
