"""Every format that runs on CPU returns the training model's top-k (ids equal, scores 1e-4)."""

import json

import jax
import numpy as np
import pytest
from flax import nnx

from jaxrec.export.artifact import ExportError, sha256_file
from jaxrec.export.catalog import Catalog
from jaxrec.export.exporter import export_run
from jaxrec.export.runtime import load_backend, pad_history
from jaxrec.training.setup import load_trained

from .conftest import K_MAX, NUM_ITEMS

FORMATS = ("jax", "onnx", "savedmodel")


@pytest.fixture(scope="module")
def exports(trained_run, jax_export, tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    out = {"jax": jax_export}  # written through the CLI (conftest)
    for fmt in ("onnx", "savedmodel"):
        export_run(trained_run, fmt, root / fmt, k_max=K_MAX)
        out[fmt] = root / fmt
    return out


@pytest.fixture(scope="module")
def reference(trained_run):
    trained = load_trained(trained_run)
    score = jax.jit(lambda p, h: nnx.merge(trained.graphdef, p).score_all(h, None))
    return lambda h: np.asarray(score(trained.params, h))


@pytest.fixture(scope="module")
def backends(exports):
    return {fmt: load_backend(path) for fmt, path in exports.items()}


def random_histories(rng, batch, max_len):
    rows = [
        pad_history(rng.integers(1, NUM_ITEMS + 1, rng.integers(0, 2 * max_len)), max_len)
        for _ in range(batch)
    ]
    return np.stack(rows).astype(np.int32)


def expected_topk(scores, histories, exclude, k):
    scores = scores.copy()
    for row, flag in enumerate(exclude):
        if flag:
            scores[row, histories[row][histories[row] > 0]] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("exclude", ["none", "all", "mixed"])
def test_same_topk_as_training_model(backends, reference, fmt, batch, exclude):
    backend = backends[fmt]
    rng = np.random.default_rng(batch * 10 + len(exclude))
    histories = random_histories(rng, batch, backend.max_len)
    flags = {"none": np.zeros(batch, bool), "all": np.ones(batch, bool)}.get(
        exclude, rng.random(batch) < 0.5
    )
    ids, scores = backend.recommend(histories, flags)
    assert ids.shape == scores.shape == (batch, K_MAX)
    assert ids.dtype == np.int32 and scores.dtype == np.float32
    want_ids, want_scores = expected_topk(reference(histories), histories, flags, K_MAX)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, atol=1e-4, rtol=0)
    for row in np.flatnonzero(flags):
        assert not set(ids[row]) & set(histories[row][histories[row] > 0].tolist())


def test_empty_batch_and_bad_input(backends):
    backend = backends["jax"]
    ids, scores = backend.recommend(np.zeros((0, backend.max_len), np.int32), np.zeros(0, bool))
    assert ids.shape == (0, K_MAX) and scores.shape == (0, K_MAX)
    with pytest.raises(ValueError, match="histories: expected shape"):
        backend.recommend(np.zeros((2, backend.max_len + 1), np.int32), np.zeros(2, bool))
    with pytest.raises(ValueError, match="exclude_seen"):
        backend.recommend(np.zeros((2, backend.max_len), np.int32), np.zeros(3, bool))
    bad = np.full((1, backend.max_len), NUM_ITEMS + 1, np.int32)
    with pytest.raises(ValueError, match=f"0..{NUM_ITEMS}"):
        backend.recommend(bad, np.zeros(1, bool))


def test_metadata_and_catalog(exports, trained_run):
    for fmt, path in exports.items():
        meta = json.loads((path / "metadata.json").read_text())
        assert meta["format"] == fmt and meta["k_max"] == K_MAX
        assert meta["num_items"] == NUM_ITEMS and meta["max_len"] == 12
        assert meta["model_config"]["name"] == "sasrec" and meta["jaxrec_version"]
        assert meta["model_version"].startswith(f"sasrec-{fmt}-")
        for name, digest in meta["files"].items():
            assert sha256_file(path / name) == digest
        assert not list(path.parent.glob(f".{path.name}.tmp-*"))
    catalog = Catalog.load(exports["onnx"])
    assert catalog.num_items == NUM_ITEMS
    raw = catalog.to_original(7)
    assert catalog.to_internal(raw) == 7
    assert catalog.lookup([raw, "no-such-item"]) == ([7], ["no-such-item"])
    with pytest.raises(KeyError, match="no-such-item"):
        catalog.to_internal("no-such-item")
    with pytest.raises(KeyError):
        catalog.to_original(0)


def test_k_max_is_capped_and_excluded_items_fill_the_tail(trained_run, reference, tmp_path):
    meta = export_run(trained_run, "jax", tmp_path / "big", k_max=1000)
    assert meta["k_max"] == NUM_ITEMS
    backend = load_backend(tmp_path / "big")
    ids, _ = backend.recommend(np.zeros((1, backend.max_len), np.int32), np.ones(1, bool))
    assert sorted(ids[0].tolist()) == list(range(1, NUM_ITEMS + 1))
    # 12 seen items excluded from a 40-item list: 28 finite scores, then 12 x -inf.
    seen = np.arange(29, 41, dtype=np.int32)[None]
    ids, scores = backend.recommend(seen, np.ones(1, bool))
    finite = np.isfinite(scores[0])
    assert finite.sum() == NUM_ITEMS - 12 and finite[:28].all()
    assert set(ids[0][:28].tolist()) == set(range(1, 29))
    want_ids, want_scores = expected_topk(reference(seen), seen, [True], 28)
    np.testing.assert_array_equal(ids[:, :28], want_ids)
    np.testing.assert_allclose(scores[:, :28], want_scores, atol=1e-4, rtol=0)


def test_wrong_backend_for_export_is_a_clear_error(exports):
    with pytest.raises(ExportError, match=r"no model\.onnx"):
        load_backend(exports["jax"], "onnx")
    with pytest.raises(ExportError, match="backend 'torch'"):
        load_backend(exports["jax"], "torch")


def test_pad_history():
    np.testing.assert_array_equal(pad_history([5, 6], 4), [0, 0, 5, 6])
    np.testing.assert_array_equal(pad_history([1, 2, 3, 4, 5], 3), [3, 4, 5])
    assert pad_history([], 3).dtype == np.int32 and not pad_history([], 3).any()
