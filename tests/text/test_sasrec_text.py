"""Text-aware SASRec on tiny shapes: fusion modes, cold items, frozen features, e2e CLI."""

import dataclasses
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models import build_model
from tests.text.conftest import NUM_ITEMS, fake_features

REPO = pathlib.Path(__file__).resolve().parents[2]
COLD = (3, 7)


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    return fake_features(tmp_path_factory.mktemp("feat") / "f.npz", NUM_ITEMS, cold=COLD)


def _model(features, repr_="both", seed=0):
    cfg = ModelConfig(
        name="sasrec_text",
        item_repr=repr_,
        text_features=str(features),
        embed_dim=16,
        num_layers=1,
        num_heads=2,
        mlp_dim=16,
        max_len=8,
    )
    return build_model(cfg, NUM_ITEMS, seed=seed)


IDS = jnp.array([[0, 0, 1, 2, 4], [5, 6, 8, 9, 10]], jnp.int32)


@pytest.mark.parametrize("repr_", ["id", "text", "both"])
def test_shapes_and_cold_mask(features, repr_):
    model = _model(features, repr_)
    table = model.item_table()
    assert table.shape == (NUM_ITEMS + 1, 17)
    assert float(table[COLD[0], -1]) == -1e4 and float(table[1, -1]) == 0.0
    hidden = model.encode(IDS)
    assert hidden.shape == (2, 5, 17) and bool(jnp.all(hidden[..., -1] == 1.0))
    scores = model.score_all(IDS)
    assert scores.shape == (2, NUM_ITEMS + 1) and bool(jnp.isneginf(scores[:, 0]).all())
    assert bool(jnp.isfinite(scores[:, 1:]).all())


def test_cold_items_are_scored_by_text_only(features):
    model = _model(features, "both")
    before = model.score_all(IDS)
    # Cold items' id rows are ignored; warm rows matter.
    model.item_embed[...] = model.item_embed[...].at[jnp.array(COLD)].set(5.0)
    np.testing.assert_allclose(model.score_all(IDS), before, rtol=1e-6)
    model.item_embed[...] = model.item_embed[...].at[1].set(5.0)
    assert not np.allclose(model.score_all(IDS)[:, 1], before[:, 1])


def test_text_ignored_in_id_mode_and_used_in_text_mode(features):
    for repr_, changes in (("id", False), ("text", True)):
        model = _model(features, repr_)
        before = model.score_all(IDS)
        model.text[...] = jnp.roll(model.text[...], 1, axis=1)
        assert changes == (not np.allclose(model.score_all(IDS), before, atol=1e-6))


def test_frozen_features_get_no_gradient(features):
    model = _model(features, "both")
    graphdef, params = nnx.split(model)

    def loss(p):
        m = nnx.merge(graphdef, p)
        return jnp.sum(m.encode(IDS)[:, -1] @ m.item_table().T)

    grads = jax.grad(loss)(params)
    assert float(jnp.abs(grads["text"][...]).max()) == 0.0
    assert float(jnp.abs(grads["warm"][...]).max()) == 0.0
    assert float(jnp.abs(grads["text_proj"]["kernel"][...]).max()) > 0.0


def test_bad_feature_file_is_named(tmp_path, features):
    with pytest.raises(ValueError, match="text_features is empty"):
        _model("", "text")
    wrong = fake_features(tmp_path / "wrong.npz", NUM_ITEMS + 3)
    with pytest.raises(ValueError, match=r"wrong\.npz.*do not fit 40 items"):
        _model(wrong, "text")


def test_shipped_config_builds():
    from jaxrec.config import load_config

    cfg = load_config(REPO / "configs" / "sasrec_text.py")
    assert cfg.model.name == "sasrec_text" and cfg.model.item_repr == "both"
    assert dataclasses.replace(cfg.model, item_repr="id").item_repr == "id"


def test_id_dropout_drops_id_rows_in_training_table_only(features):
    model = _model(features, "both")
    model.cfg = dataclasses.replace(model.cfg, id_dropout=0.5)
    full = model.item_table()
    dropped = model.training_table(jax.random.key(0))
    text_only = _model(features, "both")
    text_only.item_embed[...] = jnp.zeros_like(text_only.item_embed[...])
    text_rows = text_only.item_table()
    same_as_full = np.all(np.isclose(dropped, full, atol=1e-6), axis=1)[1:]
    same_as_text = np.all(np.isclose(dropped, text_rows, atol=1e-6), axis=1)[1:]
    # Every row is either intact or text-only, and with rate 0.5 both kinds occur.
    assert bool(np.all(same_as_full | same_as_text))
    assert 0 < int((~same_as_full).sum()) < NUM_ITEMS
    # Inference and rate 0 ignore the key.
    np.testing.assert_allclose(model.score_all(IDS), _model(features, "both").score_all(IDS))
    model.cfg = dataclasses.replace(model.cfg, id_dropout=0.0)
    np.testing.assert_allclose(model.training_table(jax.random.key(0)), full)


def test_id_dropout_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="id_dropout"):
        ModelConfig(name="sasrec_text", id_dropout=1.0)
