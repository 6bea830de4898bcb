"""Sequential item-kNN: a closed-form neighbourhood baseline for any catalogue size.

Items at most ``window`` steps apart in training sequences vote for each other; a history
votes with weights decaying by ``recency`` per step back (jaxrec/baselines/item_knn.py).
``jaxrec train`` builds the neighbour tables for every alpha x recency pair and keeps the
best on validation NDCG@10 (seconds to minutes on a CPU). Validation chose alpha 1.0 /
recency 0.6 on ML-1M, 0.5 / 0.6 on Beauty and 0.5 / 0.8 on Scientific, where alpha 0.25
scored 0.0002 below 0.5 (docs/benchmarks.md, "Model zoo"). The
window is fixed at 5 steps: 10 scored within 0.0002 of it on validation, 3 up to 0.0011 lower.
Unlike EASE it keeps 200 neighbours per item, not an I x I matrix, so it runs on
amazon_beauty_bert4rec (54,542 items).

    jaxrec train --config configs/item_knn.py --data DATA_DIR --workdir runs/item_knn
"""

from jaxrec.config import EvalConfig, ModelConfig, TrainConfig


def get_config() -> TrainConfig:
    """Item-kNN with a vote-damping x recency search on validation."""
    return TrainConfig(
        model=ModelConfig(
            name="item_knn",
            max_len=100,
            knn_neighbors=200,
            knn_windows=(5,),
            knn_alphas=(0.5, 0.75, 1.0),
            knn_recency=(0.45, 0.6, 0.8, 0.9),
        ),
        eval=EvalConfig(batch_size=256),
    )
