"""Context models through export: signature, featurizer parity, scores equal the evaluated model."""

import functools
import json

import jax
import numpy as np
import pytest

from data_pipeline import context as ctx
from data_pipeline.pipeline import eval_data, with_context
from jaxrec.context_features import eval_tables
from jaxrec.export.artifact import ExportError
from jaxrec.export.context_featurizer import ContextFeaturizer, ContextInputError, describe
from jaxrec.export.context_signature import ContextSpec
from jaxrec.export.exporter import export_run
from jaxrec.export.runtime import load_backend
from jaxrec.training.setup import load_trained
from jaxrec.training.step import score_step

from .context_fixtures import context_export, context_run
from .test_export_formats import expected_topk

K = 15  # <= 30 items - 12 history items: no -inf fillers to compare
FORMATS = ("jax", "onnx", "savedmodel")
MAX_DIFF: dict[str, float] = {}


def feeds(spec, context):
    """The named context inputs of an int32[B, L, F] model context."""
    return dict(zip(spec.input_names, spec.split(context), strict=True))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return context_run(tmp_path_factory)


@pytest.fixture(scope="module")
def trained(run):
    return load_trained(run)


@pytest.fixture(scope="module")
def backends(run, tmp_path_factory):
    out = {"jax": load_backend(context_export(tmp_path_factory, "jax", K))}
    for fmt in ("onnx", "savedmodel"):
        path = tmp_path_factory.mktemp("ctx_exports") / fmt
        export_run(run, fmt, path, k_max=K)
        out[fmt] = load_backend(path)
    return out


@pytest.fixture(scope="module")
def test_split(trained):
    tables = eval_tables(trained.cfg, trained.dataset)
    return with_context(eval_data(trained.dataset, "test", trained.cfg.model.max_len), tables)


@pytest.fixture(scope="module")
def reference(trained):
    score = jax.jit(functools.partial(score_step, graphdef=trained.graphdef))
    return lambda h, c: np.asarray(score(trained.params, h, None, c))


def test_metadata_describes_the_context_inputs(backends):
    meta = backends["jax"].metadata
    inputs = meta["signature"]["inputs"]
    names = ["context_hour", "context_weekday", "context_gap", "context_device"]
    for name in [*names, "context_sentiment"]:
        assert inputs[name] == ["B", 12, "int32"]
    assert inputs["context_user"] == ["B", 4, "int32"]
    section = meta["context"]
    assert section["users"] == ["age", "gender", "occupation", "region"]
    featurizer = section["featurizer"]
    # ML-1M has timestamps and user attributes; no devices, no reviews.
    assert featurizer["required_fields"] == ["timestamps", "user"]
    assert featurizer["sentiment_edges"] == list(ctx.SENTIMENT_EDGES)
    assert len(featurizer["occupation_vocabulary"]) == 21
    for backend in backends.values():
        assert backend.context_inputs == (*names, "context_sentiment", "context_user")


@pytest.mark.parametrize("fmt", FORMATS)
def test_scores_equal_the_evaluated_model(backends, reference, test_split, fmt):
    backend, spec = backends[fmt], backends[fmt].context
    h, context = test_split.histories[:9], test_split.context[:9]
    assert context[..., :3].any() and context[..., 5:].any()  # time and user ids present
    flags = np.arange(len(h)) % 2 == 0
    ids, scores = backend.recommend(h, flags, feeds(spec, context))
    want_ids, want_scores = expected_topk(reference(h, context), h, flags, K)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, atol=1e-4, rtol=0)
    MAX_DIFF[fmt] = float(np.max(np.abs(scores - want_scores)))
    print(f"\n{fmt}: max |score - evaluated model| = {MAX_DIFF[fmt]:.2e}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_column_reaches_the_graph(backends, reference, test_split, fmt):
    """Random ids in every column (device and sentiment too) score as in the model."""
    backend, spec = backends[fmt], backends[fmt].context
    rng = np.random.default_rng(1)
    h = test_split.histories[:5]
    sizes = [spec.vocab[c] for c in spec.columns]
    context = np.stack([rng.integers(0, s, h.shape) for s in sizes], -1).astype(np.int32)
    context[..., 5:] = context[:, -1:, 5:]  # user columns: one value per row
    flags = np.ones(len(h), bool)
    ids, scores = backend.recommend(h, flags, feeds(spec, context))
    want_ids, want_scores = expected_topk(reference(h, context), h, flags, K)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, atol=1e-4, rtol=0)
    # ... and the context changes the answer
    base, _ = backend.recommend(h, flags, feeds(spec, 0 * context))
    assert not np.array_equal(base, ids)


def test_featurizer_reproduces_the_training_windows(trained, test_split):
    """Raw timestamps + user attributes -> exactly the ids evaluation gave the model."""
    spec = ContextSpec.for_model(trained.cfg.model)
    featurizer = ContextFeaturizer(spec, describe(spec, trained.dataset))
    records = {r.user: r for r in trained.dataset.records()}
    users = trained.dataset.user_info()
    for row, (user, seen) in enumerate(zip(test_split.users, test_split.seen, strict=True)):
        rec, n = records[int(user)], len(seen)
        got = featurizer.featurize(
            n, 12, timestamps=rec.timestamps[:n].tolist(), user=users[int(user)]
        )
        want = spec.split(test_split.context[row : row + 1])
        for name, array in zip(spec.input_names, want, strict=True):
            np.testing.assert_array_equal(got[name], array[0], err_msg=f"{name}, user {user}")


def test_featurizer_devices_and_sentiment_match_the_data_pipeline(tmp_path):
    """Device vocabulary (recbole atomic data) and sentiment buckets as in training."""
    from tests.context.device_data import prepared_device_log

    dataset = prepared_device_log(tmp_path, gap_grows_with_user=True)
    spec = ContextSpec(
        ("hour", "weekday", "gap", "device", "sentiment", "age", "gender", "occupation", "region"),
        ("hour", "weekday", "gap", "device", "sentiment"),
        (),
        {"hour": 25, "weekday": 8, "gap": 22, "device": 33, "sentiment": 6},
    )
    params = describe(spec, dataset)
    assert params["required_fields"] == ["devices", "timestamps"]  # no reviews in this data
    featurizer = ContextFeaturizer(spec, params)
    compound = np.linspace(-1, 1, 41).astype(np.float32)
    compound[:4] = ctx.SENTIMENT_EDGES  # values on the edges land as in training
    tables = ctx.build_context_tables(dataset)
    for rec in dataset.records():
        start, n = tables.offsets[rec.user], len(rec.items)
        scores = [*compound[: n - 1].tolist(), None]
        got = featurizer.featurize(
            n, 8, timestamps=rec.timestamps.tolist(), devices=rec.devices, sentiment=scores
        )
        for name in ("hour", "weekday", "gap", "device"):
            want = tables.events[start : start + n, spec.columns.index(name)]
            np.testing.assert_array_equal(got[f"context_{name}"][-n:], want)
        has_text = np.array([s is not None for s in scores])
        want = ctx.sentiment_bucket(np.array([s or 0.0 for s in scores], np.float32), has_text)
        np.testing.assert_array_equal(got["context_sentiment"][-n:], want)
        assert not got["context_hour"][:-n].any()  # left padding is unknown
    unseen = featurizer.featurize(2, 8, timestamps=[0, 60], devices=["fridge", None])
    assert not unseen["context_device"].any()  # unseen devices -> unknown id 0


def test_featurizer_errors_name_the_field(backends):
    featurizer = backends["jax"].featurizer
    user = {"age": 25, "gender": "F", "occupation": 4, "zip": "55455"}
    cases = [
        ({"user": user}, "timestamps"),
        ({"timestamps": [1, 2, 3]}, "user"),
        ({"timestamps": [1, 2], "user": user}, "timestamps"),
        ({"timestamps": [1, 2, -3], "user": user}, "timestamps[2]"),
        ({"timestamps": [1, 2, 3], "user": {"age": "old"}}, "user.age"),
        ({"timestamps": [1, 2, 3], "user": user, "sentiment": [0.1, 2.0, None]}, "sentiment[1]"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ContextInputError) as err:
            featurizer.featurize(3, 12, **kwargs)
        assert err.value.field == field, (kwargs, err.value)
    odd = {"age": "25", "gender": "x", "occupation": "astronaut", "zip": "T8N"}
    ids = featurizer.featurize(1, 12, timestamps=[0], user=odd)["context_user"]
    np.testing.assert_array_equal(ids, [3, 0, 0, 11])  # unknown values -> unknown id 0


def test_context_inputs_are_checked(backends):
    backend = backends["jax"]
    h, flags = np.ones((2, 12), np.int32), np.ones(2, bool)
    good = {
        n: np.zeros((2, 4 if n == "context_user" else 12), np.int32) for n in backend.context_inputs
    }
    backend.recommend(h, flags, good)
    with pytest.raises(ValueError, match="missing"):
        backend.recommend(h, flags)
    with pytest.raises(ValueError, match=r"context_gap: expected shape \[2, 12\]"):
        backend.recommend(h, flags, {**good, "context_gap": np.zeros((2, 11), np.int32)})
    with pytest.raises(ValueError, match=r"context_user: occupation ids must lie in 0\.\.32"):
        bad = good["context_user"].copy()
        bad[1, 2] = 33
        backend.recommend(h, flags, {**good, "context_user": bad})
    empty = {n: a[:0] for n, a in good.items()}
    assert backend.recommend(h[:0], flags[:0], empty)[0].shape == (0, K)


def test_context_model_to_tensorrt_is_refused(run, tmp_path, monkeypatch):
    from jaxrec.export import trt_engine

    monkeypatch.setattr(trt_engine, "require_tensorrt", lambda: None)
    with pytest.raises(ExportError, match="--format tensorrt builds its engine profile"):
        export_run(run, "tensorrt", tmp_path / "trt")
    assert not (tmp_path / "trt").exists()


def test_export_metadata_round_trips(backends):
    for backend in backends.values():
        spec = ContextSpec.from_metadata(json.loads(json.dumps(backend.metadata)))
        assert spec == backend.context


def test_sentiment_loss_weight_alone_exports_as_a_history_model(tmp_path):
    """loss.sentiment_weight weighs training targets only; the model reads no context."""
    from data_pipeline.prepare import prepare
    from jaxrec.cli import main
    from jaxrec.context_features import uses_context
    from tests.context.conftest import TINY_CONFIG, write_amazon

    prepare("amazon-reviews", write_amazon(tmp_path / "reviews.json"), tmp_path / "data")
    work, out = tmp_path / "work", tmp_path / "export"
    argv = ["train", "--config", str(TINY_CONFIG), "--data", str(tmp_path / "data")]
    sets = ["--set", "max_epochs=1", "--set", "loss.sentiment_weight=0.5"]
    assert main([*argv, "--workdir", str(work), *sets]) == 0
    trained = load_trained(work)
    assert uses_context(trained.cfg) and trained.cfg.model.name == "sasrec"
    assert main(["export", "--workdir", str(work), "--format", "jax", "--out", str(out)]) == 0
    backend = load_backend(out)
    assert backend.context_inputs == () and "context" not in backend.metadata
    assert set(backend.metadata["signature"]["inputs"]) == {"histories", "exclude_seen"}
    h = np.zeros((2, backend.max_len), np.int32)
    h[:, -3:] = [[1, 2, 3], [4, 5, 6]]
    ids, scores = backend.recommend(h, np.zeros(2, bool))
    score = jax.jit(functools.partial(score_step, graphdef=trained.graphdef))
    want_ids, want_scores = expected_topk(
        np.asarray(score(trained.params, h, None)), h, [False, False], backend.k_max
    )
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, atol=1e-4, rtol=0)
