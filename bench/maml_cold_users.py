"""Cold-user benchmark: MAML vs no adaptation vs fine-tuning vs MostPop, several seeds.

Seeds vary the meta-training (task stream, adapter); the warm model, the held-out cold and
meta-validation users and so ``none`` / ``finetune`` / MostPop are the same for every seed.

Needs a warm dataset with held-out users and a warm run trained on it (configs/maml_ml1m.py
docstring). For every seed: meta-train ``configs/maml_ml1m.py`` (seed = task stream), keeping
the step that is best on the hold-out's meta-validation users, then run the cold-user
protocol for each method. Writes the JSON
(per seed and mean ± std per method and k) and a plot of NDCG@10 against k.

    flock /tmp/jaxrec_heavy.lock .venv/bin/python bench/maml_cold_users.py \
        --data data/ml-1m-warm --warm runs/ml1m_warm --runs runs/maml --seeds 0 1 2 \
        --out bench/results/maml_ml1m.json --plot docs/maml_cold_users.png
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import pathlib
import platform
import time

import numpy as np

from jaxrec import config as config_lib
from jaxrec.atomic_io import write_json
from jaxrec.meta import cold_eval
from jaxrec.meta import train as meta_train


def _aggregate(per_seed: list[dict], methods) -> dict:
    table = {}
    for method in methods:
        table[method] = {}
        for k in per_seed[0][method]["k"]:
            values = np.array([run[method]["k"][k]["ndcg@10"] for run in per_seed])
            hits = np.array([run[method]["k"][k]["hr@10"] for run in per_seed])
            table[method][k] = {
                "ndcg@10_mean": float(values.mean()),
                "ndcg@10_std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                "hr@10_mean": float(hits.mean()),
                "hr@10_std": float(hits.std(ddof=1)) if len(hits) > 1 else 0.0,
                "num_users": per_seed[0][method]["k"][k]["num_users"],
            }
    return table


def _plot(table: dict, path: pathlib.Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, rows in table.items():
        ks = sorted(rows, key=int)
        mean = [rows[k]["ndcg@10_mean"] for k in ks]
        std = [rows[k]["ndcg@10_std"] for k in ks]
        ax.errorbar([int(k) for k in ks], mean, yerr=std, marker="o", capsize=3, label=method)
    ax.set_xlabel("revealed interactions k")
    ax.set_ylabel("NDCG@10 (next item, full ranking)")
    ax.set_title(title)
    ax.set_xticks([1, 3, 5, 10])
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    """Runs the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/maml_ml1m.py")
    parser.add_argument("--data", required=True)
    parser.add_argument("--warm", required=True)
    parser.add_argument("--runs", required=True, type=pathlib.Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", nargs="*", default=[])
    parser.add_argument("--finetune-lrs", type=float, nargs="*", default=[])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--plot", type=pathlib.Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    base_cfg = config_lib.apply_overrides(
        config_lib.load_config(args.config), [f"maml.init_from={args.warm}", *args.set]
    )
    per_seed, summaries, shared = [], [], {}
    for seed in args.seeds:
        cfg = dataclasses.replace(base_cfg, seed=seed)
        workdir = args.runs / f"maml_s{seed}"
        t0 = time.perf_counter()
        summaries.append({**meta_train.run(cfg, args.data, workdir), "wall_s": 0.0})
        summaries[-1]["wall_s"] = time.perf_counter() - t0
        if not shared:  # the warm model's methods do not depend on the meta-training seed
            shared["none"] = cold_eval.evaluate_cold(workdir, method="none")
            shared["finetune"] = cold_eval.evaluate_cold(workdir, method="finetune")
            for lr in args.finetune_lrs:
                shared[f"finetune_lr{lr:g}"] = cold_eval.evaluate_cold(
                    workdir, method="finetune", inner_lr=lr
                )
        results = dict(shared)
        for method in ("maml", "maml_noadapt"):
            results[method] = cold_eval.evaluate_cold(workdir, method=method)
        per_seed.append(results)
    methods = list(per_seed[0])
    table = _aggregate(per_seed, methods)
    mostpop = per_seed[0]["none"]["baselines"]["mostpop"]
    table["mostpop"] = {
        k: {
            "ndcg@10_mean": v["ndcg@10"],
            "ndcg@10_std": 0.0,
            "hr@10_mean": v["hr@10"],
            "hr@10_std": 0.0,
            "num_users": v["num_users"],
        }
        for k, v in mostpop.items()
    }
    gains = {}
    for k in ("1", "3", "5"):
        m = table["maml"][k]["ndcg@10_mean"]
        gains[k] = {
            "maml_vs_none": m / table["none"][k]["ndcg@10_mean"] - 1.0,
            "maml_vs_finetune": m / table["finetune"][k]["ndcg@10_mean"] - 1.0,
            "maml_vs_best_finetune": m
            / max(table[f][k]["ndcg@10_mean"] for f in table if f.startswith("finetune"))
            - 1.0,
        }
    write_json(
        args.out,
        {
            "protocol": "cold-users",
            "config": args.config,
            "overrides": [f"maml.init_from={args.warm}", *args.set],
            "data": args.data,
            "seeds": args.seeds,
            "table": table,
            "relative_gain_ndcg@10": gains,
            "meta_train": summaries,
            "per_seed": per_seed,
            "machine": f"{platform.processor() or platform.machine()}, {platform.node()}",
            "date": time.strftime("%Y-%m-%d"),
        },
    )
    if args.plot is not None:
        _plot(
            {m: table[m] for m in ("none", "finetune", "maml", "maml_noadapt", "mostpop")},
            args.plot,
            f"{pathlib.Path(args.data).name}: cold users ({len(args.seeds)} seeds)",
        )


if __name__ == "__main__":
    main()
