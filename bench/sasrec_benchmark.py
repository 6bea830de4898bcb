"""Full-ranking benchmark of one config on a shared dataset: prepare -> train -> evaluate -> JSON.

    python bench/sasrec_benchmark.py --dataset ml-1m --max-minutes 80 \
        --out bench/results/sasrec_ml-1m.json
    python bench/sasrec_benchmark.py --dataset ml-1m --workdir runs/ml1m_sasrec --skip-train ...

Not a test: it runs for as long as ``--max-minutes`` says. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
DATASETS = {
    # name: (source, path under the data dir, published SASRec+CE NDCG@10 / HR@10)
    "ml-1m": ("sasrec-txt", "ml-1m_sasrec/ml-1m.txt", (0.1821, 0.3152)),
    "beauty": ("sasrec-txt", "amazon_beauty_bert4rec/beauty.txt", (0.0327, 0.0533)),
}


def _run(cmd: list[str], log: pathlib.Path | None = None) -> None:
    print("+", " ".join(cmd), flush=True)
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") if log else open(os.devnull, "w") as sink:
        subprocess.run(
            cmd, check=True, stdout=sink if log else None, stderr=subprocess.STDOUT if log else None
        )


def _num_parameters(workdir: pathlib.Path) -> int:
    """Trainable parameter count of the run's best checkpoint."""
    import jax

    from jaxrec.training.setup import load_trained

    params = load_trained(workdir).params
    return int(sum(x.size for x in jax.tree.leaves(params)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", choices=sorted(DATASETS), required=True)
    parser.add_argument("--config", default=str(REPO / "configs" / "sasrec.py"))
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("JAXREC_DATA_DIR", str(REPO.parent / "shared" / "datasets")),
    )
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--max-minutes", type=float, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--skip-train", action="store_true", help="use a finished workdir")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    source, rel, published = DATASETS[args.dataset]
    jaxrec = [sys.executable, "-m", "jaxrec.cli"]
    prepared = REPO / "data" / args.dataset
    workdir = pathlib.Path(args.workdir or REPO / "runs" / f"bench_{args.dataset}")
    if not (prepared / "manifest.json").exists():
        _run(
            [
                *jaxrec,
                "data",
                "prepare",
                "--source",
                source,
                "--input",
                str(pathlib.Path(args.data_dir) / rel),
                "--out",
                str(prepared),
            ]
        )
    if not args.skip_train:
        overrides = [x for s in args.set for x in ("--set", s)]
        _run(
            [
                *jaxrec,
                "train",
                "--config",
                args.config,
                "--data",
                str(prepared),
                "--workdir",
                str(workdir),
                "--max-minutes",
                str(args.max_minutes),
                "--seed",
                str(args.seed),
                *overrides,
            ],
            log=workdir.with_suffix(".log"),
        )
    test_json = workdir / "test_metrics.json"
    _run(
        [*jaxrec, "evaluate", "--workdir", str(workdir), "--split", "test", "--out", str(test_json)]
    )
    train = json.loads((workdir / "train_summary.json").read_text())
    test = json.loads(test_json.read_text())
    manifest = json.loads((prepared / "manifest.json").read_text())
    epochs = train.get("epochs")
    result = {
        "dataset": args.dataset,
        "config": str(pathlib.Path(args.config).resolve().relative_to(REPO)),
        "overrides": args.set,
        "seed": train["seed"],
        "protocol": test["protocol"],
        "exclude_seen": test["exclude_seen"],
        "test": {
            k: test[k]
            for k in (
                "ndcg@10",
                "hr@10",
                "ndcg@20",
                "hr@20",
                "mrr",
                "auc",
                "coverage@10",
                "num_users",
                "num_items",
            )
        },
        "mostpop": test["baselines"]["mostpop"],
        "published_sasrec_ce": {"ndcg@10": published[0], "hr@10": published[1]},
        "train": train,
        "num_parameters": _num_parameters(workdir),
        # Closed-form models (EASE) have no epochs.
        "seconds_per_epoch": train["train_seconds"] / epochs if epochs else None,
        "sequences_per_s": manifest["num_users"] * epochs / train["train_seconds"]
        if epochs
        else None,
        "peak_rss_bytes_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
