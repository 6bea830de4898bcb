"""GRU4Rec (Hidasi et al., 2016) encoder with SASRec's heads and full softmax cross-entropy.

One 64-dim recurrent layer over the last 200 items, dropout 0.1, tied item embeddings
(the RNN baseline of Klenitskiy & Vasilev, RecSys 2023); optimiser as configs/sasrec.py.
Every position predicts its next item, as in SASRec.

    jaxrec train --config configs/gru4rec.py --data DATA_DIR --workdir runs/gru4rec
"""

from jaxrec.config import DataConfig, LossConfig, ModelConfig, OptimConfig, TrainConfig


def get_config() -> TrainConfig:
    """A one-layer gru4rec model."""
    return TrainConfig(
        model=ModelConfig(name="gru4rec", embed_dim=64, num_layers=1, max_len=200, dropout=0.1),
        loss=LossConfig(name="ce"),
        optim=OptimConfig(learning_rate=2e-3, warmup_steps=100, schedule="cosine"),
        data=DataConfig(batch_size=64, length_buckets=(50, 100)),
        max_epochs=80,
        eval_every_epochs=2,
        patience=10,
    )
