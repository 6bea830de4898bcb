"""Three SASRec seeds and the hybrid, ensembled: the best ml-1m_sasrec model until session 25.

Members: configs/sasrec.py with seeds 0, 1 and 2, and configs/hybrid.py with seed 0, trained
one after another and scored by the mean of their logits (jaxrec/ensemble.py). Chosen on
validation NDCG@10 (docs/benchmarks.md): one SASRec 0.195-0.197, the hybrid 0.184, the three
SASRec seeds 0.2047, all four 0.2070. Training costs four single-model runs (~1 h each on a
2-core CPU with --max-minutes 80, each member's budget); an interrupted run resumes at the first
unfinished member. Test NDCG@10 0.1945 / HR@10 0.3325. configs/best_ml1m.py (three TXL seeds
and one SASRec) validated higher and replaced it; this one keeps every member's window at 200
items, so it serves at a fixed cost per request.

    jaxrec train --config configs/ensemble_ml1m_sasrec_hybrid.py --data DATA_DIR --workdir runs/ens
    jaxrec evaluate --workdir runs/ens
"""

from jaxrec.config import EnsembleConfig, EnsembleMember


def get_config() -> EnsembleConfig:
    """configs/sasrec.py with seeds 0, 1, 2 and configs/hybrid.py with seed 0."""
    sasrec = tuple(EnsembleMember("sasrec.py", seed) for seed in range(3))
    return EnsembleConfig(members=(*sasrec, EnsembleMember("hybrid.py", 0)))
