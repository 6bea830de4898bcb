import jax.numpy as jnp
import numpy as np
import pytest

from data_pipeline.pipeline import EvalData
from jaxrec.evaluation import EvalOptions, evaluate, popularity_score_fn

NUM_ITEMS = 9


def _data():
    seen = [np.array([1, 2, 3]), np.array([4, 5]), np.array([6])]
    histories = np.stack([np.pad(s, (4 - len(s), 0)) for s in seen]).astype(np.int32)
    return EvalData(
        users=np.arange(3, dtype=np.int32),
        histories=histories,
        targets=np.array([4, 9, 6], np.int32),
        seen=seen,
    )


def _fixed_scores(histories, users):
    # Higher id = higher score, the same for every user.
    return jnp.broadcast_to(
        jnp.arange(NUM_ITEMS + 1, dtype=jnp.float32), (histories.shape[0], NUM_ITEMS + 1)
    )


def test_full_ranking_with_and_without_seen_exclusion():
    opts = EvalOptions(ks=(2,), exclude_seen=False, batch_size=2, keep_top=3)
    res, top = evaluate(_fixed_scores, _data(), NUM_ITEMS, opts, progress=False)
    # Target ranks: 4 -> 5 items above (5..9); 9 -> 0; 6 -> 3 (7, 8, 9; 6 is the target).
    np.testing.assert_allclose(res["mrr"], np.mean([1 / 6, 1, 1 / 4]))
    np.testing.assert_allclose(res["hr@2"], 1 / 3)
    np.testing.assert_array_equal(top[0], [9, 8, 7])
    excl = EvalOptions(ks=(2,), exclude_seen=True, batch_size=2, keep_top=3)
    res2, top2 = evaluate(_fixed_scores, _data(), NUM_ITEMS, excl, progress=False)
    # User 2's target (6) is in their history, so it is excluded with it: a miss that ranks
    # after the 8 other candidates (MRR 1/9, AUC 0). Keeping it would leak the answer.
    np.testing.assert_allclose(res2["mrr"], np.mean([1 / 6, 1, 1 / 9]))
    np.testing.assert_allclose(res2["auc"], np.mean([0, 1, 0]))  # user 0: all 5 above
    np.testing.assert_array_equal(top2[1], [9, 8, 7])
    assert 6 not in top2[2]
    assert res2["protocol"] == "full" and res2["exclude_seen"] is True
    assert res2["num_users"] == 3 and res2["num_items"] == NUM_ITEMS


def test_dump_agrees_with_ranks():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(3, NUM_ITEMS + 1)).astype(np.float32)
    score = lambda h, u: jnp.asarray(table[: h.shape[0]])
    opts = EvalOptions(ks=(10,), exclude_seen=True, batch_size=3, keep_top=NUM_ITEMS)
    data = _data()
    res, top = evaluate(score, data, NUM_ITEMS, opts, progress=False)
    # Users 0 and 1 rank their target where the dump lists it; user 2's target is in the
    # history, so it is left out of the dump and ranks after the 8 candidates.
    ranks = [list(row).index(t) for row, t in zip(top[:2], data.targets[:2], strict=True)]
    assert data.targets[2] not in top[2]
    np.testing.assert_allclose(res["mrr"], np.mean([1 / (r + 1) for r in [*ranks, 8]]))


def test_sampled_protocol_is_labelled_and_excludes_history():
    opts = EvalOptions(ks=(1,), num_sampled_negatives=3, batch_size=4, keep_top=4)
    res, top = evaluate(_fixed_scores, _data(), NUM_ITEMS, opts, progress=False)
    assert res["protocol"] == "sampled-3"
    data = _data()
    for row, seen, target in zip(top, data.seen, data.targets, strict=True):
        assert target in row
        assert not set(row) & (set(seen.tolist()) - {int(target)})


def test_mostpop_scores():
    pop = np.array([0, 5, 1, 1, 0, 0, 0, 0, 0, 0], np.float32)
    opts = EvalOptions(ks=(1,), exclude_seen=False, batch_size=3)
    data = _data()
    data = EvalData(data.users, data.histories, np.array([1, 1, 2], np.int32), data.seen)
    res, _ = evaluate(popularity_score_fn(pop), data, NUM_ITEMS, opts, progress=False)
    assert res["hr@1"] == pytest.approx(2 / 3)


def test_length_bucketed_batches_score_like_full_width():
    from jaxrec.config import ModelConfig
    from jaxrec.models import build_model

    model = build_model(ModelConfig(embed_dim=16, mlp_dim=16, max_len=40), num_items=30, seed=0)
    rng = np.random.default_rng(1)
    seen = [rng.integers(1, 31, size=n) for n in (3, 40, 17, 60, 1, 33)]
    histories = np.stack([np.pad(s[-40:], (40 - len(s[-40:]), 0)) for s in seen]).astype(np.int32)
    targets = rng.integers(1, 31, size=6).astype(np.int32)
    data = EvalData(np.arange(6, dtype=np.int32), histories, targets, seen)
    opts = EvalOptions(ks=(10,), exclude_seen=False, batch_size=2, keep_top=30)
    _, top = evaluate(model.score_all, data, 30, opts, progress=False)
    full_top = np.argsort(
        -np.asarray(model.score_all(jnp.asarray(histories))), axis=1, kind="stable"
    )[:, :30]
    np.testing.assert_array_equal(top, full_top)
