"""The Ray launcher: two actors run one two-process jaxrec train on a local Ray cluster."""

import json

import pytest

from jaxrec.launch_ray import launch_actors, launch_jax_trainer

from .conftest import TINY_CONFIG


def test_jax_trainer_refuses_cpu():
    with pytest.raises(ValueError, match="actors on CPU"):
        launch_jax_trainer([], 2, use_gpu=False, use_tpu=False)


@pytest.mark.ray
@pytest.mark.slow
def test_two_actor_processes_train_one_run(scale_dataset, tmp_path):
    ray = pytest.importorskip("ray")
    workdir = tmp_path / "run"
    argv = ["--config", str(TINY_CONFIG), "--data", str(scale_dataset), "--workdir", str(workdir)]
    argv += ["--set", "max_epochs=1", "mesh.data=2", "mesh.model=4"]
    try:
        results = launch_actors(argv, 2, cpu_devices=4, cpus_per_process=0.5)
    finally:
        ray.shutdown()
    assert [code for code, _ in results] == [0, 0], results
    summary = json.loads((workdir / "train_summary.json").read_text())
    assert summary["steps"] == 6 and summary["stop_reason"] == "max_epochs"
    # One TensorBoard event file (process 0's), and each process's full stderr.
    assert len(list((workdir / "tb").glob("events.out.tfevents.*"))) == 1
    assert all((workdir / "logs" / f"process_{pid}.log").is_file() for pid in (0, 1))
