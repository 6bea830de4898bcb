"""An LSTM sequence encoder: configs/gru4rec.py with LSTM cells.

jaxrec train --config configs/lstm.py --data DATA_DIR --workdir runs/lstm
"""

import dataclasses
import pathlib

from jaxrec.config import TrainConfig, load_config


def get_config() -> TrainConfig:
    """configs/gru4rec.py with ``model.name='lstm'``."""
    cfg = load_config(pathlib.Path(__file__).with_name("gru4rec.py"))
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, name="lstm"))
