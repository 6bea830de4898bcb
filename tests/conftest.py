"""Test set-up: emulate an 8-device mesh on CPU before JAX is imported."""

import os
import pathlib

flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in flags:
    flags = f"{flags} --xla_force_host_platform_device_count=8"
# Unoptimised LLVM codegen: the tiny test programs compile several times faster and run as
# fast (about a third less CPU for a tiny training run). Subprocesses inherit it.
if "xla_backend_optimization_level" not in flags:
    flags = f"{flags} --xla_backend_optimization_level=0"
os.environ["XLA_FLAGS"] = flags.strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets() -> pathlib.Path:
    """The read-only benchmark data next to the repo (skips when absent)."""
    path = pathlib.Path(os.environ.get("JAXREC_DATA_DIR", SHARED_DATASETS))
    if not path.is_dir():
        pytest.skip(f"shared datasets not found at {path}")
    return path
