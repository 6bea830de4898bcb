"""Every shipped config trains and evaluates end to end (shrunk to a tiny size)."""

import json

import numpy as np
import pytest

from data_pipeline.dataset import PreparedDataset
from data_pipeline.pipeline import eval_data
from jaxrec.cli import main

from .conftest import REPO

SHRINK = [
    "model.embed_dim=16",
    "model.mlp_dim=16",
    "model.max_len=12",
    "data.batch_size=16",
    "data.length_buckets=",  # one batch shape: one compilation
    "max_epochs=2",
    "eval_every_epochs=1",
    "optim.warmup_steps=2",
]
NEURAL_CONFIGS = ["sasrec", "sasrec_txl", "hybrid", "bert4rec", "gru4rec", "lstm", "bpr_mf"]
# Recurrent models start slower; masked-item training sees ~1/5 of the targets per pass.
EXTRA = {
    "sasrec_txl": ["model.segment_len=4", "model.relative_buckets=8"],
    "gru4rec": ["max_epochs=6"],
    "lstm": ["max_epochs=6"],
    "bpr_mf": ["max_epochs=6"],
    "bert4rec": ["max_epochs=30", "optim.learning_rate=0.01", "model.mask_prob=0.4"],
}


@pytest.mark.parametrize("name", NEURAL_CONFIGS)
def test_shipped_config_trains_and_beats_chance(name, tiny_dataset, tmp_path):
    workdir, out = tmp_path / "work", tmp_path / "test.json"
    config = REPO / "configs" / f"{name}.py"
    argv = ["train", "--config", str(config), "--data", str(tiny_dataset)]
    overrides = [*SHRINK, *EXTRA.get(name, [])]
    assert main([*argv, "--workdir", str(workdir), "--set", *overrides]) == 0
    assert main(["evaluate", "--workdir", str(workdir), "--out", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["protocol"] == "full" and metrics["num_users"] == 96
    # The synthetic sequences are learnable: a few tiny epochs beat popularity clearly.
    mostpop = metrics["baselines"]["mostpop"]["ndcg@10"]
    assert metrics["ndcg@10"] > 1.3 * mostpop, metrics
    # Their walks revisit items; a repeated target is a miss with AUC 0 under exclude_seen,
    # so the AUC over the other targets is the one that must beat chance.
    data = eval_data(PreparedDataset.open(tiny_dataset), "test", max_len=12)
    repeated = np.mean([t in set(s.tolist()) for t, s in zip(data.targets, data.seen, strict=True)])
    assert 0 < repeated < 0.5 and metrics["auc"] / (1 - repeated) > 0.55, metrics


def test_ease_config_fits_in_closed_form_and_evaluates(tiny_dataset, tmp_path):
    workdir, out = tmp_path / "work", tmp_path / "test.json"
    config = REPO / "configs" / "ease.py"
    argv = ["train", "--config", str(config), "--data", str(tiny_dataset), "--workdir"]
    grid = ["--set", "model.l2_grid=1,10", "--set", "model.ease_recency=1,0.5"]
    assert main([*argv, str(workdir), *grid]) == 0
    summary = json.loads((workdir / "train_summary.json").read_text())
    assert summary["stop_reason"] == "closed_form" and summary["l2"] in (1.0, 10.0)
    searched = [(row["l2"], row["recency"]) for row in summary["search"]]
    assert searched == [(1.0, 1.0), (1.0, 0.5), (10.0, 1.0), (10.0, 0.5)]
    # The checkpoint holds the chosen recency with the weights: it re-scores the same.
    valid = tmp_path / "valid.json"
    evaluate = ["evaluate", "--workdir", str(workdir)]
    assert main([*evaluate, "--split", "valid", "--out", str(valid)]) == 0
    best = json.loads(valid.read_text())["ndcg@10"]
    assert best == pytest.approx(summary["best_valid_ndcg@10"], abs=1e-6)
    assert main([*evaluate, "--out", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["num_users"] == 96 and metrics["auc"] > 0.6, metrics
    # Rerunning the same command on a fitted workdir is a no-op, as for a finished run.
    assert main([*argv, str(workdir), *grid]) == 0
    assert json.loads((workdir / "train_summary.json").read_text()) == summary


def test_item_knn_config_searches_its_grid_and_evaluates(tiny_dataset, tmp_path):
    workdir, out = tmp_path / "work", tmp_path / "test.json"
    config = REPO / "configs" / "item_knn.py"
    grid = ["--set", "model.knn_alphas=0.5,1", "--set", "model.knn_recency=0.5,0.9"]
    argv = ["train", "--config", str(config), "--data", str(tiny_dataset), "--workdir"]
    assert main([*argv, str(workdir), *grid]) == 0
    summary = json.loads((workdir / "train_summary.json").read_text())
    searched = [(row["alpha"], row["recency"]) for row in summary["search"]]
    assert searched == [(0.5, 0.5), (0.5, 0.9), (1.0, 0.5), (1.0, 0.9)]
    best = max(summary["search"], key=lambda row: row["ndcg@10"])
    assert (summary["alpha"], summary["recency"]) == (best["alpha"], best["recency"])
    assert main(["evaluate", "--workdir", str(workdir), "--out", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["num_users"] == 96 and metrics["auc"] > 0.6, metrics
