"""``jaxrec serve``: run the app locally until interrupted, on Ray Serve or plain uvicorn.

Ray mode starts a local Ray cluster, binds Serve's HTTP proxy to ``--host``/``--port``
(127.0.0.1 unless told otherwise) and deploys ``serve.deployment``. ``--no-ray`` serves the same
FastAPI app from one uvicorn process with an asyncio batcher (the in-process baseline).
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import signal
import sys
import threading

from serve.settings import BACKENDS, TOKEN_ENV, ServeSettings

log = logging.getLogger(__name__)
DIRECT_INGRESS_PROXY_OFFSET = 500


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``jaxrec serve`` flags."""
    parser.add_argument("--model", required=True, type=pathlib.Path, help="export directory")
    parser.add_argument("--backend", choices=BACKENDS, default=None)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--token", default=None, help=f"bearer token (or ${TOKEN_ENV})")
    parser.add_argument("--config", type=pathlib.Path, default=None, help="settings YAML")
    parser.add_argument("--no-ray", action="store_true", help="plain uvicorn, no Ray Serve")
    parser.add_argument("--metrics-port", type=int, default=8080, help="Ray's /metrics port")
    parser.add_argument(
        "--throughput-optimized",
        action="store_true",
        help="RAY_SERVE_THROUGHPUT_OPTIMIZED=1: direct ingress, no proxy hop",
    )
    parser.add_argument("--num-threads", type=int, default=None, help="onnxruntime threads")
    parser.add_argument(
        "--cold-start-max-items",
        type=int,
        default=None,
        help="MAML exports, jax backend: adapt histories of 1..N items (0 = off; "
        "default: the export's cold_start.max_history_items)",
    )


def settings_from_args(args: argparse.Namespace) -> ServeSettings:
    """Settings YAML (optional) overridden by the command-line flags, then the environment."""
    values = {}
    if args.config is not None:
        import yaml

        values = yaml.safe_load(args.config.read_text()) or {}
        if not isinstance(values, dict):
            raise ValueError(f"{args.config}: expected a mapping of serve settings")
    values.update(model_dir=str(args.model.resolve()), host=args.host, port=args.port)
    if args.backend is not None:
        values["backend"] = args.backend
    if args.token is not None:
        values["token"] = args.token
    if getattr(args, "num_threads", None) is not None:
        values["num_threads"] = args.num_threads
    if getattr(args, "cold_start_max_items", None) is not None:
        values["cold_start_max_items"] = args.cold_start_max_items
    if getattr(args, "throughput_optimized", False):
        values["throughput_optimized"] = True
    return ServeSettings.from_mapping(values).with_env()


def plain_app(settings: ServeSettings):
    """The FastAPI app with an in-process batcher and prometheus_client ``/metrics``."""
    from serve.app import build_app
    from serve.batcher import AsyncBatcher
    from serve.loading import load_service
    from serve.metrics import PrometheusMetrics

    metrics = PrometheusMetrics()
    service = load_service(settings)
    batcher = AsyncBatcher(
        service.score_batch,
        max_batch_size=settings.max_batch_size,
        wait_s=settings.batch_wait_timeout_s,
        metrics=metrics,
    )
    return build_app(service, batcher.submit, settings, metrics)


def run_plain(settings: ServeSettings) -> None:
    """Serves ``plain_app`` with uvicorn until interrupted."""
    import uvicorn

    app = plain_app(settings)
    if settings.gil_switch_interval_s is not None:
        sys.setswitchinterval(settings.gil_switch_interval_s)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)


def run_ray(settings: ServeSettings, metrics_port: int | None = 8080) -> None:
    """Starts Ray and Serve on ``settings.host:port`` and blocks until SIGINT/SIGTERM.

    Background jobs of a non-interactive shell ignore SIGINT; stop those with SIGTERM.
    """
    proxy_port = settings.port
    if settings.throughput_optimized:
        # Read by Ray Serve's constants at import time in every Ray process started below.
        # Direct ingress: replicas listen on PORT, PORT+1, ...; Ray's proxy moves to PORT+500.
        os.environ["RAY_SERVE_THROUGHPUT_OPTIMIZED"] = "1"
        os.environ["RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"] = str(settings.port)
        os.environ["RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT"] = str(settings.port + 64)
        proxy_port = settings.port + DIRECT_INGRESS_PROXY_OFFSET
        # Ray holds a direct-ingress replica open 30 s on shutdown for load balancers.
        os.environ.setdefault("RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S", "2")
    import ray  # only now: Ray Serve reads the variables above when it is imported
    from ray import serve

    from serve.deployment import build_application

    stop = threading.Event()
    # address="local": always a fresh cluster, never one another process left behind
    ray.init(address="local", include_dashboard=False, _metrics_export_port=metrics_port)
    try:
        serve.start(http_options={"host": settings.host, "port": proxy_port})
        serve.run(build_application(settings), name="jaxrec", route_prefix="/")

        # Only now: ray.init and serve.run install handlers of their own, and a signal that
        # arrives during start-up should abort it (KeyboardInterrupt -> finally below).
        def on_signal(signum, _frame):
            log.info("signal %d: shutting down Serve and Ray", signum)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
        log.info("serving %s on http://%s:%d", settings.model_dir, settings.host, settings.port)
        while not stop.wait(1.0):
            pass
    finally:
        serve.shutdown()
        ray.shutdown()


def main(args: argparse.Namespace) -> int:
    """Entry of ``jaxrec serve``."""
    settings = settings_from_args(args)
    if args.no_ray:
        run_plain(settings)
    else:
        run_ray(settings, args.metrics_port)
    return 0
