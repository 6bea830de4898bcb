"""EASE-residual text SASRec (jaxrec/models/ease_residual.py) and its cached EASE precision."""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from data_pipeline.prepare import prepare
from jaxrec import cli
from jaxrec.baselines import residual_ease
from jaxrec.baselines.ease import ease_from_precision, fit_ease
from jaxrec.config import LossConfig, ModelConfig, TrainConfig
from jaxrec.losses import compute_loss
from jaxrec.models import build_model
from jaxrec.models.ease_residual import (
    decayed_prefix_sums,
    first_occurrences,
    leave_one_out_rows,
)
from tests.jaxrec.test_cf_factors import TRAIN_ITEMS  # 7 users over 12 items
from tests.text.conftest import NUM_ITEMS, fake_features

REPO = pathlib.Path(__file__).resolve().parents[2]


def _refit_without(user: int) -> np.ndarray:
    return fit_ease([items for u, items in enumerate(TRAIN_ITEMS) if u != user], 12, 2.0)


def test_leave_one_out_rows_equal_a_refit_without_the_user():
    precision = residual_ease.fit_precision(TRAIN_ITEMS, 12, 2.0)
    full = fit_ease(TRAIN_ITEMS, 12, 2.0)
    np.testing.assert_allclose(ease_from_precision(precision), full, atol=1e-5)
    # Users 2 and 3 as batch rows: inputs then targets, with padding and a repeated item.
    ids = jnp.array([[0, 1, 3, 6, 7], [4, 5, 9, 10, 11]], jnp.int32)
    targets = jnp.array([[0, 3, 6, 7, 8], [5, 9, 10, 11, 12]], jnp.int32)
    user_items = jnp.concatenate([ids, targets, ids[:, :1]], axis=1)
    rows = np.asarray(leave_one_out_rows(jnp.asarray(precision), ids, user_items))
    for row, user in ((0, 2), (1, 3)):
        np.testing.assert_allclose(rows[row], _refit_without(user)[ids[row]], atol=2e-5)
    assert not np.allclose(rows[0], full[ids[0]], atol=1e-3)  # the user's own row mattered


def test_first_occurrences_skip_padding_and_repeats():
    ids = jnp.array([[0, 3, 3, 5, 0, 5, 2]], jnp.int32)
    want = [[False, True, False, True, False, False, True]]
    assert np.asarray(first_occurrences(ids)).tolist() == want


def test_decayed_prefix_sums_match_a_loop():
    rows = jax.random.normal(jax.random.key(0), (2, 5, 3))
    got = np.asarray(decayed_prefix_sums(rows, 0.5))
    want = np.zeros_like(got)
    for t in range(5):
        for s in range(t + 1):
            want[:, t] += 0.5 ** (t - s) * np.asarray(rows[:, s])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _residual_model(tmp_path, weight=3.0):
    np.savez(tmp_path / "ease.npz", precision=residual_ease.fit_precision(TRAIN_ITEMS, 12, 2.0))
    cfg = ModelConfig(
        name="sasrec_text_ease",
        embed_dim=16,
        num_layers=1,
        num_heads=2,
        mlp_dim=16,
        max_len=6,
        text_features=str(fake_features(tmp_path / "text.npz", 12, dim=8)),
        residual_ease=str(tmp_path / "ease.npz"),
        residual_recency=0.7,
        residual_weight=weight,
    )
    return build_model(cfg, 12, seed=0)


def test_scores_add_weighted_ease_scores_to_text_sasrec(tmp_path):
    model = _residual_model(tmp_path)
    model.log_scale[...] = jnp.log(2.0)  # w = 3 x 2
    ids = jnp.array([[0, 0, 1, 2, 3, 1], [0, 0, 0, 0, 0, 9]], jnp.int32)
    profile = np.zeros((2, 13))
    for b, row in enumerate(np.asarray(ids)):
        for s, item in enumerate(row):
            if item:
                profile[b, item] += 0.7 ** (5 - s)  # a repeated item counts twice
    state = np.asarray(model.user_state(ids))[:, :-1]
    full = fit_ease(TRAIN_ITEMS, 12, 2.0)
    want = state @ np.asarray(model.item_vectors()).T + 6.0 * profile @ full
    got = np.asarray(model.score_all(ids))
    assert np.isneginf(got[:, 0]).all()
    np.testing.assert_allclose(got[:, 1:], want[:, 1:], rtol=1e-4, atol=1e-4)


def test_training_offset_scores_every_prefix_without_the_user(tmp_path):
    model = _residual_model(tmp_path, weight=1.0)
    ids = jnp.array([[0, 1, 3, 6, 7, 1], [0, 4, 5, 9, 10, 11]], jnp.int32)
    targets = jnp.array([[1, 3, 6, 7, 1, 8], [4, 5, 9, 10, 11, 12]], jnp.int32)
    offset = np.asarray(model.training_logit_offset(ids, targets, jnp.array([2, 3])))
    assert offset.shape == (2, 6, 13)
    for row, user in ((0, 2), (1, 3)):
        refit = _refit_without(user)
        for t in range(6):
            want = sum(
                0.7 ** (t - s) * refit[i] for s, i in enumerate(np.asarray(ids[row, : t + 1]))
            )
            np.testing.assert_allclose(offset[row, t], want, rtol=1e-4, atol=2e-5)
    # At evaluation the same profile meets the B fitted on every user.
    full = fit_ease(TRAIN_ITEMS, 12, 2.0)
    want = sum(0.7 ** (5 - s) * full[i] for s, i in enumerate(np.asarray(ids[0])))
    np.testing.assert_allclose(model.ease_scores(ids[:1])[0], want, rtol=1e-4, atol=2e-5)


def test_the_offset_gets_the_softmax_gradient_and_only_full_ce_takes_it():
    key = jax.random.key(0)
    hidden = jax.random.normal(key, (2, 3, 4))
    table = jax.random.normal(jax.random.key(1), (9, 4))
    targets = jnp.array([[1, 2, 0], [3, 0, 8]], jnp.int32)
    offset = jax.random.normal(jax.random.key(2), (2, 3, 9))
    prior = jnp.zeros(9)

    def loss(offset):
        return compute_loss(LossConfig(), hidden, table, targets, key, prior, offset=offset)

    def reference(offset):
        logits = (hidden @ table.T + offset).at[..., 0].set(-jnp.inf)
        per = -jnp.take_along_axis(jax.nn.log_softmax(logits), targets[..., None], -1)[..., 0]
        mask = targets > 0
        return jnp.sum(jnp.where(mask, per, 0.0)) / mask.sum()

    np.testing.assert_allclose(loss(offset), reference(offset), rtol=1e-5)
    np.testing.assert_allclose(jax.grad(loss)(offset), jax.grad(reference)(offset), atol=1e-6)
    with pytest.raises(ValueError, match=r"loss.name=.bce.*only the full softmax"):
        compute_loss(LossConfig(name="bce"), hidden, table, targets, key, prior, offset=offset)


def test_bad_settings_and_missing_files_name_the_field(tmp_path):
    with pytest.raises(ValueError, match=r"residual_weight=-1\.0"):
        ModelConfig(residual_weight=-1.0)
    with pytest.raises(ValueError, match=r"residual_recency=0\.0"):
        ModelConfig(residual_recency=0.0)
    features = str(fake_features(tmp_path / "text.npz", 12, dim=8))
    cfg = ModelConfig(name="sasrec_text_ease", text_features=features, max_len=6)
    with pytest.raises(ValueError, match=r"model\.residual_ease is empty"):
        build_model(cfg, 12, seed=0)
    np.savez(tmp_path / "bad.npz", precision=np.zeros((5, 5)))
    with pytest.raises(ValueError, match=r"bad\.npz.*does not fit 12 items"):
        residual_ease.load_precision(str(tmp_path / "bad.npz"), 12)
    with pytest.raises(FileNotFoundError, match=r"missing\.npz"):
        residual_ease.load_precision(str(tmp_path / "missing.npz"), 12)


def test_zero_l2_takes_eases_best_validation_setting_once(tiny_raw, tmp_path, monkeypatch):
    data = tmp_path / "data"
    prepare("sasrec-txt", tiny_raw, data)
    model = ModelConfig(
        name="sasrec_text_ease", max_len=20, l2_grid=(1.0, 100.0), ease_recency=(1.0, 0.5)
    )
    cfg = TrainConfig(model=model)
    resolved = residual_ease.resolve_residual_config(cfg, data).model
    best = residual_ease.searched_settings(cfg, data)
    assert len(best["search"]) == 4
    assert best["ndcg@10"] == max(row["ndcg@10"] for row in best["search"])
    assert (resolved.residual_l2, resolved.residual_recency) == (best["l2"], best["recency"])
    assert f"ease-l2{best['l2']:g}-" in resolved.residual_ease
    monkeypatch.setattr(
        "jaxrec.training.closed_form.search_ease", lambda *a: pytest.fail("searched again")
    )
    assert residual_ease.resolve_residual_config(cfg, data).model == resolved


@pytest.mark.slow
def test_cli_trains_and_evaluates_the_residual_model(tiny_raw, tmp_path):
    data, run = tmp_path / "data", tmp_path / "run"
    prepare("sasrec-txt", tiny_raw, data)
    feats = fake_features(tmp_path / "f.npz", NUM_ITEMS)
    sets = ["model.name=sasrec_text_ease", f"model.text_features={feats}", "max_epochs=2"]
    train = ["train", "--config", str(REPO / "configs" / "tiny.py"), "--data", str(data)]
    assert cli.main([*train, "--workdir", str(run), "--set", *sets]) == 0
    config = json.loads((run / "config.json").read_text())
    cached = pathlib.Path(config["model"]["residual_ease"])
    assert cached.parent == data / residual_ease.CACHE_DIR and cached.is_file()
    out = tmp_path / "test.json"
    assert cli.main(["evaluate", "--workdir", str(run), "--out", str(out)]) == 0
    assert 0.0 < json.loads(out.read_text())["ndcg@10"] <= 1.0
