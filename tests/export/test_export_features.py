"""Exports of models built from frozen-feature files (hybrid CF factors, item text, the EASE
residual's precision) carry them."""

import json
import shutil

import jax
import numpy as np
import pytest
from flax import nnx

from jaxrec.cli import main
from jaxrec.export.runtime import load_backend, pad_history
from jaxrec.training.setup import load_trained

from .conftest import NUM_ITEMS, TINY_CONFIG
from .test_export_formats import expected_topk


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


@pytest.mark.parametrize("fmt", ["onnx", "jax"])
def test_ease_residual_export_matches_training_without_the_precision_file(
    trained_run, tmp_path, fmt
):
    data = tmp_path / "data"
    shutil.copytree(json.loads((trained_run / "run.json").read_text())["data"], data)
    text = _fake_text(tmp_path / "text.npz", NUM_ITEMS)
    workdir, out = tmp_path / "work", tmp_path / "export"
    overrides = ["max_epochs=1", "model.name=sasrec_text_ease", f"model.text_features={text}"]
    argv = ["train", "--config", str(TINY_CONFIG), "--data", str(data), "--workdir", str(workdir)]
    assert main([*argv, "--set", *overrides]) == 0
    assert main(["export", "--workdir", str(workdir), "--format", fmt, "--out", str(out)]) == 0
    model = json.loads((out / "metadata.json").read_text())["train_config"]["model"]
    assert model["residual_ease"].startswith("features/")

    trained = load_trained(workdir)
    score = jax.jit(lambda p, h: nnx.merge(trained.graphdef, p).score_all(h, None))
    histories = np.stack([pad_history([3, 7, 9], 12), pad_history([1], 12)])
    exclude = np.array([True, False])
    want_ids, want_scores = expected_topk(
        np.asarray(score(trained.params, histories)), histories, exclude, 10
    )
    shutil.rmtree(data / "ease_precision")
    ids, scores = load_backend(out).recommend(histories, exclude)  # the export's k_max columns
    np.testing.assert_allclose(scores[:, :10], want_scores, atol=1e-4, rtol=1e-5)
    np.testing.assert_array_equal(ids[:, :3], want_ids[:, :3])
