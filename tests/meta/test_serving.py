import jax
import numpy as np
import pytest

from jaxrec.meta import maml
from jaxrec.meta.serving import make_adapt, score_user
from tests.meta.helpers import tiny_setup, tiny_tasks


def test_adapt_user_state_scores_like_the_evaluator():
    params, loop = tiny_setup(steps=2)
    adapt = make_adapt(loop.graphdef, params, ("adapter",), steps=2)
    histories = tiny_tasks()["support"]
    row = int(np.argmax((histories > 0).sum(axis=1)))  # 2+ items: at least one support pair
    assert (histories[row] > 0).sum() >= 2
    state = adapt(params, histories[row])
    assert state.shape == (8,)
    scores = np.asarray(score_user(params, loop.graphdef, state))
    batch = np.asarray(jax.jit(lambda p, h: maml.adapted_scores(p, h, loop))(params, histories))
    np.testing.assert_allclose(scores[1:], batch[row, 1:], rtol=1e-5, atol=1e-6)
    # Adaptation changes the state (the support differs from nothing).
    unadapted = make_adapt(loop.graphdef, params, ("adapter",), steps=0)(params, histories[row])
    assert not np.allclose(np.asarray(state), np.asarray(unadapted))


def test_adapt_refuses_an_adapted_item_table():
    params, loop = tiny_setup()
    with pytest.raises(ValueError, match="item table"):
        make_adapt(loop.graphdef, params, ("base/item_embed",), steps=1)
