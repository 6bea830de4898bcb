"""Low-rank CF factors (jaxrec/baselines/cf_factors.py) and the hybrid model's score terms."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

from jaxrec.baselines import cf_factors
from jaxrec.baselines.ease import fit_ease, interaction_matrix
from jaxrec.config import ModelConfig, TrainConfig
from jaxrec.models import build_model

NUM_ITEMS = 12
TRAIN_ITEMS = [
    np.array([1, 2, 3, 4]),
    np.array([2, 3, 5]),
    np.array([1, 3, 6, 7, 8]),
    np.array([4, 5, 9, 10, 11, 12]),
    np.array([2, 6, 9, 12]),
    np.array([1, 7, 8, 10]),
    np.array([3, 5, 11]),
]


def test_randomized_svd_recovers_a_low_rank_matrix():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(40, 5)) @ rng.normal(size=(5, 30))
    u, s, vt = cf_factors.randomized_svd(matrix, 5)
    np.testing.assert_allclose(u * s @ vt, matrix, atol=1e-8)
    np.testing.assert_allclose(s, np.linalg.svd(matrix, compute_uv=False)[:5], rtol=1e-8)


def test_full_rank_ease_factors_reproduce_the_ease_weights():
    query, key = cf_factors.ease_factors(TRAIN_ITEMS, NUM_ITEMS, l2=5.0, rank=NUM_ITEMS)
    assert query.shape == key.shape == (NUM_ITEMS + 1, NUM_ITEMS)
    assert not query[0].any() and not key[0].any()  # padding scores nothing
    np.testing.assert_allclose(query @ key.T, fit_ease(TRAIN_ITEMS, NUM_ITEMS, 5.0), atol=1e-5)


def test_svd_factors_are_the_top_right_singular_vectors():
    query, key = cf_factors.svd_factors(TRAIN_ITEMS, NUM_ITEMS, rank=4)
    np.testing.assert_array_equal(query, key)
    dense = interaction_matrix(TRAIN_ITEMS, NUM_ITEMS).toarray()[:, 1:]
    vt = np.linalg.svd(dense)[2][:4]
    np.testing.assert_allclose(query[1:] @ query[1:].T, vt.T @ vt, atol=1e-5)


def test_auto_picks_ease_for_small_catalogues_and_rejects_bad_settings():
    *_, used = cf_factors.fit_factors(TRAIN_ITEMS, NUM_ITEMS, method="auto", rank=3, l2=1.0)
    assert used == "ease"
    with pytest.raises(ValueError, match="cf_method='knn'"):
        cf_factors.fit_factors(TRAIN_ITEMS, NUM_ITEMS, method="knn", rank=3, l2=1.0)
    with pytest.raises(ValueError, match="cf_rank=0"):
        cf_factors.fit_factors(TRAIN_ITEMS, NUM_ITEMS, method="svd", rank=0, l2=1.0)


def test_load_factors_names_the_file_when_shapes_do_not_fit(tmp_path):
    path = tmp_path / "f.npz"
    np.savez(path, query=np.zeros((5, 2)), key=np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"f\.npz.*do not fit 12 items"):
        cf_factors.load_factors(str(path), NUM_ITEMS)
    with pytest.raises(FileNotFoundError, match=r"missing\.npz"):
        cf_factors.load_factors(str(tmp_path / "missing.npz"), NUM_ITEMS)


def test_resolve_cf_config_fits_on_training_items_once(tiny_dataset, tmp_path, monkeypatch):
    cfg = TrainConfig(model=ModelConfig(name="hybrid", cf_rank=4))
    resolved = cf_factors.resolve_cf_config(cfg, tiny_dataset, tmp_path)
    path = resolved.model.cf_factors
    query, key = cf_factors.load_factors(path, 40)
    assert query.shape == key.shape == (41, 4)
    monkeypatch.setattr(cf_factors, "fit_factors", lambda *a, **k: pytest.fail("refitted"))
    assert cf_factors.resolve_cf_config(cfg, tiny_dataset, tmp_path).model.cf_factors == path
    assert cf_factors.resolve_cf_config(resolved, tiny_dataset) is resolved


def _hybrid_with_terms(tmp_path, num_items=30, rank=3, text_dim=8):
    rng = np.random.default_rng(1)
    query = rng.normal(size=(num_items + 1, rank)).astype(np.float32)
    key = rng.normal(size=(num_items + 1, rank)).astype(np.float32)
    query[0] = key[0] = 0.0
    text = rng.normal(size=(num_items + 1, text_dim)).astype(np.float32)
    text[0] = 0.0
    np.savez(tmp_path / "cf.npz", query=query, key=key)
    np.savez(tmp_path / "text.npz", text=text, warm=np.ones(num_items + 1, np.float32))
    cfg = ModelConfig(
        name="hybrid",
        embed_dim=16,
        num_layers=1,
        num_heads=2,
        mlp_dim=16,
        max_len=10,
        cf_rank=rank,
        cf_factors=str(tmp_path / "cf.npz"),
        hybrid_content=True,
        text_features=str(tmp_path / "text.npz"),
    )
    return build_model(cfg, num_items, seed=0), query, key, text


def test_hybrid_score_terms_add_weighted_cf_and_content_scores(tmp_path):
    model, query, key, text = _hybrid_with_terms(tmp_path)
    model.term_weights[...] = jnp.array([0.5, 2.0])
    assert {k: float(v) for k, v in model.score_weights().items()} == {"cf": 0.5, "content": 2.0}
    ids = jnp.array([[0, 0, 0, 0, 3, 4, 5, 6, 7, 8], [0] * 9 + [2]], jnp.int32)
    scores = np.asarray(model.score_all(ids))
    unit = text / np.maximum(np.linalg.norm(text, axis=1, keepdims=True), 1e-12)
    hist = np.asarray(ids)
    valid = (hist > 0)[..., None]
    cf = (query[hist] * valid).sum(1) @ key.T
    content = ((unit[hist] * valid).sum(1) / valid.sum(1)) @ unit.T
    sequence = np.asarray(model.user_state(ids))[:, :16] @ np.asarray(model.item_embed[...]).T
    np.testing.assert_allclose(
        scores[:, 1:], (sequence + 0.5 * cf + 2.0 * content)[:, 1:], rtol=1e-4, atol=1e-4
    )
    # The training states carry the same terms: the last position equals user_state.
    np.testing.assert_allclose(
        model.encode(ids)[:, -1], model.user_state(ids), rtol=1e-5, atol=1e-5
    )


def test_hybrid_terms_need_their_files(tmp_path):
    cfg = dataclasses.replace(ModelConfig(name="hybrid", embed_dim=8, mlp_dim=8), cf_rank=2)
    with pytest.raises(ValueError, match=r"model\.cf_factors is empty"):
        build_model(cfg, 10, seed=0)
