"""End to end through the CLI: prepare with --cold-items, train sasrec_text, evaluate."""

import json
import pathlib

import pytest

from jaxrec import cli
from tests.text.conftest import NUM_ITEMS, prepare_cold_items

# Integration runs (a few seconds to half a minute each): `make test-slow`, run by CI.
pytestmark = pytest.mark.slow

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_cli_prepare_train_evaluate_with_cold_items(tiny_raw, tmp_path):
    run = tmp_path / "run"
    data, _, feats = prepare_cold_items(tiny_raw, tmp_path)
    sets = ["model.name=sasrec_text", f"model.text_features={feats}", "max_epochs=1"]
    train = ["train", "--config", str(REPO / "configs" / "tiny.py"), "--data", str(data)]
    assert cli.main([*train, "--workdir", str(run), "--set", *sets]) == 0
    out = tmp_path / "test.json"
    assert cli.main(["evaluate", "--workdir", str(run), "--out", str(out)]) == 0
    block = json.loads(out.read_text())["cold_items"]
    assert block["num_events"] > 0 and 0.0 <= block["hr@10"] <= 1.0
    assert set(block) >= {"hr@10", "ndcg@10", "num_events", "random", "mostpop"}
    # Seen items are excluded, so fewer than 40 candidates: random HR@10 is above 10 / 40.
    assert 10 / NUM_ITEMS <= block["random"]["hr@10"] < 1.0
