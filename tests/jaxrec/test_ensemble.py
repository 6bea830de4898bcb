"""Ensembles: train members, resume, refuse foreign runs, score by the weighted mean of members."""

import json
import os
import pathlib

import numpy as np
import pytest
from flax import nnx

from jaxrec.cli import main
from jaxrec.config import EnsembleConfig, EnsembleMember, load_config, load_experiment
from jaxrec.ensemble import LoadedEnsemble, ensemble_score_fn, load_ensemble

from .conftest import REPO, TINY_CONFIG

ENSEMBLE_FILE = f"""
from jaxrec.config import EnsembleConfig, EnsembleMember


def get_config():
    return EnsembleConfig(members=(EnsembleMember({str(TINY_CONFIG)!r}, 5),
                                   EnsembleMember({str(TINY_CONFIG)!r}, 6, weight=3.0)))
"""


def weighted_member_scores(
    loaded: LoadedEnsemble, histories: np.ndarray, weights: list[float]
) -> np.ndarray:
    """Reference: float[B, I] weighted mean of each member's own ``score_all``."""
    out = []
    for member in loaded.members:
        model = nnx.merge(member.graphdef, member.params)
        out.append(np.asarray(model.score_all(histories[:, -member.cfg.model.max_len :], None)))
    return np.average(out, axis=0, weights=weights)


def train_tiny_ensemble(root, members: str, data) -> pathlib.Path:
    """Trains (2 epochs each) the ensemble whose ``members`` tuple is the given source text."""
    config = root / "ens.py"
    config.write_text(
        "from jaxrec.config import EnsembleConfig, EnsembleMember\n\n\n"
        f"def get_config():\n    return EnsembleConfig(members=({members}))\n"
    )
    workdir = root / "work"
    argv = ["train", "--config", str(config), "--data", str(data), "--workdir", str(workdir)]
    assert main([*argv, "--set", "max_epochs=2"]) == 0
    return workdir


@pytest.fixture(scope="module")
def ensemble_run(tiny_dataset, tmp_path_factory):
    root = tmp_path_factory.mktemp("ensemble")
    config = root / "ens.py"
    config.write_text(ENSEMBLE_FILE)
    workdir = root / "work"
    argv = ["train", "--config", str(config), "--data", str(tiny_dataset), "--workdir"]
    assert main([*argv, str(workdir), "--set", "max_epochs=3"]) == 0
    return config, workdir, argv


def test_members_train_into_their_own_workdirs(ensemble_run):
    _, workdir, _ = ensemble_run
    record = json.loads((workdir / "ensemble.json").read_text())
    assert [m["name"] for m in record["members"]] == ["m0-tiny-seed5", "m1-tiny-seed6"]
    for member in record["members"]:
        summary = json.loads((workdir / member["workdir"] / "train_summary.json").read_text())
        assert summary["seed"] == member["seed"] and summary["stop_reason"] == "max_epochs"
    assert 0 < record["valid"]["ndcg@10"] <= 1 and record["valid"]["num_users"] == 96


def test_ensemble_scores_are_the_weighted_mean_of_member_logits(ensemble_run):
    _, workdir, _ = ensemble_run
    loaded = load_ensemble(workdir)
    assert [row["weight"] for row in loaded.record["members"]] == [1.0, 3.0]
    rng = np.random.default_rng(0)
    histories = rng.integers(0, loaded.dataset.num_items + 1, (5, loaded.max_len)).astype(np.int32)
    got = np.asarray(ensemble_score_fn(loaded)(histories, np.zeros(5, np.int32)))
    want = weighted_member_scores(loaded, histories, [1.0, 3.0])
    np.testing.assert_allclose(got[:, 1:], want[:, 1:], atol=1e-5)
    assert np.all(np.isneginf(got[:, 0]))
    # The weights count: the plain mean is different.
    plain = weighted_member_scores(loaded, histories, [1.0, 1.0])
    assert np.abs(plain[:, 1:] - got[:, 1:]).max() > 1e-4
    # Both members count: the mean is neither member's own scores.
    for member in loaded.members:
        model = nnx.merge(member.graphdef, member.params)
        own = np.asarray(model.score_all(histories, None))
        assert np.abs(own[:, 1:] - got[:, 1:]).max() > 1e-3


def test_evaluate_reports_the_ensemble(ensemble_run, tmp_path):
    _, workdir, _ = ensemble_run
    out = tmp_path / "test.json"
    assert main(["evaluate", "--workdir", str(workdir), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["model"] == "ensemble" and result["protocol"] == "full"
    assert result["members"] == ["m0-tiny-seed5", "m1-tiny-seed6"]
    assert 0 < result["ndcg@10"] <= 1


def test_rerun_keeps_finished_members_and_refuses_a_changed_config(ensemble_run, capsys):
    _, workdir, argv = ensemble_run
    summaries = sorted((workdir / "members").glob("*/train_summary.json"))
    before = [os.stat(p).st_mtime_ns for p in summaries]
    assert main([*argv, str(workdir), "--set", "max_epochs=3"]) == 0
    assert [os.stat(p).st_mtime_ns for p in summaries] == before
    assert main([*argv, str(workdir), "--set", "max_epochs=3", "model.dropout=0.3"]) != 0
    assert "m0-tiny-seed5: holds a run of a different config" in capsys.readouterr().err


def test_ensemble_config_needs_two_members_and_is_not_a_single_model():
    with pytest.raises(ValueError, match=">= 2 members"):
        EnsembleConfig(members=(EnsembleMember("sasrec.py", 0),))
    with pytest.raises(ValueError, match="member weight must be > 0"):
        EnsembleMember("ease.py", 0, weight=0.0)
    shipped = {
        "best_ml1m.py": [*[("sasrec_txl.py", s) for s in range(3)], ("sasrec.py", 0)],
        "ensemble_ml1m_sasrec_hybrid.py": [*[("sasrec.py", s) for s in range(3)], ("hybrid.py", 0)],
    }
    for name, members in shipped.items():
        experiment = load_experiment(REPO / "configs" / name)
        assert isinstance(experiment, EnsembleConfig)
        assert [(m.config, m.seed) for m in experiment.members] == members
        with pytest.raises(TypeError, match="ensemble config"):
            load_config(REPO / "configs" / name)


def test_member_overrides_apply_before_the_command_line(tmp_path):
    from jaxrec.ensemble import resolve_members

    ensemble = EnsembleConfig(
        members=(
            EnsembleMember(str(TINY_CONFIG), 0, overrides=("model.dropout=0.5", "max_epochs=7")),
            EnsembleMember(str(TINY_CONFIG), 1),
        )
    )
    members = resolve_members(ensemble, tmp_path / "ens.py", overrides=["max_epochs=2"])
    tiny = load_config(TINY_CONFIG)
    assert members[0].cfg.model.dropout == 0.5 and members[0].cfg.max_epochs == 2
    assert members[1].cfg.model.dropout == tiny.model.dropout and members[1].cfg.seed == 1
    assert members[0].overrides == ("model.dropout=0.5", "max_epochs=7")


def export_and_check_top_k(workdir, loaded: LoadedEnsemble, histories, out) -> dict:
    """Exports ``workdir`` to ``out`` (its name is the format); its top-k must be the ensemble's.

    Every other user of int32[B, L] ``histories`` has its history excluded. Returns the
    export's metadata.
    """
    from jaxrec.export.runtime import load_backend
    from jaxrec.export.scoring import topk_with_exclusion

    argv = ["export", "--workdir", str(workdir), "--format", out.name, "--out", str(out)]
    assert main(argv) == 0
    metadata = json.loads((out / "metadata.json").read_text())
    batch = len(histories)
    exclude = np.arange(batch) % 2 == 0
    scores = ensemble_score_fn(loaded)(histories, np.zeros(batch, np.int32))
    want_ids, want_scores = topk_with_exclusion(scores, histories, exclude, metadata["k_max"])
    ids, got_scores = load_backend(out).recommend(histories, exclude)
    np.testing.assert_array_equal(np.asarray(ids), np.asarray(want_ids))
    np.testing.assert_allclose(np.asarray(got_scores), np.asarray(want_scores), atol=1e-4)
    return metadata


@pytest.mark.parametrize("fmt", ["jax", "onnx"])
def test_export_of_an_ensemble_returns_its_top_k(ensemble_run, tmp_path, fmt):
    _, workdir, _ = ensemble_run
    loaded = load_ensemble(workdir)
    rng = np.random.default_rng(1)
    histories = rng.integers(0, loaded.dataset.num_items + 1, (6, loaded.max_len)).astype(np.int32)
    metadata = export_and_check_top_k(workdir, loaded, histories, tmp_path / fmt)
    assert metadata["model_name"] == "ensemble" and len(metadata["train_config"]["ensemble"]) == 2
    assert metadata["train_config"]["ensemble_weights"] == [1.0, 3.0]


def test_an_ease_member_blends_in_with_its_weight(tiny_dataset, tmp_path):
    ease = REPO / "configs" / "ease.py"
    members = (
        f"EnsembleMember({str(TINY_CONFIG)!r}, 0), EnsembleMember({str(ease)!r}, 0, weight=50.0)"
    )
    workdir = train_tiny_ensemble(tmp_path, members, tiny_dataset)
    loaded = load_ensemble(workdir)
    assert [m.cfg.model.name for m in loaded.members][1] == "ease"
    rng = np.random.default_rng(2)
    histories = rng.integers(0, loaded.dataset.num_items + 1, (4, 12)).astype(np.int32)
    got = np.asarray(ensemble_score_fn(loaded)(histories, np.zeros(4, np.int32)))
    want = weighted_member_scores(loaded, histories, [1.0, 50.0])
    np.testing.assert_allclose(got[:, 1:], want[:, 1:], rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def txl_ensemble_run(tiny_dataset, tmp_path_factory):
    """A 2-block TXL member (histories of 24, segments of 6) beside a SASRec one (window 12)."""
    txl = ("model.name=txl", "model.max_len=24", "model.segment_len=6", "model.num_layers=2")
    members = (
        f"EnsembleMember({str(TINY_CONFIG)!r}, 0, {txl!r}), EnsembleMember({str(TINY_CONFIG)!r}, 1)"
    )
    workdir = train_tiny_ensemble(tmp_path_factory.mktemp("txl_ensemble"), members, tiny_dataset)
    loaded = load_ensemble(workdir)
    histories = np.random.default_rng(2).integers(1, loaded.dataset.num_items + 1, (4, 24))
    return workdir, loaded, histories.astype(np.int32)


def test_a_txl_member_reads_past_the_sasrec_window_up_to_its_memory_reach(txl_ensemble_run):
    _, loaded, histories = txl_ensemble_run
    assert [m.cfg.model.name for m in loaded.members] == ["txl", "sasrec"] and loaded.max_len == 24
    score = ensemble_score_fn(loaded)
    scores = np.asarray(score(histories, np.zeros(4, np.int32)))
    np.testing.assert_allclose(
        scores[:, 1:], weighted_member_scores(loaded, histories, [1, 1])[:, 1:], atol=1e-5
    )
    rng = np.random.default_rng(3)

    def change(first: int, last: int) -> float:
        other = histories.copy()
        other[:, first:last] = rng.integers(1, loaded.dataset.num_items + 1, (4, last - first))
        return np.abs(np.asarray(score(other, np.zeros(4, np.int32))) - scores)[:, 1:].max()

    # The last segment (18-23) reaches num_layers = 2 segments back through the memory
    # chain: items 6-11, before the SASRec window (12-23), count; items 0-5 do not.
    assert change(6, 12) > 1e-4 and change(0, 6) == 0.0


@pytest.mark.parametrize("fmt", ["jax", "onnx"])
def test_export_of_an_ensemble_with_a_txl_member_returns_its_top_k(txl_ensemble_run, tmp_path, fmt):
    workdir, loaded, histories = txl_ensemble_run
    metadata = export_and_check_top_k(workdir, loaded, histories, tmp_path / fmt)
    assert [m["name"] for m in metadata["model_config"]["members"]] == ["txl", "sasrec"]
