"""A closed-form item-kNN run exports like a sequence model: ONNX and JAX give its top-k."""

import jax
import numpy as np
import pytest
from flax import nnx

from data_pipeline.prepare import prepare
from data_pipeline.synthetic import synthetic_sequences, write_sasrec_txt
from jaxrec.cli import main
from jaxrec.export.exporter import export_run
from jaxrec.export.runtime import load_backend
from jaxrec.training.setup import load_trained

from .conftest import NUM_ITEMS, REPO
from .test_export_formats import expected_topk, random_histories

K = 10


@pytest.fixture(scope="module")
def knn_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("knn_run")
    raw = write_sasrec_txt(root / "tiny.txt", synthetic_sequences(96, NUM_ITEMS, seed=0))
    prepare("sasrec-txt", raw, root / "prepared")
    config = REPO / "configs" / "item_knn.py"
    argv = ["train", "--config", str(config), "--data", str(root / "prepared")]
    grid = ["--set", "model.knn_alphas=0.5", "--set", "model.knn_recency=0.8"]
    assert main([*argv, "--workdir", str(root / "work"), *grid]) == 0
    return root / "work"


@pytest.mark.parametrize("fmt", ["onnx", "jax"])
def test_item_knn_export_matches_the_trained_scores(knn_run, tmp_path, fmt):
    export_run(knn_run, fmt, tmp_path / fmt, k_max=K)
    backend = load_backend(tmp_path / fmt)
    trained = load_trained(knn_run)
    score = jax.jit(lambda p, h: nnx.merge(trained.graphdef, p).score_all(h, None))
    histories = random_histories(np.random.default_rng(0), 7, backend.max_len)
    flags = np.array([True, False] * 3 + [True])
    ids, scores = backend.recommend(histories, flags)
    want_ids, want_scores = expected_topk(
        np.asarray(score(trained.params, histories)), histories, flags, K
    )
    np.testing.assert_allclose(scores, want_scores, atol=1e-5, rtol=0)
    # Items with equal votes may come in either order; every untied position must agree.
    tied = np.isclose(want_scores[:, :, None], want_scores[:, None, :]).sum(-1) > 1
    np.testing.assert_array_equal(ids[~tied], want_ids[~tied])
    assert (~tied).sum() >= 7 and np.all(want_scores[:, 0] > 0)
