import numpy as np

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
    ex = make_train_example(encode_user_record(_record(list(range(1, 12)), 9)), max_len=3)
    np.testing.assert_array_equal(ex["inputs"], [6, 7, 8])
    np.testing.assert_array_equal(ex["targets"], [7, 8, 9])


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
