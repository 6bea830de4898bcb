"""EASE (Steck, WWW 2019): closed-form item-item autoencoder, a strong non-sequential baseline.

``jaxrec train`` fits it on every user's training items for each L2 penalty in
``model.l2_grid`` and keeps the best on validation NDCG@10 (seconds on ML-1M); the grid
brackets the optimum found on ML-1M validation (λ = 300, docs/benchmarks.md). Histories
are scored in full up to 4096 items. Catalogues above 20,000 items are refused (dense
I x I weights).

    jaxrec train --config configs/ease.py --data DATA_DIR --workdir runs/ease
"""

from jaxrec.config import EvalConfig, ModelConfig, TrainConfig


def get_config() -> TrainConfig:
    """EASE with an L2 search on validation."""
    return TrainConfig(
        model=ModelConfig(name="ease", max_len=4096, l2_grid=(30.0, 100.0, 300.0, 1000.0, 3000.0)),
        eval=EvalConfig(batch_size=256),
    )
