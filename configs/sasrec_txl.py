"""SASRec with Transformer-XL memory: whole histories, no truncation at 200.

Each user's full training history (ML-1M's longest has 2,277 interactions) is cut into
segments of 200; a segment attends to itself and to the previous segment's cached
hidden states, with relative-position biases instead of absolute positions
(jaxrec/models/txl.py). Per-segment compute equals the 200-window SASRec's; long users
simply contribute more segments. With 2 blocks a prediction reads up to 600 items back
(its segment and, through the memory chain, the 2 before). Everything else is
configs/sasrec.py.

    jaxrec train --config configs/sasrec_txl.py --data DATA_DIR --workdir runs/txl
"""

import dataclasses
import pathlib

from jaxrec.config import TrainConfig, load_config


def get_config() -> TrainConfig:
    """configs/sasrec.py with ``model.name='txl'`` over histories of up to 2,400 items."""
    cfg = load_config(pathlib.Path(__file__).with_name("sasrec.py"))
    return dataclasses.replace(
        cfg,
        model=dataclasses.replace(
            cfg.model, name="txl", max_len=2400, segment_len=200, relative_buckets=32
        ),
        data=dataclasses.replace(cfg.data, length_buckets=(50, 100, 200, 400, 800, 1600)),
    )
