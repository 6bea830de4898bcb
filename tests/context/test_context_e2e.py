"""End to end through the CLI: prepare -> train -> evaluate with context features on."""

import json

import pytest

from jaxrec import cli
from tests.context.conftest import TINY_CONFIG, write_amazon, write_ml1m

# Two tiny trainings, compiles dominate: `make test-slow`. On 8 emulated devices and a busy
# 2-core CPU the first train-step compile alone took 2.5 min, past the 300 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _run(data, run, sets):
    train = ["train", "--config", str(TINY_CONFIG), "--data", str(data), "--workdir", str(run)]
    assert cli.main([*train, "--set", "max_epochs=2", *sets]) == 0
    out = run / "test.json"
    assert cli.main(["evaluate", "--workdir", str(run), "--out", str(out)]) == 0
    return json.loads(out.read_text())


def test_movielens_time_and_user_context(tmp_path, capsys):
    data = tmp_path / "ml"
    argv = [
        "data",
        "prepare",
        "--source",
        "movielens",
        "--input",
        str(write_ml1m(tmp_path / "raw")),
    ]
    assert cli.main([*argv, "--out", str(data)]) == 0
    result = _run(data, tmp_path / "run", ["model.name=sasrec_context"])
    assert result["model"] == "sasrec_context" and 0.0 <= result["ndcg@10"] <= 1.0
    assert result["num_users"] == 40
    # Context models export with their context inputs (tests/export/test_export_context.py).
    out = tmp_path / "export"
    export = ["export", "--workdir", str(tmp_path / "run"), "--format", "jax", "--out", str(out)]
    assert cli.main(export) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["context"]["featurizer"]["required_fields"] == ["timestamps", "user"]


def test_amazon_sentiment_feature_and_loss_weight(tmp_path):
    data = tmp_path / "am"
    argv = ["data", "prepare", "--source", "amazon-reviews"]
    assert (
        cli.main([*argv, "--input", str(write_amazon(tmp_path / "r.json")), "--out", str(data)])
        == 0
    )
    sets = [
        "model.name=sasrec_context",
        "model.context.sentiment=true",
        "loss.sentiment_weight=0.5",
    ]
    result = _run(data, tmp_path / "run", sets)
    assert 0.0 <= result["ndcg@10"] <= 1.0
    assert list((data / "context").glob("vader-*.npy")), "sentiment scores are cached"
