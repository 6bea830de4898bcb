"""MAML for cold-start users on ML-1M (ml-1m_sasrec), on top of a converged warm SASRec.

The hold-out keeps two disjoint user sets out of all training of the warm model and MAML:
10 % cold users (reported) and 5 % meta-validation users (MAML keeps the meta-step that is
best on them, step 0 included, so it never ships something worse than where it started):

    jaxrec data holdout-users --data data/ml-1m --out data/ml-1m-warm --fraction 0.1 --seed 0
    jaxrec train --config configs/sasrec.py --data data/ml-1m-warm --workdir runs/ml1m_warm \
        --set max_epochs=16
    jaxrec train --config configs/maml_ml1m.py --data data/ml-1m-warm --workdir runs/ml1m_maml
    jaxrec evaluate --workdir runs/ml1m_maml --cold-users --method maml --out maml.json

The inner loop adapts a residual user-adaptation layer on the user state (second-order MAML,
3 SGD steps, learned inner rate from 1e-3); the outer loop fine-tunes the whole warm model
through it on short-history tasks. The inner rate was chosen on the meta-validation users:
0.5 and 0.05 ranked below no adaptation, and plain fine-tuning at rates from 1e-4 to 0.5 never
beat it there. Measured in docs/benchmarks.md, "Cold-start users": most of the gain
comes from the outer loop (meta-training on short histories), not from per-user steps.
"""

import dataclasses
import pathlib

from jaxrec.config import MamlConfig, OptimConfig, TrainConfig, load_config


def get_config() -> TrainConfig:
    """configs/sasrec.py's model, meta-trained from its warm run."""
    warm = load_config(pathlib.Path(__file__).with_name("sasrec.py"))
    return dataclasses.replace(
        warm,
        optim=OptimConfig(learning_rate=3e-4, warmup_steps=20, schedule="constant"),
        data=dataclasses.replace(warm.data, prefetch_threads=1),
        log_every_steps=10,
        maml=MamlConfig(
            algorithm="maml",
            init_from="runs/ml1m_warm",
            adapt_params=("adapter",),
            inner_steps=3,
            inner_lr=1e-3,
            learn_inner_lr=True,
            support_sizes=(1, 2, 3, 5, 8, 10),
            query_size=5,
            task_len=16,
            meta_batch=32,
            # Meta-validation NDCG@10 (k = 1, 3, 5, held-out users) peaked at steps 300-500
            # of 1,500 for seeds 0-2; the best step is kept (docs/benchmarks.md).
            meta_steps=1500,
            eval_every_steps=100,
        ),
    )
