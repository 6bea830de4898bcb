"""A real tiny export (synthetic data, configs/tiny.py, `jaxrec export --format jax`) + apps."""

import pathlib

import pytest

from data_pipeline.prepare import prepare
from data_pipeline.synthetic import synthetic_sequences, write_sasrec_txt

REPO = pathlib.Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "configs" / "tiny.py"
NUM_ITEMS = 40


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory) -> pathlib.Path:
    """Trains the tiny SASRec for one epoch and exports it in the jax format."""
    from jaxrec.cli import main

    root = tmp_path_factory.mktemp("serve")
    raw = write_sasrec_txt(root / "tiny.txt", synthetic_sequences(64, NUM_ITEMS, seed=0))
    prepare("sasrec-txt", raw, root / "prepared")
    work, out = root / "work", root / "export"
    train = ["train", "--config", str(TINY_CONFIG), "--data", str(root / "prepared")]
    assert main([*train, "--workdir", str(work), "--set", "max_epochs=1"]) == 0
    assert main(["export", "--workdir", str(work), "--format", "jax", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def service(tiny_export):
    from serve.loading import load_service
    from serve.settings import ServeSettings

    settings = ServeSettings(model_dir=str(tiny_export), backend="jax", max_batch_size=8)
    return load_service(settings)


def make_app(service, **settings):
    """The plain app (asyncio batcher, prometheus metrics) around ``service``."""
    from serve.app import build_app
    from serve.batcher import AsyncBatcher
    from serve.metrics import PrometheusMetrics
    from serve.settings import ServeSettings

    cfg = ServeSettings(model_dir="x", **{"max_batch_size": 8, **settings})
    metrics = PrometheusMetrics()
    batcher = AsyncBatcher(
        service.score_batch, max_batch_size=cfg.max_batch_size, wait_s=0.001, metrics=metrics
    )
    return build_app(service, batcher.submit, cfg, metrics)


@pytest.fixture(scope="session")
def app(service):
    return make_app(service)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c
