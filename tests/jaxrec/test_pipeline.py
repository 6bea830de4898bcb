import numpy as np
import pytest

from data_pipeline.dataset import PreparedDataset
from data_pipeline.pipeline import assign_buckets, eval_data, left_pad, train_dataset
from data_pipeline.records import UserRecord, encode_user_record


def _record(items, n_train):
    return UserRecord(
        user=0,
        items=np.asarray(items, np.int32),
        timestamps=None,
        ratings=None,
        n_train=n_train,
        n_valid=1,
        n_test=1,
        reviews=None,
    )


def test_train_example_is_shifted_and_left_padded():
    from data_pipeline.pipeline import make_train_example

    ex = make_train_example(encode_user_record(_record([5, 6, 7, 8, 9, 10], 4)), max_len=5)
    np.testing.assert_array_equal(ex["inputs"], [0, 0, 5, 6, 7])
    np.testing.assert_array_equal(ex["targets"], [0, 0, 6, 7, 8])
    assert ex["users"] == 0 and ex["users"].dtype == np.int32
    ex = make_train_example(encode_user_record(_record(list(range(1, 12)), 9)), max_len=3)
    np.testing.assert_array_equal(ex["inputs"], [6, 7, 8])
    np.testing.assert_array_equal(ex["targets"], [7, 8, 9])


def test_random_windows_cover_long_histories_and_leave_short_ones_alone():
    from data_pipeline.pipeline import make_train_example

    long_user = encode_user_record(_record(list(range(1, 13)), 10))  # train = 1..10
    rng = np.random.default_rng(0)
    ends = set()
    for _ in range(200):
        ex = make_train_example(long_user, max_len=3, rng=rng)
        np.testing.assert_array_equal(ex["targets"], ex["inputs"] + 1)  # contiguous window
        assert ex["inputs"][0] >= 1 and ex["targets"][-1] <= 10  # never valid/test items
        ends.add(int(ex["targets"][-1]))
    assert ends == set(range(4, 11))  # every window end 4..10 is drawn
    short_user = encode_user_record(_record([5, 6, 7, 8, 9, 10], 4))
    ex = make_train_example(short_user, max_len=5, rng=rng)
    np.testing.assert_array_equal(ex["inputs"], [0, 0, 5, 6, 7])


def test_left_pad_handles_empty():
    np.testing.assert_array_equal(left_pad(np.array([], np.int32), 3), [0, 0, 0])


def test_assign_buckets_uses_shortest_fitting_bucket():
    buckets = assign_buckets(np.array([3, 10, 11, 50, 500]), (10, 40), max_len=100)
    assert {k: v.tolist() for k, v in buckets.items()} == {10: [0, 1], 40: [2], 100: [3, 4]}


def _take(iterator, n):
    return [next(iterator) for _ in range(n)]


def test_train_dataset_is_deterministic_reshuffles_and_resumes(tiny_dataset):
    ds = PreparedDataset.open(tiny_dataset)
    make = lambda seed: iter(
        train_dataset(ds, batch_size=16, max_len=12, seed=seed, prefetch_threads=1)
    )
    a, b = _take(make(0), 12), _take(make(0), 12)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x["inputs"], y["inputs"])
    # 96 users / 16 = 6 batches per epoch: epoch 2 is a different order.
    assert not np.array_equal(a[0]["inputs"], a[6]["inputs"])
    it = make(0)
    _take(it, 5)
    state = it.get_state()
    resumed = make(0)
    resumed.set_state(state)
    np.testing.assert_array_equal(next(resumed)["inputs"], next(it)["inputs"])


def test_random_window_batches_are_deterministic_and_differ_from_last_windows(tiny_dataset):
    ds = PreparedDataset.open(tiny_dataset)

    def batches(random_windows):
        it = train_dataset(
            ds,
            batch_size=16,
            max_len=3,
            seed=0,
            prefetch_threads=0,
            random_windows=random_windows,
        )
        return np.concatenate([b["inputs"] for b in _take(iter(it), 12)])

    first, again, last = batches(True), batches(True), batches(False)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, last)  # same users in the same order, other windows


def test_bucketed_batches_have_bucket_shapes(tiny_dataset):
    ds = PreparedDataset.open(tiny_dataset)
    it = iter(
        train_dataset(ds, batch_size=8, max_len=12, seed=0, prefetch_threads=1, bucket_lengths=(6,))
    )
    shapes = {next(it)["inputs"].shape for _ in range(30)}
    assert shapes == {(8, 6), (8, 12)}


def test_eval_data_histories_and_targets(tiny_dataset):
    ds = PreparedDataset.open(tiny_dataset)
    valid, test = eval_data(ds, "valid", 12), eval_data(ds, "test", 12)
    assert len(valid.targets) == len(test.targets) == ds.num_users
    rec = next(iter(ds.records()))
    assert valid.targets[0] == rec.items[rec.n_train]
    assert test.targets[0] == rec.items[rec.n_train + 1]
    np.testing.assert_array_equal(test.seen[0], rec.items[: rec.n_train + 1])
    assert test.histories[0, -1] == rec.items[rec.n_train]


def test_targets_per_batch_counts_capped_training_transitions(tiny_dataset):
    import dataclasses

    from jaxrec.config import TrainConfig
    from jaxrec.training.setup import targets_per_batch

    ds = PreparedDataset.open(tiny_dataset)
    cfg = TrainConfig()
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, batch_size=4))
    capped = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, max_len=3))
    lengths = np.array([rec.n_train - 1 for rec in ds.records()])
    assert targets_per_batch(cfg, ds) == pytest.approx(4 * lengths.mean())
    assert targets_per_batch(capped, ds) == pytest.approx(4 * np.minimum(lengths, 3).mean())
    batch_mean = dataclasses.replace(cfg, loss=dataclasses.replace(cfg.loss, normalize="batch"))
    assert targets_per_batch(batch_mean, ds) is None
