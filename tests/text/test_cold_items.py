"""Cold-item hold-out: cold items only ever appear as test targets."""

import dataclasses
import json

import numpy as np
import pytest

from data_pipeline.cold_items import (
    choose_cold_items,
    holdout,
    prepare_with_cold_items,
    read_cold_items,
)
from data_pipeline.dataset import PreparedDataset
from data_pipeline.pipeline import EvalData
from data_pipeline.records import history_for, target_for, train_items
from data_pipeline.sequencing import SequenceTable
from jaxrec.text.cold_eval import random_expectation, subset


def _table(sequences):
    lengths = np.array([len(s) for s in sequences])
    has_eval = (lengths >= 3).astype(np.int64)
    return SequenceTable(
        user_raw=[str(u) for u in range(len(sequences))],
        item_raw=[str(i) for i in range(1, 11)],
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        items=np.concatenate([np.asarray(s, np.int32) for s in sequences]),
        timestamps=None,
        ratings=None,
        reviews=None,
        n_train=lengths - 2 * has_eval,
        n_valid=has_eval,
        n_test=has_eval.copy(),
    )


def test_holdout_rewrites_users_with_cold_items():
    table = _table([[1, 2, 3, 4], [1, 9, 2, 3, 9, 4], [9, 1, 2], [1, 9], [2, 3, 9, 5]])
    new, stats = holdout(table, np.array([9], np.int32))
    seqs = [new.items[new.offsets[u] : new.offsets[u + 1]].tolist() for u in range(new.num_users)]
    # user 0 untouched; user 1 cut at its last 9 with the earlier 9 removed; user 2 has no
    # warm item before its 9 -> dropped; user 3 keeps one history item (no valid target).
    assert new.user_raw == ["0", "1", "3", "4"]
    assert seqs == [[1, 2, 3, 4], [1, 2, 3, 9], [1, 9], [2, 3, 9]]
    assert new.n_train.tolist() == [2, 2, 1, 1]
    assert new.n_valid.tolist() == [1, 1, 0, 1]
    assert new.n_test.tolist() == [1, 1, 1, 1]
    assert stats == {"cold_test_events": 3, "users_dropped": 1, "interactions_dropped": 6}


def test_choose_is_seeded_and_validated():
    a, b = choose_cold_items(100, 0.1, seed=3), choose_cold_items(100, 0.1, seed=3)
    assert len(a) == 10 and np.array_equal(a, b) and a.min() >= 1 and a.max() <= 100
    assert not np.array_equal(a, choose_cold_items(100, 0.1, seed=4))
    with pytest.raises(ValueError, match="fraction"):
        choose_cold_items(100, 1.5, seed=0)


def test_prepared_dataset_never_trains_on_cold_items(tiny_raw, tmp_path):
    manifest = prepare_with_cold_items(
        "sasrec-txt", tiny_raw, tmp_path / "cold", fraction=0.1, seed=0
    )
    cold = read_cold_items(tmp_path / "cold")
    assert len(cold) == 4 and manifest["cold_items"]["num_items"] == 4
    ds = PreparedDataset.open(tmp_path / "cold")
    cold_targets = 0
    for rec in ds.records():
        assert not np.isin(train_items(rec), cold).any()
        assert not np.isin(history_for(rec, "test"), cold).any()
        assert target_for(rec, "valid") not in set(cold.tolist())
        cold_targets += target_for(rec, "test") in set(cold.tolist())
    assert cold_targets == manifest["cold_items"]["cold_test_events"] > 0
    assert json.loads((tmp_path / "cold" / "manifest.json").read_text())["cold_items"]["seed"] == 0


def test_random_expectation_matches_simulation():
    rng = np.random.default_rng(0)
    n = np.array([25, 40])
    ranks = np.stack([rng.integers(0, c, 200_000) for c in n])
    hr = (ranks < 10).mean()
    ndcg = np.where(ranks < 10, 1.0 / np.log2(ranks + 2.0), 0.0).mean()
    exp = random_expectation(n)
    assert abs(exp["hr@10"] - hr) < 3e-3 and abs(exp["ndcg@10"] - ndcg) < 3e-3


def test_subset_keeps_each_users_context_with_its_history():
    n, length, features = 5, 4, 3
    data = EvalData(
        users=np.arange(n, dtype=np.int32),
        histories=np.arange(n * length, dtype=np.int32).reshape(n, length),
        targets=np.arange(n, dtype=np.int32) + 100,
        seen=[np.array([u], np.int32) for u in range(n)],
        context=np.arange(n * length * features, dtype=np.int32).reshape(n, length, features),
    )
    rows = np.array([3, 1])
    part = subset(data, rows)
    assert part.users.tolist() == [3, 1] and part.targets.tolist() == [103, 101]
    np.testing.assert_array_equal(part.context, data.context[rows])
    assert subset(dataclasses.replace(data, context=None), rows).context is None
