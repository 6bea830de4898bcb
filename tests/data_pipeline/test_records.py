import numpy as np
import pytest

from data_pipeline.records import (
    UserRecord,
    decode_user_record,
    encode_user_record,
    history_for,
    target_for,
    train_items,
)


def make(n_train=3, n_valid=1, n_test=1, **extra):
    items = np.arange(1, n_train + n_valid + n_test + 1, dtype=np.int32)
    return UserRecord(7, items, None, None, n_train, n_valid, n_test, **extra)


def test_round_trip_minimal():
    rec = decode_user_record(encode_user_record(make()))
    assert rec.user == 7 and rec.items.dtype == np.int32
    np.testing.assert_array_equal(rec.items, [1, 2, 3, 4, 5])
    assert rec.timestamps is None and rec.ratings is None and rec.reviews is None
    assert (rec.n_train, rec.n_valid, rec.n_test) == (3, 1, 1)
    rec.items[0] = 9  # decoded arrays are writable copies


def test_round_trip_with_side_columns():
    ts = np.array([1, 2, 2, 5, 9], dtype=np.int64)
    ratings = np.array([1, 2, 3, 4, 4.5], dtype=np.float32)
    reviews = ["a", "b", "", "d", "\xe9"]
    rec = UserRecord(7, make().items, ts, ratings, 3, 1, 1, reviews)
    back = decode_user_record(encode_user_record(rec))
    np.testing.assert_array_equal(back.timestamps, ts)
    np.testing.assert_array_equal(back.ratings, ratings)
    assert back.timestamps.dtype == np.int64 and back.ratings.dtype == np.float32
    assert back.reviews == reviews


def test_wire_format_keys():
    import msgpack

    payload = msgpack.unpackb(encode_user_record(make()))
    assert list(payload) == [
        "user", "items", "timestamps", "ratings", "n_train", "n_valid", "n_test",
    ]  # fmt: skip
    assert payload["timestamps"] == b"" and payload["ratings"] == b""
    assert payload["items"] == np.arange(1, 6, dtype="<i4").tobytes()


def test_split_accessors():
    rec = make()
    np.testing.assert_array_equal(train_items(rec), [1, 2, 3])
    np.testing.assert_array_equal(history_for(rec, "valid"), [1, 2, 3])
    np.testing.assert_array_equal(history_for(rec, "test"), [1, 2, 3, 4])
    assert target_for(rec, "valid") == 4 and target_for(rec, "test") == 5
    with pytest.raises(ValueError, match="split"):
        target_for(rec, "train")


def test_split_accessors_without_eval():
    rec = make(n_train=2, n_valid=0, n_test=0)
    assert target_for(rec, "valid") is None and target_for(rec, "test") is None
    np.testing.assert_array_equal(history_for(rec, "test"), [1, 2])


def test_test_only_user():
    rec = make(n_train=2, n_valid=0, n_test=1)
    np.testing.assert_array_equal(history_for(rec, "test"), [1, 2])
    assert target_for(rec, "test") == 3 and target_for(rec, "valid") is None


def test_inconsistent_counts_rejected():
    with pytest.raises(ValueError, match="n_train"):
        UserRecord(0, np.arange(3, dtype=np.int32), None, None, 3, 1, 0)
    with pytest.raises(ValueError, match="expected 0 or 1"):
        UserRecord(0, np.arange(4, dtype=np.int32), None, None, 2, 2, 0)
