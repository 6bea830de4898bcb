"""One end-to-end run on real Ray Serve (127.0.0.1, tiny jax export); Ray is shut down after."""

import socket

import httpx
import pytest

from serve.settings import ServeSettings

# Integration runs (a few seconds to half a minute each): `make test-slow`, run by CI.
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.ray
@pytest.mark.timeout(240)
def test_ray_serve_answers_requests(tiny_export):
    import ray
    from ray import serve

    from serve.deployment import build_application

    port = _free_port()
    settings = ServeSettings(
        model_dir=str(tiny_export),
        backend="jax",
        max_batch_size=4,
        max_ongoing_requests=8,
        max_queued_requests=16,
        num_cpus=0.5,
    )
    ray.init(
        address="local",  # a fresh cluster even if another one runs on this machine
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_application(settings), name="jaxrec", route_prefix="/")
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60) as client:
            ok = client.post("/v1/recommend", json={"history": ["3", 4, "5"], "k": 5})
            assert ok.status_code == 200, ok.text
            body = ok.json()
            assert len(body["items"]) == 5 and body["model_version"].startswith("sasrec-jax-")
            assert not {"3", "4", "5"} & {item["id"] for item in body["items"]}
            bad = client.post("/v1/recommend", json={"history": ["3"], "k": 0})
            assert bad.status_code == 422 and bad.json()["field"] == "k"
            assert client.get("/readyz").json()["backend"] == "jax"
        status = serve.status().applications["jaxrec"]
        assert status.status == "RUNNING"
    finally:
        serve.shutdown()
        ray.shutdown()
    assert not ray.is_initialized()
