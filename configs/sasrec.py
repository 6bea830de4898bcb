"""SASRec with full softmax cross-entropy: the default jaxrec model.

Hyper-parameters follow Klenitskiy & Vasilev (RecSys 2023) for ML-1M (64-dim, 2 blocks,
1 head, length 200, batch 128, Adam 1e-3); see docs/benchmarks.md for validation tuning.

    jaxrec train --config configs/sasrec.py --data DATA_DIR --workdir runs/sasrec
"""

from jaxrec.config import (
    DataConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
)


def get_config() -> TrainConfig:
    """The default SASRec experiment."""
    return TrainConfig(
        model=ModelConfig(
            name="sasrec",
            embed_dim=64,
            num_layers=2,
            num_heads=1,
            mlp_dim=64,
            max_len=200,
            dropout=0.1,
            attention_dropout=0.1,
        ),
        loss=LossConfig(name="ce"),
        optim=OptimConfig(learning_rate=1e-3, warmup_steps=100, schedule="constant"),
        data=DataConfig(batch_size=128, length_buckets=(50, 100)),
        max_epochs=200,
        eval_every_epochs=1,
        patience=10,
    )
