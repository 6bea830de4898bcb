"""Property-based fuzzing of the OpenAPI schema: >= 1,000 generated requests, no 5xx.

Runs in-process (FastAPI TestClient) against the plain app on the real tiny jax export.
Positive cases follow the schema (they may still be 422: unknown item ids, k out of range);
negative cases break it. Every answer must be < 500 and conform to the documented responses.
"""

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import NUM_ITEMS

# Integration runs (a few seconds to half a minute each): `make test-slow`, run by CI.
pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
# (path, method, mode, known ids, max_examples); hypothesis stops early on exhausted spaces.
PLAN = [
    ("/v1/recommend", "POST", GenerationMode.POSITIVE, False, 300),
    ("/v1/recommend", "POST", GenerationMode.POSITIVE, True, 300),
    ("/v1/recommend", "POST", GenerationMode.NEGATIVE, False, 400),
    ("/v1/items/{id}", "GET", GenerationMode.POSITIVE, False, 120),
    ("/healthz", "GET", GenerationMode.POSITIVE, False, 5),
    ("/readyz", "GET", GenerationMode.POSITIVE, False, 5),
]


def _known_ids(case):
    """Maps a generated body onto catalogue ids and a valid k, so the model path is fuzzed too."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("history"), list):
        hist = body["history"] or [1]
        body["history"] = [str(1 + hash(str(x)) % NUM_ITEMS) for x in hist]
        if isinstance(body.get("k"), int):
            body["k"] = 1 + abs(body["k"]) % NUM_ITEMS
    return case


def _request(case) -> dict:
    kwargs = case.as_transport_kwargs()
    if not kwargs.get("cookies"):
        kwargs.pop("cookies", None)
    return kwargs


def test_generated_requests_never_get_a_5xx(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    statuses = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for path, method, mode, known, examples in PLAN:
            strategy = schema[path][method].as_strategy(mode)
            if known:
                strategy = strategy.map(_known_ids)

            @hypothesis.settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.generate],
            )
            @hypothesis.given(case=strategy)
            def run(case):
                response = client.request(**_request(case))
                statuses.append(response.status_code)
                assert response.status_code < 500, (_request(case), response.text)
                case.validate_response(response, checks=CHECKS)

            run()
    assert len(statuses) >= 1000, len(statuses)
    assert max(statuses) < 500
    assert statuses.count(200) > 50 and statuses.count(422) > 50  # both paths were exercised
