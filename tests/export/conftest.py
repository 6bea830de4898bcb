import pathlib

import pytest

from data_pipeline.prepare import prepare
from data_pipeline.synthetic import synthetic_sequences, write_sasrec_txt
from jaxrec.cli import main

REPO = pathlib.Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "configs" / "tiny.py"
NUM_ITEMS = 40
K_MAX = 25


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> pathlib.Path:
    """configs/tiny.py trained for one epoch on 96 synthetic users x 40 items."""
    root = tmp_path_factory.mktemp("export_run")
    raw = write_sasrec_txt(root / "tiny.txt", synthetic_sequences(96, NUM_ITEMS, seed=0))
    prepare("sasrec-txt", raw, root / "prepared")
    workdir = root / "work"
    argv = ["train", "--config", str(TINY_CONFIG), "--data", str(root / "prepared")]
    assert main([*argv, "--workdir", str(workdir), "--set", "max_epochs=1"]) == 0
    return workdir


@pytest.fixture(scope="session")
def jax_export(trained_run, tmp_path_factory) -> pathlib.Path:
    """``jaxrec export --format jax`` of the trained run (k_max = K_MAX); do not modify."""
    out = tmp_path_factory.mktemp("jax_export") / "jax"
    argv = ["export", "--workdir", str(trained_run), "--format", "jax", "--out", str(out)]
    assert main([*argv, "--k-max", str(K_MAX)]) == 0
    return out
