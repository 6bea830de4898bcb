import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jaxrec.cli import main
from jaxrec.training.setup import load_trained

from .conftest import REPO, TINY_CONFIG

EXPECTED_KEYS = {
    "ndcg@10",
    "hr@10",
    "recall@10",
    "precision@10",
    "f1@10",
    "mrr",
    "auc",
    "coverage@10",
    "num_users",
    "num_items",
    "protocol",
}


@pytest.fixture(scope="module")
def trained(tiny_dataset, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run") / "work"
    argv = [
        "train",
        "--config",
        str(TINY_CONFIG),
        "--data",
        str(tiny_dataset),
        "--workdir",
        str(workdir),
        "--set",
        "max_epochs=6",
        "--seed",
        "3",
    ]
    assert main(argv) == 0
    return workdir


def test_train_writes_summary_config_and_scalars(trained):
    summary = json.loads((trained / "train_summary.json").read_text())
    assert summary["stop_reason"] == "max_epochs" and summary["seed"] == 3
    assert json.loads((trained / "config.json").read_text())["seed"] == 3
    assert any((trained / "tb").iterdir())
    meta = load_trained(trained).meta
    assert meta["step"] == summary["best_step"] > 0
    assert meta["valid"]["ndcg@10"] == pytest.approx(summary["best_valid_ndcg@10"])


def test_evaluate_contract_and_beats_mostpop(trained, tmp_path):
    out, dump = tmp_path / "m.json", tmp_path / "top.jsonl"
    argv = [
        "evaluate",
        "--workdir",
        str(trained),
        "--out",
        str(out),
        "--dump-topk",
        str(dump),
        "--k",
        "100",
    ]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert set(result) >= EXPECTED_KEYS
    assert result["protocol"] == "full" and result["num_users"] == 96
    # The synthetic walk is learnable; popularity is not.
    assert result["ndcg@10"] > 2 * result["baselines"]["mostpop"]["ndcg@10"]
    lines = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(lines) == 96 and set(lines[0]) == {"user", "items"}
    # 40 items minus the user's history: the list stops at the last candidate.
    assert 0 < len(lines[0]["items"]) < 40


def test_sampled_metrics_are_labelled(trained, tmp_path):
    out = tmp_path / "s.json"
    assert (
        main(
            [
                "evaluate",
                "--workdir",
                str(trained),
                "--out",
                str(out),
                "--sampled",
                "10",
                "--split",
                "valid",
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert result["protocol"] == "sampled-10" and result["split"] == "valid"


@pytest.mark.parametrize(
    "argv, needle",
    [
        (
            [
                "data",
                "prepare",
                "--source",
                "sasrec-txt",
                "--input",
                "/nonexistent/x.txt",
                "--out",
                "OUT",
            ],
            "/nonexistent/x.txt",
        ),
        (
            [
                "train",
                "--config",
                str(TINY_CONFIG),
                "--data",
                "DATA",
                "--workdir",
                "W",
                "--set",
                "model.embd_dim=3",
            ],
            "model.embd_dim",
        ),
        (["evaluate", "--workdir", "/nonexistent/run", "--out", "OUT"], "/nonexistent/run"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, needle, tmp_path, capsys, tiny_dataset):
    argv = [
        a.replace("OUT", str(tmp_path / "out"))
        .replace("DATA", str(tiny_dataset))
        .replace("W", str(tmp_path / "w"))
        if a in ("OUT", "DATA", "W")
        else a
        for a in argv
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
    assert not (tmp_path / "out").exists()


def _params(workdir):
    return jax.tree.leaves(jax.device_get(load_trained(workdir).params))


def test_killed_run_resumes_to_identical_parameters(tiny_dataset, tmp_path):
    common = [
        "--config",
        str(TINY_CONFIG),
        "--data",
        str(tiny_dataset),
        "--set",
        "max_epochs=8",
        "--set",
        "patience=100",
    ]
    assert main(["train", "--workdir", str(tmp_path / "a"), *common]) == 0

    work_b = tmp_path / "b"
    cmd = [sys.executable, "-m", "jaxrec.cli", "train", "--workdir", str(work_b), *common]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    latest = work_b / "checkpoints" / "latest"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if latest.is_dir() and any(p.name.isdigit() for p in latest.iterdir()):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    summary_b = work_b / "train_summary.json"
    assert not summary_b.exists(), "the run finished before it could be killed"
    assert main(["train", "--workdir", str(work_b), *common]) == 0

    a = json.loads((tmp_path / "a" / "train_summary.json").read_text())
    b = json.loads(summary_b.read_text())
    assert a["best_step"] == b["best_step"] and a["steps"] == b["steps"]
    for x, y in zip(_params(tmp_path / "a"), _params(work_b), strict=True):
        np.testing.assert_array_equal(x, y)
