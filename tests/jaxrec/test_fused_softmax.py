import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrec.fused_softmax import softmax_cross_entropy


def _reference(hidden, table, targets):
    logits = (hidden @ table.T).at[:, 0].set(-jnp.inf)
    loss = jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, targets[:, None], 1)[:, 0]
    return jnp.sum(jnp.where(targets > 0, loss, 0.0)) / jnp.sum(targets > 0)


@pytest.mark.parametrize("n, chunk", [(64, 16), (50, 16), (7, 512)])
def test_loss_and_gradients_match_the_unfused_reference(n, chunk):
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    hidden = jax.random.normal(k1, (n, 8))
    table = jax.random.normal(k2, (30, 8))
    targets = jax.random.randint(k3, (n,), 0, 30)  # includes padding targets (0)

    def fused(h, t):
        per = softmax_cross_entropy(h, t, targets, chunk=chunk)
        return jnp.sum(jnp.where(targets > 0, per, 0.0)) / jnp.sum(targets > 0)

    np.testing.assert_allclose(fused(hidden, table), _reference(hidden, table, targets), rtol=1e-5)
    got = jax.grad(fused, argnums=(0, 1))(hidden, table)
    want = jax.grad(_reference, argnums=(0, 1))(hidden, table, targets)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    assert float(jnp.abs(got[1][0]).max()) == 0.0  # padding row gets no gradient
