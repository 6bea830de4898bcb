"""Model-only latency of an export's backends (no HTTP): median ms per call by batch size.

python bench/serve_model_latency.py --model EXPORT_DIR --backend onnx --num-threads 1 \
    --out bench/results/serve/model_onnx_t1.json
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np

from jaxrec.export.runtime import load_backend


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--backend", default=None)
    p.add_argument("--num-threads", type=int, default=None)
    p.add_argument("--batches", default="1,8,16,32,64")
    p.add_argument("--seconds", type=float, default=1.5, help="timing budget per batch size")
    p.add_argument("--out", type=pathlib.Path, required=True)
    args = p.parse_args()
    backend = load_backend(args.model, args.backend, num_threads=args.num_threads)
    rng = np.random.default_rng(0)
    result = {"model": args.model, "backend": args.backend, "num_threads": args.num_threads}
    for b in (int(x) for x in args.batches.split(",")):
        hist = np.zeros((b, backend.max_len), np.int32)
        for row in hist:
            n = int(rng.integers(1, 51))
            row[-n:] = rng.integers(1, backend.num_items + 1, n)
        exclude = np.ones(b, bool)
        for _ in range(3):
            backend.recommend(hist, exclude)
        times, end = [], time.perf_counter() + args.seconds
        while time.perf_counter() < end:
            t = time.perf_counter()
            backend.recommend(hist, exclude)
            times.append(time.perf_counter() - t)
        ms = 1e3 * float(np.median(times))
        result[f"b{b}"] = {"median_ms": round(ms, 3), "rows_per_s": round(b / ms * 1e3, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
