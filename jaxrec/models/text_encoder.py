"""BERT-family sentence encoder in flax.nnx (all-MiniLM-L6-v2 layout), loaded from safetensors.

transformers 5.x has no Flax models, so the forward pass is ours: BERT embeddings (word +
absolute position + token type) and LayerNorm, then post-LN blocks (self-attention, residual,
LayerNorm; erf-GELU MLP, residual, LayerNorm; eps 1e-12), then sentence-transformers pooling:
the mean over non-padding tokens, L2-normalised.
Shapes: ``B`` batch, ``T`` tokens, ``D`` hidden (384), ``H`` heads, ``K`` = ``D // H``,
``F`` MLP width (1536), ``E`` = ``D`` (the sentence embedding).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxrec.types import Array


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """The fields of a HF ``config.json`` that the forward pass needs."""

    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_json(cls, path: str | pathlib.Path) -> BertConfig:
        """Reads the known fields of ``path``; rejects activations other than GELU."""
        data = json.loads(pathlib.Path(path).read_text())
        if data.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{path}: hidden_act={data['hidden_act']!r}, only 'gelu' is supported")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _layer_norm(dim: int, eps: float, rngs: nnx.Rngs) -> nnx.LayerNorm:
    return nnx.LayerNorm(dim, epsilon=eps, rngs=rngs)


class BertLayer(nnx.Module):
    """One post-LN encoder block."""

    def __init__(self, cfg: BertConfig, rngs: nnx.Rngs):
        dim, eps = cfg.hidden_size, cfg.layer_norm_eps
        self.num_heads = cfg.num_attention_heads
        self.query = nnx.Linear(dim, dim, rngs=rngs)
        self.key = nnx.Linear(dim, dim, rngs=rngs)
        self.value = nnx.Linear(dim, dim, rngs=rngs)
        self.attn_out = nnx.Linear(dim, dim, rngs=rngs)
        self.attn_norm = _layer_norm(dim, eps, rngs)
        self.mlp_in = nnx.Linear(dim, cfg.intermediate_size, rngs=rngs)
        self.mlp_out = nnx.Linear(cfg.intermediate_size, dim, rngs=rngs)
        self.mlp_norm = _layer_norm(dim, eps, rngs)

    def __call__(self, x: Array, mask: Array) -> Array:
        """float[B, T, D] -> float[B, T, D]; ``mask`` bool[B, T] marks real tokens."""
        batch, length, dim = x.shape
        split = lambda y: y.reshape(batch, length, self.num_heads, dim // self.num_heads)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        logits = jnp.einsum("bqhk,bthk->bhqt", q, k) / jnp.sqrt(jnp.float32(dim // self.num_heads))
        logits = jnp.where(mask[:, None, None, :], logits, jnp.finfo(logits.dtype).min)
        context = jnp.einsum("bhqt,bthk->bqhk", jax.nn.softmax(logits, axis=-1), v)
        x = self.attn_norm(x + self.attn_out(context.reshape(batch, length, dim)))
        hidden = jax.nn.gelu(self.mlp_in(x), approximate=False)
        return self.mlp_norm(x + self.mlp_out(hidden))


class BertEncoder(nnx.Module):
    """BERT encoder plus mean pooling and L2 normalisation (a sentence-transformers model)."""

    def __init__(self, cfg: BertConfig, *, rngs: nnx.Rngs):
        self.cfg = cfg
        dim = cfg.hidden_size
        self.word = nnx.Embed(cfg.vocab_size, dim, rngs=rngs)
        self.position = nnx.Embed(cfg.max_position_embeddings, dim, rngs=rngs)
        self.token_type = nnx.Embed(cfg.type_vocab_size, dim, rngs=rngs)
        self.embed_norm = _layer_norm(dim, cfg.layer_norm_eps, rngs)
        self.layers = nnx.List([BertLayer(cfg, rngs) for _ in range(cfg.num_hidden_layers)])

    def token_states(self, input_ids: Array, attention_mask: Array) -> Array:
        """float[B, T, D] last-layer token states for int32[B, T] ids and {0,1}[B, T] mask."""
        length = input_ids.shape[1]
        x = self.word(input_ids) + self.position(jnp.arange(length))[None]
        x = self.embed_norm(x + self.token_type(jnp.zeros_like(input_ids)))
        mask = attention_mask.astype(bool)
        for layer in self.layers:
            x = layer(x, mask)
        return x

    def __call__(self, input_ids: Array, attention_mask: Array) -> Array:
        """float32[B, E] unit-norm sentence embeddings (mean over real tokens)."""
        states = self.token_states(input_ids, attention_mask)
        weights = attention_mask.astype(states.dtype)[..., None]
        pooled = (states * weights).sum(1) / jnp.maximum(weights.sum(1), 1e-9)
        norm = jnp.linalg.norm(pooled, axis=-1, keepdims=True)
        return pooled / jnp.maximum(norm, 1e-12)


def _assign_linear(linear: nnx.Linear, weights: dict[str, np.ndarray], prefix: str) -> None:
    # torch Linear stores (out, in); nnx kernels are (in, out).
    linear.kernel[...] = jnp.asarray(weights[f"{prefix}.weight"].T)
    linear.bias[...] = jnp.asarray(weights[f"{prefix}.bias"])


def _assign_norm(norm: nnx.LayerNorm, weights: dict[str, np.ndarray], prefix: str) -> None:
    norm.scale[...] = jnp.asarray(weights[f"{prefix}.weight"])
    norm.bias[...] = jnp.asarray(weights[f"{prefix}.bias"])


def _assign_layer(layer: BertLayer, weights: dict[str, np.ndarray], prefix: str) -> None:
    pairs = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attn_out": "attention.output.dense",
        "mlp_in": "intermediate.dense",
        "mlp_out": "output.dense",
    }
    for ours, theirs in pairs.items():
        _assign_linear(getattr(layer, ours), weights, f"{prefix}.{theirs}")
    _assign_norm(layer.attn_norm, weights, f"{prefix}.attention.output.LayerNorm")
    _assign_norm(layer.mlp_norm, weights, f"{prefix}.output.LayerNorm")


def load_bert(model_dir: str | pathlib.Path) -> BertEncoder:
    """Builds a ``BertEncoder`` from ``model_dir/config.json`` and ``model.safetensors``.

    Raises:
        FileNotFoundError: when either file is missing.
        KeyError: when the checkpoint lacks a tensor (message names it).
    """
    from safetensors.numpy import load_file

    model_dir = pathlib.Path(model_dir)
    for name in ("config.json", "model.safetensors"):
        if not (model_dir / name).is_file():
            raise FileNotFoundError(f"{model_dir / name}: missing (not a BERT model folder)")
    cfg = BertConfig.from_json(model_dir / "config.json")
    weights = load_file(model_dir / "model.safetensors")
    # Some exports prefix every tensor with "bert."; all-MiniLM-L6-v2 does not.
    weights = {k.removeprefix("bert."): v for k, v in weights.items()}
    model = BertEncoder(cfg, rngs=nnx.Rngs(0))
    try:
        model.word.embedding[...] = jnp.asarray(weights["embeddings.word_embeddings.weight"])
        model.position.embedding[...] = jnp.asarray(
            weights["embeddings.position_embeddings.weight"]
        )
        model.token_type.embedding[...] = jnp.asarray(
            weights["embeddings.token_type_embeddings.weight"]
        )
        _assign_norm(model.embed_norm, weights, "embeddings.LayerNorm")
        for index, layer in enumerate(model.layers):
            _assign_layer(layer, weights, f"encoder.layer.{index}")
    except KeyError as err:
        raise KeyError(f"{model_dir / 'model.safetensors'}: missing tensor {err}") from None
    return model
