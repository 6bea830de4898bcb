"""Text-kNN: a closed-form content-based baseline from item text alone.

Each item's 200 most similar items by the cosine of their MiniLM text vectors, sharpened by
a power (jaxrec/baselines/text_knn.py); a history votes with weights decaying by ``recency``
per step back, as in item-kNN. ``jaxrec train`` encodes and caches the item text, builds
the tables for every power x recency pair and keeps the best on validation NDCG@10
(seconds once the text is encoded). It needs item text (``jaxrec data prepare`` stores it
for MovieLens, amazon_scientific_unisrec and Musical Instruments) and uses no interaction,
so an item never seen in training is recommendable through its text.
``--set model.text_featurizer=tfidf`` uses TF-IDF/LSA vectors instead.

    jaxrec train --config configs/text_knn.py --data DATA_DIR --workdir runs/text_knn
"""

from jaxrec.config import EvalConfig, ModelConfig, TrainConfig


def get_config() -> TrainConfig:
    """Text-kNN with a power x recency search on validation."""
    return TrainConfig(
        model=ModelConfig(
            name="text_knn",
            max_len=100,
            knn_neighbors=200,
            text_knn_powers=(1.0, 3.0, 6.0),
            knn_recency=(0.6, 0.8, 0.9),
        ),
        eval=EvalConfig(batch_size=256),
    )
