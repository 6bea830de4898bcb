"""A failing process of a multi-process run ends at once, and only process 0 writes scalars."""

import subprocess
import sys
import time

import jax

from jaxrec.launch_ray import _workdir
from jaxrec.training.scalars import scalar_writer

from .conftest import REPO

_RAISES_IN_PROCESS_1_OF_2 = """
import jax
from jaxrec import distributed

jax.process_count = lambda: 2
with distributed.exit_at_once_on_error():
    raise RuntimeError("process 1 failed on purpose")
print("not reached")
"""


def test_multiprocess_error_exits_at_once_with_its_traceback():
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _RAISES_IN_PROCESS_1_OF_2],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "RuntimeError: process 1 failed on purpose" in proc.stderr
    assert "not reached" not in proc.stdout
    assert time.perf_counter() - started < 60


def test_single_process_error_is_raised_as_usual():
    from jaxrec import distributed

    try:
        with distributed.exit_at_once_on_error():
            raise KeyError("field")
    except KeyError as error:
        assert error.args == ("field",)
    else:
        raise AssertionError("the error was swallowed")


def test_only_process_zero_writes_tensorboard(tmp_path, monkeypatch):
    monkeypatch.setattr(jax, "process_index", lambda: 1)
    writer = scalar_writer(tmp_path / "p1")
    writer.add_scalar("train/loss", 1.0, 1)
    writer.close()
    assert not (tmp_path / "p1" / "tb").exists()

    monkeypatch.setattr(jax, "process_index", lambda: 0)
    writer = scalar_writer(tmp_path / "p0")
    writer.add_scalar("train/loss", 1.0, 1)
    writer.close()
    assert len(list((tmp_path / "p0" / "tb").glob("events.out.tfevents.*"))) == 1


def test_launcher_finds_the_workdir_for_process_logs():
    assert str(_workdir(["--config", "c.py", "--workdir", "runs/a"])) == "runs/a"
    assert str(_workdir(["--workdir=runs/b"])) == "runs/b"
    assert _workdir(["--config", "c.py"]) is None
