"""Launches multi-process ``jaxrec train`` on a Ray cluster.

    python -m jaxrec.launch_ray --processes 2 --cpu-devices 4 [--address auto] -- \
        --config configs/tiny.py --data DATA --workdir RUN --set mesh.data=2 mesh.model=4

Two routes. ``actors`` (default, any platform): one Ray actor per process, each running
``jaxrec train`` in a fresh Python (so every process gets its own JAX runtime and device
flags) with ``JAXREC_COORDINATOR`` / ``JAXREC_NUM_PROCESSES`` / ``JAXREC_PROCESS_ID`` set;
process 0's node hosts the coordinator. ``jax-trainer`` (GPU/TPU only): Ray Train's
``JaxTrainer``, which calls ``jax.distributed.initialize`` itself. Ray 2.60's JaxTrainer
does not initialise anything on CPU (its backend returns early unless ``use_gpu`` or
``use_tpu``), so CPU clusters must use ``actors``. The workdir must be on storage that all
processes share (orbax writes one checkpoint from all of them).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys

from jaxrec.distributed import ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


class TrainProcess:
    """A Ray actor body: runs one process of ``jaxrec train`` as a subprocess."""

    def coordinator(self) -> str:
        """``ip:port`` on this actor's node for the JAX coordination service."""
        import ray

        return f"{ray.util.get_node_ip_address()}:{_free_port()}"

    def run(self, argv: list[str], env: dict[str, str]) -> tuple[int, str]:
        """(exit code, last 4,000 characters of stderr) of ``jaxrec train argv``."""
        full_env = {**os.environ, **env}
        proc = subprocess.run(
            [sys.executable, "-m", "jaxrec.cli", "train", *argv],
            env=full_env,
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.returncode, proc.stderr[-4000:]


def launch_actors(
    train_argv: list[str],
    processes: int,
    *,
    cpu_devices: int | None = None,
    address: str | None = None,
    cpus_per_process: float = 1.0,
) -> list[tuple[int, str]]:
    """Runs ``processes`` cooperating ``jaxrec train`` processes as Ray actors.

    Args:
        train_argv: arguments after ``jaxrec train`` (config, data, workdir, --set ...).
        processes: number of JAX processes.
        cpu_devices: on CPU, emulated devices per process (sets ``XLA_FLAGS``).
        address: Ray cluster address (None: start or join a local one).
        cpus_per_process: Ray CPU resources per actor.

    Returns:
        (exit code, stderr tail) per process, in process-id order.
    """
    import ray

    ray.init(address=address, ignore_reinit_error=True)
    actor = ray.remote(num_cpus=cpus_per_process)(TrainProcess)
    actors = [actor.remote() for _ in range(processes)]
    coordinator = ray.get(actors[0].coordinator.remote())
    futures = []
    for pid, handle in enumerate(actors):
        env = {
            ENV_COORDINATOR: coordinator,
            ENV_NUM_PROCESSES: str(processes),
            ENV_PROCESS_ID: str(pid),
        }
        if cpu_devices:
            env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={cpu_devices}"
            env["JAX_PLATFORMS"] = "cpu"
        futures.append(handle.run.remote(train_argv, env))
    return ray.get(futures)


def launch_jax_trainer(train_argv: list[str], workers: int, *, use_gpu: bool, use_tpu: bool):
    """Runs ``jaxrec train`` under Ray Train's ``JaxTrainer`` (GPU or TPU workers only)."""
    if not (use_gpu or use_tpu):
        raise ValueError("JaxTrainer initialises JAX only for GPU/TPU workers; use actors on CPU")
    from ray.train import ScalingConfig
    from ray.train.v2.jax import JaxTrainer

    def loop(config):
        from jaxrec.cli import main

        # JaxTrainer has already called jax.distributed.initialize in this worker.
        if main(["train", *config["argv"]]) != 0:
            raise RuntimeError("jaxrec train failed")

    trainer = JaxTrainer(
        loop,
        train_loop_config={"argv": train_argv},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu, use_tpu=use_tpu),
    )
    return trainer.fit()


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m jaxrec.launch_ray [options] -- <jaxrec train arguments>``."""
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -m jaxrec.launch_ray")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--cpu-devices", type=int, default=None)
    parser.add_argument("--address", default=None)
    parser.add_argument("--route", choices=("actors", "jax-trainer"), default="actors")
    parser.add_argument("--use-gpu", action="store_true")
    parser.add_argument("--use-tpu", action="store_true")
    args = parser.parse_args(argv[:split])
    train_argv = argv[split + 1 :]
    if args.route == "jax-trainer":
        launch_jax_trainer(train_argv, args.processes, use_gpu=args.use_gpu, use_tpu=args.use_tpu)
        return 0
    results = launch_actors(
        train_argv, args.processes, cpu_devices=args.cpu_devices, address=args.address
    )
    for pid, (code, err) in enumerate(results):
        if code:
            print(f"process {pid} exited {code}:\n{err}", file=sys.stderr)
    return max(code for code, _ in results)


if __name__ == "__main__":
    sys.exit(main())
