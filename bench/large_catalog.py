"""Trains SASRec with a large item table sharded row-wise over a device mesh (not a test).

    flock /tmp/jaxrec_heavy.lock .venv/bin/python bench/large_catalog.py \
        --items 10000000 --devices 8 --mesh 1x8 --steps 5 --out bench/results/large_catalog.json

Synthetic batches (random walks over the catalogue), sampled softmax with ``--negatives``
sampled + ``--in-batch`` in-batch negatives (logQ-corrected, jaxrec/sampled_softmax.py), so no
B x L x I logits exist. Reports per-device bytes of the item table and of its Adam
moments (expected: 1/model-axis of the whole), compile time, step times and peak RSS.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import sys
import time


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000_000, help="table rows incl. padding")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--devices", type=int, default=8, help="emulated CPU devices")
    parser.add_argument("--mesh", default="1x8", help="DATAxMODEL")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=50)
    parser.add_argument("--negatives", type=int, default=1024)
    parser.add_argument("--in-batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--out", required=True)
    return parser.parse_args()


def _batches(num_items: int, batch: int, length: int, steps: int, seed: int = 0):
    """Random-walk sequences (stride 1 or 2, 10 % jumps) as next-item training batches."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for _ in range(steps):
        start = rng.integers(1, num_items, size=(batch, 1))
        stride = rng.integers(1, 3, size=(batch, 1))
        walk = (start + stride * np.arange(length + 1)[None]) % (num_items - 1) + 1
        jumps = rng.random(walk.shape) < 0.1
        walk = np.where(jumps, rng.integers(1, num_items, size=walk.shape), walk)
        yield {
            "inputs": walk[:, :-1].astype(np.int32),
            "targets": walk[:, 1:].astype(np.int32),
            "users": np.arange(batch, dtype=np.int32),
        }


def _bytes_on(tree, device) -> int:
    import jax

    return sum(
        s.data.nbytes
        for leaf in jax.tree.leaves(tree)
        for s in getattr(leaf, "addressable_shards", [])
        if s.device == device
    )


def main() -> int:
    """Runs the benchmark and writes its JSON."""
    args = _args()
    import jax
    import numpy as np

    jax.config.update("jax_num_cpu_devices", args.devices)
    from jaxrec import config as config_lib
    from jaxrec import sharding
    from jaxrec.atomic_io import write_json
    from jaxrec.training import setup
    from jaxrec.training.jit_step import jit_train_step
    from jaxrec.training.optim import build_optimizer

    data, model = (int(x) for x in args.mesh.split("x"))
    cfg = config_lib.TrainConfig(
        model=config_lib.ModelConfig(
            embed_dim=args.dim, num_layers=1, num_heads=1, mlp_dim=args.dim, max_len=args.length
        ),
        loss=config_lib.LossConfig(
            name="sampled_softmax", num_negatives=args.negatives, num_in_batch=args.in_batch
        ),
        data=config_lib.DataConfig(batch_size=args.batch),
        mesh=config_lib.MeshConfig(data=data, model=model),
    )
    num_items = args.items - 1  # + padding row = args.items rows, divisible by the mesh
    mesh = sharding.make_mesh(cfg.mesh)
    tx = build_optimizer(cfg.optim, total_steps=1000)
    t0 = time.perf_counter()
    parts = setup.init_params(cfg, num_items, mesh)
    state = jax.block_until_ready(setup.init_state(parts, tx, cfg.seed))
    init_s = time.perf_counter() - t0
    device = mesh.devices.flat[0]
    table = state.params["item_embed"].get_value()
    moments = [
        leaf
        for path, leaf in jax.tree_util.tree_flatten_with_path(state.opt_state)[0]
        if "item_embed" in jax.tree_util.keystr(path)
    ]
    placement = {
        "table_bytes_total": int(table.nbytes),
        "table_bytes_per_device": _bytes_on(table, device),
        "table_fraction_per_device": _bytes_on(table, device) / table.nbytes,
        "table_shard_shape": list(table.addressable_shards[0].data.shape),
        "adam_moment_bytes_per_device": [_bytes_on(m, device) for m in moments],
    }
    step_fn = jit_train_step(
        state, mesh, graphdef=parts.graphdef, tx=tx, loss_cfg=cfg.loss, targets_per_batch=None
    )
    prior = np.full(num_items + 1, -np.log(num_items), np.float32)
    prior[0] = -np.inf
    prior = jax.device_put(prior, sharding.replicated(mesh))
    batch_sh = sharding.batch_sharding(mesh)
    batches = [
        jax.device_put(b, batch_sh)
        for b in _batches(args.items, args.batch, args.length, args.steps + 1)
    ]
    t0 = time.perf_counter()
    compiled = step_fn.lower(state, batches[0], prior).compile()
    compile_s = time.perf_counter() - t0
    times, losses = [], []
    for batch in batches:
        t0 = time.perf_counter()
        state, metrics = compiled(state, batch, prior)
        losses.append(float(metrics["loss"]))
        times.append(time.perf_counter() - t0)
    mem = compiled.memory_analysis()
    result = {
        "items": args.items,
        "dim": args.dim,
        "mesh": dict(mesh.shape),
        "devices": mesh.size,
        **placement,
        "state_bytes_per_device": _bytes_on(state, device),
        "step_temp_bytes_per_device": int(mem.temp_size_in_bytes),
        "init_s": init_s,
        "compile_s": compile_s,
        "first_step_s": times[0],
        "step_s_median": statistics.median(times[1:]),
        "step_s_all": times,
        "losses": losses,
        "batch": args.batch,
        "length": args.length,
        "negatives": args.negatives,
        "in_batch": args.in_batch,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "date": datetime.date.today().isoformat(),
        "command": " ".join(sys.argv),
    }
    write_json(args.out, result)
    print(result)
    return 0 if all(np.isfinite(losses)) else 1


if __name__ == "__main__":
    sys.exit(main())
