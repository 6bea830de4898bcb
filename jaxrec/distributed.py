"""Multi-process (multi-host) start-up and global batches.

Every process runs the same program; ``jax.distributed.initialize`` joins them into one
runtime whose ``jax.devices()`` spans all hosts, so the mesh from ``jaxrec.sharding`` covers
every device. The coordinator address, process count and process id come from CLI flags
or the environment (``JAXREC_COORDINATOR``, ``JAXREC_NUM_PROCESSES``, ``JAXREC_PROCESS_ID``);
without them nothing is initialised (single process). On CPU the cross-process collectives
are gloo over TCP.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import sys
import traceback

import jax
import numpy as np
from jax.sharding import Sharding

log = logging.getLogger(__name__)

ENV_COORDINATOR = "JAXREC_COORDINATOR"
ENV_NUM_PROCESSES = "JAXREC_NUM_PROCESSES"
ENV_PROCESS_ID = "JAXREC_PROCESS_ID"


@dataclasses.dataclass(frozen=True)
class ClusterSpec:
    """Where the coordinator listens and which process this is."""

    coordinator: str
    num_processes: int
    process_id: int
    local_devices: int | None = None  # CPU only: emulated devices per process

    def __post_init__(self):
        if self.num_processes < 1 or not 0 <= self.process_id < self.num_processes:
            raise ValueError(
                f"process id {self.process_id} is not in [0, {self.num_processes}) "
                f"(--process-id / {ENV_PROCESS_ID}, --num-processes / {ENV_NUM_PROCESSES})"
            )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--coordinator``, ``--num-processes``, ``--process-id`` flags."""
    parser.add_argument("--coordinator", default=None, help=f"host:port (or ${ENV_COORDINATOR})")
    parser.add_argument("--num-processes", type=int, default=None, help=f"(${ENV_NUM_PROCESSES})")
    parser.add_argument("--process-id", type=int, default=None, help=f"(${ENV_PROCESS_ID})")


def spec_from(args: argparse.Namespace | None = None, env=None) -> ClusterSpec | None:
    """The cluster from flags (first) or the environment; None for a single process."""
    env = os.environ if env is None else env
    coordinator = getattr(args, "coordinator", None) or env.get(ENV_COORDINATOR)
    count = getattr(args, "num_processes", None) or env.get(ENV_NUM_PROCESSES)
    pid = getattr(args, "process_id", None)
    pid = env.get(ENV_PROCESS_ID) if pid is None else pid
    if coordinator is None and count is None:
        return None
    if coordinator is None or count is None or pid is None:
        raise ValueError(
            "multi-process training needs all of --coordinator, --num-processes and "
            f"--process-id (or {ENV_COORDINATOR}, {ENV_NUM_PROCESSES}, {ENV_PROCESS_ID})"
        )
    return ClusterSpec(str(coordinator), int(count), int(pid))


def initialize(spec: ClusterSpec | None) -> None:
    """Joins the cluster (no-op for None or a single process). Call before any JAX work."""
    if spec is None or spec.num_processes == 1:
        return
    if spec.local_devices:
        jax.config.update("jax_num_cpu_devices", spec.local_devices)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=spec.coordinator,
        num_processes=spec.num_processes,
        process_id=spec.process_id,
    )
    log.info(
        "process %d/%d: %d local of %d devices",
        jax.process_index(),
        jax.process_count(),
        jax.local_device_count(),
        jax.device_count(),
    )


@contextlib.contextmanager
def exit_at_once_on_error():
    """In a multi-process run, a process whose body raises prints the error and exits (1).

    Returning normally would run JAX's exit hook, which waits at the shutdown barrier for
    the other processes, while they wait in a collective for this one: all of them hang
    until the coordination service times out (minutes) and the first error scrolls away.
    Single-process runs re-raise as usual.
    """
    try:
        yield
    except Exception:
        if jax.process_count() == 1:
            raise
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


def global_array(value: np.ndarray, sharding: Sharding) -> jax.Array:
    """Places a host array that every process holds in full (same seed, same data).

    Single process: ``device_put``. Several: each process copies only the slices its own
    devices hold, so the global array equals the single-process one.
    """
    if jax.process_count() == 1:
        return jax.device_put(value, sharding)
    value = np.asarray(value)
    return jax.make_array_from_callback(value.shape, sharding, lambda idx: value[idx])


def global_batch(host: dict[str, np.ndarray], sharding: Sharding) -> dict[str, jax.Array]:
    """``global_array`` for every field of a batch."""
    return {name: global_array(value, sharding) for name, value in host.items()}
