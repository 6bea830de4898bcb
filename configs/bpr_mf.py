"""BPR-MF (Rendle et al., UAI 2009): one 64-dim vector per user and per item.

Trained with the pairwise BPR loss (4 uniform negatives per positive), order ignored.
Every training item of the user is a positive (histories up to 4096 items, so no ML-1M
user is cut); L2 regularisation is AdamW's decoupled weight decay on both tables, 0.2
chosen on ML-1M validation NDCG@10 (0.01 / 0.05 / 0.2 / 0.5: 0.0375 / 0.0393 / 0.0427 /
0.0378; docs/benchmarks.md, "Model zoo").

    jaxrec train --config configs/bpr_mf.py --data DATA_DIR --workdir runs/bpr_mf
"""

from jaxrec.config import DataConfig, LossConfig, ModelConfig, OptimConfig, TrainConfig


def get_config() -> TrainConfig:
    """BPR matrix factorisation."""
    return TrainConfig(
        model=ModelConfig(name="bpr_mf", embed_dim=64, max_len=4096, dropout=0.0),
        loss=LossConfig(name="bpr", num_negatives=4),
        optim=OptimConfig(learning_rate=1e-2, warmup_steps=50, schedule="cosine", weight_decay=0.2),
        data=DataConfig(batch_size=64, length_buckets=(32, 128, 512)),
        max_epochs=60,
        eval_every_epochs=2,
        patience=5,
    )
