"""Training-step time of SASRec-text (frozen cached text) vs id-only, same shapes -> JSON.

Both steps are jitted once and timed interleaved (A, B, A, B, ...) so that load from
other processes hits both alike; the medians are compared.

    .venv/bin/python bench/text_step_time.py --data data/scientific --length 10 \
        --repeats 100 --out bench/results/text_step_time_d128_len10.json

``--text-dim`` picks the cached feature width (default: configs/sasrec_text.py's 128;
0 = MiniLM's 384 as they come).
"""

import argparse
import dataclasses
import functools
import json
import pathlib
import platform
import time

import jax
import numpy as np
import optax
from flax import nnx

from jaxrec.atomic_io import write_json
from jaxrec.config import load_config
from jaxrec.losses import compute_loss
from jaxrec.models import build_model
from jaxrec.text.features import item_features


def _step_fn(model, cfg):
    graphdef, params = nnx.split(model)
    tx = optax.adam(1e-3)

    @jax.jit
    def step(params, opt_state, inputs, targets, key):
        def loss_fn(p):
            m = nnx.merge(graphdef, p)
            hidden = m.encode(inputs, key=key)
            prior = jax.numpy.zeros(m.item_table().shape[0])
            return compute_loss(cfg.loss, hidden, m.item_table(), targets, key, prior)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step, params, tx.init(params)


def main() -> None:
    """Times both variants and writes the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=pathlib.Path)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--length", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--text-dim", type=int, default=None, help="PCA width (default: the config's; 0 = 384)"
    )
    args = parser.parse_args()
    cfg = load_config("configs/sasrec_text.py")
    text_dim = cfg.model.text_dim if args.text_dim is None else args.text_dim
    num_items = json.loads((args.data / "manifest.json").read_text())["num_items"]
    features = item_features(args.data, dim=text_dim)
    model_cfg = dataclasses.replace(cfg.model, text_features=str(features), text_dim=text_dim)
    rng = np.random.default_rng(0)
    batch = cfg.data.batch_size
    inputs = rng.integers(1, num_items + 1, (batch, args.length)).astype(np.int32)
    targets = rng.integers(1, num_items + 1, (batch, args.length)).astype(np.int32)
    variants = {}
    for name, sub in (("id_only_sasrec", "sasrec"), ("sasrec_text_both", "sasrec_text")):
        mcfg = dataclasses.replace(model_cfg, name=sub)
        step, params, opt = _step_fn(build_model(mcfg, num_items, seed=0), cfg)
        run = functools.partial(step, inputs=inputs, targets=targets, key=jax.random.key(0))
        params, opt, loss = run(params, opt)  # compile
        jax.block_until_ready(loss)
        variants[name] = [run, params, opt, []]
    for _ in range(args.repeats):
        for state in variants.values():
            started = time.perf_counter()
            state[1], state[2], loss = state[0](state[1], state[2])
            jax.block_until_ready(loss)
            state[3].append(time.perf_counter() - started)
    medians = {k: float(np.median(v[3])) * 1e3 for k, v in variants.items()}
    report = {
        "median_step_ms": medians,
        "overhead": medians["sasrec_text_both"] / medians["id_only_sasrec"] - 1.0,
        "batch": batch,
        "length": args.length,
        "text_dim": text_dim or 384,
        "num_items": num_items,
        "repeats": args.repeats,
        "machine": f"{platform.processor() or platform.machine()}, {jax.device_count()} CPU dev",
    }
    write_json(args.out, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
