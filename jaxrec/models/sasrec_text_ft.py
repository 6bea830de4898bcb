"""Text-aware SASRec with the MiniLM encoder fine-tuned end to end (``model.text_finetune``).

Re-encoding the whole catalogue every step is what end-to-end fine-tuning would ask for,
and it is unaffordable: MiniLM-L6 costs ~21 MFLOP per token forward (~65 with backward),
so 4.4k Scientific items x 32 tokens is ~9 TFLOP per step, minutes on a 2-core CPU. We do
what in-batch fine-tuning setups do (e.g. Recformer's cached item table, UniSRec's frozen
table with a trained adaptor), in three parts:

* **Live rows.** ``training_pair`` (called once per step, before the loss) picks up to
  ``text_live_items`` (U) distinct items of the batch (targets and history; a random
  subset when there are more) and encodes their ``text_tokens`` (T) tokens with the live
  encoder. Those rows carry gradients into the encoder: through the history embeddings,
  the positive logits, and these items' own negative logits.
* **Cached rows.** All other rows of the full-softmax table come from ``text_raw``, a
  stop-gradient cache of the encoder's 384-dim outputs (a non-trainable variable).
* **Refresh.** After every optimizer step ``refresh_text`` re-encodes the next
  ``text_refresh_items`` (C) rows of the cache, round robin, with the updated encoder
  (forward only), so the cache is at most ceil((I + 1) / C) steps old. Evaluation ranks
  with the cache (``score_all`` does not re-encode the catalogue per user batch).

Cost per step: U x T tokens forward and backward plus C x T forward, against I x T for the
full re-encode (U = 256, C = 64, T = 32 on Scientific: ~0.6 + 0.04 TFLOP vs ~9). The live
and cached vectors go through the same fixed PCA whitening (``white_mean``,
``white_proj``, fitted once on the pretrained table) and the same learned projection as
in ``TextSASRec``; with ``text_finetune=False`` this class ranks exactly like
``TextSASRec`` (the stored whitened table, no encoder call) and the optimizer leaves the
encoder untouched. Token ids are held as float32 (exact below 2^24) because every
variable of the model state goes through ``jax.grad``, which rejects integer leaves;
token id 0 is BERT's [PAD].
Shapes: ``B`` batch, ``L`` = ``max_len``, ``I`` = items + 1, ``T`` tokens, ``E`` = 384,
``P`` = ``text_dim`` (whitened), ``U`` live items, ``C`` refreshed items.
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxrec.config import ModelConfig
from jaxrec.models.sasrec_text import FrozenFeature, TextSASRec
from jaxrec.models.text_encoder import BertEncoder, load_bert
from jaxrec.types import Array

FINETUNE_KEYS = ("tokens", "raw", "white_mean", "white_proj")

# Logical axis names of the encoder's variables, by the name of the module holding them.
_AXES = {
    "word": (None, "embed"),  # vocabulary rows: 30522 divides no usual mesh axis
    "position": (None, "embed"),
    "token_type": (None, "embed"),
    "query": ("embed", "heads"),
    "key": ("embed", "heads"),
    "value": ("embed", "heads"),
    "attn_out": ("heads", "embed"),
    "mlp_in": ("embed", "mlp"),
    "mlp_out": ("mlp", "embed"),
}


def load_finetune_arrays(path: str, num_items: int) -> dict[str, np.ndarray]:
    """``tokens`` int32[I, T], ``raw`` float32[I, E], ``white_mean`` [E], ``white_proj`` [E, P]."""
    with np.load(path) as data:
        missing = [k for k in FINETUNE_KEYS if k not in data]
        if missing:
            raise ValueError(
                f"{path}: no {missing} arrays; model.text_finetune needs the file written by "
                "jaxrec.text.finetune.finetune_features"
            )
        arrays = {k: data[k] for k in FINETUNE_KEYS}
    if arrays["tokens"].shape[0] != num_items + 1 or arrays["raw"].shape[0] != num_items + 1:
        raise ValueError(
            f"{path}: tokens {arrays['tokens'].shape} / raw {arrays['raw'].shape} do not fit "
            f"{num_items} items (expected {num_items + 1} rows)"
        )
    return arrays


def annotate_axes(encoder: BertEncoder) -> None:
    """Gives every encoder variable logical axis names (``out_sharding`` metadata)."""
    for path, node in nnx.iter_graph(encoder):
        if not isinstance(node, nnx.Variable):
            continue
        owner = next((p for p in reversed(path[:-1]) if isinstance(p, str)), "")
        names = _AXES.get(owner)
        if names is None or node.get_value().ndim == 1:
            # LayerNorms and biases: one vector along the output features of their owner.
            names = (names[-1],) if names else ("embed",)
        node.set_metadata("out_sharding", names)


def encode_tokens(encoder: BertEncoder, tokens: Array) -> Array:
    """float32[N, E] unit-norm sentence vectors of token ids float32[N, T] (0 = [PAD])."""
    ids = tokens.astype(jnp.int32)
    # An all-[PAD] row (the padding item, live slots left unused) pools to a zero vector,
    # whose L2 normalisation has a NaN gradient: encode one stand-in token, then zero it.
    empty = ~jnp.any(ids != 0, axis=1)
    ids = ids.at[:, 0].set(jnp.where(empty, 1, ids[:, 0]))
    out = encoder(ids, (ids != 0).astype(jnp.int32))
    return jnp.where(empty[:, None], 0.0, out)


def batch_items(inputs: Array, targets: Array, key: Array, size: int) -> Array:
    """int32[min(size, 2 B L)]: distinct non-zero items of the batch (0 pads unused slots).

    When the batch holds more than ``size`` distinct items a uniformly random subset is
    kept (``jnp.unique`` alone would keep the smallest ids).
    """
    ids = jnp.concatenate([targets.reshape(-1), inputs.reshape(-1)])
    distinct = jnp.unique(ids, size=ids.size, fill_value=0)
    priority = jnp.where(distinct > 0, jax.random.uniform(key, distinct.shape), 2.0)
    return distinct[jnp.argsort(priority)[: min(size, ids.size)]]


class FinetuneTextSASRec(TextSASRec):
    """``TextSASRec`` whose text vectors come from a trainable MiniLM (module docstring)."""

    def __init__(self, cfg: ModelConfig, num_items: int, *, rngs: nnx.Rngs):
        super().__init__(cfg, num_items, rngs=rngs)
        arrays = load_finetune_arrays(cfg.text_features, num_items)
        item_rows = ("item", None)
        self.tokens = FrozenFeature(
            jnp.asarray(arrays["tokens"], jnp.float32), out_sharding=item_rows
        )
        self.text_raw = FrozenFeature(jnp.asarray(arrays["raw"]), out_sharding=item_rows)
        self.white_mean = FrozenFeature(jnp.asarray(arrays["white_mean"]), out_sharding=(None,))
        self.white_proj = FrozenFeature(
            jnp.asarray(arrays["white_proj"]), out_sharding=(None, None)
        )
        if self.text_proj.in_features != arrays["white_proj"].shape[1]:
            raise ValueError(
                f"{cfg.text_features}: white_proj {arrays['white_proj'].shape} does not map "
                f"to the text table's {self.text_proj.in_features} dimensions"
            )
        self.encoder = load_bert(cfg.text_encoder or _default_model_dir())
        annotate_axes(self.encoder)
        # (items int32[U], vectors float32[U, E]) while a train step traces the loss.
        self._live = nnx.data(None)

    def training_pair(self, inputs: Array, targets: Array, key: Array) -> tuple[Array, Array]:
        """As SASRec; with ``text_finetune`` also encodes the batch's items live (U rows)."""
        if self.cfg.text_finetune:
            items = batch_items(inputs, targets, key, self.cfg.text_live_items)
            live = encode_tokens(self.encoder, jax.lax.stop_gradient(self.tokens[...][items]))
            self._live = (items, live)
        return super().training_pair(inputs, targets, key)

    def raw_text(self) -> Array:
        """float32[I, E]: the cache, with the live rows of this step written over it."""
        raw = jax.lax.stop_gradient(self.text_raw[...])
        if self._live is not None:
            items, live = self._live
            raw = raw.at[items].set(live.astype(raw.dtype))
        return raw

    def text_vectors(self) -> Array:
        """float[I, P]: whitened text vectors (the stored frozen table when not fine-tuning)."""
        if not self.cfg.text_finetune:
            return super().text_vectors()
        mean = jax.lax.stop_gradient(self.white_mean[...])
        proj = jax.lax.stop_gradient(self.white_proj[...])
        white = (self.raw_text() - mean[None]) @ proj
        return white / jnp.maximum(jnp.linalg.norm(white, axis=-1, keepdims=True), 1e-12)

    def refresh_text(self, step: Array) -> None:
        """Re-encodes cache rows ``[step * C, (step + 1) * C) mod I`` with the current encoder."""
        chunk = self.cfg.text_refresh_items
        num_rows = self.text_raw.shape[0]
        if chunk == 0:
            return
        rows = (step * chunk + jnp.arange(min(chunk, num_rows))) % num_rows
        fresh = encode_tokens(self.encoder, self.tokens[...][rows])
        cache = self.text_raw[...]
        self.text_raw[...] = cache.at[rows].set(jax.lax.stop_gradient(fresh).astype(cache.dtype))


def _default_model_dir() -> pathlib.Path:
    from jaxrec.text.encode import default_model_dir

    return default_model_dir()


def finetune_model(name: str) -> type[FinetuneTextSASRec]:
    """The model class for ``model.text_finetune=true`` (only ``sasrec_text`` has one)."""
    if name != "sasrec_text":
        raise ValueError(f"model.text_finetune=true needs model.name='sasrec_text', not {name!r}")
    return FinetuneTextSASRec
