"""`jaxrec data prepare --engine ray`: the distributed prepare (`dist_prepare`) on a Ray cluster.

    jaxrec data prepare --engine ray --source movielens --input ml-1m --out data/ml-1m-raw \
        [--ray-address auto|HOST:PORT] [--ray-cpus N]

Every stage function runs as a Ray task; partitions, masks and pieces stay in Ray's object
store and only handles pass through the driver, except the small summaries (per-id first
appearances, k-core removal counts) and the final per-user arrays, which the driver writes
atomically with the single-machine writer. Without `--ray-address` a fresh local cluster is
started (and stopped afterwards); with one, the driver joins that cluster. On a multi-node
cluster every node must have jaxrec installed and see the input at the same path (shared
filesystem), since tasks open their chunk by path.

The stages are plain Ray tasks. `--engine ray-data` (`ray_data_prepare`) runs the same stage
functions on Ray Data Datasets instead (parse with `map_batches`, group-by-user with
`groupby().map_groups`, k-core and item order with `groupby` aggregations) and writes the
same files; it reuses `ray_cluster` from here.
"""

import contextlib
import logging
import os
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

from data_pipeline.dist_prepare import prepare_distributed
from data_pipeline.dist_sources import locate
from data_pipeline.output import USERS_PER_SHARD
from data_pipeline.prepare import check_arguments

logger = logging.getLogger(__name__)


class RayExecutor:
    """Submits stage functions as Ray tasks (one CPU each)."""

    def __init__(self, parallelism: int) -> None:
        self.parallelism = parallelism
        self._remote: dict[Callable, Any] = {}

    def submit(self, fn: Callable, *args: Any, num_returns: int = 1) -> Any:
        """`fn.remote(*args)`; handles among `args` are resolved by Ray before the call."""
        import ray

        if fn not in self._remote:
            self._remote[fn] = ray.remote(fn)
        return self._remote[fn].options(num_returns=num_returns).remote(*args)

    def get(self, handles: Any) -> Any:
        """`ray.get`."""
        import ray

        return ray.get(handles)

    def put(self, value: Any) -> Any:
        """`ray.put`: one copy in the object store, shared by every task given the handle."""
        import ray

        return ray.put(value)


@contextlib.contextmanager
def ray_cluster(address: str | None = None, num_cpus: int | None = None) -> Iterator[int]:
    """Joins (or starts) a Ray cluster for the block; yields its CPU count.

    Args:
        address: a cluster to join (`"auto"`, `"HOST:PORT"`); None starts a fresh local one.
            When Ray is already initialised in this process, that cluster is used as it is.
        num_cpus: CPUs of a fresh local cluster (default: all of this machine's).
    """
    import ray

    started = False
    if not ray.is_initialized():
        if address is None:
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False)
        else:
            ray.init(address=address)
        started = True
    try:
        yield max(1, int(ray.cluster_resources().get("CPU", 1)))
    finally:
        if started:
            ray.shutdown()


def prepare_ray(
    source: str,
    input_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    kcore: int | None = None,
    max_users: int | None = None,
    users_per_shard: int = USERS_PER_SHARD,
) -> dict:
    """`prepare.prepare` on a Ray cluster; writes byte-identical files.

    Args:
        source: `sasrec-txt`, `s3rec-txt`, `movielens` or `amazon-reviews`.
        input_path: the input file or folder (at the same path on every node).
        out_dir: the output directory (written by the driver).
        address: Ray cluster address, or None for a fresh local cluster.
        num_cpus: CPUs of a fresh local cluster.
        kcore: minimum interactions per user and item, or None.
        max_users: keep the first N users in id order, or None.
        users_per_shard: about how many users go into one ArrayRecord shard.

    Returns:
        The manifest, as written to `out_dir/manifest.json`.

    Raises:
        ValueError: unknown or unsupported source, bad arguments, nothing left after filtering.
        DataFormatError: missing or malformed input (same message as the readers).
        FileExistsError: `out_dir` exists and is not a prepared dataset.
    """
    check_arguments(source, pathlib.Path(out_dir), kcore)  # before the slow Ray start
    locate(source, pathlib.Path(input_path))
    with ray_cluster(address, num_cpus) as cpus:
        logger.info("Ray cluster with %d CPUs", cpus)
        return prepare_distributed(
            source,
            input_path,
            out_dir,
            executor=RayExecutor(cpus),
            kcore=kcore,
            max_users=max_users,
            users_per_shard=users_per_shard,
        )
