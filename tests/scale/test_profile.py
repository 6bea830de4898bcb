import json

import pytest

from jaxrec.cli import main

from .conftest import TINY_CONFIG

# Integration runs (a few seconds to half a minute each): `make test-slow`, run by CI.
pytestmark = pytest.mark.slow

CONTRACT = (
    "compile_s",
    "step_ms_median",
    "step_ms_p90",
    "input_wait_ms",
    "transfer_ms",
    "compute_ms",
    "examples_per_s",
    "flops_per_step",
    "achieved_flops_per_s",
    "peak_memory_bytes",
    "trace_dir",
)


def test_profile_writes_the_contract_json_and_a_trace(scale_dataset, tmp_path):
    out = tmp_path / "prof.json"
    argv = ["profile", "--config", str(TINY_CONFIG), "--data", str(scale_dataset)]
    argv += ["--steps", "4", "--warmup", "1", "--out", str(out)]
    argv += ["--set", "mesh.data=2", "--set", "mesh.model=4"]
    assert main(argv) == 0
    report = json.loads(out.read_text())
    assert set(CONTRACT) <= set(report)
    assert report["mesh"] == {"data": 2, "model": 4}
    assert report["compile_s"] > 0 and report["flops_per_step"] > 0
    assert report["step_ms_p90"] >= report["step_ms_median"] > 0
    parts = report["input_wait_ms"] + report["transfer_ms"] + report["compute_ms"]
    assert parts <= report["step_ms_p90"] * 1.05
    assert report["coverage"] >= 0.95
    assert report["examples_per_s"] > 0 and report["tokens_per_s"] > 0
    assert 0 < report["flops_fraction_of_peak"] < 1
    assert report["roofline_bound"] in ("compute", "memory")
    # CPU reports no allocator peak: the compiled footprint holds at least the state shard.
    assert report["peak_memory_bytes"] >= report["state_bytes_per_device"] > 0
    traces = list(pathlib_glob(report["trace_dir"]))
    assert any(p.name.endswith(".xplane.pb") for p in traces)
    assert any(p.name == "perfetto_trace.json.gz" for p in traces)


def test_profile_builds_the_frozen_features_train_would(scale_dataset, tmp_path):
    out = tmp_path / "prof.json"
    argv = ["profile", "--config", str(TINY_CONFIG), "--data", str(scale_dataset)]
    argv += ["--steps", "2", "--warmup", "1", "--out", str(out)]
    assert main([*argv, "--set", "model.name=hybrid", "model.cf_rank=4"]) == 0
    assert json.loads(out.read_text())["step_ms_median"] > 0
    assert list((scale_dataset / "cf_factors").glob("cf-*.npz"))  # fitted as `train` does


def test_profile_rejects_too_few_steps(scale_dataset, tmp_path, capsys):
    argv = ["profile", "--config", str(TINY_CONFIG), "--data", str(scale_dataset)]
    assert main([*argv, "--steps", "1", "--out", str(tmp_path / "p.json")]) == 2
    assert "--steps=1" in capsys.readouterr().err


def pathlib_glob(root):
    import pathlib

    return pathlib.Path(root).rglob("*")
