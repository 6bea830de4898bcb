"""The best measured jaxrec model on ml-1m_sasrec: currently SASRec, configs/sasrec.py.

Chosen by validation NDCG@10 among the models measured on ML-1M so far (the comparison
and its numbers: docs/benchmarks.md). BERT4Rec, GRU4Rec, the LSTM, the hybrid and
BPR-MF ship as configs but have no ML-1M run yet; when one of them beats SASRec on
validation, this file points to it.

    jaxrec train --config configs/best_ml1m.py --data DATA_DIR --workdir runs/best --max-minutes 80
"""

import pathlib

from jaxrec.config import TrainConfig, load_config


def get_config() -> TrainConfig:
    """configs/sasrec.py, loaded from the file next to this one."""
    return load_config(pathlib.Path(__file__).with_name("sasrec.py"))
