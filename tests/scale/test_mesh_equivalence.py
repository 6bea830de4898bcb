"""Same losses and parameters on meshes 1x1, 8x1, 2x4 and 1x8 (8 emulated CPU devices)."""

import jax
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec

from . import harness

MESHES = ((1, 1), (8, 1), (2, 4), (1, 8))
STEPS = 10


@pytest.fixture(scope="module")
def results(scale_dataset):
    if jax.device_count() < 8:
        pytest.skip("needs 8 (emulated) devices")
    cfg = harness.tiny_config()
    batches = harness.host_batches(cfg, scale_dataset, STEPS)
    out = {}
    for shape in MESHES:
        run = harness.build(cfg, scale_dataset, *shape)
        first = run.state
        state, losses = harness.train(run, batches)
        out[shape] = {"run": run, "first": first, "state": state, "losses": losses}
    return out


def test_losses_equal_across_meshes(results):
    reference = np.asarray(results[(1, 1)]["losses"])
    assert len(reference) == STEPS and np.all(np.isfinite(reference))
    assert len(set(reference.tolist())) > 1
    for shape in MESHES[1:]:
        np.testing.assert_allclose(results[shape]["losses"], reference, rtol=1e-5, err_msg=shape)


def test_parameters_equal_across_meshes(results):
    reference = harness.to_numpy(results[(1, 1)]["state"].params)
    for shape in MESHES[1:]:
        params = harness.to_numpy(results[shape]["state"].params)
        for got, want in zip(params, reference, strict=True):
            # atol: the key bias has no true gradient (softmax is shift-invariant), so Adam
            # turns rounding noise there into updates of ~1e-6; every other entry is rtol.
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=str(shape))


@pytest.mark.parametrize("shape", [(2, 4), (1, 8)])
def test_item_table_and_adam_moments_are_row_sharded(results, shape):
    run, state = results[shape]["run"], results[shape]["state"]
    want = NamedSharding(run.mesh, PartitionSpec("model", None))
    tables = harness.leaves_named(state, "item_embed")
    # The parameter plus Adam's mu and nu.
    assert len(tables) == 3
    for table in tables:
        assert table.sharding.is_equivalent_to(want, table.ndim), table.sharding
        rows = table.shape[0] // shape[1]
        assert {s.data.shape for s in table.addressable_shards} == {(rows, table.shape[1])}


def test_train_step_compiles_once_and_donates_state(results):
    for shape in MESHES:
        entry = results[shape]
        assert entry["run"].step_fn._cache_size() == 1, shape
        assert all(x.is_deleted() for x in jax.tree.leaves(entry["first"])), shape
