"""Cold-start adaptation of a tiny MAML export: short histories adapt, long ones do not."""

import dataclasses
import pathlib

import jax
import numpy as np
import pytest
from flax import nnx

from jaxrec import config as config_lib
from jaxrec.export import jax_format, runtime
from jaxrec.export.artifact import finalize_metadata
from jaxrec.export.cold_start import wrap
from jaxrec.export.runtime import load_backend, pad_history
from jaxrec.meta import maml
from tests.meta.helpers import NUM_ITEMS, TINY, tiny_setup

REPO = pathlib.Path(__file__).resolve().parents[2]
MAX_ITEMS = 3
STEPS = 1


@pytest.fixture(scope="module")
def meta():
    params, loop = tiny_setup(steps=STEPS)
    params["adapter"]["b"] = params["adapter"]["b"] + 0.05  # a visible adapter
    return params, loop


@pytest.fixture(scope="module")
def export_dir(meta, tmp_path_factory):
    """A ``jax`` export of the tiny meta parameters, written like ``jaxrec export`` does."""
    params, loop = meta
    model = wrap(nnx.merge(loop.graphdef, params["base"]), TINY.embed_dim, params)
    cfg = dataclasses.replace(config_lib.load_config(REPO / "configs" / "tiny.py"), model=TINY)
    out = tmp_path_factory.mktemp("maml_export")
    jax_format.write_params(out, nnx.split(model)[1])
    cold = {
        "method": "maml",
        "adapt_params": ["adapter"],
        "inner_steps": STEPS,
        "inner_lr": 0.5,
        "max_history_items": MAX_ITEMS,
    }
    metadata = {
        "format": "jax",
        "model_name": "sasrec",
        "train_config": config_lib.to_dict(cfg),
        "max_len": TINY.max_len,
        "num_items": NUM_ITEMS,
        "k_max": NUM_ITEMS,
        "cold_start": cold,
    }
    finalize_metadata(out, metadata)
    return out


def _rows(lengths, seed=0):
    rng = np.random.default_rng(seed)
    items = [rng.choice(np.arange(1, NUM_ITEMS + 1), n, replace=False) for n in lengths]
    return np.stack([pad_history(row, TINY.max_len) for row in items]).astype(np.int32)


def _by_item(ids, scores):
    out = np.full(NUM_ITEMS + 1, np.nan, np.float32)
    out[ids] = scores
    return out


HISTORIES = _rows([1, 3, 4, 8, 2])
EXCLUDE = np.array([False, True, False, True, False])
ADAPTED = np.array([True, True, False, False, True])


@pytest.fixture(scope="module")
def adaptive(export_dir):
    return load_backend(export_dir)


@pytest.fixture(scope="module")
def plain(export_dir):
    return load_backend(export_dir, cold_start_max_items=0)


def test_short_histories_adapt_and_long_ones_do_not(adaptive, plain):
    assert adaptive.cold_start["available"] and adaptive.cold_start["max_history_items"] == 3
    assert not plain.cold_start["available"]
    np.testing.assert_array_equal(adaptive.adapted_rows(HISTORIES), ADAPTED)
    assert not plain.adapted_rows(HISTORIES).any()

    ids, scores = adaptive.recommend(HISTORIES, EXCLUDE)
    # Long histories: the very same answer as the un-adapted model (same batch, so bitwise).
    long_ids, long_scores = plain.recommend(HISTORIES[~ADAPTED], EXCLUDE[~ADAPTED])
    np.testing.assert_array_equal(ids[~ADAPTED], long_ids)
    np.testing.assert_array_equal(scores[~ADAPTED], long_scores)
    # Short histories of 2+ items: adaptation moves the scores. One item gives no support
    # pair (an empty prefix is no user state), so that row stays as it was.
    base_ids, base_scores = plain.recommend(HISTORIES[ADAPTED], EXCLUDE[ADAPTED])
    for row, base in zip(np.flatnonzero(ADAPTED), range(3), strict=True):
        a = _by_item(ids[row], scores[row])
        b = _by_item(base_ids[base], base_scores[base])
        finite = np.isfinite(a) & np.isfinite(b)
        moved = np.abs(a[finite] - b[finite]).max()
        assert finite.sum() > 10
        assert moved > 1e-3 if (HISTORIES[row] > 0).sum() > 1 else moved < 1e-5


@pytest.mark.slow
def test_adapted_and_unadapted_scores_match_the_maml_evaluator(meta, export_dir):
    params, loop = meta
    ids, scores = load_backend(export_dir).recommend(HISTORIES, EXCLUDE)
    plain_ids, plain_scores = load_backend(export_dir, cold_start_max_items=0).recommend(
        HISTORIES, EXCLUDE
    )
    no_steps = dataclasses.replace(loop, steps=0)
    want = jax.jit(lambda h: [maml.adapted_scores(params, h, lp) for lp in (loop, no_steps)])
    adapted, zero = (np.asarray(x) for x in want(HISTORIES))
    for row in np.flatnonzero(~EXCLUDE):  # full lists: every item's score is there
        got = adapted if ADAPTED[row] else zero
        np.testing.assert_allclose(
            _by_item(ids[row], scores[row])[1:], got[row, 1:], rtol=1e-4, atol=1e-5
        )
        np.testing.assert_allclose(
            _by_item(plain_ids[row], plain_scores[row])[1:], zero[row, 1:], atol=1e-5
        )


def test_other_backends_report_adaptation_unavailable(export_dir):
    metadata = load_backend(export_dir).metadata
    adapter, info = runtime._cold_start("onnx", None, metadata, None)
    assert adapter is None and info["available"] is False
    assert "cannot run jax.grad" in info["detail"] and "un-adapted" in info["detail"]


def test_http_answer_says_adapted_and_readyz_describes_it(adaptive):
    from fastapi.testclient import TestClient

    from serve.app import build_app
    from serve.service import ItemIndex, RecommendService
    from serve.settings import ServeSettings

    ids = [str(i) for i in range(1, NUM_ITEMS + 1)]
    items = ItemIndex({i: int(i) for i in ids}, ["<pad>", *ids], [None] * (NUM_ITEMS + 1))
    service = RecommendService(adaptive, items, backend_name="jax")

    async def score(prepared):
        return service.score_batch([prepared])[0]

    with TestClient(build_app(service, score, ServeSettings(model_dir="x"))) as client:
        short = client.post("/v1/recommend", json={"history": ["4", "9"], "k": 5})
        long = client.post("/v1/recommend", json={"history": ids[:6], "k": 5})
        ready = client.get("/readyz").json()
    assert short.status_code == long.status_code == 200
    assert short.json()["adapted"] is True and long.json()["adapted"] is False
    assert set(short.json()) == {"items", "model_version", "adapted"}
    assert len(short.json()["items"]) == 5
    assert ready["cold_start"]["available"] is True
    assert ready["cold_start"]["max_history_items"] == MAX_ITEMS
