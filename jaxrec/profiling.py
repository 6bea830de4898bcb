"""``jaxrec profile``: where the milliseconds of a training step go.

Each timed step is serialised at three ``block_until_ready`` boundaries so that its wall
time splits into *input wait* (next batch from the grain iterator), *transfer* (host ->
device placement of the batch, sharded over ``data``) and *compute* (the compiled step until
its outputs are ready). ``coverage`` is the share of the measured wall time between step
starts that these three parts explain (the rest is loop bookkeeping). The real training
loop does not block, so it overlaps input with compute: ``pipelined_step_ms`` measures that.

FLOPs and bytes come from XLA's cost analysis of the compiled (SPMD-partitioned) step,
which counts one device's program; totals multiply by the device count. Machine peaks
come from a matmul and an elementwise-copy microbenchmark run on every device of the same
mesh at once, so achieved / peak is the step's roofline position on this machine.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import pathlib
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from data_pipeline.dataset import PreparedDataset
from jaxrec import sharding
from jaxrec.atomic_io import write_json
from jaxrec.config import TrainConfig
from jaxrec.training import setup
from jaxrec.training.fit import resolve_feature_files

log = logging.getLogger(__name__)


def _best_seconds(fn, *args, repeats: int) -> float:
    """Fastest of ``repeats`` timed calls of ``fn(*args)`` (after one warm-up call)."""
    jax.block_until_ready(fn(*args))
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def measure_peaks(mesh: Mesh, *, repeats: int = 5) -> dict:
    """Aggregate matmul FLOP/s and copy bytes/s of all devices of ``mesh`` together.

    Every device multiplies its own float32 [N, N] pair (N = 512 on CPU, 4096 otherwise)
    and streams its own float32 buffer through ``x + 1`` (one read, one write).
    """
    n_dev = mesh.size
    cpu = mesh.devices.flat[0].platform == "cpu"
    n = 512 if cpu else 4096
    elems = (4 if cpu else 64) * 2**20
    spread = NamedSharding(mesh, PartitionSpec(sharding.MESH_AXES))
    a = jax.device_put(jnp.ones((n_dev, n, n), jnp.float32), spread)
    matmul = jax.jit(lambda x: jnp.einsum("dij,djk->dik", x, x), out_shardings=spread)
    matmul_s = _best_seconds(matmul, a, repeats=repeats)
    buf = jax.device_put(jnp.zeros((n_dev, elems), jnp.float32), spread)
    copy = jax.jit(lambda x: x + 1.0, out_shardings=spread)
    copy_s = _best_seconds(copy, buf, repeats=repeats)
    return {
        "peak_flops_per_s": 2.0 * n**3 * n_dev / matmul_s,
        "peak_bytes_per_s": 2.0 * 4 * elems * n_dev / copy_s,
        "peak_matmul_n": n,
        "peak_copy_bytes_per_device": 4 * elems,
    }


def _cost(compiled) -> dict:
    """Per-device FLOPs and bytes accessed from XLA's cost analysis."""
    cost = compiled.cost_analysis()
    if isinstance(cost, list | tuple):  # older jax: one dict per program
        cost = cost[0] if cost else {}
    cost = cost or {}
    return {"flops": float(cost.get("flops", 0.0)), "bytes": float(cost.get("bytes accessed", 0.0))}


def peak_memory(compiled, devices) -> tuple[int, str]:
    """(bytes, source): the allocator's peak where the backend reports one, else XLA's plan.

    GPU/TPU devices report ``peak_bytes_in_use`` in ``memory_stats()``; CPU reports nothing,
    so the fallback is the compiled step's arguments + outputs + temporaries - aliased
    (donated) buffers per device, i.e. the step's own footprint (``memory_analysis``).
    """
    stats = [d.memory_stats() for d in devices]
    if all(s and "peak_bytes_in_use" in s for s in stats):
        return max(int(s["peak_bytes_in_use"]) for s in stats), "device.memory_stats"
    mem = compiled.memory_analysis()
    total = (
        mem.argument_size_in_bytes
        + mem.output_size_in_bytes
        + mem.temp_size_in_bytes
        - mem.alias_size_in_bytes
    )
    return int(total), "compiled.memory_analysis"


@dataclasses.dataclass
class StepTimes:
    """Per-step seconds of each phase, and the wall time between consecutive step starts."""

    input_wait: list = dataclasses.field(default_factory=list)
    transfer: list = dataclasses.field(default_factory=list)
    compute: list = dataclasses.field(default_factory=list)
    wall: list = dataclasses.field(default_factory=list)
    tokens: list = dataclasses.field(default_factory=list)


def time_steps(compiled, state, prior, data_iter, batch_sh, steps: int):
    """Runs ``steps`` serialised steps; returns (state, StepTimes)."""
    times = StepTimes()
    start = time.perf_counter()
    for _ in range(steps):
        host = next(data_iter)
        t1 = time.perf_counter()
        batch = jax.block_until_ready(jax.device_put(host, batch_sh))
        t2 = time.perf_counter()
        state, metrics = compiled(state, batch, prior)
        jax.block_until_ready((state, metrics))
        t3 = time.perf_counter()
        times.input_wait.append(t1 - start)
        times.transfer.append(t2 - t1)
        times.compute.append(t3 - t2)
        times.tokens.append(int(np.count_nonzero(host["inputs"])))
        now = time.perf_counter()
        times.wall.append(now - start)
        start = now
    return state, times


def pipelined_seconds(compiled, state, prior, data_iter, batch_sh, steps: int):
    """Seconds per step of the training loop's own pattern (no blocking until the end)."""
    t0 = time.perf_counter()
    for _ in range(steps):
        state, metrics = compiled(state, jax.device_put(next(data_iter), batch_sh), prior)
    jax.block_until_ready((state, metrics))
    return state, (time.perf_counter() - t0) / steps


def _ms(values) -> dict:
    arr = np.asarray(values) * 1e3
    return {"median": float(np.median(arr)), "p90": float(np.percentile(arr, 90))}


def summarise(times: StepTimes, cost: dict, peaks: dict, n_dev: int, batch: int) -> dict:
    """The timing, throughput and roofline part of the report."""
    wall = _ms(times.wall)
    median_s = wall["median"] / 1e3
    parts = sum(map(sum, (times.input_wait, times.transfer, times.compute)))
    flops = cost["flops"] * n_dev
    bytes_ = cost["bytes"] * n_dev
    intensity = flops / bytes_ if bytes_ else 0.0
    ridge = peaks["peak_flops_per_s"] / peaks["peak_bytes_per_s"]
    compute_s = statistics.median(times.compute)
    return {
        "step_ms_median": wall["median"],
        "step_ms_p90": wall["p90"],
        "input_wait_ms": _ms(times.input_wait)["median"],
        "transfer_ms": _ms(times.transfer)["median"],
        "compute_ms": _ms(times.compute)["median"],
        "input_wait_ms_p90": _ms(times.input_wait)["p90"],
        "transfer_ms_p90": _ms(times.transfer)["p90"],
        "compute_ms_p90": _ms(times.compute)["p90"],
        "coverage": parts / sum(times.wall),
        "examples_per_s": batch / median_s,
        "tokens_per_s": statistics.mean(times.tokens) / median_s,
        "flops_per_step": flops,
        "flops_per_step_per_device": cost["flops"],
        "bytes_accessed_per_step": bytes_,
        "achieved_flops_per_s": flops / compute_s,
        "achieved_bytes_per_s": bytes_ / compute_s,
        **peaks,
        "flops_fraction_of_peak": flops / compute_s / peaks["peak_flops_per_s"],
        "bytes_fraction_of_peak": bytes_ / compute_s / peaks["peak_bytes_per_s"],
        "arithmetic_intensity": intensity,
        "ridge_point": ridge,
        "roofline_bound": "compute" if intensity >= ridge else "memory",
    }


def _trace(compiled, state, prior, data_iter, batch_sh, trace_dir: pathlib.Path, steps: int):
    """A ``jax.profiler`` trace (TensorBoard xplane + Perfetto JSON) of a few more steps."""
    trace_dir.mkdir(parents=True, exist_ok=True)
    with jax.profiler.trace(str(trace_dir), create_perfetto_trace=True):
        for i in range(steps):
            with jax.profiler.StepTraceAnnotation("train", step_num=i):
                batch = jax.device_put(next(data_iter), batch_sh)
                state, metrics = compiled(state, batch, prior)
                jax.block_until_ready((state, metrics))
    return state


def profile(
    cfg: TrainConfig,
    data_dir: str | pathlib.Path,
    *,
    steps: int,
    out: str | pathlib.Path,
    trace_dir: str | pathlib.Path | None = None,
    warmup: int = 2,
    trace_steps: int = 3,
) -> dict:
    """Compiles and times ``steps`` training steps of ``cfg`` on ``data_dir``; writes JSON.

    Length buckets are disabled (one compiled shape: the full ``model.max_len``). Frozen
    feature files (item text, CF factors, EASE precision) are resolved as ``jaxrec train``
    does (``OUT``'s folder holds them when the dataset folder is read-only).
    """
    if steps < 2:
        raise ValueError(f"--steps={steps}: need at least 2 timed steps")
    out = pathlib.Path(out)
    cfg = resolve_feature_files(cfg, data_dir, out.parent)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, length_buckets=()))
    trace_dir = pathlib.Path(trace_dir) if trace_dir else out.with_name(out.stem + "_trace")
    dataset = PreparedDataset.open(data_dir)
    mesh = sharding.make_mesh(cfg.mesh)
    _, state, step_fn = setup.build_trainer(cfg, dataset, mesh, total_steps=10**6)
    batch_sh = sharding.batch_sharding(mesh)
    prior = jax.device_put(setup.log_prior(dataset, cfg.loss.proposal), sharding.replicated(mesh))
    data_iter = setup.train_iterator(cfg, dataset)
    first = jax.device_put(next(data_iter), batch_sh)
    t0 = time.perf_counter()
    compiled = step_fn.lower(state, first, prior).compile()
    compile_s = time.perf_counter() - t0
    state, _ = time_steps(compiled, state, prior, data_iter, batch_sh, warmup)
    state, times = time_steps(compiled, state, prior, data_iter, batch_sh, steps)
    state, pipelined_s = pipelined_seconds(compiled, state, prior, data_iter, batch_sh, steps)
    state = _trace(compiled, state, prior, data_iter, batch_sh, trace_dir, trace_steps)
    peak_bytes, peak_source = peak_memory(compiled, mesh.devices.flat)
    report = {
        "compile_s": compile_s,
        **summarise(times, _cost(compiled), measure_peaks(mesh), mesh.size, cfg.data.batch_size),
        "pipelined_step_ms": pipelined_s * 1e3,
        "peak_memory_bytes": peak_bytes,
        "peak_memory_source": peak_source,
        "state_bytes_per_device": _bytes_on(state, mesh.devices.flat[0]),
        "trace_dir": str(trace_dir.resolve()),
        "steps": steps,
        "batch_size": cfg.data.batch_size,
        "max_len": cfg.model.max_len,
        "num_items": dataset.num_items,
        "mesh": dict(mesh.shape),
        "platform": mesh.devices.flat[0].platform,
        "device_kind": mesh.devices.flat[0].device_kind,
        "num_devices": mesh.size,
    }
    write_json(out, report)
    return report


def _bytes_on(tree, device) -> int:
    """Bytes of ``tree``'s arrays that live on ``device``."""
    total = 0
    for leaf in jax.tree.leaves(tree):
        for shard in getattr(leaf, "addressable_shards", []):
            if shard.device == device:
                total += shard.data.nbytes
    return total
