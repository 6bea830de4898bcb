"""Prepares shipped datasets with both engines and compares the output files byte for byte.

    flock /tmp/jaxrec_heavy.lock nice -n 19 .venv/bin/python bench/ray_prepare_compare.py \
        --datasets ../shared/datasets --out bench/results/ray_prepare.json --num-cpus 2

Starts one local Ray cluster (`--num-cpus`), times it, then per dataset times
`prepare` (local engine) and `prepare_ray` (the same cluster), and records whether every file
of the two output directories is byte-identical. Results are written after each dataset.
"""

from __future__ import annotations

import argparse
import logging
import pathlib
import platform
import tempfile
import time

from data_pipeline.prepare import prepare
from data_pipeline.ray_prepare import prepare_ray
from jaxrec.atomic_io import write_json

log = logging.getLogger("ray_prepare_compare")

DATASETS = (  # (name, source, input relative to --datasets)
    ("ml-1m_sasrec", "sasrec-txt", "ml-1m_sasrec/ml-1m.txt"),
    ("ml-1m_raw", "movielens", "ml-1m_raw"),
    ("amazon_musical_instruments", "amazon-reviews",
     "amazon_musical_instruments_5core_reviews/reviews_Musical_Instruments_5.json"),
    ("ml-100k", "movielens", "ml-100k"),
    ("amazon_beauty_s3rec", "s3rec-txt", "amazon_beauty_s3rec/Beauty.txt"),
    ("amazon_beauty_bert4rec", "sasrec-txt", "amazon_beauty_bert4rec/beauty.txt"),
)  # fmt: skip


def _files(folder: pathlib.Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _compare(name: str, source: str, path: pathlib.Path, work: pathlib.Path) -> dict:
    started = time.perf_counter()
    manifest = prepare(source, path, work / f"{name}-local")
    local_s = time.perf_counter() - started
    started = time.perf_counter()
    prepare_ray(source, path, work / f"{name}-ray")
    ray_s = time.perf_counter() - started
    local, dist = _files(work / f"{name}-local"), _files(work / f"{name}-ray")
    differing = sorted(n for n in set(local) | set(dist) if local.get(n) != dist.get(n))
    return {
        "dataset": name,
        "source": source,
        "input": str(path),
        "num_users": manifest["num_users"],
        "num_items": manifest["num_items"],
        "num_interactions": manifest["num_interactions"],
        "files": len(local),
        "output_bytes": sum(len(b) for b in local.values()),
        "identical": not differing,
        "differing_files": differing,
        "local_engine_s": round(local_s, 2),
        "ray_engine_s": round(ray_s, 2),
    }


def main() -> None:
    """Runs the comparison (arguments in the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=pathlib.Path, required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="dataset names to run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    import ray

    started = time.perf_counter()
    ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False)
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {args.num_cpus} Ray CPUs",
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "ray_start_s": round(time.perf_counter() - started, 2),
        "runs": [],
    }
    try:
        with tempfile.TemporaryDirectory(prefix="ray_prepare_") as tmp:
            for name, source, rel in DATASETS:
                if args.only and name not in args.only:
                    continue
                row = _compare(name, source, args.datasets / rel, pathlib.Path(tmp))
                log.info("%s", row)
                report["runs"].append(row)
                write_json(args.out, report)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
