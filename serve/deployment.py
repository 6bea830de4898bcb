"""The Ray Serve deployment: a thin shell around ``serve.app.build_app``.

One replica loads the export, warms it up and builds the same FastAPI app as the plain server;
its scorer is a ``@serve.batch`` method, sized from the settings at start-up.

``serve run serve.deployment:app_builder model_dir=...`` and the ``import_path`` of
deploy/serve_config.yaml use ``app_builder``; ``jaxrec serve`` uses ``build_application``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import time
from typing import Any

from ray import serve

from serve.app import build_app
from serve.loading import load_service
from serve.metrics import RayMetrics
from serve.service import Prepared
from serve.settings import TOKEN_ENV, ServeSettings


@serve.deployment(name="Recommender")
@serve.ingress()
class Recommender:
    """One replica: the loaded model and the HTTP app around it.

    Args:
        settings: a ``ServeSettings`` mapping (the token may also come from the environment).
    """

    def __init__(self, settings: dict[str, Any]):
        self.settings = ServeSettings.from_mapping(settings).with_env()
        if self.settings.gil_switch_interval_s is not None:
            sys.setswitchinterval(self.settings.gil_switch_interval_s)
        self.metrics = RayMetrics()
        self.service = load_service(self.settings)
        # One model thread: the event loop parses the next requests while a batch computes
        # (onnxruntime and XLA release the GIL); backends take one caller at a time.
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jaxrec-model")
        self._batched.set_max_batch_size(self.settings.max_batch_size)
        self._batched.set_batch_wait_timeout_s(self.settings.batch_wait_timeout_s)

    def __serve_build_asgi_app__(self):
        """Called by Ray after ``__init__``: the ingress app of this replica."""
        return build_app(self.service, self._score_one, self.settings, self.metrics)

    async def _score_one(self, prepared: Prepared):
        return await self._batched(prepared)

    @serve.batch(max_batch_size=64, batch_wait_timeout_s=0.004)
    async def _batched(self, prepared: list[Prepared]):
        start = time.perf_counter()
        loop = asyncio.get_running_loop()
        out = await loop.run_in_executor(self._pool, self.service.score_batch, prepared)
        self.metrics.batch(len(prepared), time.perf_counter() - start)
        return out


def build_application(settings: ServeSettings):
    """A bound Serve application with replicas, autoscaling and queue limits from ``settings``."""
    options: dict[str, Any] = {
        "max_ongoing_requests": settings.max_ongoing_requests,
        "max_queued_requests": settings.max_queued_requests,
        "ray_actor_options": {"num_cpus": settings.num_cpus},
        "logging_config": {"enable_access_log": settings.access_log, "log_level": "WARNING"},
    }
    if settings.autoscaling:
        options["autoscaling_config"] = dict(settings.autoscaling)
    else:
        options["num_replicas"] = settings.num_replicas
    if settings.token:
        env = {"env_vars": {TOKEN_ENV: settings.token}}
        options["ray_actor_options"]["runtime_env"] = env
    return Recommender.options(**options).bind(settings.as_dict())


def app_builder(args: dict[str, Any]):
    """Application builder for ``serve run`` / ``serve deploy`` (``args`` = settings mapping)."""
    return build_application(ServeSettings.from_mapping(dict(args)).with_env())
