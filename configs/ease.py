"""EASE (Steck, WWW 2019): closed-form item-item autoencoder, a strong non-sequential baseline.

``jaxrec train`` fits it on every user's training items for each L2 penalty in
``model.l2_grid`` and scores validation with each profile recency in ``model.ease_recency``
(history item d steps before the most recent weighs recency ** d; 1.0 is Steck's binary
profile), keeping the best pair on validation NDCG@10. The grid brackets the optima found on
validation (docs/benchmarks.md, "EASE"): L2 1000 / recency 0.8 on ML-1M (0.1299 against
0.0523 for the best binary profile), L2 100 / recency 0.8 on amazon_scientific_unisrec (0.0929;
L2 30 / recency 0.9, 0.0928, blends better: configs/best_scientific.py). Histories
are scored in full up to 4096 items. Catalogues above 20,000 items are refused (dense I x I
weights).

    jaxrec train --config configs/ease.py --data DATA_DIR --workdir runs/ease
"""

from jaxrec.config import EvalConfig, ModelConfig, TrainConfig


def get_config() -> TrainConfig:
    """EASE with an L2 x recency search on validation."""
    return TrainConfig(
        model=ModelConfig(
            name="ease",
            max_len=4096,
            l2_grid=(30.0, 100.0, 300.0, 1000.0, 3000.0),
            ease_recency=(1.0, 0.9, 0.8, 0.7),
        ),
        eval=EvalConfig(batch_size=256),
    )
