"""Model comparison: every shipped config x seeds x datasets, full ranking, mean +- std.

    python bench/model_zoo.py --datasets ml-1m beauty --seeds 0 1 2 --max-minutes 80 \
        --out bench/results/model_zoo.json --plot docs/model_zoo.png
    python bench/model_zoo.py ... --existing-only   # tables from the runs done so far

Each (config, dataset, seed) is one ``bench/sasrec_benchmark.py`` run (prepare -> train ->
evaluate -> JSON under ``bench/results/zoo/``); finished runs are reused, so an interrupted
comparison resumes. A run made with ``--set`` overrides (``bench/sasrec_benchmark.py
--skip-train`` on an existing workdir, e.g. the Beauty SASRec members of
``configs/best_beauty.py``) keeps them in its JSON, and its row lists them. The summary
holds test NDCG@10 / HR@10 (mean, std over seeds), seconds per epoch and parameter count
per model, next to the published numbers. Closed-form models (EASE, item-kNN) run once
(their first seed) whatever ``--seeds`` says.
Not a test: a full comparison is hours of CPU (minutes per run on one GPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import pathlib
import platform
import statistics
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = (
    "sasrec",
    "hybrid",
    "bert4rec",
    "gru4rec",
    "lstm",
    "sasrec_txl",
    "bpr_mf",
    "item_knn",
    "ease",
)
PUBLISHED = {  # ../shared/datasets/README.md, full ranking: (NDCG@10, HR@10)
    "ml-1m": {
        "SASRec + CE (Klenitskiy & Vasilev 2023)": (0.1821, 0.3152),
        "BERT4Rec (same)": (0.1537, 0.2843),
        "SASRec + BCE (same)": (0.1341, 0.2500),
        "HSTU-large (Zhai et al. 2024)": (0.1893, 0.3294),
    },
    "beauty": {
        "SASRec + CE (Klenitskiy & Vasilev 2023)": (0.0327, 0.0533),
        "BERT4Rec (same)": (0.0187, 0.0338),
    },
}


def _mean_std(values: list[float]) -> dict:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "runs": len(values),
    }


def not_applicable(config: str, dataset: str) -> str | None:
    """Why ``config`` cannot run on the prepared ``dataset`` (None: it can, or not prepared yet)."""
    from jaxrec.baselines.ease import MAX_ITEMS

    manifest = REPO / "data" / dataset / "manifest.json"  # where sasrec_benchmark.py prepares
    if config != "ease" or not manifest.exists():
        return None
    num_items = json.loads(manifest.read_text())["num_items"]
    if num_items <= MAX_ITEMS:
        return None
    return f"EASE keeps a dense item x item matrix: {num_items} items > {MAX_ITEMS}"


def run_one(config: str, dataset: str, seed: int, args) -> dict | None:
    """One benchmark run (reused when its JSON exists; None if missing and --existing-only)."""
    out = REPO / "bench" / "results" / "zoo" / f"{config}_{dataset}_seed{seed}.json"
    if not out.exists() and args.existing_only:
        return None
    if not out.exists():
        cmd = [
            sys.executable,
            str(REPO / "bench" / "sasrec_benchmark.py"),
            "--dataset",
            dataset,
            "--config",
            str(REPO / "configs" / f"{config}.py"),
            "--workdir",
            str(REPO / "runs" / "zoo" / f"{config}_{dataset}_seed{seed}"),
            "--max-minutes",
            str(args.max_minutes),
            "--seed",
            str(seed),
            "--out",
            str(out),
        ]
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    return json.loads(out.read_text())


def summarise(runs: list[dict]) -> dict:
    """Mean +- std over seeds of the headline numbers of one (config, dataset).

    Raises:
        ValueError: the runs' ``--set`` overrides give different configs (not one model's
            seeds). Overrides that restate the config's own value do not count.
    """
    if len({_resolved_config(r) for r in runs}) > 1:
        overrides = sorted({tuple(r.get("overrides", [])) for r in runs})
        raise ValueError(f"runs of {runs[0]['config']} mix overrides {overrides}")
    per_epoch = [r["seconds_per_epoch"] for r in runs if r["seconds_per_epoch"]]
    return {
        "overrides": min((r.get("overrides", []) for r in runs), key=len),
        "ndcg@10": _mean_std([r["test"]["ndcg@10"] for r in runs]),
        "hr@10": _mean_std([r["test"]["hr@10"] for r in runs]),
        "seconds_per_epoch": statistics.fmean(per_epoch) if per_epoch else None,
        "num_parameters": runs[0]["num_parameters"],
        "seeds": [r["seed"] for r in runs],
    }


def _resolved_config(run: dict) -> str:
    """The run's config file with its overrides applied, as comparable text."""
    from jaxrec.config import apply_overrides, load_config

    cfg = apply_overrides(load_config(REPO / run["config"]), list(run.get("overrides", [])))
    return repr(dataclasses.replace(cfg, seed=0))


def closed_form(config: str) -> bool:
    """Whether ``configs/<config>.py`` is closed form: one run stands for every seed (std 0)."""
    from jaxrec.config import load_config
    from jaxrec.training.closed_form import CLOSED_FORM_MODELS

    return load_config(REPO / "configs" / f"{config}.py").model.name in CLOSED_FORM_MODELS


def _runs_label(config: str, row: dict) -> str:
    """'3 seeds', '1 seed' or 'closed form' for a bar of the plot."""
    if closed_form(config):
        return "closed form"
    runs = row["ndcg@10"]["runs"]
    return f"{runs} seed{'s' * (runs > 1)}"


def plot(summary: dict, path: pathlib.Path) -> None:
    """Bar chart of test NDCG@10 (mean +- std) per model, one panel per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = [d for d, rows in summary["results"].items() if rows]  # no empty panels
    if not datasets:
        print(f"no finished runs: {path} not written", flush=True)
        return
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        rows = summary["results"][dataset]
        names = list(rows)
        ax.bar(
            [f"{n}\n({_runs_label(n, rows[n])})" for n in names],
            [rows[n]["ndcg@10"]["mean"] for n in names],
            yerr=[rows[n]["ndcg@10"]["std"] for n in names],
            capsize=4,
        )
        for label, (ndcg, _) in PUBLISHED.get(dataset, {}).items():
            ax.axhline(ndcg, linestyle="--", linewidth=0.8)
            # x in axes fraction, y in data: the label sits at the right end of its line.
            ax.text(
                0.99,
                ndcg,
                label,
                transform=ax.get_yaxis_transform(),
                fontsize=7,
                ha="right",
                va="bottom",
            )
        ax.set_title(f"{dataset}: test NDCG@10, full ranking")
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--datasets", nargs="+", default=["ml-1m"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--max-minutes", type=float, default=80)
    parser.add_argument("--out", required=True)
    parser.add_argument("--plot", default=None)
    parser.add_argument(
        "--existing-only",
        action="store_true",
        help="train nothing: summarise the runs whose JSON exists (each row says how many)",
    )
    args = parser.parse_args()
    results, skipped = {}, {}
    for dataset in args.datasets:
        results[dataset] = {}
        for config in args.configs:
            if reason := not_applicable(config, dataset):
                skipped[f"{config} on {dataset}"] = reason
                print(f"skipped {config} on {dataset}: {reason}", flush=True)
                continue
            seeds = args.seeds[:1] if closed_form(config) else args.seeds
            runs = [run_one(config, dataset, seed, args) for seed in seeds]
            if runs := [r for r in runs if r is not None]:
                results[dataset][config] = summarise(runs)
    summary = {
        "results": results,
        "not_applicable": skipped,
        "published": {d: PUBLISHED.get(d, {}) for d in args.datasets},
        "max_minutes": args.max_minutes,
        "machine": f"{platform.machine()}, {platform.platform()}",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    if args.plot:
        plot(summary, pathlib.Path(args.plot))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
