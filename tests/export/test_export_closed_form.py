"""Closed-form runs (item-kNN, EASE with a recency profile) export like sequence models:
ONNX and JAX give their top-k."""

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


GRIDS = {
    "item_knn": ["--set", "model.knn_alphas=0.5", "--set", "model.knn_recency=0.8"],
    # A short window: random histories of up to 2 x 4,096 items would cover the catalogue.
    "ease": [
        "--set",
        "model.l2_grid=10",
        "--set",
        "model.ease_recency=0.7",
        "--set",
        "model.max_len=50",
    ],
}


@pytest.fixture(scope="module", params=sorted(GRIDS))
def closed_form_run(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"{request.param}_run")
    raw = write_sasrec_txt(root / "tiny.txt", synthetic_sequences(96, NUM_ITEMS, seed=0))
    prepare("sasrec-txt", raw, root / "prepared")
    config = REPO / "configs" / f"{request.param}.py"
    argv = ["train", "--config", str(config), "--data", str(root / "prepared")]
    assert main([*argv, "--workdir", str(root / "work"), *GRIDS[request.param]]) == 0
    return root / "work"


@pytest.mark.parametrize("fmt", ["onnx", "jax"])
def test_closed_form_export_matches_the_trained_scores(closed_form_run, tmp_path, fmt):
    export_run(closed_form_run, fmt, tmp_path / fmt, k_max=K)
    backend = load_backend(tmp_path / fmt)
    trained = load_trained(closed_form_run)
    score = jax.jit(lambda p, h: nnx.merge(trained.graphdef, p).score_all(h, None))
    histories = random_histories(np.random.default_rng(0), 7, backend.max_len)
    flags = np.array([True, False] * 3 + [True])
    ids, scores = backend.recommend(histories, flags)
    want_ids, want_scores = expected_topk(
        np.asarray(score(trained.params, histories)), histories, flags, K
    )
    np.testing.assert_allclose(scores, want_scores, atol=1e-5, rtol=0)
    # Items with equal scores may come in either order; every untied position must agree.
    tied = np.isclose(want_scores[:, :, None], want_scores[:, None, :]).sum(-1) > 1
    np.testing.assert_array_equal(ids[~tied], want_ids[~tied])
    assert (~tied).sum() >= 7 and np.all(want_scores[:, 0] > 0)
