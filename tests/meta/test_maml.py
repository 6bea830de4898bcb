import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrec.meta import maml
from jaxrec.meta.tasks import TaskSampler, task_arrays
from tests.meta.helpers import MAML, tiny_setup, tiny_tasks


def _to64(tree):
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), tree)


def _direction(tree, seed):
    leaves, treedef = jax.tree.flatten(tree)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(
        treedef, [jax.random.normal(k, x.shape, x.dtype) for k, x in zip(keys, leaves, strict=True)]
    )


def _dot(a, b):
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def _norm(tree):
    return float(jnp.sqrt(sum(jnp.sum(x**2) for x in jax.tree.leaves(tree))))


def test_second_order_meta_gradient_matches_finite_differences():
    with jax.enable_x64(True):
        params, loop = tiny_setup(steps=1, inner_lr=2.0)
        params = _to64(params)
        tasks = tiny_tasks()
        v = _direction(params, seed=3)
        loss = jax.jit(lambda p: maml.maml_loss(p, tasks, loop))
        eps = 1e-5
        shift = lambda s: jax.tree.map(lambda p, d: p + s * d, params, v)
        numeric = (loss(shift(eps)) - loss(shift(-eps))) / (2 * eps)
        _, second = jax.jit(lambda p: maml.meta_gradient(p, tasks, loop, "maml"))(params)
        _, first = jax.jit(lambda p: maml.meta_gradient(p, tasks, loop, "fomaml"))(params)
        np.testing.assert_allclose(float(_dot(second, v)), float(numeric), rtol=1e-6)
        # First order drops the Hessian term: it misses the finite difference clearly,
        # and the two meta-gradients differ.
        assert abs(float(_dot(first, v)) - float(numeric)) > 1e-3 * abs(float(numeric))
        diff = jax.tree.map(lambda a, b: a - b, second, first)
        assert _norm(diff) > 1e-3 * _norm(second)
        # Reptile moves only the adapted leaves; the base model gets no meta-gradient.
        _, reptile = jax.jit(lambda p: maml.meta_gradient(p, tasks, loop, "reptile"))(params)
        assert _norm(reptile["base"]) == 0.0 and _norm(reptile["adapter"]) > 0.0


@pytest.mark.parametrize(
    ("adapt", "lr"), [(("adapter",), 2.0), (("base/item_embed",), 0.1), (("base", "adapter"), 0.1)]
)
def test_inner_steps_reduce_the_support_loss(adapt, lr):
    params, loop = tiny_setup(adapt=adapt, steps=1, inner_lr=lr)
    tasks = tiny_tasks()
    support = tasks["support"]
    before = jax.vmap(lambda h: maml.support_loss(params, loop.graphdef, h))(support)
    losses = [np.asarray(before)]
    for steps in (1, 2):
        lp = dataclasses.replace(loop, steps=steps)
        one = lambda h, lp=lp: maml.support_loss(
            maml.adapt_to_history(params, h, lp), lp.graphdef, h
        )
        losses.append(np.asarray(jax.jit(jax.vmap(one))(support)))
    # A one-item support seen through an all-zero initial state gives the item table no
    # gradient, so per task the loss may only stay equal; on average it must fall.
    assert np.all(losses[1] <= losses[0] + 1e-6) and np.all(losses[2] <= losses[1] + 1e-6)
    assert losses[1].mean() < losses[0].mean() - 1e-4 and losses[2].mean() < losses[1].mean()
    # Only the selected leaves move.
    adapted = maml.adapt_to_history(params, support[2], loop)
    for path, x, y in zip(
        loop.split.paths, jax.tree.leaves(params), jax.tree.leaves(adapted), strict=True
    ):
        if not any(path == p or path.startswith(p + "/") for p in adapt):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_tasks_are_deterministic_by_seed_and_well_formed():
    seqs = [np.arange(1, 12), np.arange(5, 9), np.arange(20, 31)]
    a, b = TaskSampler(seqs, MAML, 7)(3), TaskSampler(seqs, MAML, 7)(3)
    c = TaskSampler(seqs, MAML, 8)(3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)
    t = task_arrays(np.array([4, 5, 6, 7, 8, 9]), k=2, q=3, length=8)
    np.testing.assert_array_equal(t["support"], [0, 0, 0, 0, 0, 0, 4, 5])
    np.testing.assert_array_equal(t["inputs"], [0, 0, 0, 0, 4, 5, 6, 7])
    np.testing.assert_array_equal(t["targets"], [0, 0, 0, 0, 0, 6, 7, 8])
    np.testing.assert_array_equal(t["full_targets"], [0, 0, 0, 4, 5, 6, 7, 8])
    inputs, targets = maml.support_pairs(jnp.asarray(t["support"]))
    np.testing.assert_array_equal(inputs, [0, 0, 0, 0, 0, 0, 0, 4])
    np.testing.assert_array_equal(targets, [0, 0, 0, 0, 0, 0, 0, 5])  # no empty prefix


def test_meta_step_is_deterministic():
    import optax

    from jaxrec.meta.train import meta_step
    from jaxrec.training.state import create_state

    params, loop = tiny_setup()
    tx = optax.adam(1e-2)
    tasks = tiny_tasks()
    step = jax.jit(lambda s, t: meta_step(s, t, loop=loop, tx=tx, algorithm="maml"))
    runs = []
    for _ in range(2):
        state = create_state(params, tx, seed=0)
        for _ in range(2):
            state, metrics = step(state, tasks)
        runs.append(state.params)
    for x, y in zip(jax.tree.leaves(runs[0]), jax.tree.leaves(runs[1]), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert np.isfinite(float(metrics["loss"]))


def test_outer_params_freeze_the_warm_model():
    import optax

    from jaxrec.meta.params import leaf_path, outer_labels
    from jaxrec.meta.train import meta_step
    from jaxrec.training.state import create_state

    params, loop = tiny_setup()
    labels = outer_labels(params, ("adapter", "log_inner_lr"))
    tx = optax.multi_transform({"meta": optax.adam(1e-2), "frozen": optax.set_to_zero()}, labels)
    state = create_state(params, tx, seed=0)
    state, _ = jax.jit(lambda s, t: meta_step(s, t, loop=loop, tx=tx, algorithm="maml"))(
        state, tiny_tasks()
    )
    before = jax.tree_util.tree_flatten_with_path(params)[0]
    after = jax.tree.leaves(state.params)
    pairs = zip(before, after, strict=True)
    moved = {leaf_path(p) for (p, x), y in pairs if not np.array_equal(x, y)}
    assert moved and all(p.startswith(("adapter/", "log_inner_lr")) for p in moved)
    assert set(jax.tree.leaves(outer_labels(params, ()))) == {"meta"}
    with pytest.raises(ValueError, match="outer_params"):
        outer_labels(params, ("nothing",))
