"""Hybrid: SASRec's short-term state gated with a long-term profile, plus a CF score term.

The profile is the running mean of the user's item embeddings; ``model.gates(ids)`` shows
each user's mix. A rank-64 item-item CF term (EASE up to 20,000 items, else PureSVD, fitted
on the training split by ``jaxrec train`` and cached in the data folder) is added to the
scores with a learned weight (``model.score_weights()``); on ML-1M validation it lifted
NDCG@10 after 2 epochs from 0.1200 to 0.1255 (docs/benchmarks.md). Items with text can add a
content term with ``--set model.hybrid_content=true``. Everything else (sizes, optimiser,
schedule) is configs/sasrec.py, loaded from the file next to this one.

    jaxrec train --config configs/hybrid.py --data DATA_DIR --workdir runs/hybrid
"""

import dataclasses
import pathlib

from jaxrec.config import TrainConfig, load_config


def get_config() -> TrainConfig:
    """configs/sasrec.py with ``model.name='hybrid'`` and a rank-64 CF term."""
    cfg = load_config(pathlib.Path(__file__).with_name("sasrec.py"))
    model = dataclasses.replace(cfg.model, name="hybrid", cf_rank=64, cf_method="auto")
    return dataclasses.replace(cfg, model=model)
