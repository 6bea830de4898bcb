import functools
import logging

import jax
import pytest
from flax import nnx
from jax.sharding import PartitionSpec

from jaxrec import config as config_lib
from jaxrec import sharding
from jaxrec.models import build_model

from .conftest import TINY_CONFIG


def _item_spec(num_items: int, caplog) -> PartitionSpec:
    if jax.device_count() < 8:
        pytest.skip("needs 8 (emulated) devices")
    cfg = config_lib.load_config(TINY_CONFIG)
    model = nnx.eval_shape(functools.partial(build_model, cfg.model, num_items, seed=0))
    mesh = sharding.make_mesh(config_lib.MeshConfig(data=2, model=4))
    with caplog.at_level(logging.WARNING, logger="jaxrec.sharding"):
        shardings = sharding.param_shardings(nnx.split(model)[1], mesh)
    return shardings["item_embed"].spec


def test_item_rows_shard_over_model_when_divisible(caplog):
    assert _item_spec(39, caplog) == PartitionSpec("model", None)  # 40 rows
    assert "item" not in caplog.text


def test_indivisible_item_table_is_replicated_with_a_warning(caplog):
    assert _item_spec(40, caplog) == PartitionSpec(None, None)  # 41 rows
    assert "(41, 16)" in caplog.text and "replicated" in caplog.text
