"""The HTTP app on a real tiny export, without Ray: answers, bad input, auth, overload."""

import asyncio
import time

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from serve.app import build_app
from serve.settings import ServeSettings

from .conftest import NUM_ITEMS, make_app


def _direct(service, history, exclude=True):
    row = np.zeros((1, service.max_len), np.int32)
    recent = [int(x) for x in history][-service.max_len :]
    row[0, service.max_len - len(recent) :] = recent  # raw ids "1".."40" are internal ids here
    ids, scores = service.backend.recommend(row, np.asarray([exclude]))
    return np.asarray(ids)[0], np.asarray(scores)[0]


def test_recommend_matches_the_backend(client, service):
    r = client.post("/v1/recommend", json={"history": ["3", "4", "5"], "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_version"] == service.backend.metadata["model_version"]
    ids, scores = _direct(service, [3, 4, 5])
    assert [item["id"] for item in body["items"]] == [str(i) for i in ids[:5]]
    np.testing.assert_allclose([item["score"] for item in body["items"]], scores[:5], rtol=1e-6)
    assert not {"3", "4", "5"} & {item["id"] for item in body["items"]}
    got = [item["score"] for item in body["items"]]
    assert got == sorted(got, reverse=True)


def test_int_and_string_ids_are_the_same_item(client):
    a = client.post("/v1/recommend", json={"history": [3, 4, 5], "k": 7}).json()
    b = client.post("/v1/recommend", json={"history": ["3", "4", "5"], "k": 7}).json()
    assert a == b


def test_exclude_seen_false_keeps_history_items(client, service):
    hist = ["7", "8", "9", "10"]
    body = client.post(
        "/v1/recommend", json={"history": hist, "k": NUM_ITEMS, "exclude_seen": False}
    ).json()
    ids = [item["id"] for item in body["items"]]
    assert set(hist) <= set(ids) and len(ids) == NUM_ITEMS
    excluded = client.post("/v1/recommend", json={"history": hist, "k": NUM_ITEMS}).json()
    assert len(excluded["items"]) == NUM_ITEMS - len(hist)  # -inf fillers are dropped


def test_long_history_uses_the_most_recent_window(client, service):
    long = [str(1 + i % NUM_ITEMS) for i in range(3 * service.max_len + 1)]
    full = client.post("/v1/recommend", json={"history": long, "k": 10}).json()
    recent = client.post("/v1/recommend", json={"history": long[-service.max_len :], "k": 10})
    assert full == recent.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"history": [], "k": 3}, "history"),
        ({"history": ["1", "999"], "k": 3}, "history[1]"),
        ({"history": ["1"], "k": 0}, "k"),
        ({"history": ["1"], "k": -2}, "k"),
        ({"history": ["1"], "k": NUM_ITEMS + 1}, "k"),
        ({"history": ["1"], "k": "3"}, "k"),
        ({"history": ["1"], "k": 2.5}, "k"),
        ({"history": "1 2 3", "k": 3}, "history"),
        ({"history": [1.5], "k": 3}, "history[0]"),
        ({"history": [True], "k": 3}, "history[0]"),
        ({"history": [None], "k": 3}, "history[0]"),
        ({"history": ["1"], "exclude_seen": "yes"}, "exclude_seen"),
        ({"history": ["1"], "user_id": 5}, "user_id"),
        ({"history": ["1"], "context": [1]}, "context"),
        ({"history": ["1"], "nonsense": 1}, "nonsense"),
        ({"k": 3}, "history"),
        ([1, 2], "body"),
        ("text", "body"),
        ({"history": ["1"] * 3000}, "history"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, body, field):
    r = client.post("/v1/recommend", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field, r.json()
    assert r.json()["detail"]


def test_malformed_json_is_400(client):
    r = client.post(
        "/v1/recommend", content=b'{"history": [1,', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["field"] == "body"


def test_body_over_the_limit_is_413(client):
    big = {"history": ["1"] * 20000, "k": 3}  # > 64 KiB
    r = client.post("/v1/recommend", json=big)
    assert r.status_code == 413 and r.json()["field"] == "body"

    def chunks():  # no content-length: the limit is enforced while reading
        for _ in range(100):
            yield b" " * 1000

    r = client.post("/v1/recommend", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_items_health_ready_docs(client, service):
    item = client.get("/v1/items/7")
    assert item.status_code == 200 and item.json()["id"] == "7"
    missing = client.get("/v1/items/nope")
    assert missing.status_code == 404 and missing.json()["field"] == "id"
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    want = {"status": "ready", "model_version": service.model_version, "backend": "jax"}
    assert ready == {**want, "cold_start": None}  # None: this model has no cold-start adaptation
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/recommend", "/v1/items/{id}", "/healthz", "/readyz"} <= set(paths)
    assert client.get("/nowhere").json()["detail"] == "Not Found"


def test_bearer_token(service):
    with TestClient(make_app(service, token="s3cret")) as c:
        body = {"history": ["1"], "k": 2}
        assert c.post("/v1/recommend", json=body).status_code == 401
        bad = {"authorization": "Bearer nope"}
        assert c.post("/v1/recommend", json=body, headers=bad).status_code == 401
        good = {"authorization": "Bearer s3cret"}
        assert c.post("/v1/recommend", json=body, headers=good).status_code == 200
        assert c.get("/healthz").status_code == 200


def test_overload_answers_503_fast_and_recovers(service):
    gate = asyncio.Event()

    async def slow(prepared):
        await gate.wait()
        return service.score_batch([prepared])[0]

    app = build_app(service, slow, ServeSettings(model_dir="x", max_inflight=2))

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            body = {"history": ["1", "2"], "k": 3}
            held = [asyncio.create_task(c.post("/v1/recommend", json=body)) for _ in range(2)]
            await asyncio.sleep(0.05)
            start = time.perf_counter()
            shed = await c.post("/v1/recommend", json=body)
            shed_s = time.perf_counter() - start
            gate.set()
            done = [await t for t in held]
            after = await c.post("/v1/recommend", json=body)
            return shed, shed_s, done, after

    shed, shed_s, done, after = asyncio.run(scenario())
    assert shed.status_code == 503 and shed.headers["retry-after"] == "1"
    assert shed_s < 0.5
    assert [r.status_code for r in done] == [200, 200] and after.status_code == 200


def test_metrics_count_requests_errors_and_batches(service):
    with TestClient(make_app(service)) as c:
        c.post("/v1/recommend", json={"history": ["1"], "k": 2})
        c.post("/v1/recommend", json={"history": [], "k": 2})
        text = c.get("/metrics").text
    assert 'jaxrec_request_latency_ms_count{code="200",route="/v1/recommend"} 1.0' in text
    assert 'jaxrec_errors_total{code="422",route="/v1/recommend"} 1.0' in text
    assert "jaxrec_batch_size_count 1.0" in text
    assert f'jaxrec_model_info{{backend="jax",model_version="{service.model_version}"}} 1.0' in text


def test_batcher_batches_concurrent_requests_in_order():
    from serve.batcher import AsyncBatcher

    sizes = []

    def double(items):
        sizes.append(len(items))
        time.sleep(0.01)
        return [2 * x for x in items]

    batcher = AsyncBatcher(double, max_batch_size=8, wait_s=0.005)

    async def go():
        return await asyncio.gather(*(batcher.submit(i) for i in range(20)))

    assert asyncio.run(go()) == [2 * i for i in range(20)]
    assert max(sizes) == 8 and sum(sizes) == 20
    batcher.close()
