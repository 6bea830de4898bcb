"""Export equivalence and CPU latency of every format that runs here (jax, onnx, savedmodel).

Exports the best checkpoint of a trained run in each format, then on 1,000 random users'
test-time histories (exclusion on) and 1,000 uniformly random histories (exclusion on for
half of them) compares each backend's top-10 with the training model's ``score_all``
(identical ids, max score difference), and times ``Backend.recommend`` at batch 1 and 64.

    flock /tmp/jaxrec_heavy.lock .venv/bin/python bench/export_equivalence.py \
        --workdir runs/ml1m_final2 --out bench/results/export_equivalence.json
"""

from __future__ import annotations

import argparse
import json
import logging
import pathlib
import platform
import tempfile
import time

import jax
import numpy as np
from flax import nnx

from data_pipeline.pipeline import eval_data
from jaxrec.atomic_io import write_json
from jaxrec.export.exporter import export_run
from jaxrec.export.runtime import load_backend, pad_history
from jaxrec.training.setup import load_trained

TOP = 10


def reference_topk(trained, histories, exclude, k, batch=250):
    """Top-k ids/scores of the training model's ``score_all`` with NumPy-side exclusion."""
    score = jax.jit(lambda p, h: nnx.merge(trained.graphdef, p).score_all(h, None))
    ids, vals = [], []
    for start in range(0, len(histories), batch):
        h = histories[start : start + batch]
        s = np.array(score(trained.params, h), dtype=np.float32)
        for row in np.flatnonzero(exclude[start : start + batch]):
            s[row, h[row][h[row] > 0]] = -np.inf
        order = np.argsort(-s, axis=1, kind="stable")[:, :k]
        ids.append(order)
        vals.append(np.take_along_axis(s, order, axis=1))
    return np.concatenate(ids), np.concatenate(vals)


def compare(backend, histories, exclude, want_ids, want_scores, batch=64):
    """Row-wise identical top-10 fraction and max |score diff| over the top 10."""
    got_ids, got_scores = [], []
    for start in range(0, len(histories), batch):
        ids, scores = backend.recommend(
            histories[start : start + batch], exclude[start : start + batch]
        )
        got_ids.append(ids[:, :TOP])
        got_scores.append(scores[:, :TOP])
    ids, scores = np.concatenate(got_ids), np.concatenate(got_scores)
    same = np.all(ids == want_ids, axis=1)
    return {
        "rows": len(histories),
        "identical_top10_rows": int(same.sum()),
        "identical_top10_fraction": float(same.mean()),
        "identical_top10_sets": int(
            sum(set(a) == set(b) for a, b in zip(ids.tolist(), want_ids.tolist(), strict=True))
        ),
        "max_abs_score_diff": float(np.max(np.abs(scores - want_scores))),
    }


def latency(backend, histories, batch, calls):
    """Median / p90 / mean milliseconds per ``recommend`` call at a fixed batch size."""
    rng = np.random.default_rng(batch)
    rows = [rng.choice(len(histories), batch) for _ in range(calls + 5)]
    exclude = np.ones(batch, bool)
    times = []
    for i, idx in enumerate(rows):
        h = histories[idx]
        start = time.perf_counter()
        backend.recommend(h, exclude)
        if i >= 5:  # the first calls compile / warm caches
            times.append((time.perf_counter() - start) * 1e3)
    times = np.asarray(times)
    return {
        "batch": batch,
        "calls": calls,
        "median_ms": float(np.median(times)),
        "p90_ms": float(np.percentile(times, 90)),
        "mean_ms": float(times.mean()),
        "rows_per_s": float(batch / (np.median(times) / 1e3)),
    }


def main() -> None:
    """Runs exports, equivalence and latency; writes the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("runs/ml1m_final2"))
    parser.add_argument("--formats", default="jax,onnx,savedmodel")
    parser.add_argument("--num-histories", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=200, help="timed calls at batch 1")
    parser.add_argument("--calls-64", type=int, default=50, help="timed calls at batch 64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--export-dir", type=pathlib.Path, default=None, help="keep exports")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    trained = load_trained(args.workdir)
    max_len, num_items = trained.cfg.model.max_len, trained.dataset.num_items
    rng = np.random.default_rng(args.seed)
    users = eval_data(trained.dataset, "test", max_len)
    pick = rng.choice(len(users.histories), args.num_histories, replace=False)
    sets = {"user_histories": (users.histories[pick], np.ones(args.num_histories, bool))}
    lengths = rng.integers(1, max_len + 1, args.num_histories)
    random_h = np.stack([pad_history(rng.integers(1, num_items + 1, n), max_len) for n in lengths])
    sets["uniform_random_histories"] = (random_h, rng.random(args.num_histories) < 0.5)
    refs = {name: reference_topk(trained, h, e, TOP) for name, (h, e) in sets.items()}

    export_root = args.export_dir or pathlib.Path(tempfile.mkdtemp(prefix="jaxrec_exports_"))
    result = {
        "workdir": str(args.workdir),
        "model": trained.cfg.model.name,
        "max_len": max_len,
        "num_items": num_items,
        "top": TOP,
        "machine": f"{platform.processor() or platform.machine()}, {jax.device_count()} jax dev",
        "formats": {},
    }
    for fmt in args.formats.split(","):
        start = time.perf_counter()
        meta = export_run(args.workdir, fmt, export_root / fmt, overwrite=True)
        export_s = time.perf_counter() - start
        start = time.perf_counter()
        backend = load_backend(export_root / fmt)
        load_s = time.perf_counter() - start
        entry = {"export_seconds": export_s, "load_seconds": load_s, "k_max": meta["k_max"]}
        for name, (h, e) in sets.items():
            entry[name] = compare(backend, h, e, *refs[name])
        entry["latency"] = [
            latency(backend, sets["user_histories"][0], 1, args.calls),
            latency(backend, sets["user_histories"][0], 64, args.calls_64),
        ]
        result["formats"][fmt] = entry
        print(json.dumps({fmt: entry}, indent=2), flush=True)
    write_json(args.out, result)


if __name__ == "__main__":
    main()
