"""Two CPU processes on 127.0.0.1, one 2x4 mesh across both: losses equal one process."""

import json
import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxrec import distributed

from . import harness
from .conftest import REPO

# Integration runs (a few seconds to half a minute each): `make test-slow`, run by CI.
pytestmark = pytest.mark.slow

STEPS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cluster_spec_from_flags_and_environment():
    assert distributed.spec_from(None, env={}) is None
    env = {"JAXREC_COORDINATOR": "h:1", "JAXREC_NUM_PROCESSES": "2", "JAXREC_PROCESS_ID": "1"}
    assert distributed.spec_from(None, env=env) == distributed.ClusterSpec("h:1", 2, 1)
    with pytest.raises(ValueError, match="--process-id"):
        distributed.spec_from(None, env={"JAXREC_COORDINATOR": "h:1", "JAXREC_NUM_PROCESSES": "2"})
    with pytest.raises(ValueError, match="not in"):
        distributed.ClusterSpec("h:1", 2, 2)


def test_two_processes_match_one(scale_dataset, tmp_path):
    if jax.device_count() < 8:
        pytest.skip("needs 8 (emulated) devices")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    command = [sys.executable, "-m", "tests.scale.mp_worker", "--coordinator", f"127.0.0.1:{port}"]
    command += ["--num-processes", "2", "--data", str(scale_dataset), "--steps", str(STEPS)]
    workers = [
        subprocess.Popen(
            [*command, "--process-id", str(i), "--out", str(tmp_path / f"losses_{i}.json")],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err[-2000:]
    results = [json.loads((tmp_path / f"losses_{i}.json").read_text()) for i in range(2)]
    assert all(r["devices"] == 8 and r["local"] == 4 for r in results)

    cfg = harness.tiny_config()
    run = harness.build(cfg, scale_dataset, 2, 4)
    _, single = harness.train(run, harness.host_batches(cfg, scale_dataset, STEPS))
    for result in results:
        np.testing.assert_allclose(result["losses"], single, rtol=1e-5)
