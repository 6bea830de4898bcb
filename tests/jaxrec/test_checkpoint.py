"""Checkpointer: a run killed between its best and latest saves resumes cleanly."""

import grain
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrec.checkpoint import Checkpointer


def _iterator():
    return iter(grain.MapDataset.range(100).to_iter_dataset())


def _state(value: float) -> dict:
    return {"w": jnp.full((3,), value)}


def test_resume_drops_best_checkpoints_newer_than_latest(tmp_path):
    killed = Checkpointer(tmp_path)
    data_iter = _iterator()
    for _ in range(6):
        next(data_iter)
    killed.save_best(6, _state(6.0), {"step": 6})
    killed.save_latest(6, _state(6.0), data_iter, {"best_step": 6})
    killed.wait()
    # Killed after the step-12 best save, before the step-12 latest save.
    killed.save_best(12, _state(12.0), {"step": 12})
    killed.close()

    resumed = Checkpointer(tmp_path)
    data_iter = _iterator()
    state, meta = resumed.restore_latest(_state(0.0), data_iter)
    assert meta == {"best_step": 6}
    assert next(data_iter) == 6
    np.testing.assert_array_equal(state["w"], np.full((3,), 6.0))
    params, best_meta = resumed.restore_best(_state(0.0))
    assert best_meta == {"step": 6}, "the best step recorded in latest must survive"
    np.testing.assert_array_equal(params["w"], np.full((3,), 6.0))
    # Re-running step 12 saves its best again instead of failing on the leftover.
    resumed.save_best(12, _state(12.5), {"step": 12})
    resumed.wait()
    params, best_meta = resumed.restore_best(_state(0.0))
    assert best_meta == {"step": 12}
    np.testing.assert_array_equal(params["w"], np.full((3,), 12.5))
    resumed.close()


def test_latest_and_best_barriers_do_not_share_keys(tmp_path):
    """Orbax names async-save barriers after the step directory; both managers save step N."""
    checkpointer = Checkpointer(tmp_path)
    prefixes = {
        manager._multiprocessing_options.barrier_sync_key_prefix
        for manager in (checkpointer._latest, checkpointer._best)
    }
    assert len(prefixes) == 2 and None not in prefixes


def test_best_params_of_another_model_are_refused_by_name(tmp_path):
    saved = Checkpointer(tmp_path)
    saved.save_best(0, _state(1.0), {"step": 0})
    saved.wait()
    saved.close()
    # The model gained a parameter since the checkpoint was written (EASE's recency did).
    grown = {**_state(0.0), "recency": jnp.asarray(1.0)}
    with pytest.raises(ValueError, match=r"best/0: the saved parameters do not match.*recency"):
        Checkpointer(tmp_path).restore_best(grown)
