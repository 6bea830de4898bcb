"""Serving metrics behind one small interface, exported through Ray or prometheus_client.

Names (Ray prefixes ``ray_`` on its ``:8080/metrics`` endpoint; deploy/grafana/jaxrec.json uses
the Ray names):

* ``jaxrec_request_latency_ms`` histogram, tags ``route``, ``code``: time inside the app.
* ``jaxrec_errors`` counter, tags ``route``, ``code``: every answer with status >= 400.
* ``jaxrec_batch_size`` histogram: requests per model call.
* ``jaxrec_model_latency_ms`` histogram: one model call (a whole batch).
* ``jaxrec_model_info`` gauge = 1, tags ``model_version``, ``backend``.
"""

from __future__ import annotations

LATENCY_BOUNDS_MS = (0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 200, 500, 1000, 5000)
BATCH_BOUNDS = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 256)

_DOCS = {
    "jaxrec_request_latency_ms": "Time to answer one HTTP request inside the replica (ms).",
    "jaxrec_errors": "HTTP answers with status >= 400, by route and code.",
    "jaxrec_batch_size": "Requests per model call.",
    "jaxrec_model_latency_ms": "Duration of one model call on a batch (ms).",
    "jaxrec_model_info": "1 for the loaded model version and backend.",
}


class NullMetrics:
    """Records nothing (tests, or when metrics are not wanted)."""

    def request(self, route: str, code: int, latency_s: float) -> None:
        """One answered HTTP request."""

    def batch(self, size: int, latency_s: float) -> None:
        """One model call on ``size`` requests."""

    def model(self, version: str, backend: str) -> None:
        """The loaded model."""


class RayMetrics(NullMetrics):
    """``ray.serve.metrics`` objects; Ray exports them on its metrics endpoint."""

    def __init__(self):
        from ray.serve import metrics as m

        route_code = ("route", "code")
        self._latency = m.Histogram(
            "jaxrec_request_latency_ms",
            _DOCS["jaxrec_request_latency_ms"],
            boundaries=list(LATENCY_BOUNDS_MS),
            tag_keys=route_code,
        )
        self._errors = m.Counter("jaxrec_errors", _DOCS["jaxrec_errors"], tag_keys=route_code)
        self._batch = m.Histogram(
            "jaxrec_batch_size", _DOCS["jaxrec_batch_size"], boundaries=list(BATCH_BOUNDS)
        )
        self._model_latency = m.Histogram(
            "jaxrec_model_latency_ms",
            _DOCS["jaxrec_model_latency_ms"],
            boundaries=list(LATENCY_BOUNDS_MS),
        )
        self._info = m.Gauge(
            "jaxrec_model_info", _DOCS["jaxrec_model_info"], tag_keys=("model_version", "backend")
        )

    def request(self, route: str, code: int, latency_s: float) -> None:
        """One answered HTTP request."""
        tags = {"route": route, "code": str(code)}
        self._latency.observe(latency_s * 1e3, tags=tags)
        if code >= 400:
            self._errors.inc(1, tags=tags)

    def batch(self, size: int, latency_s: float) -> None:
        """One model call on ``size`` requests."""
        self._batch.observe(size)
        self._model_latency.observe(latency_s * 1e3)

    def model(self, version: str, backend: str) -> None:
        """The loaded model."""
        self._info.set(1, tags={"model_version": version, "backend": backend})


class PrometheusMetrics(NullMetrics):
    """prometheus_client metrics in a private registry (the plain app serves ``/metrics``)."""

    def __init__(self):
        import prometheus_client as pc

        self.registry = pc.CollectorRegistry()
        self._latency = pc.Histogram(
            "jaxrec_request_latency_ms",
            _DOCS["jaxrec_request_latency_ms"],
            ("route", "code"),
            buckets=LATENCY_BOUNDS_MS,
            registry=self.registry,
        )
        self._errors = pc.Counter(
            "jaxrec_errors", _DOCS["jaxrec_errors"], ("route", "code"), registry=self.registry
        )
        self._batch = pc.Histogram(
            "jaxrec_batch_size",
            _DOCS["jaxrec_batch_size"],
            buckets=BATCH_BOUNDS,
            registry=self.registry,
        )
        self._model_latency = pc.Histogram(
            "jaxrec_model_latency_ms",
            _DOCS["jaxrec_model_latency_ms"],
            buckets=LATENCY_BOUNDS_MS,
            registry=self.registry,
        )
        self._info = pc.Gauge(
            "jaxrec_model_info",
            _DOCS["jaxrec_model_info"],
            ("model_version", "backend"),
            registry=self.registry,
        )

    def request(self, route: str, code: int, latency_s: float) -> None:
        """One answered HTTP request."""
        self._latency.labels(route, str(code)).observe(latency_s * 1e3)
        if code >= 400:
            self._errors.labels(route, str(code)).inc()

    def batch(self, size: int, latency_s: float) -> None:
        """One model call on ``size`` requests."""
        self._batch.observe(size)
        self._model_latency.observe(latency_s * 1e3)

    def model(self, version: str, backend: str) -> None:
        """The loaded model."""
        self._info.labels(version, backend).set(1)

    def exposition(self) -> bytes:
        """The Prometheus text format of all metrics."""
        import prometheus_client as pc

        return pc.generate_latest(self.registry)
