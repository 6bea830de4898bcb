"""Tiny SASRec for tests: runs in seconds on CPU.

jaxrec train --config configs/tiny.py --data DATA_DIR --workdir /tmp/tiny
"""

from jaxrec.config import DataConfig, EvalConfig, ModelConfig, OptimConfig, TrainConfig


def get_config() -> TrainConfig:
    """A 16-dim, 1-block model with short sequences."""
    return TrainConfig(
        model=ModelConfig(
            embed_dim=16,
            num_layers=1,
            num_heads=2,
            mlp_dim=16,
            max_len=12,
            dropout=0.1,
            attention_dropout=0.1,
        ),
        optim=OptimConfig(learning_rate=5e-3, warmup_steps=2),
        data=DataConfig(batch_size=16),
        eval=EvalConfig(batch_size=32),
        max_epochs=3,
        patience=5,
        log_every_steps=2,
    )
