"""Cold-user split and the ``jaxrec evaluate --cold-users`` JSON contract, end to end (tiny)."""

import json
import pathlib

import numpy as np
import pytest

from data_pipeline.cold_split import (
    choose_cold_users,
    choose_valid_users,
    cold_sequences,
    load_cold_split,
)
from data_pipeline.dataset import PreparedDataset
from data_pipeline.prepare import prepare
from data_pipeline.synthetic import synthetic_sequences, write_sasrec_txt
from jaxrec.cli import main

# Integration runs (a few seconds to half a minute each): `make test-slow`, run by CI.
pytestmark = pytest.mark.slow

REPO = pathlib.Path(__file__).resolve().parents[2]
TINY = REPO / "configs" / "tiny.py"
MAML_SET = [
    "maml.meta_steps=3",
    "maml.eval_every_steps=3",
    "maml.meta_batch=8",
    "maml.inner_steps=1",
    "maml.support_sizes=1,3",
    "maml.query_size=2",
    "maml.task_len=12",
    "maml.eval_ks=1,3,5,10",
]


@pytest.fixture(scope="module")
def cold_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cold")
    raw = write_sasrec_txt(root / "t.txt", synthetic_sequences(60, 30, min_len=14, seed=1))
    prepare("sasrec-txt", raw, root / "full")
    assert (
        main(
            [
                "data",
                "holdout-users",
                "--data",
                str(root / "full"),
                "--out",
                str(root / "warm"),
                "--fraction",
                "0.2",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    warm = ["--data", str(root / "warm")]
    assert (
        main(
            [
                "train",
                "--config",
                str(TINY),
                *warm,
                "--workdir",
                str(root / "base"),
                "--set",
                "max_epochs=1",
            ]
        )
        == 0
    )
    config = root / "maml_tiny.py"
    config.write_text(
        "import dataclasses, pathlib\n"
        "from jaxrec.config import MamlConfig, load_config\n"
        "def get_config():\n"
        f"    return dataclasses.replace(load_config({str(TINY)!r}), maml=MamlConfig())\n"
    )
    assert (
        main(
            [
                "train",
                "--config",
                str(config),
                *warm,
                "--workdir",
                str(root / "maml"),
                "--set",
                f"maml.init_from={root / 'base'}",
                *MAML_SET,
            ]
        )
        == 0
    )
    return root


def test_holdout_is_seeded_recorded_and_excluded(cold_run):
    split = load_cold_split(cold_run / "warm")
    np.testing.assert_array_equal(split.users, choose_cold_users(60, 0.2, 3))
    assert len(split.users) == 12 and split.seed == 3
    assert not np.array_equal(choose_cold_users(60, 0.2, 4), split.users)
    # 5 % meta-validation users (the CLI default), disjoint from the cold users.
    assert len(split.valid_users) == 3 and split.valid_fraction == 0.05
    assert set(split.valid_users.tolist()).isdisjoint(split.users.tolist())
    warm = PreparedDataset.open(cold_run / "warm")
    full = PreparedDataset.open(cold_run / "full")
    assert warm.num_users == 45 and warm.num_items == full.num_items
    held_out = set(split.users.tolist()) | set(split.valid_users.tolist())
    held_out_raw = {full.user_raw_ids()[u] for u in held_out}
    assert held_out_raw.isdisjoint(warm.user_raw_ids())
    assert [r.user for r in cold_sequences(split)] == split.users.tolist()
    valid = cold_sequences(split, valid=True)
    assert [r.user for r in valid] == split.valid_users.tolist()
    assert all(r.n_train < len(r.items) for r in valid)  # full sequences, not train prefixes


def test_valid_users_keep_the_cold_users_of_a_seed():
    cold = choose_cold_users(1000, 0.1, 7)
    valid = choose_valid_users(1000, cold, 0.05, 7)
    assert len(valid) == 50 and np.intersect1d(valid, cold).size == 0
    assert np.all(np.diff(valid) > 0)
    assert not np.array_equal(choose_valid_users(1000, cold, 0.05, 8), valid)
    assert choose_valid_users(1000, cold, 0.0, 7).size == 0
    with pytest.raises(ValueError, match="valid_fraction"):
        choose_valid_users(1000, cold, 1.0, 7)


def test_meta_training_validates_on_the_held_out_users(cold_run):
    from jaxrec.meta.train import split_users

    warm = PreparedDataset.open(cold_run / "warm")
    split = load_cold_split(cold_run / "warm")
    train, valid, users = split_users(warm, 0.05, 0)
    assert len(train) == warm.num_users  # every warm user meta-trains
    np.testing.assert_array_equal(users, split.valid_users)
    full = {r.user: r.items for r in PreparedDataset.open(cold_run / "full").records()}
    for seq, user in zip(valid, users, strict=True):
        np.testing.assert_array_equal(seq, full[int(user)])


@pytest.mark.parametrize("method", ["none", "finetune", "maml"])
def test_cold_users_json_contract(cold_run, method):
    out = cold_run / f"{method}.json"
    assert (
        main(
            [
                "evaluate",
                "--workdir",
                str(cold_run / "maml"),
                "--cold-users",
                "--method",
                method,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert result["protocol"] == "cold-users" and result["method"] == method
    assert set(result["k"]) == {"1", "3", "5", "10"}
    for row in result["k"].values():
        assert 0.0 <= row["ndcg@10"] <= row["hr@10"] <= 1.0
        assert row["num_users"] == 12
    assert set(result["baselines"]["mostpop"]) == {"1", "3", "5", "10"}
    assert result["cold_users"]["seed"] == 3


def test_none_equals_the_warm_model_and_maml_needs_a_maml_run(cold_run):
    base = cold_run / "base"
    out = cold_run / "base_none.json"
    assert (
        main(
            [
                "evaluate",
                "--workdir",
                str(base),
                "--cold-users",
                "--method",
                "none",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    via_maml_run = json.loads((cold_run / "none.json").read_text())
    assert json.loads(out.read_text())["k"] == via_maml_run["k"]
    assert main(["evaluate", "--workdir", str(base), "--cold-users", "--out", str(out)]) == 2
