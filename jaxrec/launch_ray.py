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
import pathlib
import signal
import socket
import subprocess
import sys

from jaxrec.distributed import ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


class TrainProcess:
    """A Ray actor body: runs one process of ``jaxrec train`` as a subprocess.

    Created with ``max_concurrency=2`` so that ``stop`` can end the subprocess while ``run``
    waits for it.
    """

    def __init__(self):
        self._proc: subprocess.Popen | None = None

    def coordinator(self) -> str:
        """``ip:port`` on this actor's node for the JAX coordination service."""
        import ray

        return f"{ray.util.get_node_ip_address()}:{_free_port()}"

    def run(self, argv: list[str], env: dict[str, str], log_path: str | None) -> tuple[int, str]:
        """(exit code, last 4,000 characters of stderr) of ``jaxrec train argv``.

        The whole stderr also goes to ``log_path`` when given (the first error of a failed
        process is often far above the tail).
        """
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "jaxrec.cli", "train", *argv],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        _, stderr = self._proc.communicate()
        if log_path:
            pathlib.Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            pathlib.Path(log_path).write_text(stderr)
        return self._proc.returncode, stderr[-4000:]

    def stop(self) -> None:
        """Kills the subprocess (and its children) if it is still running."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)


def _workdir(train_argv: list[str]) -> pathlib.Path | None:
    """The ``--workdir`` of a ``jaxrec train`` command line, if it names one."""
    for i, arg in enumerate(train_argv):
        if arg == "--workdir" and i + 1 < len(train_argv):
            return pathlib.Path(train_argv[i + 1])
        if arg.startswith("--workdir="):
            return pathlib.Path(arg.split("=", 1)[1])
    return None


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
        (exit code, stderr tail) per process, in process-id order; the full stderr of
        process ``i`` is in ``WORKDIR/logs/process_i.log``. When one process fails, the
        others are killed (exit code -9) instead of waiting in a collective.
    """
    import ray

    ray.init(address=address, ignore_reinit_error=True)
    actor = ray.remote(num_cpus=cpus_per_process, max_concurrency=2)(TrainProcess)
    actors = [actor.remote() for _ in range(processes)]
    coordinator = ray.get(actors[0].coordinator.remote())
    workdir = _workdir(train_argv)
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
        log_path = None if workdir is None else str(workdir / "logs" / f"process_{pid}.log")
        futures.append(handle.run.remote(train_argv, env, log_path))
    # One failed process leaves the others blocked in a collective until the coordination
    # service times out (minutes): stop them as soon as any process fails.
    pending = list(futures)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        if ray.get(done[0])[0] != 0:
            ray.get([handle.stop.remote() for handle in actors])
    results = ray.get(futures)
    for handle in actors:
        ray.kill(handle)
    return results


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
