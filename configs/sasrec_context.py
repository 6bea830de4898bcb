r"""Context-aware SASRec: time, user attributes, device and review sentiment + cross-attention.

Per interaction: UTC hour, weekday and the log-bucketed gap since the previous interaction
(``model.context.time``), the device/location column where the data has one
(``.device``), the bucketed VADER score of its review (``.sentiment``, Amazon reviews);
per user: MovieLens age, gender, occupation and zip region (``.user``). Each block has a
causal cross-attention sub-layer from the sequence to these context tokens
(``.cross_attention``; off, the context embeddings are added to the inputs). Every switch
removes its parameters, for ablations; ``--set model.name=sasrec`` is the id-only model
with the same sizes. ``--set loss.sentiment_weight=0.5`` weighs each target 1 + 0.5 x its
review's VADER score. Everything else is configs/sasrec.py (the tuned id-only SASRec for ML-1M).

    jaxrec data prepare --source movielens --input DATASETS/ml-1m_raw --out data/ml-1m-raw
    jaxrec train --config configs/sasrec_context.py --data data/ml-1m-raw --workdir runs/ctx
    jaxrec evaluate --workdir runs/ctx --split test --out runs/ctx/test.json
    # ablation: --set model.context.time=false (or .user / .device / .cross_attention)
"""

from jaxrec.config import (
    ContextConfig,
    DataConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
)


def get_config() -> TrainConfig:
    """SASRec + context on ML-1M-sized data (200-item histories)."""
    return TrainConfig(
        model=ModelConfig(
            name="sasrec_context",
            embed_dim=64,
            num_layers=2,
            num_heads=1,
            mlp_dim=64,
            max_len=200,
            dropout=0.1,
            attention_dropout=0.1,
            block="sasrec",
            context=ContextConfig(
                time=True, user=True, device=True, sentiment=False, cross_attention=True
            ),
        ),
        loss=LossConfig(name="ce"),
        optim=OptimConfig(learning_rate=2e-3, warmup_steps=100, schedule="cosine"),
        data=DataConfig(batch_size=64, length_buckets=(50, 100)),
        max_epochs=90,
        eval_every_epochs=2,
        patience=10,
    )
