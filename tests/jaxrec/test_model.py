import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxrec import sharding
from jaxrec.config import ModelConfig
from jaxrec.models import build_model

CFG = ModelConfig(embed_dim=16, num_layers=2, num_heads=2, mlp_dim=16, max_len=10)


def test_shapes_and_padding_column():
    model = build_model(CFG, num_items=30, seed=0)
    ids = jnp.array([[0, 0, 0, 1, 2, 3, 4, 5, 6, 7]] * 3, jnp.int32)
    assert model.encode(ids).shape == (3, 10, 16)
    scores = model.score_all(ids)
    assert scores.shape == (3, 31) and bool(jnp.all(jnp.isneginf(scores[:, 0])))


def test_causal_future_items_do_not_change_the_past():
    model = build_model(CFG, num_items=30, seed=0)
    a = jnp.array([[0, 0, 3, 4, 5, 6, 7, 8, 9, 10]], jnp.int32)
    b = a.at[0, 7:].set(jnp.array([20, 21, 22]))
    np.testing.assert_allclose(model.encode(a)[:, :7], model.encode(b)[:, :7], rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.encode(a)[:, 9], model.encode(b)[:, 9])


def test_left_padding_length_does_not_change_the_user_state():
    model = build_model(CFG, num_items=30, seed=0)
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
