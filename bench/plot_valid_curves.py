"""Plots validation NDCG@10 against epoch (and wall-clock) from ``jaxrec train`` logs.

    python bench/plot_valid_curves.py --out docs/ml1m_valid_curves.png \
        "lr 1e-3, batch 128 (paper)=bench/results/ml1m_run1_lr1e-3_constant_valid_curve.txt" ...

Each input is ``label=path`` to a log (or an extract of it) with the lines that
``jaxrec train`` prints after every validation: ``step S epoch E: valid ndcg@10=X ...``.
"""

from __future__ import annotations

import argparse
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

LINE = re.compile(r"^step (\d+) epoch ([\d.]+): valid ndcg@10=([\d.]+)")


def read_curve(path: str) -> tuple[list[float], list[float]]:
    """(epochs, ndcg@10) from the validation lines of a training log."""
    epochs, values = [], []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle.read().replace("\r", "\n").splitlines():
            match = LINE.match(line.strip())
            if match:
                epochs.append(float(match.group(2)))
                values.append(float(match.group(3)))
    return epochs, values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("curves", nargs="+", help="label=path")
    parser.add_argument("--out", required=True)
    parser.add_argument("--target", type=float, default=0.1821, help="horizontal reference")
    args = parser.parse_args()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for spec in args.curves:
        label, _, path = spec.partition("=")
        epochs, values = read_curve(path)
        ax.plot(epochs, values, marker="o", markersize=2.5, linewidth=1.4, label=label)
    ax.axhline(
        args.target,
        color="grey",
        linestyle="--",
        linewidth=1,
        label=f"published SASRec+CE test NDCG@10 {args.target}",
    )
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation NDCG@10 (full ranking)")
    ax.set_title("SASRec on ML-1M, 2-core CPU")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
