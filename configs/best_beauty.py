"""The best measured jaxrec model on amazon_beauty_bert4rec: three SASRec seeds, ensembled.

Members: configs/sasrec.py at 64 dimensions for 9 epochs (the run in docs/benchmarks.md,
"SASRec, Amazon Beauty"), seeds 0, 1 and 2, trained one after another and scored by the
mean of their logits (jaxrec/ensemble.py). Each member takes ~45 minutes on a 2-core CPU
(--max-minutes is each member's budget); an interrupted run resumes at the first
unfinished member. Chosen on validation NDCG@10 (docs/benchmarks.md).

    jaxrec train --config configs/best_beauty.py --data DATA_DIR --workdir runs/best_beauty \
        --max-minutes 45
    jaxrec evaluate --workdir runs/best_beauty
"""

from jaxrec.config import EnsembleConfig, EnsembleMember

# The Beauty run of docs/benchmarks.md: 64 dimensions, 9 epochs, short-sequence buckets.
BEAUTY_SASREC = (
    "model.embed_dim=64",
    "model.mlp_dim=64",
    "max_epochs=9",
    "data.length_buckets=4,8,16,32,64,128",
)


def get_config() -> EnsembleConfig:
    """configs/sasrec.py (Beauty settings) with seeds 0, 1 and 2."""
    return EnsembleConfig(
        members=tuple(EnsembleMember("sasrec.py", seed, BEAUTY_SASREC) for seed in range(3))
    )
