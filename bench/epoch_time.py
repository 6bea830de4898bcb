"""Seconds per training epoch of a jaxrec config on a prepared dataset (not a test).

    python bench/epoch_time.py --config configs/sasrec.py --data data/ml-1m \
        --epochs 3 --out bench/results/epoch_time.json [--set loss.name=bce ...]

Compiles every batch shape first, then times whole epochs (all users once), input
pipeline included, and reports the median.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import math
import os
import platform
import resource
import statistics
import time

import jax

from data_pipeline.dataset import PreparedDataset
from jaxrec import config as config_lib
from jaxrec import sharding
from jaxrec.training import setup
from jaxrec.training.optim import build_optimizer
from jaxrec.training.step import train_step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    cfg = config_lib.apply_overrides(config_lib.load_config(args.config), args.set)
    dataset = PreparedDataset.open(args.data)
    mesh = sharding.make_mesh(cfg.mesh)
    steps = math.ceil(dataset.num_users / cfg.data.batch_size)
    tx = build_optimizer(cfg.optim, steps * args.epochs)
    parts = setup.init_params(cfg, dataset.num_items, mesh)
    state = setup.init_state(parts, tx, cfg.seed)
    step_fn = jax.jit(
        functools.partial(train_step, graphdef=parts.graphdef, tx=tx, loss_cfg=cfg.loss),
        donate_argnums=0,
    )
    prior = jax.numpy.asarray(setup.log_prior(dataset, cfg.loss.proposal))
    it = setup.train_iterator(cfg, dataset)
    t0 = time.perf_counter()
    shapes = set()
    for _ in range(steps):  # warm-up epoch: compiles every bucket shape
        batch = next(it)
        shapes.add(batch["inputs"].shape)
        state, metrics = step_fn(state, batch, prior)
    jax.block_until_ready(metrics)
    warmup_s = time.perf_counter() - t0
    epoch_s = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        for _ in range(steps):
            state, metrics = step_fn(state, next(it), prior)
        jax.block_until_ready(metrics)
        epoch_s.append(time.perf_counter() - t0)
    median = statistics.median(epoch_s)
    result = {
        "config": args.config,
        "overrides": args.set,
        "data": args.data,
        "loss": cfg.loss.name,
        "batch_size": cfg.data.batch_size,
        "max_len": cfg.model.max_len,
        "length_buckets": list(cfg.data.length_buckets),
        "batch_shapes": sorted(shapes),
        "steps_per_epoch": steps,
        "warmup_epoch_s": warmup_s,
        "epoch_s": epoch_s,
        "seconds_per_epoch_median": median,
        "sequences_per_s": dataset.num_users / median,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "final_loss": float(metrics["loss"]),
        "machine": f"{platform.machine()} {platform.processor()} cores={os.cpu_count()}",
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
