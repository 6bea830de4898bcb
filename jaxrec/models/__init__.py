"""Sequence models. ``build_model`` picks one by ``ModelConfig.name``."""

from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models.bert4rec import BERT4Rec
from jaxrec.models.ease import EASE
from jaxrec.models.ease_residual import EaseResidualTextSASRec
from jaxrec.models.hybrid import HybridSASRec
from jaxrec.models.item_knn import ItemKNN
from jaxrec.models.mf import MatrixFactorization
from jaxrec.models.rnn import RecurrentEncoder
from jaxrec.models.sasrec import SASRec
from jaxrec.models.sasrec_context import ContextSASRec, ContextTextSASRec
from jaxrec.models.sasrec_text import TextSASRec
from jaxrec.models.sasrec_text_ft import finetune_model
from jaxrec.models.txl import TransformerXL

MODELS = {
    "sasrec": SASRec,
    "sasrec_text": TextSASRec,
    "sasrec_text_ease": EaseResidualTextSASRec,
    "sasrec_context": ContextSASRec,
    "sasrec_text_context": ContextTextSASRec,
    "txl": TransformerXL,
    "hybrid": HybridSASRec,
    "bert4rec": BERT4Rec,
    "gru4rec": RecurrentEncoder,
    "lstm": RecurrentEncoder,
    "ease": EASE,
    "item_knn": ItemKNN,
    "text_knn": ItemKNN,  # the same tables, built from item text (jaxrec/baselines/text_knn.py)
    "bpr_mf": MatrixFactorization,
}
# Models with one parameter vector per user: built with ``num_users``.
USER_MODELS = ("bpr_mf",)


def build_model(cfg: ModelConfig, num_items: int, *, seed: int, num_users: int = 0) -> nnx.Module:
    """Instantiates the model named by ``cfg.name`` with parameters from ``seed``."""
    if cfg.name not in MODELS:
        raise ValueError(f"model.name={cfg.name!r}: expected one of {sorted(MODELS)}")
    extra = {"num_users": num_users} if cfg.name in USER_MODELS else {}
    model_cls = MODELS[cfg.name]
    if cfg.text_finetune:  # the text encoder trains with the recommender
        model_cls = finetune_model(cfg.name)
    with nnx.use_eager_sharding(False):
        return model_cls(cfg, num_items, rngs=nnx.Rngs(seed), **extra)
