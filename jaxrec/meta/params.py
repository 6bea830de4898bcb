"""The meta-parameter pytree and the split into adapted / frozen leaves by path.

Meta parameters are ``{"base": nnx.State, "adapter": {"w": float[D, D], "b": float[D]},
"log_inner_lr": float[]}``. The adapter is a residual user-adaptation layer on the user
state, ``h' = h + h @ w + b``, initialised to the identity (zeros), so a warm model with a
fresh adapter scores exactly as before. A leaf's path is its keys joined by ``/`` without
nnx's trailing ``value`` (``base/item_embed``, ``adapter/w``, ``base/blocks/0/attn/qkv``).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrec.types import Array, PyTree

ADAPTER = "adapter"
LOG_LR = "log_inner_lr"


def init_meta_params(base: nnx.State, embed_dim: int, inner_lr: float) -> dict:
    """Meta parameters around the model parameters ``base`` (identity adapter)."""
    return {
        "base": base,
        ADAPTER: {"w": jnp.zeros((embed_dim, embed_dim)), "b": jnp.zeros((embed_dim,))},
        LOG_LR: jnp.log(jnp.asarray(inner_lr, jnp.float32)),
    }


def apply_adapter(adapter: dict, hidden: Array) -> Array:
    """float[..., D] -> float[..., D]: ``h + h @ w + b``."""
    bias = jnp.broadcast_to(adapter["b"], hidden.shape)
    return hidden + hidden @ adapter["w"] + bias


def leaf_path(path: tuple) -> str:
    """``base/blocks/0/attn/qkv`` for a ``tree_flatten_with_path`` key path."""
    names = []
    for key in path:
        name = getattr(key, "key", getattr(key, "name", getattr(key, "idx", key)))
        names.append(str(name))
    if names and names[-1] == "value":
        names = names[:-1]
    return "/".join(names)


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def outer_labels(params: PyTree, prefixes: tuple[str, ...]) -> PyTree:
    """``"meta"``/``"frozen"`` per leaf: what the outer loop updates (``()``: every leaf).

    Raises:
        ValueError: when ``prefixes`` match no parameter.
    """
    labels = jax.tree_util.tree_map_with_path(
        lambda path, _: "meta" if not prefixes or _matches(leaf_path(path), prefixes) else "frozen",
        params,
    )
    if "meta" not in jax.tree.leaves(labels):
        raise ValueError(f"maml.outer_params={prefixes}: matches no parameter")
    return labels


@dataclasses.dataclass(frozen=True)
class ParamSplit:
    """Static description of which leaves the inner loop adapts (hashable, jit-static).

    Attributes:
        treedef: structure of the meta-parameter tree.
        adapted: indices (in flattened order) of the adapted leaves.
        paths: every leaf's path, in flattened order.
    """

    treedef: jax.tree_util.PyTreeDef
    adapted: tuple[int, ...]
    paths: tuple[str, ...]

    @classmethod
    def create(cls, params: PyTree, prefixes: tuple[str, ...]) -> ParamSplit:
        """Selects the leaves whose path starts with one of ``prefixes``.

        Raises:
            ValueError: when no leaf matches, or the inner learning rate would be adapted.
        """
        flat, treedef = jax.tree_util.tree_flatten_with_path(params)
        paths = tuple(leaf_path(p) for p, _ in flat)
        adapted = tuple(i for i, p in enumerate(paths) if _matches(p, prefixes))
        if not adapted:
            raise ValueError(
                f"maml.adapt_params={prefixes}: matches no parameter (paths look like "
                f"{', '.join(paths[:4])}, ...)"
            )
        if any(paths[i] == LOG_LR for i in adapted):
            raise ValueError(f"maml.adapt_params={prefixes}: {LOG_LR} cannot be adapted")
        return cls(treedef=treedef, adapted=adapted, paths=paths)

    def split(self, params: PyTree) -> tuple[list[Array], list[Array]]:
        """(adapted leaves, all leaves) of ``params``."""
        leaves = jax.tree.leaves(params)
        return [leaves[i] for i in self.adapted], leaves

    def merge(self, fast: list[Array], leaves: list[Array]) -> PyTree:
        """``params`` with the adapted leaves replaced by ``fast``."""
        leaves = list(leaves)
        for i, value in zip(self.adapted, fast, strict=True):
            leaves[i] = value
        return jax.tree.unflatten(self.treedef, leaves)

    def adapted_paths(self) -> tuple[str, ...]:
        """Paths of the adapted leaves."""
        return tuple(self.paths[i] for i in self.adapted)
