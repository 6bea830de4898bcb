"""The best measured jaxrec model on amazon_beauty_bert4rec: five SASRec runs, ensembled.

Members (docs/benchmarks.md, "Best Beauty model"), scored by the mean of their logits
(jaxrec/ensemble.py) and trained one after another:
- configs/sasrec.py at 64 dimensions for 9 epochs (the run "SASRec, Amazon Beauty"),
  seeds 0, 1 and 2, ~35-40 minutes each on a 2-core CPU;
- configs/best_beauty_s3rec.py (dropout 0.3, 12 epochs) at 64 dimensions, seed 0,
  ~55 minutes;
- configs/sasrec.py at 64 dimensions for 14 epochs, seed 3, ~55 minutes.
--max-minutes is each member's budget; an interrupted run resumes at the first unfinished
member. Chosen on validation NDCG@10: 0.0476 against 0.0469 for the first four members
and 0.0465 for seeds 0-2 alone (docs/benchmarks.md, "Best Beauty model").

    jaxrec train --config configs/best_beauty.py --data DATA_DIR --workdir runs/best_beauty \
        --max-minutes 80
    jaxrec evaluate --workdir runs/best_beauty --split test
"""

from jaxrec.config import EnsembleConfig, EnsembleMember

SIXTY_FOUR_DIMENSIONS = ("model.embed_dim=64", "model.mlp_dim=64")
# The Beauty run of docs/benchmarks.md: 64 dimensions, 9 epochs, short-sequence buckets.
BEAUTY_SASREC = (
    *SIXTY_FOUR_DIMENSIONS,
    "max_epochs=9",
    "data.length_buckets=4,8,16,32,64,128",
)


def get_config() -> EnsembleConfig:
    """configs/sasrec.py (Beauty settings) seeds 0-2, the dropout-0.3 run, a 14-epoch run."""
    return EnsembleConfig(
        members=(
            EnsembleMember("sasrec.py", 0, BEAUTY_SASREC),
            EnsembleMember("sasrec.py", 1, BEAUTY_SASREC),
            EnsembleMember("best_beauty_s3rec.py", 0, SIXTY_FOUR_DIMENSIONS),
            EnsembleMember("sasrec.py", 2, BEAUTY_SASREC),
            EnsembleMember("sasrec.py", 3, (*BEAUTY_SASREC, "max_epochs=14")),
        )
    )
