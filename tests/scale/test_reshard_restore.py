"""A checkpoint written on a 2x4 mesh restores onto a 1x8 mesh and trains on identically."""

import jax
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec

from data_pipeline.dataset import PreparedDataset
from jaxrec.checkpoint import Checkpointer
from jaxrec.training import setup
from jaxrec.training.state import abstract_like

from . import harness

# Integration runs (a few seconds to half a minute each): `make test-slow`, run by CI.
pytestmark = pytest.mark.slow


def test_restore_onto_a_different_mesh_shape(scale_dataset, tmp_path):
    if jax.device_count() < 8:
        pytest.skip("needs 8 (emulated) devices")
    cfg = harness.tiny_config()
    batches = harness.host_batches(cfg, scale_dataset, 2)
    source = harness.build(cfg, scale_dataset, 2, 4)
    source.state, _ = harness.train(source, batches[:1])
    data_iter = setup.train_iterator(cfg, PreparedDataset.open(scale_dataset))
    ckpt = Checkpointer(tmp_path)
    ckpt.save_latest(1, source.state, data_iter, {"note": "2x4"})
    ckpt.wait()

    target = harness.build(cfg, scale_dataset, 1, 8)
    restored, meta = ckpt.restore_latest(abstract_like(target.state), data_iter)
    ckpt.close()
    assert meta == {"note": "2x4"} and int(restored.step) == 1
    for got, want in zip(harness.to_numpy(restored), harness.to_numpy(source.state), strict=True):
        np.testing.assert_array_equal(got, want)
    # Placed per the target mesh: rows in 8 shards now (4 when saved).
    for table in harness.leaves_named(restored, "item_embed"):
        assert table.sharding.mesh.shape == target.mesh.shape
        want = NamedSharding(target.mesh, PartitionSpec("model", None))
        assert table.sharding.is_equivalent_to(want, table.ndim)
        assert {s.data.shape for s in table.addressable_shards} == {(table.shape[0] // 8, 16)}
    target.state = restored
    _, source_losses = harness.train(source, batches[1:])
    _, target_losses = harness.train(target, batches[1:])
    np.testing.assert_allclose(target_losses, source_losses, rtol=1e-5)
