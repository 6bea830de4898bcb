"""Hybrid: SASRec's short-term state gated with a long-term profile.

The profile is the running mean of the user's item embeddings; ``model.gates(ids)``
shows each user's mix. Everything else (sizes, optimiser, schedule) is
configs/sasrec.py, loaded from the file next to this one.

    jaxrec train --config configs/hybrid.py --data DATA_DIR --workdir runs/hybrid
"""

import dataclasses
import pathlib

from jaxrec.config import TrainConfig, load_config


def get_config() -> TrainConfig:
    """configs/sasrec.py with ``model.name='hybrid'``."""
    cfg = load_config(pathlib.Path(__file__).with_name("sasrec.py"))
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, name="hybrid"))
