"""Fine-tuning the text encoder with the recommender, on a tiny random BERT (not MiniLM).

The three train-step tests are marked slow (they compile a step); `pytest -m slow` runs them.
"""

import dataclasses
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxrec import sharding
from jaxrec.checkpoint import Checkpointer
from jaxrec.config import LossConfig, MeshConfig, ModelConfig, OptimConfig
from jaxrec.models import build_model
from jaxrec.models.sasrec_text import TextSASRec
from jaxrec.models.sasrec_text_ft import FinetuneTextSASRec, batch_items, encode_tokens
from jaxrec.models.text_encoder import BertConfig, BertEncoder
from jaxrec.text import finetune as ft_data
from jaxrec.training import text_finetune
from jaxrec.training.jit_step import jit_train_step
from jaxrec.training.optim import build_optimizer
from jaxrec.training.state import abstract_like, create_state

NUM_ITEMS, TOKENS, VOCAB, DIM = 30, 8, 50, 8
LR, ENCODER_LR = 1e-2, 1e-3
FAST = {"xla_backend_optimization_level": 0}
TINY_BERT = BertConfig(
    vocab_size=VOCAB,
    hidden_size=16,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=TOKENS,
)


def _save_bert(directory: pathlib.Path, cfg: BertConfig) -> pathlib.Path:
    """A random BERT folder in the HF layout that ``load_bert`` reads."""
    from safetensors.numpy import save_file

    model = BertEncoder(cfg, rngs=nnx.Rngs(1))
    weights = {
        "embeddings.word_embeddings.weight": model.word.embedding[...],
        "embeddings.position_embeddings.weight": model.position.embedding[...],
        "embeddings.token_type_embeddings.weight": model.token_type.embedding[...],
        "embeddings.LayerNorm.weight": model.embed_norm.scale[...],
        "embeddings.LayerNorm.bias": model.embed_norm.bias[...],
    }
    names = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attn_out": "attention.output.dense",
        "mlp_in": "intermediate.dense",
        "mlp_out": "output.dense",
        "attn_norm": "attention.output.LayerNorm",
        "mlp_norm": "output.LayerNorm",
    }
    for index, layer in enumerate(model.layers):
        for ours, theirs in names.items():
            module, prefix = getattr(layer, ours), f"encoder.layer.{index}.{theirs}"
            if ours.endswith("norm"):
                weights[f"{prefix}.weight"] = module.scale[...]
            else:  # HF Linear weights are (out, in)
                weights[f"{prefix}.weight"] = module.kernel[...].T
            weights[f"{prefix}.bias"] = module.bias[...]
    directory.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: np.ascontiguousarray(v) for k, v in weights.items()}, directory / "model.safetensors"
    )
    (directory / "config.json").write_text(json.dumps(dataclasses.asdict(cfg)))
    return directory


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("finetune")
    bert = _save_bert(root / "bert", TINY_BERT)
    rng = np.random.default_rng(0)
    tokens = np.zeros((NUM_ITEMS + 1, TOKENS), np.int32)
    for row in range(1, NUM_ITEMS + 1):
        length = rng.integers(3, TOKENS + 1)
        tokens[row, :length] = rng.integers(1, VOCAB, length)
    raw = ft_data.encode_table(tokens, bert, batch_size=16)
    mean, proj = ft_data.whitening(raw[1:], DIM)
    warm = np.ones(NUM_ITEMS + 1, np.float32)
    path = root / "features.npz"
    np.savez(
        path,
        text=ft_data.apply_whitening(raw, mean, proj),
        warm=warm,
        tokens=tokens,
        raw=raw,
        white_mean=mean,
        white_proj=proj,
    )
    return {"bert": str(bert), "features": str(path), "tokens": tokens}


def _cfg(files, finetune: bool) -> ModelConfig:
    return ModelConfig(
        name="sasrec_text",
        text_features=files["features"],
        text_encoder=files["bert"],
        text_finetune=finetune,
        text_tokens=TOKENS,
        text_live_items=64,  # more than the batch's distinct items: all of them are live
        text_refresh_items=7,
        embed_dim=16,
        num_layers=1,
        num_heads=2,
        mlp_dim=16,
        max_len=6,
        dropout=0.0,
        attention_dropout=0.0,
    )


OPTIM = OptimConfig(
    learning_rate=LR, encoder_learning_rate=ENCODER_LR, warmup_steps=0, grad_clip_norm=1.0
)
INPUTS = np.array([[0, 0, 1, 2, 3, 4], [5, 6, 7, 8, 9, 10], [0, 0, 0, 0, 11, 12]], np.int32)
TARGETS = np.array([[0, 0, 2, 3, 4, 13], [6, 7, 8, 9, 10, 14], [0, 0, 0, 0, 12, 15]], np.int32)
BATCH_ITEMS = sorted(int(i) for i in (set(INPUTS.ravel()) | set(TARGETS.ravel())) - {0})


def _trainer(model, tx, *, refresh: bool):
    """(graphdef, state, step) on a one-device mesh, the way ``build_trainer`` wires them."""
    mesh = sharding.make_mesh(MeshConfig(data=-1, model=1), jax.devices()[:1])
    graphdef, params = nnx.split(model)
    params = jax.device_put(params, sharding.param_shardings(params, mesh))
    shardings = sharding.like_params(
        jax.eval_shape(lambda p: create_state(p, tx, 0), params), params, mesh
    )
    state = jax.jit(lambda p: create_state(p, tx, 0), out_shardings=shardings)(params)
    step = jit_train_step(
        state,
        mesh,
        graphdef=graphdef,
        tx=tx,
        loss_cfg=LossConfig(),
        targets_per_batch=None,
        compiler_options=FAST,
    )
    if refresh:
        step = text_finetune.with_refresh(step, state, graphdef, compiler_options=FAST)
    return graphdef, state, step


def _batch():
    return {"inputs": INPUTS, "targets": TARGETS, "users": np.arange(3, dtype=np.int32)}


def _leaves(params, prefix):
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    return {
        jax.tree_util.keystr(p): np.asarray(v)
        for p, v in flat
        if getattr(p[0], "key", "") == prefix
    }


def test_batch_items_are_the_distinct_items_and_a_random_subset_when_capped():
    key = jax.random.key(0)
    items = np.asarray(batch_items(INPUTS, TARGETS, key, 64))
    assert sorted(set(items.tolist()) - {0}) == BATCH_ITEMS
    capped = np.asarray(batch_items(INPUTS, TARGETS, key, 5))
    assert len(set(capped.tolist())) == 5 and set(capped.tolist()) <= set(BATCH_ITEMS)
    other = np.asarray(batch_items(INPUTS, TARGETS, jax.random.key(3), 5))
    assert set(other.tolist()) != set(capped.tolist())  # not always the smallest ids


def test_live_rows_equal_the_encoder_on_their_tokens(files):
    model = build_model(_cfg(files, True), NUM_ITEMS, seed=0)
    assert isinstance(model, FinetuneTextSASRec)
    cache = np.asarray(model.text_raw[...])
    model.text_raw[...] = jnp.zeros_like(model.text_raw[...])  # live rows must not be cached ones
    model.training_pair(jnp.asarray(INPUTS), jnp.asarray(TARGETS), jax.random.key(0))
    raw = np.asarray(model.raw_text())
    expected = encode_tokens(model.encoder, jnp.asarray(files["tokens"][BATCH_ITEMS], jnp.float32))
    np.testing.assert_allclose(raw[BATCH_ITEMS], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(raw[BATCH_ITEMS], cache[BATCH_ITEMS], rtol=1e-5, atol=1e-6)
    others = sorted(set(range(1, NUM_ITEMS + 1)) - set(BATCH_ITEMS))
    assert not raw[others].any()
    # The text vectors are the whitened encoder outputs.
    mean, proj = np.asarray(model.white_mean[...]), np.asarray(model.white_proj[...])
    white = ft_data.apply_whitening(np.asarray(expected), mean, proj)
    np.testing.assert_allclose(
        np.asarray(model.text_vectors())[BATCH_ITEMS][1:], white[1:], rtol=1e-4, atol=1e-5
    )


# Compiles a train step (~10-25 s on a 2-core CPU): outside the default suite.
@pytest.mark.slow
def test_off_ranks_and_trains_like_the_frozen_model(files):
    with nnx.use_eager_sharding(False):
        frozen = TextSASRec(_cfg(files, False), NUM_ITEMS, rngs=nnx.Rngs(0))
        cached = FinetuneTextSASRec(_cfg(files, False), NUM_ITEMS, rngs=nnx.Rngs(0))
        live = FinetuneTextSASRec(_cfg(files, True), NUM_ITEMS, rngs=nnx.Rngs(0))
    ids = jnp.asarray(INPUTS)
    np.testing.assert_array_equal(cached.score_all(ids), frozen.score_all(ids))
    # Finetune on, before any step: the whitened cache reproduces the stored table.
    np.testing.assert_allclose(
        live.score_all(ids)[:, 1:], frozen.score_all(ids)[:, 1:], rtol=1e-4, atol=1e-5
    )

    tx_frozen = build_optimizer(OPTIM, 10)
    tx_cached = text_finetune.finetune_optimizer(OPTIM, 10, finetune=False)
    _, state_f, step_f = _trainer(frozen, tx_frozen, refresh=False)
    _, state_c, step_c = _trainer(cached, tx_cached, refresh=False)
    encoder_before = _leaves(state_c.params, "encoder")
    state_f, metrics_f = step_f(state_f, _batch(), jnp.zeros(NUM_ITEMS + 1))
    state_c, metrics_c = step_c(state_c, _batch(), jnp.zeros(NUM_ITEMS + 1))
    np.testing.assert_allclose(metrics_c["loss"], metrics_f["loss"], rtol=1e-6)
    for name in ("item_embed", "text_proj"):
        pairs = zip(
            jax.tree.leaves(state_c.params[name]),
            jax.tree.leaves(state_f.params[name]),
            strict=True,
        )
        for cached_leaf, frozen_leaf in pairs:
            np.testing.assert_allclose(cached_leaf, frozen_leaf, rtol=1e-6)
    encoder_after = _leaves(state_c.params, "encoder")
    assert encoder_after.keys() == encoder_before.keys() and encoder_before
    for key, value in encoder_before.items():
        np.testing.assert_array_equal(encoder_after[key], value, err_msg=key)


def _reference_grads(graphdef, state):
    """The train step's loss gradient (dropout is off, every batch item is live)."""
    from jaxrec.losses import compute_loss

    step_key = jax.random.fold_in(state.key, state.step)
    _, negatives_key = jax.random.split(step_key)

    def loss_fn(params):
        model = nnx.merge(graphdef, params)
        inputs, targets = model.training_pair(INPUTS, TARGETS, jax.random.fold_in(step_key, 1))
        hidden = model.encode(inputs, key=None)
        return compute_loss(
            LossConfig(), hidden, model.item_table(), targets, negatives_key, None, None
        )

    return jax.grad(loss_fn)(state.params)


@pytest.fixture(scope="module")
def finetuned(files):
    """One fine-tuning step: graphdef, params before, state after, the step's gradients."""
    model = build_model(_cfg(files, True), NUM_ITEMS, seed=0)
    graphdef, state, step = _trainer(
        model, text_finetune.finetune_optimizer(OPTIM, 10), refresh=True
    )
    grads = _reference_grads(graphdef, state)
    before = jax.tree.map(np.asarray, state.params)
    state, _ = step(state, _batch(), jnp.zeros(NUM_ITEMS + 1))
    return graphdef, before, state, grads


# Compiles a train step (~10-25 s on a 2-core CPU): outside the default suite.
@pytest.mark.slow
def test_finetune_updates_encoder_at_its_own_learning_rate(finetuned):
    _, before, state, grads = finetuned
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(state.params))
    # NumPy reference of clip + AdamW's first step: -lr * g / (|g| + eps), g clipped.
    flat_g = {
        jax.tree_util.keystr(p): np.asarray(g, np.float64)
        for p, g in jax.tree_util.tree_flatten_with_path(grads)[0]
    }
    norm = np.sqrt(sum((g**2).sum() for g in flat_g.values()))
    clip = min(1.0, OPTIM.grad_clip_norm / norm)
    deltas = {"encoder": [], "model": []}
    flat_old = {
        jax.tree_util.keystr(p): v for p, v in jax.tree_util.tree_flatten_with_path(before)[0]
    }
    for path, new in jax.tree_util.tree_flatten_with_path(state.params)[0]:
        key, group = jax.tree_util.keystr(path), path[0].key
        if group in ("text", "warm", "tokens", "text_raw", "white_mean", "white_proj"):
            if group != "text_raw":
                np.testing.assert_array_equal(new, flat_old[key], err_msg=key)
            continue
        lr = ENCODER_LR if group == "encoder" else LR
        g = flat_g[key] * clip
        delta = np.asarray(new, np.float64) - flat_old[key]
        big = np.abs(g) > 1e-6
        np.testing.assert_allclose(
            delta[big], -lr * g[big] / (np.abs(g[big]) + 1e-8), rtol=2e-3, atol=3e-7, err_msg=key
        )
        assert np.all(np.abs(delta) <= lr * (1 + 1e-3) + 3e-7), key
        deltas["encoder" if group == "encoder" else "model"].append(np.abs(delta[big]))
    encoder, rest = np.concatenate(deltas["encoder"]), np.concatenate(deltas["model"])
    assert encoder.size > 100
    np.testing.assert_allclose(np.median(encoder), ENCODER_LR, rtol=0.05)
    np.testing.assert_allclose(np.median(rest), LR, rtol=0.05)


# Compiles a train step (~10-25 s on a 2-core CPU): outside the default suite.
@pytest.mark.slow
def test_refresh_reencodes_cache_rows_with_the_updated_encoder(files, finetuned):
    graphdef, before, state, _ = finetuned
    old_cache = np.asarray(before["text_raw"][...])
    trained = nnx.merge(graphdef, state.params)
    cache = np.asarray(trained.text_raw[...])
    rows = np.arange(7, 14)  # after step 1: rows [7, 14) with 7 rows per refresh
    fresh = encode_tokens(trained.encoder, jnp.asarray(files["tokens"][rows], jnp.float32))
    np.testing.assert_allclose(cache[rows], fresh, rtol=1e-5, atol=1e-6)
    assert not np.allclose(cache[rows], old_cache[rows], atol=1e-6)
    untouched = np.setdiff1d(np.arange(NUM_ITEMS + 1), rows)
    np.testing.assert_array_equal(cache[untouched], old_cache[untouched])


def test_encoder_axes_and_checkpoint_round_trip(files, tmp_path):
    cfg = _cfg(files, True)
    abstract = nnx.eval_shape(lambda: build_model(cfg, NUM_ITEMS, seed=0))
    mesh = sharding.make_mesh(MeshConfig(data=2, model=4))
    specs = sharding.param_shardings(nnx.split(abstract)[1], mesh)
    layer = specs["encoder"]["layers"][0]
    assert layer["mlp_in"]["kernel"].spec == jax.sharding.PartitionSpec(None, "model")
    assert layer["query"]["kernel"].spec == jax.sharding.PartitionSpec(None, "model")
    names = [
        v.get_metadata("out_sharding", None)
        for _, v in nnx.iter_graph(abstract.encoder)
        if isinstance(v, nnx.Variable)
    ]
    assert names and all(names)

    params = nnx.split(build_model(cfg, NUM_ITEMS, seed=0))[1]
    ckpt = Checkpointer(tmp_path)
    try:
        ckpt.save_best(1, params, {"ndcg": 0.5})
        ckpt.wait()
        restored, meta = ckpt.restore_best(abstract_like(params))
    finally:
        ckpt.close()
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(params), strict=True):
        np.testing.assert_array_equal(a, b)
    assert meta["ndcg"] == 0.5


def test_tokenize_stores_cls_ids_and_pads_with_zero():
    from jaxrec.text.encode import default_model_dir

    table = ft_data.tokenize(["Microscope slides, glass", ""], 6, default_model_dir())
    assert table.shape == (3, 6) and table.dtype == np.int32
    assert not table[0].any() and table[1, 0] == 101 and table[1, -1] != 0
    assert table[2, 0] == 101 and table[2, 1] == 102 and not table[2, 2:].any()


def test_finetune_features_file_from_a_prepared_dataset(text_dataset, tmp_path, monkeypatch):
    """What `--set model.text_finetune=true` builds first: tokens, cache, whitening."""
    from jaxrec import config as config_lib
    from jaxrec.text import features

    # The real tokenizer's ids index a full-size vocabulary.
    bert = _save_bert(tmp_path / "bert", dataclasses.replace(TINY_BERT, vocab_size=30522))
    model = ModelConfig(
        name="sasrec_text",
        text_finetune=True,
        text_tokens=TOKENS,
        text_dim=0,
        text_encoder=str(bert),
    )
    cfg = features.resolve_text_config(config_lib.TrainConfig(model=model), text_dataset)
    path = pathlib.Path(cfg.model.text_features)
    assert path.parent == text_dataset / features.CACHE_DIR
    assert path.name.startswith(f"item_features-minilm-ft-T{TOKENS}-")
    data = np.load(path)
    tokens = data["tokens"]
    assert tokens.shape == (5, TOKENS) and not tokens[0].any()
    assert (tokens[1:, 0] == 101).all()  # [CLS] "Movie 1. Drama, Comedy" ...
    np.testing.assert_allclose(data["raw"], ft_data.encode_table(tokens, bert), atol=1e-6)
    norms = np.linalg.norm(data["text"][1:], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    assert not data["text"][0].any() and data["warm"].tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    monkeypatch.setattr(ft_data, "encode_table", lambda *a, **k: pytest.fail("re-encoded"))
    again = features.resolve_text_config(config_lib.TrainConfig(model=model), text_dataset)
    assert again.model.text_features == cfg.model.text_features  # cached
