"""Exports of models built from frozen-feature files (hybrid CF factors, item text) carry them."""

import json
import shutil

import numpy as np

from jaxrec.cli import main
from jaxrec.export.runtime import load_backend, pad_history

from .conftest import NUM_ITEMS, TINY_CONFIG


def _fake_text(path, num_items, dim=8):
    rng = np.random.default_rng(0)
    text = rng.normal(size=(num_items + 1, dim)).astype(np.float32)
    text[0] = 0.0
    np.savez(path, text=text, warm=np.ones(num_items + 1, np.float32))
    return path


def test_hybrid_export_loads_without_the_original_feature_files(trained_run, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(json.loads((trained_run / "run.json").read_text())["data"], data)
    text = _fake_text(tmp_path / "text.npz", NUM_ITEMS)
    workdir, out = tmp_path / "work", tmp_path / "export"
    overrides = [
        "max_epochs=1",
        "model.name=hybrid",
        "model.cf_rank=4",
        "model.hybrid_content=true",
        f"model.text_features={text}",
    ]
    argv = ["train", "--config", str(TINY_CONFIG), "--data", str(data), "--workdir", str(workdir)]
    assert main([*argv, "--set", *overrides]) == 0
    assert main(["export", "--workdir", str(workdir), "--format", "jax", "--out", str(out)]) == 0
    model = json.loads((out / "metadata.json").read_text())["train_config"]["model"]
    assert model["cf_factors"].startswith("features/") and (out / model["cf_factors"]).is_file()
    assert model["text_features"] == "features/text.npz"

    histories = np.stack([pad_history([3, 7, 9], 12), pad_history([1], 12)])
    exclude = np.ones(2, bool)
    before = load_backend(out).recommend(histories, exclude)
    shutil.rmtree(data / "cf_factors")
    text.unlink()
    after = load_backend(out).recommend(histories, exclude)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_allclose(before[1], after[1], rtol=1e-6)
