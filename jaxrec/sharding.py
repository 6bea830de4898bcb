"""The only module that knows the device mesh: axes, logical-axis rules, shardings.

Model code annotates parameters with logical axis names (``item``, ``embed``, ...); the
rules below map them onto the ``(data, model)`` mesh.
"""

from __future__ import annotations

import logging
import math

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxrec.config import MeshConfig
from jaxrec.types import PyTree

log = logging.getLogger(__name__)

MESH_AXES = ("data", "model")
LOGICAL_AXIS_RULES: tuple[tuple[str, str | None], ...] = (
    ("batch", "data"),
    ("task", "data"),
    ("item", "model"),  # embedding-table rows: the big tensor
    ("user", "model"),  # per-user tables (matrix factorisation) likewise
    ("embed", None),
    ("mlp", "model"),
    ("heads", "model"),
    ("kv", None),
    ("seq", None),
)


def mesh_shape(cfg: MeshConfig, num_devices: int) -> tuple[int, int]:
    """Resolves ``-1`` and checks that the mesh uses exactly ``num_devices``."""
    sizes = [cfg.data, cfg.model]
    known = math.prod(s for s in sizes if s != -1)
    if -1 in sizes:
        if num_devices % known:
            raise ValueError(f"mesh {sizes} does not divide {num_devices} devices")
        sizes[sizes.index(-1)] = num_devices // known
    if math.prod(sizes) != num_devices:
        raise ValueError(f"mesh {sizes} needs {math.prod(sizes)} devices, have {num_devices}")
    return sizes[0], sizes[1]


def make_mesh(cfg: MeshConfig, devices: list | None = None) -> Mesh:
    """A ``(data, model)`` mesh with Auto axes over ``devices`` (default: all)."""
    devices = jax.devices() if devices is None else devices
    shape = mesh_shape(cfg, len(devices))
    return Mesh(np.asarray(devices).reshape(shape), MESH_AXES)


def logical_to_spec(names: tuple[str | None, ...] | None) -> PartitionSpec:
    """Maps logical axis names to a mesh ``PartitionSpec`` via ``LOGICAL_AXIS_RULES``."""
    if not names:
        return PartitionSpec()
    rules = dict(LOGICAL_AXIS_RULES)
    used: set[str] = set()
    axes = []
    for name in names:
        axis = rules.get(name) if name is not None else None
        # A mesh axis may shard only one dimension of a tensor.
        axes.append(axis if axis not in used else None)
        if axis is not None:
            used.add(axis)
    return PartitionSpec(*axes)


def param_shardings(abstract_params: nnx.State, mesh: Mesh) -> PyTree:
    """``NamedSharding`` per parameter from its ``out_sharding`` logical names."""

    def one(var):
        names = var.get_metadata("out_sharding", None) if isinstance(var, nnx.Variable) else None
        spec = logical_to_spec(names)
        shape = var.get_value().shape if isinstance(var, nnx.Variable) else var.shape
        # Only shard a dimension the mesh axis divides; otherwise replicate it.
        kept = PartitionSpec(
            *(
                ax if ax is None or dim % mesh.shape[ax] == 0 else None
                for ax, dim in zip(spec, shape, strict=False)
            )
        )
        if kept != spec:
            # e.g. an item table of num_items + 1 rows that the model axis does not divide:
            # silently whole on every device is how a large table runs out of memory.
            level = logging.WARNING if {"item", "user"} & set(names) else logging.DEBUG
            log.log(level, "%s %s: not divisible by mesh %s, replicated", names, shape, spec)
        return NamedSharding(mesh, kept)

    return jax.tree.map(one, abstract_params, is_leaf=lambda x: isinstance(x, nnx.Variable))


def like_params(abstract_tree: PyTree, params: PyTree, mesh: Mesh) -> PyTree:
    """Shardings for a tree whose leaves mirror parameters (optimizer moments, gradients).

    A leaf whose key path ends with a parameter's key path and has its shape gets that
    parameter's sharding (Adam's ``mu['item_embed']`` follows ``item_embed``); every other
    leaf (step counters, keys) is replicated. Needed because ``tx.init`` builds its moments
    with ``zeros_like``, from which XLA does not propagate the parameters' sharding.
    """
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    by_path = {jax.tree_util.keystr(path): leaf for path, leaf in flat}

    def one(path, leaf):
        key = jax.tree_util.keystr(path)
        matches = [p for p in by_path if key.endswith(p) and by_path[p].shape == leaf.shape]
        if not matches:
            return replicated(mesh)
        return by_path[max(matches, key=len)].sharding

    return jax.tree_util.tree_map_with_path(one, abstract_tree)


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Leading (batch) axis over ``data``; the rest replicated."""
    return NamedSharding(mesh, PartitionSpec("data"))


def replicated(mesh: Mesh) -> NamedSharding:
    """Fully replicated placement."""
    return NamedSharding(mesh, PartitionSpec())
