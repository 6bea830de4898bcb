import json

import pytest

from jaxrec.cli import main

from .conftest import REPO


@pytest.mark.slow
@pytest.mark.timeout(1200)  # 8 emulated devices make each step ~4x slower than one
def test_ml1m_two_epochs_beat_mostpop(shared_datasets, tmp_path):
    prepared, workdir, out = tmp_path / "ml-1m", tmp_path / "run", tmp_path / "test.json"
    raw = shared_datasets / "ml-1m_sasrec" / "ml-1m.txt"
    assert (
        main(
            [
                "data",
                "prepare",
                "--source",
                "sasrec-txt",
                "--input",
                str(raw),
                "--out",
                str(prepared),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                "--config",
                str(REPO / "configs" / "sasrec.py"),
                "--data",
                str(prepared),
                "--workdir",
                str(workdir),
                "--set",
                "max_epochs=2",
                "--set",
                "model.embed_dim=64",  # the 128-dim default costs ~1.7x per epoch
                "--set",
                "model.mlp_dim=64",
            ]
        )
        == 0
    )
    assert main(["evaluate", "--workdir", str(workdir), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["num_users"] == 6040 and result["num_items"] == 3416
    assert result["protocol"] == "full" and result["exclude_seen"] is True
    assert result["ndcg@10"] > result["baselines"]["mostpop"]["ndcg@10"]
