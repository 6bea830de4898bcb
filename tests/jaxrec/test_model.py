import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxrec import sharding
from jaxrec.config import ModelConfig
from jaxrec.models import build_model

CFG = ModelConfig(embed_dim=16, num_layers=2, num_heads=2, mlp_dim=16, max_len=10)
BLOCKS = pytest.mark.parametrize("block", ["pre_ln", "sasrec"])
ALL_MODELS = pytest.mark.parametrize("name", ["sasrec", "hybrid", "bert4rec", "gru4rec", "lstm"])
CAUSAL_MODELS = pytest.mark.parametrize("name", ["sasrec", "hybrid", "gru4rec", "lstm"])


def _model(name, **overrides):
    return build_model(dataclasses.replace(CFG, name=name, **overrides), num_items=30, seed=0)


@BLOCKS
def test_shapes_and_padding_column(block):
    model = build_model(dataclasses.replace(CFG, block=block), num_items=30, seed=0)
    ids = jnp.array([[0, 0, 0, 1, 2, 3, 4, 5, 6, 7]] * 3, jnp.int32)
    assert model.encode(ids).shape == (3, 10, 16)
    scores = model.score_all(ids)
    assert scores.shape == (3, 31) and bool(jnp.all(jnp.isneginf(scores[:, 0])))


@BLOCKS
def test_causal_future_items_do_not_change_the_past(block):
    model = build_model(dataclasses.replace(CFG, block=block), num_items=30, seed=0)
    a = jnp.array([[0, 0, 3, 4, 5, 6, 7, 8, 9, 10]], jnp.int32)
    b = a.at[0, 7:].set(jnp.array([20, 21, 22]))
    np.testing.assert_allclose(model.encode(a)[:, :7], model.encode(b)[:, :7], rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.encode(a)[:, 9], model.encode(b)[:, 9])


@BLOCKS
def test_left_padding_length_does_not_change_the_user_state(block):
    model = build_model(dataclasses.replace(CFG, block=block), num_items=30, seed=0)
    short = jnp.array([[0, 0, 0, 0, 0, 0, 5, 6, 7, 8]], jnp.int32)
    np.testing.assert_allclose(
        model.user_state(short), model.user_state(short[:, 4:]), rtol=1e-5, atol=1e-6
    )


def test_dropout_only_with_a_key():
    model = build_model(CFG, num_items=30, seed=0)
    ids = jnp.arange(1, 11, dtype=jnp.int32)[None]
    np.testing.assert_array_equal(model.encode(ids), model.encode(ids))
    assert not np.allclose(model.encode(ids, key=jax.random.key(0)), model.encode(ids))


def test_every_parameter_has_logical_axes_and_item_table_is_row_sharded():
    model = build_model(CFG, num_items=31, seed=0)
    _, params = nnx.split(model)
    for path, var in nnx.to_flat_state(params):
        names = var.get_metadata("out_sharding", None)
        assert names is not None and len(names) == var.get_value().ndim, path
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, model=4), jax.devices()[:8])
    shardings = sharding.param_shardings(params, mesh)
    assert shardings["item_embed"].spec == jax.sharding.PartitionSpec("model", None)


def test_block_layouts_compute_different_functions():
    ids = jnp.arange(1, 11, dtype=jnp.int32)[None]
    pre_ln = build_model(CFG, num_items=30, seed=0)
    sasrec = build_model(dataclasses.replace(CFG, block="sasrec"), num_items=30, seed=0)
    assert not np.allclose(pre_ln.encode(ids), sasrec.encode(ids), atol=1e-4)


@ALL_MODELS
def test_every_model_scores_the_catalogue_independently_of_padding(name):
    model = _model(name)
    ids = jnp.array([[0, 0, 0, 0, 0, 0, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], jnp.int32)
    scores = model.score_all(ids)
    assert scores.shape == (2, 31) and bool(jnp.all(jnp.isneginf(scores[:, 0])))
    assert bool(jnp.all(jnp.isfinite(scores[:, 1:])))
    np.testing.assert_allclose(
        model.score_all(ids[:1, 2:]), scores[:1], rtol=1e-5, atol=1e-5
    )  # fewer padding columns, same scores
    assert not np.allclose(scores[0], scores[1])


@CAUSAL_MODELS
def test_causal_models_do_not_look_ahead(name):
    model = _model(name)
    a = jnp.array([[0, 0, 3, 4, 5, 6, 7, 8, 9, 10]], jnp.int32)
    b = a.at[0, 7:].set(jnp.array([20, 21, 22]))
    np.testing.assert_allclose(model.encode(a)[:, :7], model.encode(b)[:, :7], rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.encode(a)[:, 9], model.encode(b)[:, 9])


def test_bert4rec_attends_both_ways_and_scores_a_trailing_mask_token():
    model = _model("bert4rec")
    a = jnp.array([[0, 0, 3, 4, 5, 6, 7, 8, 9, 10]], jnp.int32)
    b = a.at[0, 9].set(20)
    assert not np.allclose(model.encode(a)[:, 2], model.encode(b)[:, 2])  # sees the future
    appended = jnp.array([[0, 3, 4, 5, 6, 7, 8, 9, 10, model.mask_id]], jnp.int32)
    np.testing.assert_allclose(model.user_state(a), model.encode(appended)[:, -1], rtol=1e-6)
    assert model.item_table().shape == (31, 16)  # the mask token is never a candidate


def test_bert4rec_training_pair_masks_about_mask_prob_of_the_items():
    model = _model("bert4rec", mask_prob=0.3)
    sequence = jnp.tile(jnp.arange(1, 11, dtype=jnp.int32), (400, 1)).at[:, :3].set(0)
    inputs, labels = model.training_pair(sequence * 0, sequence, jax.random.key(0))
    masked = inputs == model.mask_id
    np.testing.assert_array_equal(labels, jnp.where(masked, sequence, 0))
    np.testing.assert_array_equal(jnp.where(masked, sequence, inputs), sequence)
    assert not bool(jnp.any(masked[:, :3]))  # padding is never masked
    assert abs(float(masked[:, 3:].mean()) - 0.3) < 0.02


def test_bert4rec_mask_last_prob_turns_rows_into_next_item_samples():
    sequence = jnp.tile(jnp.arange(1, 11, dtype=jnp.int32), (400, 1)).at[:, :3].set(0)
    key = jax.random.key(0)
    plain, _ = _model("bert4rec", mask_prob=0.3).training_pair(sequence, sequence, key)
    model = _model("bert4rec", mask_prob=0.3, mask_last_prob=0.5)
    inputs, labels = model.training_pair(sequence, sequence.at[-1].set(0), key)
    masked = inputs == model.mask_id
    last_only = masked[:, -1] & (masked.sum(axis=1) == 1)
    assert 0.4 < float(last_only[:-1].mean()) < 0.7  # ~0.5 + random rows that hit only it
    # Rows not turned into next-item samples keep the random masking of mask_last_prob=0.
    kept = ~last_only[:-1]
    np.testing.assert_array_equal(inputs[:-1][kept], plain[:-1][kept])
    np.testing.assert_array_equal(labels, jnp.where(masked, sequence.at[-1].set(0), 0))
    assert not bool(masked[-1].any())  # an empty row has no last item to mask
    with pytest.raises(ValueError, match="mask_last_prob"):
        dataclasses.replace(CFG, name="bert4rec", mask_last_prob=1.5)


@pytest.mark.parametrize("name", ["gru4rec", "lstm"])
def test_recurrent_state_carries_information_from_the_start(name):
    model = _model(name)
    a = jnp.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], jnp.int32)
    b = a.at[0, 0].set(25)
    assert not np.allclose(model.user_state(a), model.user_state(b), atol=1e-6)


def test_hybrid_gate_is_inspectable_and_mixes_short_and_long_term():
    from jaxrec.models.hybrid import running_mean

    model = _model("hybrid")
    ids = jnp.array([[0, 0, 3, 4, 5, 6, 7, 8, 9, 10]], jnp.int32)
    gates = model.gates(ids)
    assert gates.shape == (1, 16) and bool(jnp.all((gates > 0) & (gates < 1)))
    short, long, gate = model._parts(ids, None)
    np.testing.assert_allclose(
        model.encode(ids), gate * short + (1 - gate) * long, rtol=1e-5, atol=1e-6
    )
    x = jnp.arange(1.0, 5.0).reshape(1, 4, 1)
    valid = jnp.array([[False, True, True, True]])
    np.testing.assert_allclose(running_mean(x, valid)[0, :, 0], [0.0, 2.0, 2.5, 3.0])


def test_matrix_factorisation_scores_by_user_vector_not_history():
    model = build_model(dataclasses.replace(CFG, name="bpr_mf"), num_items=30, seed=0, num_users=5)
    ids = jnp.array([[0, 0, 3, 4, 5, 6, 7, 8, 9, 10]] * 2, jnp.int32)
    users = jnp.array([1, 3], jnp.int32)
    scores = model.score_all(ids, users)
    expected = model.user_embed[...][users] @ model.item_embed[...].T
    np.testing.assert_allclose(scores[:, 1:], expected[:, 1:], rtol=1e-6)
    assert bool(jnp.all(jnp.isneginf(scores[:, 0])))
    np.testing.assert_allclose(model.score_all(ids[:, ::-1], users), scores)  # order-free
    hidden = model.encode(ids, users=users)
    np.testing.assert_array_equal(hidden[:, :2], 0.0)  # padding positions carry nothing
    with pytest.raises(ValueError, match="user ids"):
        model.score_all(ids)
