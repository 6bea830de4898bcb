"""The HTTP app on a tiny context-model export (sasrec_context), without Ray."""

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from data_pipeline.dataset import PreparedDataset
from tests.export.context_fixtures import context_export

from .conftest import make_app

K_MAX = 15
USER = {"age": 25, "gender": "F", "occupation": 4, "zip": "55455"}


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return context_export(tmp_path_factory, "jax", K_MAX)


@pytest.fixture(scope="module")
def ctx_service(export_dir):
    from serve.loading import load_service
    from serve.settings import ServeSettings

    settings = ServeSettings(model_dir=str(export_dir), backend="jax", max_batch_size=4)
    return load_service(settings)


@pytest.fixture(scope="module")
def ctx_client(ctx_service):
    with TestClient(make_app(ctx_service, max_batch_size=4)) as c:
        yield c


@pytest.fixture(scope="module")
def raw_user(export_dir):
    """One training user's raw history, timestamps and attributes (original ids)."""
    meta = json.loads((export_dir / "metadata.json").read_text())
    dataset = PreparedDataset.open(meta["source"]["data"])
    rec = next(iter(dataset.records()))
    raw = dataset.item_raw_ids()
    n = len(rec.items) - 1
    return {
        "history": [raw[i] for i in rec.items[:n]],
        "timestamps": rec.timestamps[:n].tolist(),
        "user": {k: dataset.user_info()[rec.user].get(k) for k in USER},
    }


def _body(raw_user, **extra):
    return {"history": raw_user["history"], "k": 5, "timestamps": raw_user["timestamps"], **extra}


def test_context_request_matches_the_backend(ctx_client, ctx_service, raw_user):
    body = _body(raw_user, user=raw_user["user"])
    r = ctx_client.post("/v1/recommend", json=body)
    assert r.status_code == 200, r.text
    backend, featurizer = ctx_service.backend, ctx_service.featurizer
    n = len(raw_user["history"])
    row = featurizer.featurize(n, backend.max_len, timestamps=body["timestamps"], user=body["user"])
    ids = [ctx_service.items.lookup(i) for i in raw_user["history"]][-backend.max_len :]
    history = np.zeros((1, backend.max_len), np.int32)
    history[0, -len(ids) :] = ids
    want, scores = backend.recommend(
        history, np.ones(1, bool), {k: v[None] for k, v in row.items()}
    )
    got = r.json()["items"]
    assert [item["id"] for item in got] == [ctx_service.items.to_original[i] for i in want[0][:5]]
    np.testing.assert_allclose([item["score"] for item in got], scores[0][:5], rtol=1e-6)


def test_context_changes_the_answer(ctx_client, raw_user):
    a = ctx_client.post("/v1/recommend", json=_body(raw_user, user=USER, k=K_MAX)).json()
    shifted = [t + 5 * 3600 for t in raw_user["timestamps"]]  # other hours of the day
    b = ctx_client.post(
        "/v1/recommend", json={**_body(raw_user, user=USER, k=K_MAX), "timestamps": shifted}
    ).json()
    assert [i["score"] for i in a["items"]] != [i["score"] for i in b["items"]]


def test_unknown_attribute_values_map_to_unknown(ctx_client, raw_user):
    odd = {"age": "41", "gender": "nonbinary", "occupation": "astronaut", "zip": "T8N 2M4"}
    r = ctx_client.post("/v1/recommend", json=_body(raw_user, user=odd))
    assert r.status_code == 200, r.text
    devices = [None, "fridge"] + [None] * (len(raw_user["history"]) - 2)  # ignored: no devices
    r = ctx_client.post("/v1/recommend", json=_body(raw_user, user={}, devices=devices))
    assert r.status_code == 200, r.text


def test_reviews_are_scored_like_sentiment(ctx_client, raw_user):
    n = len(raw_user["history"])
    reviews = ["great, love it", "terrible, broke", None, ""] * n
    a = ctx_client.post("/v1/recommend", json=_body(raw_user, user=USER, reviews=reviews[:n]))
    assert a.status_code == 200, a.text
    from jaxrec.export.context_featurizer import review_sentiment

    sentiment = review_sentiment(reviews[:n])
    assert sentiment[2] is None and sentiment[3] is None and sentiment[0] > 0.5
    b = ctx_client.post("/v1/recommend", json=_body(raw_user, user=USER, sentiment=sentiment))
    assert a.json() == b.json()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"timestamps": None}, "timestamps", "reads time context"),
        ({"user": None}, "user", "reads user context"),
        ({"timestamps": [0, 1]}, "timestamps", "2 entries for"),
        ({"timestamps": "yesterday"}, "timestamps", "list"),
        ({"timestamps": [1.5]}, "timestamps[0]", "integer"),
        ({"timestamps": ["-1"]}, "timestamps[0]", "integer"),
        ({"user": {"age": "old"}}, "user.age", "expected a number"),
        ({"user": {"gender": 1}}, "user.gender", "string"),
        ({"user": {"height": 180}}, "user.height", "not permitted"),
        ({"user": "F"}, "user", "dictionary"),
        ({"sentiment": [0.1]}, "sentiment", "1 entries for"),
        ({"sentiment": ["good"]}, "sentiment[0]", "number"),
        ({"devices": [1]}, "devices[0]", "string"),
        ({"reviews": ["ok"], "sentiment": [0.1]}, "reviews", "not both"),
        ({"reviews": ["ok"]}, "reviews", "1 entries for"),
    ],
)
def test_bad_context_is_422_naming_the_field(ctx_client, raw_user, change, field, words):
    body = {**_body(raw_user, user=USER), **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = ctx_client.post("/v1/recommend", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field, r.json()
    assert words in r.json()["detail"], r.json()


def test_out_of_range_sentiment_and_negative_timestamps(ctx_client, raw_user):
    n = len(raw_user["history"])
    bad = [0.0] * (n - 1) + [1.5]
    r = ctx_client.post("/v1/recommend", json=_body(raw_user, user=USER, sentiment=bad))
    assert r.status_code == 422 and r.json()["field"] == f"sentiment[{n - 1}]", r.text
    ts = [-5, *raw_user["timestamps"][1:]]
    r = ctx_client.post("/v1/recommend", json={**_body(raw_user, user=USER), "timestamps": ts})
    assert r.status_code == 422 and r.json()["field"] == "timestamps[0]", r.text


def test_history_models_ignore_context_fields(client):
    body = {"history": ["3", "4"], "k": 3, "timestamps": [1, 2], "user": USER}
    assert (
        client.post("/v1/recommend", json=body).json()
        == client.post("/v1/recommend", json={"history": ["3", "4"], "k": 3}).json()
    )
