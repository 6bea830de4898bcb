"""sasrec_context: shapes, switches, causality (no future leakage), weighted loss, config.

Building and running the model costs ~10-15 s of CPU (XLA compiles per op shape), so the
model tests are ``slow`` (``make test-slow``); the schema, loss and config checks run in
the default suite.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from data_pipeline import context_schema as schema
from jaxrec import config as config_lib
from jaxrec.config import ContextConfig, ModelConfig
from jaxrec.fused_softmax import softmax_cross_entropy
from jaxrec.models import build_model
from jaxrec.models import sasrec_context as model_lib
from jaxrec.weighted_loss import weighted_cross_entropy

L, I = 8, 20
BASE = ModelConfig(
    name="sasrec_context",
    embed_dim=8,
    num_layers=1,
    num_heads=2,
    mlp_dim=16,
    max_len=L,
    dropout=0.1,
    attention_dropout=0.1,
    context=ContextConfig(sentiment=True),
)


@functools.cache
def _model(**switches):
    cfg = dataclasses.replace(BASE, context=dataclasses.replace(BASE.context, **switches))
    return build_model(cfg, I, seed=0)


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, I + 1, size=(2, L)).astype(np.int32)
    ids[1, :3] = 0  # left padding
    sizes = [v for _, v in (*schema.EVENT_COLUMNS, *schema.USER_COLUMNS)]
    context = np.stack([rng.integers(0, v, size=(2, L)) for v in sizes], -1).astype(np.int32)
    context[:, :, schema.NUM_EVENT :] = context[:, -1:, schema.NUM_EVENT :]  # static columns
    return jnp.asarray(ids), context


def _names(model):
    return {"/".join(map(str, k)) for k, _ in nnx.to_flat_state(nnx.state(model, nnx.Param))}


def test_model_schema_matches_the_data_schema():
    assert model_lib.EVENT_COLUMNS == schema.EVENT_COLUMNS
    assert model_lib.USER_COLUMNS == schema.USER_COLUMNS
    assert model_lib.GROUPS == schema.GROUPS


@pytest.mark.slow
def test_shapes_and_logical_axes():
    model = _model()
    ids, context = _inputs()
    assert model.encode(ids, context=jnp.asarray(context)).shape == (2, L, 8)
    assert model.score_all(ids, context=jnp.asarray(context)).shape == (2, I + 1)
    assert model.encode(ids).shape == (2, L, 8)  # no context: all unknown
    table = model.context_embed.tables["hour"]
    assert table.shape == (25, 8) and table.get_metadata()["out_sharding"] == (None, "embed")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("switch", "gone"),
    [
        ("time", ("tables/hour", "tables/weekday", "tables/gap")),
        ("user", ("tables/age", "tables/gender", "tables/occupation", "tables/region")),
        ("device", ("tables/device",)),
        ("sentiment", ("tables/sentiment",)),
        ("cross_attention", ("cross/",)),
    ],
)
def test_each_switch_removes_its_parameters_and_effect(switch, gone):
    on, off = _model(), _model(**{switch: False})
    assert all(any(g in n for n in _names(on)) for g in gone)
    assert not any(g in n for g in gone for n in _names(off))
    if switch == "cross_attention":
        return
    ids, context = _inputs()
    changed = context.copy()
    for name in schema.GROUPS[switch]:
        col = schema.column_index(name)
        changed[..., col] = (changed[..., col] + 1) % schema.vocab_size(name)
    for model, should_change in ((on, True), (off, False)):
        a = model.encode(ids, context=jnp.asarray(context))
        b = model.encode(ids, context=jnp.asarray(changed))
        assert bool(jnp.any(jnp.abs(a - b) > 1e-6)) == should_change


@pytest.mark.slow
@pytest.mark.parametrize("cross", [True, False])
def test_no_future_leakage(cross):
    model = _model(cross_attention=cross)
    ids, context = _inputs()
    t = 4
    later_ids = ids.at[:, t + 1 :].set(jnp.asarray([[3, 4, 5]] * 2))
    later = context.copy()
    later[:, t + 1 :, : schema.NUM_EVENT] = (later[:, t + 1 :, : schema.NUM_EVENT] + 1) % 5
    a = model.encode(ids, context=jnp.asarray(context))
    b = model.encode(later_ids, context=jnp.asarray(later))
    np.testing.assert_allclose(a[:, : t + 1], b[:, : t + 1], rtol=1e-5, atol=1e-6)
    assert float(jnp.max(jnp.abs(a[:, t + 1 :] - b[:, t + 1 :]))) > 1e-4


@pytest.mark.slow
def test_dropout_is_active_only_with_a_key():
    model = _model()
    ids, context = _inputs()
    c = jnp.asarray(context)
    det = model.encode(ids, context=c)
    np.testing.assert_array_equal(det, model.encode(ids, context=c))
    assert not np.allclose(det, model.encode(ids, key=jax.random.key(1), context=c))


def test_weighted_cross_entropy_matches_numpy():
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(2, 3, 4)).astype(np.float32)
    table = rng.normal(size=(6, 4)).astype(np.float32)
    targets = np.array([[0, 2, 5], [1, 0, 3]], np.int32)
    weights = np.array([[0.0, 1.5, 0.7], [1.2, 0.0, 0.9]], np.float32)
    logits = hidden @ table.T
    logits[..., 0] = -np.inf
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -np.take_along_axis(logp, targets[..., None], -1)[..., 0]
    mask = targets > 0
    reference = np.where(mask, weights * np.where(mask, ce, 0.0), 0.0).sum()
    args = (jnp.asarray(hidden), jnp.asarray(table), jnp.asarray(targets), jnp.asarray(weights))
    np.testing.assert_allclose(weighted_cross_entropy(*args), reference / 4, rtol=1e-5)
    np.testing.assert_allclose(weighted_cross_entropy(*args, 10.0), reference / 10, rtol=1e-5)
    plain = softmax_cross_entropy(args[0].reshape(-1, 4), args[1], args[2].reshape(-1))
    ones = weighted_cross_entropy(*args[:3], jnp.ones((2, 3)))
    np.testing.assert_allclose(ones, plain.reshape(2, 3)[mask].mean(), rtol=1e-5)


def test_context_switches_parse_and_round_trip():
    cfg = config_lib.TrainConfig(model=BASE)
    cfg = config_lib.apply_overrides(cfg, ["model.context.time=false", "loss.sentiment_weight=0.3"])
    assert not cfg.model.context.time and cfg.loss.sentiment_weight == 0.3
    assert config_lib.from_dict(config_lib.to_dict(cfg)) == cfg
    with pytest.raises(ValueError, match="sentiment_weight"):
        config_lib.LossConfig(name="bce", sentiment_weight=0.5)
    with pytest.raises(ValueError, match="sentiment_weight"):
        config_lib.LossConfig(sentiment_weight=1.5)


@pytest.mark.slow
def test_text_context_model_attends_to_text_keys_causally(tmp_path):
    from tests.text.conftest import fake_features

    features = fake_features(tmp_path / "f.npz", I, cold=[3], dim=16)
    cfg = dataclasses.replace(
        BASE,
        name="sasrec_text_context",
        text_features=str(features),
        context=ContextConfig(text=True, time=False, user=False, device=False),
    )
    model = build_model(cfg, I, seed=0)
    ids, context = _inputs()
    later = ids.at[:, 5:].set(7)
    a = model.encode(ids, context=jnp.asarray(context))
    b = model.encode(later, context=jnp.asarray(context))
    assert a.shape == (2, L, 9)  # D + the log-mask column
    np.testing.assert_allclose(a[:, :5], b[:, :5], rtol=1e-5, atol=1e-6)
    assert model.score_all(ids, context=jnp.asarray(context)).shape == (2, I + 1)
    assert model.cross is not None  # text keys alone turn the cross-attention on
