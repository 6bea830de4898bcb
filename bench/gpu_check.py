"""GPU checks used by bench/gpu_check.sh (not a test; needs an NVIDIA GPU).

    python bench/gpu_check.py loss --data data/ml-1m --out loss.json
    python bench/gpu_check.py summarise --workdir RUN --profile prof.json --loss loss.json \
        --test test.json --target 0.18 --out bench/results/gpu_check.json

``loss``: the same initial state and batch of configs/sasrec.py on CPU and on the GPU, loss
and gradient norm of one step at float32 "highest" matmul precision (TF32 would differ
by ~1e-3), relative differences. ``summarise``: joins the profile, the validation history of
the training run (time to the target NDCG@10) and the test evaluation into one JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import pathlib
import subprocess
import sys


def _loss_on(platform: str, data_dir: str) -> dict:
    import itertools

    import jax

    from data_pipeline.dataset import PreparedDataset
    from jaxrec import config as config_lib
    from jaxrec import sharding
    from jaxrec.training import setup

    device = jax.devices(platform)[0]
    cfg = config_lib.load_config("configs/sasrec.py")
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, length_buckets=()))
    dataset = PreparedDataset.open(data_dir)
    mesh = sharding.make_mesh(config_lib.MeshConfig(data=1, model=1), [device])
    _, state, step = setup.build_trainer(cfg, dataset, mesh, total_steps=1000)
    host = next(itertools.islice(setup.train_iterator(cfg, dataset), 1))
    prior = jax.device_put(setup.log_prior(dataset, cfg.loss.proposal), device)
    with jax.default_matmul_precision("highest"):
        _, metrics = step(state, jax.device_put(host, sharding.batch_sharding(mesh)), prior)
    return {k: float(v) for k, v in metrics.items()} | {"device": str(device.device_kind)}


def cmd_loss(args) -> int:
    """CPU vs GPU loss on one batch, each in its own process (JAX_PLATFORMS differs)."""
    results = {}
    for platform in ("cpu", "gpu"):
        code = (
            "import json,sys; sys.path.insert(0,'bench'); import gpu_check; "
            f"print(json.dumps(gpu_check._loss_on({platform!r}, {args.data!r})))"
        )
        env_platform = "cpu" if platform == "cpu" else "cuda"
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**__import__("os").environ, "JAX_PLATFORMS": env_platform},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results[platform] = json.loads(out.strip().splitlines()[-1])
    rel = {
        k: abs(results["gpu"][k] - results["cpu"][k]) / max(abs(results["cpu"][k]), 1e-12)
        for k in ("loss", "grad_norm")
    }
    report = {**results, "relative_difference": rel, "ok": max(rel.values()) < 1e-4}
    pathlib.Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


def _gpu_name() -> str:
    query = ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]
    try:
        return subprocess.run(query, capture_output=True, text=True, check=False).stdout.strip()
    except FileNotFoundError:
        return "unknown (no nvidia-smi)"


def cmd_summarise(args) -> int:
    """One JSON: card, loss check, profile, time to target validation NDCG@10, test metrics."""
    metas = sorted(glob.glob(f"{args.workdir}/checkpoints/latest/*/meta/metadata"))
    history = json.loads(pathlib.Path(metas[-1]).read_text())["history"] if metas else []
    hit = next((h for h in history if h["ndcg@10"] >= args.target), None)
    summary = json.loads((pathlib.Path(args.workdir) / "train_summary.json").read_text())
    prof = json.loads(pathlib.Path(args.profile).read_text())
    report = {
        "gpu": _gpu_name(),
        "loss_check": json.loads(pathlib.Path(args.loss).read_text()),
        "profile": {
            k: prof[k]
            for k in (
                "compile_s",
                "step_ms_median",
                "step_ms_p90",
                "compute_ms",
                "examples_per_s",
                "peak_memory_bytes",
            )
        },
        "target_valid_ndcg@10": args.target,
        "seconds_to_target_valid": hit["elapsed_s"] if hit else None,
        "valid_history": history,
        "train_summary": summary,
        "test": json.loads(pathlib.Path(args.test).read_text()),
    }
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps({k: report[k] for k in ("gpu", "seconds_to_target_valid")}, indent=2))
    return 0


def main() -> int:
    """Dispatches ``loss`` / ``summarise``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    loss = sub.add_parser("loss")
    loss.add_argument("--data", required=True)
    loss.add_argument("--out", required=True)
    summ = sub.add_parser("summarise")
    for name in ("--workdir", "--profile", "--loss", "--test", "--out"):
        summ.add_argument(name, required=True)
    summ.add_argument("--target", type=float, default=0.18)
    args = parser.parse_args()
    return cmd_loss(args) if args.cmd == "loss" else cmd_summarise(args)


if __name__ == "__main__":
    sys.exit(main())
