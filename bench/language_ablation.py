"""Language and context ablation (issue 4): variants x seeds per dataset, full ranking.

    flock /tmp/jaxrec_heavy.lock python bench/language_ablation.py --dataset scientific \
        --data data/scientific --seeds 0 1 2
    flock /tmp/jaxrec_heavy.lock python bench/language_ablation.py --dataset musical \
        --data data/musical --seeds 0 1 2
    flock /tmp/jaxrec_heavy.lock python bench/language_ablation.py --dataset ml-1m \
        --data data/ml-1m --seeds 0 1 2
    flock /tmp/jaxrec_heavy.lock python bench/language_ablation.py --dataset ml-1m-raw \
        --data data/ml-1m-raw --seeds 0 1 2
    flock /tmp/jaxrec_heavy.lock python bench/language_ablation.py --dataset scientific \
        --data data/scientific --seeds 0 1 2 --variants "+ text (MiniLM, fine-tuned)"
    python bench/language_ablation.py --summarize scientific musical ml-1m ml-1m-raw \
        --out bench/results/language_ablation.json --plot docs/language_ablation.png

Each (variant, seed) is one ``jaxrec train`` (fixed epoch budget, the checkpoint with the
best validation NDCG@10 kept) followed by ``jaxrec evaluate`` on valid and test; the run
goes to ``runs/ablation/<dataset>/<variant>_s<seed>`` and its result row to
``bench/results/ablation/<dataset>/<variant>_s<seed>.json``, which is reused when present,
so an interrupted sweep resumes and the rows outlive the runs. ``--summarize`` tabulates
mean +- std over seeds of every variant and draws one panel per dataset. Not a test:
minutes of CPU per run.
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

from jaxrec.atomic_io import write_json

REPO = pathlib.Path(__file__).resolve().parents[1]
RUNS = REPO / "runs" / "ablation"
ROWS = REPO / "bench" / "results" / "ablation"
JAXREC = str(pathlib.Path(sys.executable).with_name("jaxrec"))


@dataclasses.dataclass(frozen=True)
class Variant:
    """One ablation row: a shipped config plus ``--set`` overrides."""

    name: str
    config: str
    overrides: tuple[str, ...]


TFIDF = ("model.text_featurizer=tfidf", "model.text_dim=0")  # TF-IDF/LSA-256 for MiniLM
# MiniLM trained with the recommender: 64 live items per step (~8x the frozen step time).
FINETUNE = ("model.text_finetune=true", "model.text_live_items=64")
# Every variant of a dataset shares the epoch budget and everything not named here.
SCIENTIFIC_BASE = ("max_epochs=10",)
# Musical Instruments: SASRec at the Scientific sizes; its item text is the items' training
# reviews (jaxrec/text/features.review_texts), the source having no item metadata.
MUSICAL_BASE = ("model.name=sasrec", "max_epochs=40")
MUSICAL_TEXT_BASE = ("max_epochs=40",)
# ML-1M: the text model's sizes with the ML-1M history length (users average 165 items).
ML1M_BASE = ("max_epochs=8", "model.max_len=200", "data.length_buckets=50,100")
CONTEXT_OFF = (
    "model.context.time=false",
    "model.context.user=false",
    "model.context.device=false",
    "model.context.sentiment=false",
)


DATASETS = ("scientific", "musical", "ml-1m", "ml-1m-raw")


def variants(dataset: str) -> list[Variant]:
    """The ablation rows of ``dataset``."""
    if dataset == "scientific":
        return [
            Variant("id only", "sasrec_text.py", (*SCIENTIFIC_BASE, "model.item_repr=id")),
            Variant("+ text (MiniLM, frozen)", "sasrec_text.py", SCIENTIFIC_BASE),
            Variant("+ text (TF-IDF/LSA)", "sasrec_text.py", (*SCIENTIFIC_BASE, *TFIDF)),
            Variant("+ text (MiniLM, fine-tuned)", "sasrec_text.py", (*SCIENTIFIC_BASE, *FINETUNE)),
        ]
    if dataset == "musical":
        context = ("model.name=sasrec_context", *CONTEXT_OFF)
        return [
            Variant("id only", "sasrec_text.py", MUSICAL_BASE),
            Variant("+ review text (MiniLM, frozen)", "sasrec_text.py", MUSICAL_TEXT_BASE),
            Variant("+ review text (TF-IDF/LSA)", "sasrec_text.py", (*MUSICAL_TEXT_BASE, *TFIDF)),
            Variant(
                "+ review text (MiniLM, fine-tuned)",
                "sasrec_text.py",
                (*MUSICAL_TEXT_BASE, *FINETUNE),
            ),
            Variant(
                "+ sentiment (loss weight 0.5)",
                "sasrec_text.py",
                (*MUSICAL_BASE, "loss.sentiment_weight=0.5"),
            ),
            Variant(
                "+ sentiment (feature)",
                "sasrec_text.py",
                (*MUSICAL_BASE, *context, "model.context.sentiment=true"),
            ),
            Variant(
                "+ time context",
                "sasrec_text.py",
                (*MUSICAL_BASE, *context, "model.context.time=true"),
            ),
            Variant(
                "+ time + sentiment (feature and weight)",
                "sasrec_text.py",
                (
                    *MUSICAL_BASE,
                    *context,
                    "model.context.time=true",
                    "model.context.sentiment=true",
                    "loss.sentiment_weight=0.5",
                ),
            ),
        ]
    if dataset == "ml-1m":  # ml-1m_sasrec with the items.tsv titles and genres
        return [
            Variant("id only", "sasrec_text.py", (*ML1M_BASE, "model.item_repr=id")),
            Variant("+ text (MiniLM, frozen)", "sasrec_text.py", ML1M_BASE),
            Variant("+ text (TF-IDF/LSA)", "sasrec_text.py", (*ML1M_BASE, *TFIDF)),
            Variant("+ text (MiniLM, fine-tuned)", "sasrec_text.py", (*ML1M_BASE, *FINETUNE)),
        ]
    if dataset == "ml-1m-raw":  # ml-1m_raw: timestamps and user attributes (users 1-2999)
        context = ("model.name=sasrec_context", *CONTEXT_OFF)
        both = (*ML1M_BASE, *context, "model.context.time=true", "model.context.user=true")
        return [
            Variant("id only", "sasrec_text.py", (*ML1M_BASE, "model.name=sasrec")),
            Variant(
                "+ context (time, user; added)",
                "sasrec_text.py",
                (*both, "model.context.cross_attention=false"),
            ),
            Variant("+ context (time, user; cross-attention)", "sasrec_text.py", both),
        ]
    raise ValueError(f"unknown dataset {dataset!r}: {', '.join(DATASETS)}")


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").replace("__", "_")


def run_one(dataset: str, data: str, variant: Variant, seed: int) -> dict:
    """Trains and evaluates one (variant, seed) unless its results exist; returns them."""
    workdir = RUNS / dataset / f"{_slug(variant.name)}_s{seed}"
    result = ROWS / dataset / f"{workdir.name}.json"
    if result.exists():
        return json.loads(result.read_text())
    workdir.parent.mkdir(parents=True, exist_ok=True)
    train = [JAXREC, "train", "--config", f"configs/{variant.config}", "--data", data]
    train += ["--workdir", str(workdir), "--seed", str(seed), "--set", *variant.overrides]
    with open(workdir.parent / f"{workdir.name}.train.log", "w") as log:
        subprocess.run(train, cwd=REPO, check=True, stdout=log, stderr=log)
    metrics = {}
    for split in ("valid", "test"):
        out = workdir / f"{split}.json"
        evaluate = [JAXREC, "evaluate", "--workdir", str(workdir), "--split", split]
        subprocess.run([*evaluate, "--out", str(out)], cwd=REPO, check=True, capture_output=True)
        metrics[split] = json.loads(out.read_text())
    summary = json.loads((workdir / "train_summary.json").read_text())
    row = {
        "variant": variant.name,
        "config": variant.config,
        "overrides": list(variant.overrides),
        "seed": seed,
        "valid_ndcg@10": metrics["valid"]["ndcg@10"],
        "test_ndcg@10": metrics["test"]["ndcg@10"],
        "test_hr@10": metrics["test"]["hr@10"],
        "train_seconds": summary["train_seconds"],
        "steps": summary["steps"],
        "best_step": summary["best_step"],
    }
    write_json(result, row)  # atomic: reused on resume, so never left half-written
    print(json.dumps(row), flush=True)
    return row


def _mean_std(values: list[float]) -> dict:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


def summarize(dataset: str) -> list[dict]:
    """Mean +- std over the seeds of every variant of ``dataset`` found under runs/."""
    rows: dict[str, list[dict]] = {}
    for path in sorted((ROWS / dataset).glob("*.json")):
        row = json.loads(path.read_text())
        rows.setdefault(row["variant"], []).append(row)
    table = []
    for name, runs in rows.items():
        entry = {"variant": name, "overrides": runs[0]["overrides"]}
        entry["seeds"] = sorted(r["seed"] for r in runs)
        for key in ("valid_ndcg@10", "test_ndcg@10", "test_hr@10", "train_seconds"):
            entry[key] = _mean_std([r[key] for r in runs])
        table.append(entry)
    return table


def with_gains(table: list[dict]) -> list[dict]:
    """Adds each variant's relative test NDCG@10 change against the "id only" row."""
    base = next((e for e in table if e["variant"] == "id only"), None)
    for entry in table:
        if base is not None:
            gain = entry["test_ndcg@10"]["mean"] / base["test_ndcg@10"]["mean"] - 1.0
            entry["test_ndcg@10_vs_id_only"] = gain
    return table


def _merge(earlier: list[dict], current: list[dict]) -> list[dict]:
    """``current`` rows, plus the ``earlier`` variants it has no rows for, in earlier order."""
    fresh = {entry["variant"]: entry for entry in current}
    merged = [fresh.pop(entry["variant"], entry) for entry in earlier]
    return merged + list(fresh.values())


def plot(tables: dict[str, list[dict]], path: pathlib.Path) -> None:
    """One bar panel per dataset: test NDCG@10 mean with a std error bar per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 4), squeeze=False)
    for ax, (dataset, table) in zip(axes[0], tables.items(), strict=True):
        names = [e["variant"] for e in table]
        means = [e["test_ndcg@10"]["mean"] for e in table]
        stds = [e["test_ndcg@10"]["std"] for e in table]
        ax.bar(range(len(names)), means, yerr=stds, capsize=4, color="tab:blue", alpha=0.8)
        ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("test NDCG@10 (full ranking)")
        counts = sorted({len(entry["seeds"]) for entry in table}) or [0]
        seeds = f"{counts[0]}-{counts[-1]}" if len(counts) > 1 else str(counts[0])
        ax.set_title(f"{dataset} ({seeds} seeds)")
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    """Runs one dataset's sweep, or summarizes finished sweeps (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS)
    parser.add_argument("--data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=None, help="variant names to run")
    parser.add_argument("--summarize", nargs="+", default=None, metavar="DATASET")
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument("--plot", type=pathlib.Path, default=None)
    args = parser.parse_args()
    if args.summarize:
        tables = {dataset: summarize(dataset) for dataset in args.summarize}
        tables = {dataset: table for dataset, table in tables.items() if table}
        if args.out and args.out.exists():  # variants whose rows predate ROWS stay as they were
            earlier = json.loads(args.out.read_text())["tables"]
            tables = {
                dataset: _merge(earlier.get(dataset, []), tables.get(dataset, []))
                for dataset in args.summarize
                if dataset in earlier or dataset in tables
            }
        tables = {dataset: with_gains(table) for dataset, table in tables.items()}
        report = {
            "tables": tables,
            "machine": f"{platform.processor() or platform.machine()}, {platform.node()}",
            "date": datetime.date.today().isoformat(),
        }
        if args.out:
            write_json(args.out, report)
        if args.plot:
            plot(tables, args.plot)
        print(json.dumps(tables, indent=1))
        return
    if not args.dataset or not args.data:
        parser.error("--dataset and --data (or --summarize)")
    chosen = variants(args.dataset)
    if args.variants:
        unknown = set(args.variants) - {v.name for v in chosen}
        if unknown:
            parser.error(f"unknown --variants {sorted(unknown)} for {args.dataset}")
        chosen = [v for v in chosen if v.name in args.variants]
    for variant in chosen:
        for seed in args.seeds:
            run_one(args.dataset, args.data, variant, seed)


if __name__ == "__main__":
    main()
