"""Serving settings: one frozen dataclass, loadable from a YAML/JSON mapping and the environment.

The same fields drive the plain (uvicorn) app and the Ray Serve deployment; the Ray-only fields
(replicas, autoscaling, queue limits) are ignored by the plain app.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

BACKENDS = ("jax", "onnx", "savedmodel", "tensorrt")
TOKEN_ENV = "JAXREC_SERVE_TOKEN"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServeSettings:
    """How one serving process behaves.

    Attributes:
        model_dir: export directory written by ``jaxrec export``.
        backend: runtime for the exported model; None picks the export's own format.
        host: bind address (127.0.0.1 unless told otherwise).
        port: HTTP port.
        token: optional bearer token; requests to /v1/* without it get 401.
        max_body_bytes: larger request bodies get 413 before they are parsed.
        max_history_items: longer ``history`` lists get 422 (the model only reads the most
            recent ``max_len`` items of shorter ones).
        max_batch_size: ``@serve.batch`` / in-process batcher: most requests per model call.
        batch_wait_timeout_s: how long a batch waits to fill up.
        max_inflight: requests a replica accepts at once before answering 503 (load shedding).
        num_replicas: Ray replicas (ignored when ``autoscaling`` is set).
        autoscaling: Ray Serve ``autoscaling_config`` mapping, or None for a fixed count.
        max_ongoing_requests: Ray per-replica concurrency limit.
        max_queued_requests: Ray per-handle queue limit; beyond it the proxy answers 503.
        num_cpus: CPUs reserved per replica.
        num_threads: onnxruntime intra-op threads (None = its default, one per core).
        access_log: Ray Serve's per-request access log (off: it costs throughput).
        cold_start_max_items: MAML exports on the jax backend adapt histories of 1..N items
            before scoring them; None = the export's ``cold_start.max_history_items``, 0 = off.
        gil_switch_interval_s: ``sys.setswitchinterval`` in the serving process (0.5 ms), or
            None to keep Python's 5 ms. The event loop and the model thread hand the GIL back
            and forth once per batch; with 5 ms a finished model call can wait that long for
            a busy event loop to let go (docs/serving.md, "GIL switch interval").
        throughput_optimized: ``jaxrec serve`` sets ``RAY_SERVE_THROUGHPUT_OPTIMIZED=1`` before
            starting Ray (direct ingress: the replica answers HTTP itself, no proxy hop).
    """

    model_dir: str = ""
    backend: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    max_body_bytes: int = 64 * 1024
    max_history_items: int = 2048
    max_batch_size: int = 64
    batch_wait_timeout_s: float = 0.004
    max_inflight: int = 64
    num_replicas: int = 1
    autoscaling: dict[str, Any] | None = None
    max_ongoing_requests: int = 256
    max_queued_requests: int = 512
    num_cpus: float = 1.0
    num_threads: int | None = None
    access_log: bool = False
    cold_start_max_items: int | None = None
    gil_switch_interval_s: float | None = 0.0005
    throughput_optimized: bool = False

    def __post_init__(self):
        if self.backend is not None and self.backend not in BACKENDS:
            raise ValueError(f"backend: {self.backend!r} is not one of {BACKENDS}")
        for name in ("max_body_bytes", "max_history_items", "max_batch_size", "max_inflight"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.batch_wait_timeout_s <= 1:
            raise ValueError(
                f"batch_wait_timeout_s: must be in [0, 1], got {self.batch_wait_timeout_s}"
            )
        if self.cold_start_max_items is not None and self.cold_start_max_items < 0:
            raise ValueError(f"cold_start_max_items: must be >= 0, got {self.cold_start_max_items}")
        if self.gil_switch_interval_s is not None and not 0 < self.gil_switch_interval_s <= 1:
            raise ValueError(
                f"gil_switch_interval_s: must be in (0, 1], got {self.gil_switch_interval_s}"
            )
        if self.max_ongoing_requests < self.max_batch_size:
            raise ValueError("max_ongoing_requests: must be >= max_batch_size")

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> ServeSettings:
        """Builds settings from a mapping (e.g. a Serve ``user_config``), rejecting unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown serve setting(s) {unknown}; known: {sorted(known)}")
        return cls(**values)

    def with_env(self) -> ServeSettings:
        """Fills ``token`` from ``$JAXREC_SERVE_TOKEN`` when it is not set explicitly."""
        token = self.token or os.environ.get(TOKEN_ENV) or None
        return dataclasses.replace(self, token=token)

    def as_dict(self, *, include_token: bool = False) -> dict[str, Any]:
        """Plain mapping (for Ray init args and logs); the token only when asked for."""
        out = dataclasses.asdict(self)
        if not include_token:
            out["token"] = None
        return out
