"""Sequence models. ``build_model`` picks one by ``ModelConfig.name``."""

from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models.sasrec import SASRec

MODELS = {"sasrec": SASRec}


def build_model(cfg: ModelConfig, num_items: int, *, seed: int) -> nnx.Module:
    """Instantiates the model named by ``cfg.name`` with parameters from ``seed``."""
    if cfg.name not in MODELS:
        raise ValueError(f"model.name={cfg.name!r}: expected one of {sorted(MODELS)}")
    with nnx.use_eager_sharding(False):
        return MODELS[cfg.name](cfg, num_items, rngs=nnx.Rngs(seed))
