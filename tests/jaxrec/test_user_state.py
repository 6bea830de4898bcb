"""``user_state`` (last-position path) equals the last row of the full forward pass."""

import dataclasses

import numpy as np
import pytest

from jaxrec.config import ModelConfig
from jaxrec.models import build_model
from tests.text.conftest import fake_features

NUM_ITEMS = 30
CFG = ModelConfig(embed_dim=16, num_layers=2, num_heads=2, mlp_dim=16, max_len=10, dropout=0.0)
# Left-padded rows: full, short, one item, and all padding (no history).
IDS = np.array(
    [
        [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        [0, 0, 0, 0, 0, 1, 2, 3, 29, 30],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 17],
        [0] * 10,
    ],
    np.int32,
)


def _check(model):
    full = np.asarray(model.encode(IDS)[:, -1])
    last = np.asarray(model.user_state(IDS))
    assert last.shape == full.shape
    np.testing.assert_allclose(last, full, rtol=1e-5, atol=1e-5)
    # Not trivially equal: the rows differ from each other.
    assert not np.allclose(last[0], last[1])


@pytest.mark.parametrize("name", ["sasrec", "hybrid"])
@pytest.mark.parametrize("block", ["pre_ln", "sasrec"])
def test_user_state_is_the_last_row(name, block):
    cfg = dataclasses.replace(CFG, name=name, block=block)
    _check(build_model(cfg, NUM_ITEMS, seed=0))


@pytest.mark.parametrize("repr_", ["id", "both"])
def test_text_user_state_is_the_last_row(tmp_path, repr_):
    features = fake_features(tmp_path / "f.npz", NUM_ITEMS, cold=(3,))
    cfg = dataclasses.replace(CFG, name="sasrec_text", item_repr=repr_, text_features=str(features))
    _check(build_model(cfg, NUM_ITEMS, seed=0))


def test_single_block_model():
    _check(build_model(dataclasses.replace(CFG, num_layers=1), NUM_ITEMS, seed=1))
