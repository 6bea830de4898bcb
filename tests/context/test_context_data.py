"""Context feature columns, tables, training windows, eval windows and loss weights."""

import numpy as np
import pytest

from data_pipeline import context as ctx
from data_pipeline import context_schema as schema
from data_pipeline.dataset import PreparedDataset
from data_pipeline.pipeline import eval_data, make_train_example, with_context
from data_pipeline.records import encode_user_record


def test_time_columns_hour_weekday_and_log_gap_buckets():
    # 1970-01-01 00:00 UTC was a Thursday; then +59 s, +2 h, +3 days.
    ts = np.array([0, 59, 59 + 7200, 59 + 7200 + 3 * 86400], np.int64)
    cols = ctx.time_columns(ts, 4)
    np.testing.assert_array_equal(cols[:, 0], [1, 1, 3, 3])  # 1 + hour
    np.testing.assert_array_equal(cols[:, 1], [4, 4, 4, 7])  # Thursday = 4, Sunday = 7
    minutes = np.array([59 / 60, 120, 3 * 1440])
    np.testing.assert_array_equal(cols[:, 2], [1, *(2 + np.floor(np.log2(1 + minutes)))])
    assert ctx.time_columns(None, 3).sum() == 0
    huge = ctx.time_columns(np.array([0, 10**12]), 2)[1, 2]
    assert huge == schema.vocab_size("gap") - 1


def test_user_and_sentiment_columns():
    assert [ctx.age_group(a) for a in (1, 18, 25, 35, 45, 50, 56, None)] == [1, 2, 3, 4, 5, 6, 7, 0]
    assert [ctx.age_group(a) for a in (17, 24, 33, 70)] == [1, 2, 3, 7]  # ML-100K years
    assert [ctx.zip_region(z) for z in ("02139", "98107-1234", "T8N", "")] == [1, 10, 11, 0]
    cols = ctx.user_columns([{"gender": "F", "age": 25, "occupation": 4, "zip": "55455"}, {}])
    np.testing.assert_array_equal(cols, [[3, 1, 1, 6], [0, 0, 0, 0]])
    assert set(ctx.vocabulary(map(str, range(100)), 33).values()) == set(range(1, 33))
    scores = np.array([-0.9, -0.2, 0.0, 0.2, 0.9, 0.9])
    has_text = np.array([1, 1, 1, 1, 1, 0], bool)
    np.testing.assert_array_equal(ctx.sentiment_bucket(scores, has_text), [1, 2, 3, 4, 5, 0])


def test_tables_from_movielens_have_time_and_user_columns(ml1m_prepared):
    ds = PreparedDataset.open(ml1m_prepared)
    tables = ctx.build_context_tables(ds)
    assert tables.events.shape == (int(tables.offsets[-1]), schema.NUM_EVENT)
    assert tables.users.shape == (ds.num_users, len(schema.USER_COLUMNS))
    first = tables.offsets[:-1]
    assert (tables.events[first, schema.column_index("gap")] == 1).all()  # first interaction
    assert (tables.events[:, : schema.column_index("gap") + 1] > 0).all()
    assert (tables.events[:, schema.column_index("device")] == 0).all()  # no device column
    assert (tables.users > 0).all()


def _record(dataset, user):
    return next(r for r in dataset.records() if r.user == user)


def test_train_example_context_is_that_of_the_input_positions(amazon_prepared):
    ds = PreparedDataset.open(amazon_prepared)
    scores = np.linspace(-1, 1, int(sum(len(r.items) for r in ds.records()))).astype(np.float32)
    tables = ctx.build_context_tables(ds, scores)
    rec = _record(ds, 3)
    length, alpha = 12, 0.5
    ex = make_train_example(encode_user_record(rec), length, context=tables, sentiment_weight=alpha)
    n_in = rec.n_train - 1
    start = tables.offsets[3]
    context, weights = ex["context"], ex["weights"]
    assert context.shape == (length, schema.NUM_COLUMNS)
    np.testing.assert_array_equal(context[-n_in:, : schema.NUM_EVENT], tables.events[start:][:n_in])
    assert (context[:-n_in, : schema.NUM_EVENT] == 0).all()
    assert (context[:, schema.NUM_EVENT :] == tables.users[3]).all()
    # NumPy reference: target of input position t is interaction t + 1.
    reference = np.zeros(length, np.float32)
    reference[-n_in:] = 1 + alpha * scores[start + 1 : start + 1 + n_in]
    np.testing.assert_allclose(weights, reference, rtol=1e-6)
    assert (weights[ex["targets"] == 0] == 0).all()
    bare = make_train_example(
        encode_user_record(rec), length, context=tables, include_context=False
    )
    assert "context" not in bare and "weights" not in bare


@pytest.mark.parametrize("split", ["valid", "test"])
def test_eval_context_ends_at_the_history(amazon_prepared, split):
    ds = PreparedDataset.open(amazon_prepared)
    tables = ctx.build_context_tables(ds)
    data = with_context(eval_data(ds, split, 8), tables)
    assert data.context.shape == (len(data.users), 8, schema.NUM_COLUMNS)
    i = 2
    user, end = int(data.users[i]), len(data.seen[i])
    rows = tables.events[tables.offsets[user] : tables.offsets[user] + end][-8:]
    np.testing.assert_array_equal(data.context[i, -len(rows) :, : schema.NUM_EVENT], rows)
    assert with_context(data, None) is data


def test_device_column_from_recbole_atomic_fills_the_device_slot(tmp_path):
    from tests.context.device_data import prepared_device_log

    ds = prepared_device_log(tmp_path, gap_grows_with_user=False)
    rec = _record(ds, 0)
    assert rec.devices == ["phone", "tv", "web", "phone", "tv"]
    tables = ctx.build_context_tables(ds)
    device = tables.events[: len(rec.items), schema.column_index("device")]
    np.testing.assert_array_equal(device, [1, 2, 3, 1, 2])  # sorted vocabulary: phone, tv, web
