r"""Text-aware SASRec: item vectors = id embedding + projected MiniLM item text.

The item text (title, categories, brand; titles and genres for MovieLens) is encoded once
by the pure-JAX all-MiniLM-L6-v2 and cached in the prepared dataset (``text/``); the model
projects the frozen 384-dim vectors into its 64-dim item space for both the input sequence
and the output table, so items never seen in training are scored through their text.
``--set model.item_repr=id|text|both`` switches the item representation (ablations).
Sized for amazon_scientific_unisrec (8.4k users, 4.4k items, ~7 items per user; histories
truncated to 50 as in UniSRec); settings were chosen on its validation split
(docs/benchmarks.md, "Language: text-aware SASRec").

    jaxrec data prepare --source recbole-atomic --input DATASETS/amazon_scientific_unisrec \
        --out data/scientific
    jaxrec train --config configs/sasrec_text.py --data data/scientific --workdir runs/text
    jaxrec evaluate --workdir runs/text --split test --out runs/text/test.json
"""

from jaxrec.config import DataConfig, LossConfig, ModelConfig, OptimConfig, TrainConfig


def get_config() -> TrainConfig:
    """SASRec-text on Scientific-sized data."""
    return TrainConfig(
        model=ModelConfig(
            name="sasrec_text",
            item_repr="both",
            # PCA-whitened to 128 dims: the full catalogue is projected every step.
            text_dim=128,
            embed_dim=64,
            num_layers=2,
            num_heads=2,
            mlp_dim=64,
            max_len=50,
            dropout=0.3,
            attention_dropout=0.3,
            block="sasrec",
        ),
        loss=LossConfig(name="ce"),
        optim=OptimConfig(learning_rate=2e-3, warmup_steps=50, schedule="cosine"),
        # ~7 items per user: most batches fit the 10-item bucket (5x fewer logits than 50).
        data=DataConfig(batch_size=128, length_buckets=(10, 20)),
        max_epochs=40,
        eval_every_epochs=2,
        patience=4,
    )
