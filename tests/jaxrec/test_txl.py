"""Transformer-XL memory: causal, padding-invariant, and reaching exactly L x S back."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrec.config import ModelConfig
from jaxrec.models import build_model
from jaxrec.models.txl import relative_buckets, segment_mask

SEGMENT = 8


def _model(**overrides):
    sizes = dict(embed_dim=16, num_layers=2, num_heads=2, mlp_dim=16, max_len=40)
    txl = dict(segment_len=SEGMENT, relative_buckets=8, block="sasrec")
    cfg = ModelConfig(name="txl", **{**sizes, **txl, **overrides})
    return build_model(cfg, 50, seed=0)


def _ids(batch=3, length=30, seed=0):
    return np.random.default_rng(seed).integers(1, 51, size=(batch, length)).astype(np.int32)


def test_relative_buckets_exact_then_logarithmic():
    buckets = np.asarray(relative_buckets(jnp.arange(64), num_buckets=8, max_distance=64))
    np.testing.assert_array_equal(buckets[:4], [0, 1, 2, 3])
    assert np.all(np.diff(buckets) >= 0) and buckets[-1] == 7 and buckets[4] == 4


def test_segment_mask_sees_valid_memory_and_the_causal_past():
    mask = np.asarray(segment_mask(jnp.array([[False, True]]), jnp.array([[True, True]])))[0, 0]
    np.testing.assert_array_equal(mask, [[False, True, True, False], [False, True, True, True]])


@pytest.mark.parametrize("block", ["sasrec", "pre_ln"])
def test_outputs_are_causal_and_ignore_extra_left_padding(block):
    model = _model(block=block)
    ids = _ids()
    ids[0, :20] = 0
    hidden = model.encode(jnp.asarray(ids))
    assert hidden.shape == (3, 30, 16) and bool(jnp.isfinite(hidden).all())
    changed = ids.copy()
    changed[:, 25] = 7
    other = model.encode(jnp.asarray(changed))
    np.testing.assert_array_equal(other[:, :25], hidden[:, :25])
    assert float(jnp.abs(other[:, 25:] - hidden[:, 25:]).max()) > 1e-3
    padded = model.encode(jnp.asarray(np.pad(ids, ((0, 0), (13, 0)))))
    np.testing.assert_allclose(padded[:, 13:], hidden, atol=1e-5)


@pytest.mark.parametrize("length", [1, 5])
def test_history_shorter_than_a_segment_runs_as_one_short_segment(length):
    model = _model(init_std=0.5)
    ids = _ids(batch=2, length=length)
    short = model.encode(jnp.asarray(ids))
    full = model.encode(jnp.asarray(np.pad(ids, ((0, 0), (SEGMENT - length, 0)))))
    assert short.shape == (2, length, 16)
    np.testing.assert_allclose(short, full[:, -length:], atol=1e-5)
    # The window is the history's own length, not the segment: less attention work.
    encode = jax.jit(model.encode)
    flops = lambda n: encode.lower(jnp.ones((2, n), jnp.int32)).cost_analysis()["flops"]
    assert flops(length) < flops(SEGMENT)


def test_memory_reaches_num_layers_segments_back_and_no_further():
    model = _model(init_std=0.5)  # large weights so that every path is visible
    ids = _ids(batch=1, length=4 * SEGMENT)
    last = model.encode(jnp.asarray(ids))[0, -1]

    def effect(position):
        changed = ids.copy()
        changed[0, position] = ids[0, position] % 50 + 1
        return float(jnp.abs(model.encode(jnp.asarray(changed))[0, -1] - last).max())

    # The last segment is 3; 2 layers of memory reach segments 2 and 1, not 0.
    assert effect(0) == 0.0 and effect(SEGMENT - 1) == 0.0
    assert effect(SEGMENT) > 1e-3 and effect(2 * SEGMENT) > 1e-3


def test_without_segment_memory_each_segment_sees_only_itself():
    model = _model(init_std=0.5, segment_memory=False)
    ids = _ids(batch=2, length=3 * SEGMENT)
    hidden = model.encode(jnp.asarray(ids))
    # Every segment equals that segment encoded alone: no information crosses a boundary.
    for start in range(0, 3 * SEGMENT, SEGMENT):
        alone = model.encode(jnp.asarray(ids[:, start : start + SEGMENT]))
        np.testing.assert_allclose(hidden[:, start : start + SEGMENT], alone, atol=1e-5)
    with_memory = _model(init_std=0.5).encode(jnp.asarray(ids))
    np.testing.assert_allclose(with_memory[:, :SEGMENT], hidden[:, :SEGMENT], atol=1e-5)
    assert float(jnp.abs(with_memory[:, SEGMENT:] - hidden[:, SEGMENT:]).max()) > 1e-3


def test_training_mode_uses_dropout_and_stays_finite():
    model = _model(dropout=0.3, attention_dropout=0.3)
    ids = jnp.asarray(_ids())
    a = model.encode(ids, key=jax.random.key(1))
    b = model.encode(ids, key=jax.random.key(2))
    assert bool(jnp.isfinite(a).all()) and float(jnp.abs(a - b).max()) > 1e-4
