"""The best measured jaxrec model on ml-1m_sasrec: three SASRec seeds and the hybrid, ensembled.

Members: configs/sasrec.py with seeds 0, 1 and 2, and configs/hybrid.py with seed 0, trained
one after another and scored by the mean of their logits (jaxrec/ensemble.py). Chosen on
validation NDCG@10 (docs/benchmarks.md): one SASRec 0.195-0.197, the hybrid 0.184, the three
SASRec seeds 0.2047, all four 0.2070. Training costs four single-model runs (~1 h each on a
2-core CPU; --max-minutes is each member's budget); an interrupted run resumes at the first
unfinished member.

    jaxrec train --config configs/best_ml1m.py --data DATA_DIR --workdir runs/best --max-minutes 80
    jaxrec evaluate --workdir runs/best
"""

from jaxrec.config import EnsembleConfig, EnsembleMember


def get_config() -> EnsembleConfig:
    """configs/sasrec.py with seeds 0, 1, 2 and configs/hybrid.py with seed 0."""
    sasrec = tuple(EnsembleMember("sasrec.py", seed) for seed in range(3))
    return EnsembleConfig(members=(*sasrec, EnsembleMember("hybrid.py", 0)))
