"""The best measured jaxrec model on ml-1m_sasrec: three TXL seeds and one SASRec, ensembled.

Members: configs/sasrec_txl.py with seeds 0, 1 and 2, and configs/sasrec.py with seed 0,
trained one after another and scored by the mean of their logits (jaxrec/ensemble.py).
Chosen on validation NDCG@10 (docs/benchmarks.md): one TXL 0.2059-0.2065, the three TXL
seeds 0.2105, with the SASRec 0.2128, against 0.2070 for configs/ensemble_ml1m_sasrec_hybrid.py.
Test NDCG@10 0.2007 / HR@10 0.3412. Training costs three TXL runs (~90 min each on a 2-core
CPU) and one SASRec run (~35 min); leave --max-minutes out (each member's budget when given)
so every member runs its whole schedule. An interrupted run resumes at the first unfinished
member.

    jaxrec train --config configs/best_ml1m.py --data DATA_DIR --workdir runs/best
    jaxrec evaluate --workdir runs/best
"""

from jaxrec.config import EnsembleConfig, EnsembleMember


def get_config() -> EnsembleConfig:
    """configs/sasrec_txl.py with seeds 0, 1, 2 and configs/sasrec.py with seed 0."""
    txl = tuple(EnsembleMember("sasrec_txl.py", seed) for seed in range(3))
    return EnsembleConfig(members=(*txl, EnsembleMember("sasrec.py", 0)))
