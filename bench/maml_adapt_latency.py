"""CPU latency of serving-time adaptation ``adapt(params, history) -> user_state``, one user.

    flock /tmp/jaxrec_heavy.lock .venv/bin/python bench/maml_adapt_latency.py \
        --workdir runs/ml1m_maml --out bench/results/maml_adapt_latency.json
"""

from __future__ import annotations

import argparse
import pathlib
import platform
import time

import jax
import numpy as np

from data_pipeline.pipeline import left_pad
from jaxrec.atomic_io import write_json
from jaxrec.meta.serving import load_adapt


def main() -> None:
    """Times adapt (after compilation) for histories of 1, 3, 5 and 10 items."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, type=pathlib.Path)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--length", type=int, default=16)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    args = parser.parse_args()
    adapt, params = load_adapt(args.workdir)
    num_items = params["base"]["item_embed"].shape[0] - 1
    rng = np.random.default_rng(0)
    rows = {}
    for k in (1, 3, 5, 10):
        history = jax.numpy.asarray(
            left_pad(rng.integers(1, num_items + 1, size=k).astype(np.int32), args.length)
        )
        t0 = time.perf_counter()
        jax.block_until_ready(adapt(params, history))
        compile_s = time.perf_counter() - t0
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(adapt(params, history))
            times.append((time.perf_counter() - t0) * 1e3)
        rows[str(k)] = {
            "median_ms": float(np.median(times)),
            "p90_ms": float(np.percentile(times, 90)),
            "min_ms": float(np.min(times)),
            "first_call_s": compile_s,
        }
        print(k, rows[str(k)])
    write_json(
        args.out,
        {
            "what": "adapt(params, history) -> user_state, one user, after compilation",
            "workdir": str(args.workdir),
            "history_length": args.length,
            "repeats": args.repeats,
            "latency": rows,
            "target_ms": 20.0,
            "devices": [str(d) for d in jax.devices()],
            "machine": f"{platform.machine()} {platform.node()}, 2-core AMD EPYC (shared)",
            "date": time.strftime("%Y-%m-%d"),
        },
    )


if __name__ == "__main__":
    main()
